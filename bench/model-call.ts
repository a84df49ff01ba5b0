// One upstream model call alone (src/llm/model-call.ts), without the HTTP server, the run or the
// store around it: `streamCall` behind the silence guard, as the team makes it, against the mock
// upstream in its own process, read through the AI SDK's `doStream()` and through the lean
// OpenAI-wire path (src/llm/openai-wire.ts). Rounds alternate between the two so that the machine's
// noise falls on both; CPU is this process's own (user + system) per call.
// Run: node bench/model-call.ts   (BENCH_CALLS per round, BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_TEXT_CHUNKS)
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { createOpenAI } from '@ai-sdk/openai';
import { keepAlivePool } from '../src/llm/http-fetch.ts';
import { streamCall } from '../src/llm/model-call.ts';
import { withOpenAIWire } from '../src/llm/openai-wire.ts';
import { guardModel } from '../src/llm/stream-guard.ts';
import { startPrinting } from './lib-processes.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const upstream = await startPrinting('bench/mock-upstream-process.ts', { BENCH_UPSTREAM_DELAY_MS: '0' });
const pool = keepAlivePool();
const sdkModel = createOpenAI({ apiKey: 'k', baseURL: upstream.line, fetch: pool.fetch }).chat('gpt-4.1-mini');
/** The SDK's model as it was before the lean path: `doStream()` only. */
const viaSdk: LanguageModelV3 = {
  specificationVersion: 'v3',
  provider: sdkModel.provider,
  modelId: sdkModel.modelId,
  supportedUrls: sdkModel.supportedUrls,
  doGenerate: (o) => sdkModel.doGenerate(o),
  doStream: (o) => sdkModel.doStream(o),
};
const guard = { timeoutMs: 30_000, retries: 1 };
const paths = {
  'AI SDK doStream()': guardModel(viaSdk, guard),
  'lean OpenAI-wire path': guardModel(withOpenAIWire(sdkModel, pool, 'openai'), guard),
};

async function oneCall(model: LanguageModelV3): Promise<void> {
  let text = '';
  for await (const part of streamCall({
    model,
    system: 'You are the supervisor.',
    messages: [{ role: 'user', content: 'BENCH-ONE-CALL: say hello' }],
    settings: { maxOutputTokens: 200 },
    maxRetries: 2,
    abortSignal: new AbortController().signal,
  }))
    if (part.type === 'text') text += part.text;
  if (text !== 'Hello from upstream.') throw new Error(`unexpected answer: ${text}`);
}

async function round(model: LanguageModelV3, calls: number): Promise<{ perSecond: number; cpuMs: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < calls) await oneCall(model);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSecond: calls / seconds, cpuMs: (used.user + used.system) / 1000 / calls };
}

// Warm-up: the JIT, the pool's sockets.
for (const model of Object.values(paths)) await round(model, 500);
const results = new Map<string, { perSecond: number[]; cpuMs: number[] }>();
for (let r = 0; r < ROUNDS; r++)
  for (const [name, model] of Object.entries(paths)) {
    const { perSecond, cpuMs } = await round(model, CALLS);
    const entry = results.get(name) ?? { perSecond: [], cpuMs: [] };
    entry.perSecond.push(perSecond);
    entry.cpuMs.push(cpuMs);
    results.set(name, entry);
  }
await upstream.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`one model call (streamCall behind the guard), ${CALLS} calls x ${ROUNDS} rounds, ${CONCURRENCY} at once`);
console.log('path                          calls/s   CPU ms/call (median of rounds)');
for (const [name, r] of results)
  console.log(
    `${name.padEnd(28)} ${median(r.perSecond).toFixed(0).padStart(8)}   ${median(r.cpuMs).toFixed(3).padStart(8)}`,
  );
const [sdk, lean] = [...results.values()];
console.log(
  `lean / SDK: calls/s ${(median(lean!.perSecond) / median(sdk!.perSecond)).toFixed(2)}x, CPU per call ${(median(lean!.cpuMs) / median(sdk!.cpuMs)).toFixed(2)}x`,
);
