// The transport of one upstream call alone: the lean OpenAI-wire path's request over undici's
// dispatcher (src/llm/upstream-answer.ts) against the node:http ClientRequest / IncomingMessage pair
// it replaced, both on a keep-alive pool, both reading the whole streamed answer as text, against
// the mock upstream in its own process. Rounds alternate between the two so that the machine's
// noise falls on both; CPU is this process's own (user + system) per call.
// Run: node bench/upstream-client.ts   (BENCH_CALLS per round, BENCH_ROUNDS, BENCH_CONCURRENCY)
import { Agent as HttpAgent, request } from 'node:http';
import { Agent as UndiciAgent } from 'undici';
import { sendUpstream } from '../src/llm/upstream-answer.ts';
import { startPrinting } from './lib-processes.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: '0' });
const url = new URL(`${upstream.line}/chat/completions`);
// The request the supervisor sends on the one-call path, in size: a system prompt and one message.
const body = JSON.stringify({
  model: 'gpt-4.1-mini',
  stream: true,
  stream_options: { include_usage: true },
  messages: [
    { role: 'system', content: 'You are the supervisor. '.repeat(40) },
    { role: 'user', content: 'BENCH-ONE-CALL hello' },
  ],
});
const headers = { authorization: 'Bearer k', 'content-type': 'application/json', 'user-agent': 'bench' };

const dispatcher = new UndiciAgent({ connections: 256, headersTimeout: 0, bodyTimeout: 0 });
const agent = new HttpAgent({ keepAlive: true, maxSockets: 256 });

const transports: Record<string, () => Promise<string>> = {
  'node:http request': () =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', headers, agent });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => (text += piece));
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    }),
  'undici dispatch (upstream-answer.ts)': async () => {
    const answer = await sendUpstream(dispatcher, { method: 'POST', url, headers, body });
    return new Promise((resolve, reject) => {
      let text = '';
      answer.listen({ data: (piece) => (text += piece.toString('utf8')), end: () => resolve(text), error: reject });
    });
  },
};

async function round(call: () => Promise<string>, calls: number): Promise<{ cpuUs: number; perSecond: number }> {
  let left = calls;
  const worker = async () => {
    while (left-- > 0) if (!(await call()).includes('[DONE]')) throw new Error('an answer ended early');
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / calls, perSecond: (calls / (performance.now() - started)) * 1000 };
}

try {
  for (const call of Object.values(transports)) await round(call, 2_000); // JIT and connections
  const results = new Map<string, { cpuUs: number; perSecond: number }[]>();
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, call] of Object.entries(transports))
      results.set(name, [...(results.get(name) ?? []), await round(call, CALLS)]);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${'transport'.padEnd(40)} ${'CPU us/call'.padStart(12)} ${'calls/s'.padStart(9)}`);
  const cpu: number[] = [];
  for (const [name, rounds] of results) {
    cpu.push(median(rounds.map((x) => x.cpuUs)));
    console.log(
      `${name.padEnd(40)} ${cpu.at(-1)!.toFixed(1).padStart(12)} ${median(rounds.map((x) => x.perSecond))
        .toFixed(0)
        .padStart(9)}`,
    );
  }
  console.log(`CPU per call, undici / node:http: ${(cpu[1]! / cpu[0]!).toFixed(2)} (medians of ${ROUNDS} rounds)`);
} finally {
  await dispatcher.close();
  agent.destroy();
  await upstream.stop();
}
