// A bounded soak: a few thousand mixed requests against a real server process (mock upstream,
// SQLite in a temporary directory), then idle, then the server's heap after a full collection, its
// open handles and its per-run registries, compared with a baseline taken after a warm-up round.
// What a long-running server would accumulate shows as growth that follows the request count.
// Prints figures; asserts nothing. `node bench/soak.ts [requests]`
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startMockUpstream, type Reply } from '../test/support/mock-openai-upstream.ts';

const TOTAL = Number(process.argv[2] ?? 2500);
const CONCURRENCY = 16;
const MODEL = 'cortex-flow-supervisor';
const KEYS = ['sk-soak-a', 'sk-soak-b'];
const HEAVY = 'sk-soak-heavy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lastUser = (body: any): string =>
  JSON.stringify(body.messages?.filter((m: any) => m.role === 'user').at(-1)?.content ?? '');

function reply(body: any): Reply {
  const said = lastUser(body);
  const answered = body.messages.at(-1)?.role === 'tool';
  if (said.includes('SOAK-SLOW')) return { text: 'slowly '.repeat(40), chunkSize: 8, chunkDelayMs: 40 };
  if (said.includes('SOAK-WAIT')) return { text: 'late', delayMs: 800 };
  if (said.includes('SOAK-500')) return { status: 500, error: { message: 'boom' } };
  if (said.includes('SOAK-429'))
    return { status: 429, error: { message: 'slow down' }, headers: { 'retry-after': '1' } };
  if (said.includes('SOAK-HANG')) return { fault: 'hang' };
  if (said.includes('SOAK-STALL')) return { fault: 'stall', chunks: ['Par', 'tial'] };
  if (said.includes('SOAK-RESET')) return { fault: 'reset' };
  if (said.includes('SOAK-TOOL') && !answered)
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
  return { text: `Answer ${Math.random().toString(36).slice(2)} to your question.` };
}

