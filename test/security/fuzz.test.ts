// Thousands of generated malformed requests (bad JSON, wrong types, huge values, odd unicode,
// wrong content types): each gets a 4xx in OpenAI's envelope, never a 500 or a stack trace, and
// the server stays up. Seeded, so a failure can be replayed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { RecordingOrchestrator } from '../support/recording-orchestrator.ts';
import { ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';
import { exchange, isErrorEnvelope, portOf } from './raw-http.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer(new ScriptedOrchestrator());
});
afterAll(() => srv.close());

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD = [
  '\u0000',
  '\ud800',
  '\udfff',
  '\u202e',
  '\u200b',
  '\ufeff',
  '𝕳𝖊𝖑𝖑𝖔',
  '🧨'.repeat(50),
  'é'.normalize('NFD'),
  '\\u0000',
  '"',
  '\\',
  '\n\r\t',
  '<script>',
  "'; DROP TABLE conversations; --",
];
const WRONG: unknown[] = [
  null,
  true,
  false,
  -1,
  0,
  1e308,
  -1e308,
  3.5,
  'text',
  '',
  [],
  {},
  [[]],
  { $gt: '' },
  ODD[0],
  'x'.repeat(10_000),
  2 ** 53 + 1,
];
const FIELDS: Record<string, (v: unknown) => boolean> = {
  // For each parameter, a value counts as a bad input when this says so.
  model: (v) => typeof v !== 'string' || v === '' || v !== 'cortex-flow',
  messages: (v) => !Array.isArray(v) || v.length === 0 || true,
  temperature: (v) => typeof v !== 'number' || v < 0 || v > 2,
  top_p: (v) => typeof v !== 'number' || v < 0 || v > 1,
  n: (v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 128,
  max_tokens: (v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1,
  presence_penalty: (v) => typeof v !== 'number' || v < -2 || v > 2,
  frequency_penalty: (v) => typeof v !== 'number' || v < -2 || v > 2,
  stream: (v) => typeof v !== 'boolean',
  stop: (v) => !(typeof v === 'string' || (Array.isArray(v) && v.length <= 4 && v.every((s) => typeof s === 'string'))),
  seed: (v) => typeof v !== 'number' || !Number.isInteger(v),
  tools: (v) => true,
  reasoning_effort: (v) => !['none', 'minimal', 'low', 'medium', 'high', 'xhigh'].includes(v as string),
};

interface Case {
  body: string;
  contentType: string;
  mustFail: boolean;
}

function generate(rand: () => number, count: number): Case[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const cases: Case[] = [];
  const valid = () => ({ model: 'cortex-flow', messages: [{ role: 'user', content: 'hello' }] as unknown[] });
  while (cases.length < count) {
    const kind = Math.floor(rand() * 7);
    const body: Record<string, unknown> = valid();
    let text: string;
    let mustFail = true;
    let contentType = 'application/json';
    switch (kind) {
      case 0: {
        // A parameter of the wrong type or out of range.
        const field = pick(Object.keys(FIELDS).filter((f) => f !== 'messages' && f !== 'tools'));
        const value = pick(WRONG);
        if (!FIELDS[field](value) || (field === 'stop' && value === null) || value === null) continue; // null means "default" in OpenAI's API
        body[field] = value;
        text = JSON.stringify(body);
        break;
      }
      case 1: {
        // A broken message.
        const broken = pick<unknown>([
          null,
          'hello',
          42,
          [],
          {},
          { role: pick(['wizard', '', 7, null]), content: 'x' },
          { role: 'user' },
          { role: 'user', content: 42 },
          { role: 'user', content: [{ type: 'nope' }] },
          { role: 'tool', content: 'x' },
          { content: 'no role' },
        ]);
        body.messages = rand() < 0.5 ? [broken] : [{ role: 'user', content: 'ok' }, broken];
        text = JSON.stringify(body);
        break;
      }
      case 2: {
        // Broken JSON text: a valid body cut or corrupted at a random place.
        const good = JSON.stringify(body);
        const at = 1 + Math.floor(rand() * (good.length - 2));
        text =
          rand() < 0.5
            ? good.slice(0, at)
            : good.slice(0, at) + pick(['}', ',', '"', '\u0000', ']]', 'NaN', 'undefined']) + good.slice(at + 1);
        try {
          JSON.parse(text);
          continue; // the corruption happened to be valid JSON
        } catch {}
        break;
      }
      case 3:
        text = pick([
          '',
          ' ',
          'null',
          '[]',
          '[{}]',
          '42',
          '"string"',
          'true',
          '<xml/>',
          'model=cortex-flow&messages=hi',
          '{}',
          '{"model":"cortex-flow"}',
          '{"messages":[{"role":"user","content":"hi"}]}',
        ]);
        break;
      case 4:
        // Huge values.
        // Beyond every range (1e400 is written as JSON text: it parses to Infinity).
        text = JSON.stringify({
          ...body,
          [pick(['n', 'temperature', 'top_p', 'presence_penalty', 'max_tokens'])]: pick(['HUGE', 10 ** 20 * -1]),
        }).replace('"HUGE"', pick(['1e400', '-1e400']));
        break;
      case 5:
        // Odd unicode in valid places: must not fail with a 5xx (a 200 is right).
        body.messages = [
          { role: 'user', content: Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(ODD)).join('') },
        ];
        text = JSON.stringify(body);
        mustFail = false;
        break;
      default:
        // A wrong content type around a bad body.
        contentType = pick([
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'image/png',
          '',
        ]);
        text = pick([
          'model=cortex-flow',
          '--x\r\nContent-Disposition: form-data; name="model"\r\n\r\ncortex-flow\r\n--x--',
          '\u0089PNG\r\n',
          '{"model":',
        ]);
        break;
    }
    cases.push({ body: text, contentType, mustFail });
  }
  return cases;
}

describe('fuzzing the chat endpoint', () => {
  it('answers 2,500 generated bad requests with 4xx OpenAI errors and never a 500 or a stack trace', async () => {
    const cases = generate(prng(20261124), 2500);
    const statuses = new Map<number, number>();
    for (const [i, c] of cases.entries()) {
      const headers: Record<string, string> = c.contentType ? { 'content-type': c.contentType } : {};
      const res = await srv.server.inject({ method: 'POST', url: '/v1/chat/completions', headers, payload: c.body });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const where = `case ${i}: ${JSON.stringify(c).slice(0, 300)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
      expect(res.statusCode, where).toBeLessThan(500);
      if (c.mustFail) {
        expect(res.statusCode, where).toBeGreaterThanOrEqual(400);
        const body = res.json();
        expect(Object.keys(body), where).toEqual(['error']);
        expect(Object.keys(body.error).sort(), where).toEqual(['code', 'message', 'param', 'type']);
        expect(typeof body.error.message, where).toBe('string');
      }
      expect(res.body, where).not.toMatch(/\n\s+at \S+ \(|node_modules|\/src\/|Error: /);
    }
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0); // the valid odd-unicode cases were answered
    // And the server is still up.
    expect((await fetch(`${srv.baseUrl}/health`)).status).toBe(200);
  });
});

// Request paths and headers, sent raw over a socket (what fetch would refuse or normalise): encoded
// and absolute-form targets, doubled slashes, other case, trailing junk, long and odd ids, odd and
// huge headers, malformed request lines. Every answer is an HTTP response; every error is the
// envelope; without the key, nothing but the public routes (/health, /ready, /metrics) and CORS
// preflights answers, and no stored data leaks. Seeded and bounded; loopback only.
describe('fuzzing request paths and headers', () => {
  const KEY = 'sk-fuzz-owner-0123456789';
  const SECRET = 'fuzz-secret-7781';
  let guarded: TestServer;
  let orchestrator: RecordingOrchestrator;
  let runId: string;

  beforeAll(async () => {
    orchestrator = new RecordingOrchestrator();
    guarded = await startTestServer(orchestrator, {
      CORTEX_API_KEYS: KEY,
      CORTEX_CORS_ORIGINS: 'https://app.example',
      CORTEX_REQUEST_TIMEOUT_SECONDS: '3',
    });
    const r = await chat(
      guarded.baseUrl,
      { conversation_id: 'conv_secret', messages: [{ role: 'user', content: SECRET }] },
      { authorization: `Bearer ${KEY}` },
    );
    runId = r.body.metadata.run_id;
  });
  afterAll(() => guarded.close());

  interface RawCase {
    data: Buffer;
    hasKey: boolean;
    method: string;
    /** The route the case was made from is public (its unmangled form needs no key). */
    publicBase: boolean;
    /** Close our sending side after the request: for requests that never complete. */
    halfClose: boolean;
  }

  function generateRaw(rand: () => number, count: number): RawCase[] {
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    const chance = (p: number) => rand() < p;
    const routes = [
      ['GET', '/v1/models', false],
      ['GET', '/v1/models/cortex-flow', false],
      ['POST', '/v1/chat/completions', false],
      ['GET', '/v1/conversations', false],
      ['GET', '/v1/conversations/conv_secret', false],
      ['DELETE', '/v1/conversations/conv_secret', false],
      ['GET', `/v1/runs/${runId}`, false],
      ['GET', '/health', true],
      ['GET', '/ready', true],
      ['GET', '/metrics', true],
    ] as const;
    const encode = (path: string) =>
      [...path]
        .map((ch) => {
          if (ch === '/' || !chance(0.4)) return ch;
          const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
          return `%${chance(0.5) ? hex.toUpperCase() : hex}`;
        })
        .join('');
    const mutations: ((p: string) => string)[] = [
      encode,
      (p) => p.replace(/v/, pick(['%2576', '%76', '%56', 'V'])),
      (p) => `${pick(['http://x', 'HTTP://LOCALHOST:1', 'https://evil.example', 'http://[::1]', 'ftp://h'])}${p}`,
      (p) => p.replace(/\//g, () => (chance(0.3) ? '//' : '/')),
      (p) => [...p].map((ch) => (chance(0.3) ? ch.toUpperCase() : ch)).join(''),
      (p) => p + pick(['/', '?', '?a=/health', '#x', ';x', '%00', '%20', '/.', '/..', '.json', '%2F', '~', '*']),
      (p) => p.replace(/\/(?=[^/]*$)/, pick(['/./', '/x/../', '/%2e/', '/%2E%2E/'])),
      (p) => p.replace(/(conv_secret|run_[\w-]+|cortex-flow)$/, () => pick(LONG_OR_ODD_IDS)),
      (p) => p.replace(/\//g, () => (chance(0.2) ? '\\' : '/')),
      (p) => `${pick(['', '/health', '/ready', '/metrics/..', '/health/..'])}${p}`,
    ];
    const LONG_OR_ODD_IDS = [
      'y'.repeat(129),
      'y'.repeat(300),
      'y'.repeat(5000),
      '%E4%B8%AD',
      '%00',
      '%FF',
      '..',
      '%2e%2e',
      'a%20b',
      'conv_secret%00',
    ];
    const NO_KEY_AUTH = [
      undefined,
      'Bearer sk-wrong',
      `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`,
      'Bearer',
      `Bearer ${KEY}x`,
      `Bearer ${KEY.toUpperCase()}`,
      `Bearer ${KEY} ${KEY}`,
      `Token ${KEY}`,
      KEY,
    ];
    const cases: RawCase[] = [];
    while (cases.length < count) {
      const [baseMethod, basePath, publicBase] = pick(routes);
      const hasKey = chance(0.15);
      let method: string = baseMethod;
      if (chance(0.15)) method = pick(['PUT', 'PATCH', 'HEAD', 'OPTIONS', 'get', 'FOO', 'TRACE']);
      if (hasKey && (method === 'DELETE' || method === 'TRACE')) method = 'GET'; // keep the stored secret in place
      let target: string = basePath;
      const rounds = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < rounds; i++) target = pick(mutations)(target);
      if (chance(0.05)) target = pick(['*', '', 'v1/models', '/v1/models HTTP/1.1 extra', '\u00e9/v1']);

      const headers: string[] = [];
      if (!chance(0.03)) headers.push(`Host: ${chance(0.03) ? '' : pick(['localhost', 'x', 'evil.example:80'])}`);
      headers.push('Connection: close');
      const auth = hasKey ? `Bearer ${KEY}` : pick(NO_KEY_AUTH);
      if (auth !== undefined) headers.push(`Authorization: ${auth}`);
      if (!hasKey && chance(0.05)) headers.push(`Authorization: Bearer ${KEY}`.replace(KEY, 'sk-second')); // duplicates
      if (chance(0.2))
        headers.push(
          `X-Conversation-Id: ${pick(['conv_ok', 'conv_\u00e9', 'c'.repeat(129), 'a b', 'conv_secret', '', '\u4e2d'])}`,
        );
      if (chance(0.1)) headers.push(`X-Request-Id: ${pick(['ok-1', 'bad id', 'r'.repeat(500), '\u00ff'])}`);
      if (chance(0.05)) headers.push(`X-Huge: ${'h'.repeat(17_000 + Math.floor(rand() * 20_000))}`);
      if (chance(0.05)) for (let i = 0; i < 50 + Math.floor(rand() * 500); i++) headers.push(`X-Many-${i}: v`);
      if (chance(0.03))
        headers.push(pick([' folded: continuation', 'No-Colon-Here', 'Bad Name: x', 'X-Nul: a\u0000b']));
      if (chance(0.05)) headers.push(`Expect: ${pick(['100-continue', 'magic'])}`);
      if (chance(0.05)) headers.push('Origin: https://app.example', 'Access-Control-Request-Method: DELETE');

      let body = '';
      if (method === 'POST' || chance(0.05)) {
        body = chance(0.8)
          ? JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'fuzz' }] })
          : pick(['{', 'null', '{"model":"cortex-flow","messages":[]}', 'x'.repeat(100)]);
        headers.push('Content-Type: application/json');
        headers.push(
          chance(0.9)
            ? `Content-Length: ${Buffer.byteLength(body)}`
            : pick([`Content-Length: -1`, `Content-Length: abc`, 'Transfer-Encoding: chunked']),
        );
      }
      const version = chance(0.95) ? 'HTTP/1.1' : pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTX/1.1', '']);
      let text = `${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
      let halfClose = false;
      if (chance(0.03)) {
        text = pick([
          'GARBAGE\r\n\r\n',
          'GET\r\n\r\n',
          '\u0016\u0003\u0001\u0002\u0000',
          'GET /v1/models HTTP/1.1\r\n',
        ]);
        halfClose = true;
      }
      if (text.includes('Transfer-Encoding: chunked') || text.includes('Content-Length: -1')) halfClose = true;
      cases.push({ data: Buffer.from(text, 'utf8'), hasKey, method, publicBase, halfClose });
    }
    return cases;
  }

  /** A response body a public route gives. */
  const PUBLIC_BODY = /^(\{"status":"(healthy|ready)"|# HELP )/;

  it('answers 1,200 generated raw requests in the envelope and never serves a protected route without a key', async () => {
    const port = portOf(guarded.baseUrl);
    const cases = generateRaw(prng(20261125), 1200);
    const runsBefore = orchestrator.inputs.length;
    const statuses = new Map<number, number>();
    for (const [i, c] of cases.entries()) {
      const { response } = await exchange(port, c.data, 8000, c.halfClose);
      const where = `raw case ${i}: ${JSON.stringify(c.data.toString('utf8').slice(0, 200))} -> ${response?.status} ${response?.body.slice(0, 200)}`;
      expect(response, where).toBeDefined();
      const { status, body } = response!;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(status, where).not.toBe(500);
      if (status >= 400 && c.method !== 'HEAD') expect(isErrorEnvelope(body), where).toBe(true);
      if (!c.hasKey) {
        expect(body, where).not.toContain(SECRET);
        if (status < 400) {
          const preflight = c.method === 'OPTIONS' && status === 204 && body === '';
          const publicAnswer = c.publicBase && (PUBLIC_BODY.test(body) || (c.method === 'HEAD' && body === ''));
          expect(preflight || publicAnswer, where).toBe(true);
        }
      }
      expect(body, where).not.toMatch(/\n\s+at \S+ \(|node_modules|"statusCode"/);
    }
    // Only requests with the key ran anything, and the stored conversation is still there.
    const keyedPosts = cases.filter((c) => c.hasKey && c.method === 'POST').length;
    expect(orchestrator.inputs.length - runsBefore).toBeLessThanOrEqual(keyedPosts);
    const kept = await fetch(`${guarded.baseUrl}/v1/conversations/conv_secret`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(((await kept.json()) as any).messages.map((m: any) => m.content)).toContain(SECRET);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(10);
    expect((await fetch(`${guarded.baseUrl}/health`)).status).toBe(200);
  });
});