const upstream = await startMockUpstream((req) => reply(req.body));
upstream.requests.length = 0;
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-soak-'));
const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(new URL('./soak-server.ts', import.meta.url))], {
  env: {
    ...process.env,
    CORTEX_DATA_DIR: dataDir,
    CORTEX_LOG_LEVEL: 'silent',
    CORTEX_MODEL: 'openai:mock',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_SAMPLE_CORPUS: 'false',
    CORTEX_API_KEYS: [...KEYS, HEAVY].join(','),
    CORTEX_RATE_LIMIT_TPM: '250000',
    CORTEX_LLM_TIMEOUT_SECONDS: '1',
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_MAX_RUN_SECONDS: '4',
    CORTEX_CONVERSATION_WAIT_SECONDS: '3',
    CORTEX_MAX_CONCURRENT_RUNS: '200',
    CORTEX_SSE_KEEPALIVE_SECONDS: '0',
  },
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value as string;
const url = await next();
const stats = async () => {
  child.stdin!.write('stats\n');
  return JSON.parse(await next());
};

/** The scenario being run, and the key it uses for all its requests (a session or response is its key's). */
const scenarioOf = new AsyncLocalStorage<{ name: string; key: string }>();
const headers = (key = scenarioOf.getStore()?.key ?? KEYS[0]) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${key}`,
  accept: 'application/json, text/event-stream',
});
/** Answers by status, per scenario: what the soak really exercised. */
const statuses: Record<string, Record<string, number>> = {};
const tally = (res: Response) => {
  const s = (statuses[scenarioOf.getStore()?.name ?? '?'] ??= {});
  s[res.status] = (s[res.status] ?? 0) + 1;
  return res;
};
const post = (path: string, body: unknown, signal?: AbortSignal, key?: string, extra: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...headers(key), ...extra },
    body: JSON.stringify(body),
    signal,
  }).then(tally);
const chat = (body: Record<string, unknown>, signal?: AbortSignal, key?: string) =>
  post('/v1/chat/completions', { model: MODEL, ...body }, signal, key);
const user = (content: string) => [{ role: 'user', content }];
const uniq = () => Math.random().toString(36).slice(2);
const drain = async (res: Response) => void (await res.text().catch(() => ''));
const abortAfter = (ms: number) => AbortSignal.timeout(ms);
/** Reads a stream until its first bytes arrive, then hangs up. */
async function firstBytesThenLeave(res: Response) {
  const reader = res.body!.getReader();
  await reader.read().catch(() => {});
  await reader.cancel().catch(() => {});
}
/** Sends a request's head and body, then closes the socket before any answer. */
function leaveBeforeHeaders(path: string, body: unknown, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: { ...headers(), 'content-length': data.length },
    });
    req.on('error', () => resolve());
    req.on('response', (res) => (res.destroy(), resolve()));
    req.end(data);
    setTimeout(() => (req.destroy(), resolve()), afterMs);
  });
}
const TOOLS = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];

async function mcpSession(): Promise<string | undefined> {
  const res = await post('/mcp', {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'soak', version: '1' } },
  });
  await drain(res);
  return res.headers.get('mcp-session-id') ?? undefined;
}
const mcpHeaders = (sid: string) => ({ 'mcp-session-id': sid, 'mcp-protocol-version': '2025-03-26' });
const toolCall = (id: number, message: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: MODEL, arguments: { message } },
});

let heavySentAt = 0;
/** About 300k tokens (in messages under the 200k-character limit): more than the key's window holds. */
const HEAVY_PROMPT = Array.from({ length: 6 }, () =>
  Array.from({ length: 25_000 }, () => Math.random().toString(36).slice(2, 7)).join(' '),
);
const scenarios: Record<string, () => Promise<unknown>> = {
  plain: async () => drain(await chat({ messages: user(`hi ${uniq()}`) })),
  streamed: async () => drain(await chat({ stream: true, messages: user(`hi ${uniq()}`) })),
  nChoices: async () => drain(await chat({ n: 3, stream: Math.random() < 0.5, messages: user(`n ${uniq()}`) })),
  resentHistory: async () => {
    const first = user(`history ${uniq()}`);
    const a = await (await chat({ messages: first })).json();
    const answer = a.choices?.[0]?.message;
    if (answer) drain(await chat({ messages: [...first, answer, ...user('and then?')] }));
  },
  named: async () => {
    const id = `soak-${uniq()}`;
    await drain(await chat({ conversation_id: id, messages: user('one') }));
    await drain(await chat({ conversation_id: id, messages: user('two') }));
  },
  leaveBeforeHeaders: () =>
    leaveBeforeHeaders('/v1/chat/completions', { model: MODEL, messages: user(`SOAK-WAIT ${uniq()}`) }, 200),
  leaveMidStream: async () =>
    firstBytesThenLeave(await chat({ stream: true, messages: user(`SOAK-SLOW ${uniq()}`) })).catch(() => {}),
  leaveSlowUpstream: async () =>
    drain(await chat({ stream: true, messages: user(`SOAK-WAIT ${uniq()}`) }, abortAfter(300))).catch(() => {}),
  resendAfterLeaving: async () => {
    const messages = user(`SOAK-WAIT resend ${uniq()}`);
    await chat({ messages }, abortAfter(200)).then(drain, () => {});
    await drain(await chat({ messages }));
  },
  upstreamErrors: async () => {
    const kind = ['SOAK-500', 'SOAK-429', 'SOAK-HANG', 'SOAK-STALL', 'SOAK-RESET'][Math.floor(Math.random() * 5)];
    await drain(await chat({ stream: Math.random() < 0.5, messages: user(`${kind} ${uniq()}`) }));
  },
  toolPause: async () => {
    const messages = user(`SOAK-TOOL ${uniq()}`);
    const paused = await (await chat({ messages, tools: TOOLS })).json();
    const call = paused.choices?.[0]?.message;
    if (!call?.tool_calls || Math.random() < 0.5) return; // left unanswered
    const results = call.tool_calls.map((c: any) => ({ role: 'tool', tool_call_id: c.id, content: 'sunny' }));
    await drain(await chat({ messages: [...messages, call, ...results], tools: TOOLS }));
  },
  responses: async () => {
    const store = Math.random() < 0.7;
    const first = await (await post('/v1/responses', { model: MODEL, input: `resp ${uniq()}`, store })).json();
    if (!first.id) return;
    const follow = await post('/v1/responses', { model: MODEL, input: 'more', previous_response_id: first.id, store });
    const second = await follow.json();
    if (store && second.id && Math.random() < 0.5)
      await drain(await fetch(`${url}/v1/responses/${second.id}`, { method: 'DELETE', headers: headers() }));
  },
  responsesCancel: async () => {
    const ctrl = new AbortController();
    const res = await post('/v1/responses', { model: MODEL, input: `SOAK-SLOW ${uniq()}`, stream: true }, ctrl.signal);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const id = /"id":"(resp_[^"]+)"/.exec(new TextDecoder().decode(value))?.[1];
    const action = Math.random();
    if (id && action < 0.4) await drain(await post(`/v1/responses/${id}/cancel`, {}));
    else if (id && action < 0.7)
      await drain(await fetch(`${url}/v1/responses/${id}`, { method: 'DELETE', headers: headers() }));
    else ctrl.abort();
    await reader.cancel().catch(() => {});
  },
  followers: async () => {
    const ctrl = new AbortController();
    const res = await chat({ stream: true, messages: user(`SOAK-SLOW follow ${uniq()}`) }, ctrl.signal);
    const runId = res.headers.get('x-cortex-run-id');
    const reader = res.body!.getReader();
    await reader.read().catch(() => {});
    if (runId) {
      const f = await fetch(`${url}/v1/runs/${runId}/events`, { headers: headers(), signal: abortAfter(150) }).catch(
        () => undefined,
      );
      if (f) await drain(f).catch(() => {});
    }
    if (Math.random() < 0.5) ctrl.abort();
    else while (!(await reader.read().catch(() => ({ done: true }))).done);
  },
  mcp: async () => {
    const sid = await mcpSession();
    if (!sid) return;
    const roll = Math.random();
    if (roll < 0.3) return; // abandoned
    if (roll < 0.6) {
      await drain(await post('/mcp', toolCall(2, `mcp ${uniq()}`), undefined, undefined, mcpHeaders(sid)));
    } else if (roll < 0.8) {
      // The call's stream closed mid-run.
      await post('/mcp', toolCall(2, `SOAK-SLOW ${uniq()}`), abortAfter(200), undefined, mcpHeaders(sid))
        .then(drain)
        .catch(() => {});
      return;
    }
    await drain(await fetch(`${url}/mcp`, { method: 'DELETE', headers: { ...headers(), ...mcpHeaders(sid) } }));
  },
  rateLimited: async () => {
    // The heavy key spends its token window at once (once a minute); its later requests get 429.
    if (Date.now() - heavySentAt > 60_000) {
      heavySentAt = Date.now();
      await drain(
        await chat({ messages: HEAVY_PROMPT.map((content) => ({ role: 'user', content })) }, undefined, HEAVY),
      );
    }
    await drain(await chat({ messages: user('small') }, undefined, HEAVY));
  },
  invalid: async () => {
    const bodies = [{}, { model: MODEL }, { model: MODEL, messages: 'no' }, { model: 'nope', messages: user('x') }];
    await drain(await post('/v1/chat/completions', bodies[Math.floor(Math.random() * bodies.length)]));
    await drain(await post('/v1/responses', { model: MODEL, input: 3 }));
  },
};
const names = Object.keys(scenarios);

/** A scenario still going after 20 s is reported (a request the server never answered) and left behind. */
const hung: Record<string, number> = {};
function withinTime(name: string, work: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => {
      hung[name] = (hung[name] ?? 0) + 1;
      resolve(undefined);
    }, 20_000);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
const counts: Record<string, number> = {};
let issued = 0;
const before = () => upstream.requests.length;
async function worker(limit: number) {
  while (issued < limit) {
    const name = names[issued++ % names.length];
    counts[name] = (counts[name] ?? 0) + 1;
    await scenarioOf
      .run({ name, key: KEYS[issued % KEYS.length] }, () => withinTime(name, scenarios[name]()))
      .catch((err) => {
        if (process.env.SOAK_VERBOSE) console.error(name, err);
      });
  }
}
async function round(limit: number) {
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(limit)));
}
async function settle() {
  await sleep(6_000); // past the run limit and the silence limit: whatever was left has ended
}

const httpRequestsSoFar = async () => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^cortex_http_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
};

const started = Date.now();
await round(names.length * 2); // warm-up: every path once or twice (modules, JIT, statements)
await settle();
const baseline = await stats();
const upstreamBefore = before();
const httpBefore = await httpRequestsSoFar();
issued = 0;
for (const k of Object.keys(statuses)) delete statuses[k];
await round(TOTAL);
const loadSeconds = (Date.now() - started) / 1000;
await settle();
const after = await stats();
const httpAfter = await httpRequestsSoFar();

console.log(`scenarios run: ${TOTAL} (${JSON.stringify(counts)})`);
console.log(
  `HTTP requests served: ${httpAfter - httpBefore}; upstream calls: ${upstream.requests.length - upstreamBefore}`,
);
for (const [name, s] of Object.entries(statuses)) console.log(`  ${name}: ${JSON.stringify(s)}`);
console.log(`scenarios not done within 20 s: ${JSON.stringify(hung)}`);
console.log(`elapsed: ${loadSeconds.toFixed(1)} s`);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
console.log(`heap after GC: ${mb(baseline.heapUsed)} -> ${mb(after.heapUsed)}`);
for (const key of Object.keys(after))
  if (key !== 'heapUsed') console.log(`${key}: ${JSON.stringify(baseline[key])} -> ${JSON.stringify(after[key])}`);
console.log(`upstream connections still open: ${upstream.openConnections()}`);

child.stdin!.write('exit\n');
await new Promise((r) => child.once('exit', r));
await upstream.close();
rmSync(dataDir, { recursive: true, force: true });
