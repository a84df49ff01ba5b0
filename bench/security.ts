// What safety costs, measured side by side in one run:
//  1. live heap per concurrent open stream: N streaming runs held open (the upstream answers late),
//     heap after a full GC with them open versus before, for a first batch and for a second one;
//  2. requests/s and p50/p99 with API-key auth and per-key rate limiting (limits set high enough
//     never to refuse, so the cost measured is the checking) versus with both off.
// Run: npm run bench -- security
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockUpstream } from '../test/support/mock-openai-upstream.ts';
import { load, printTable, ratio } from './lib-load.ts';
import { startServer } from './lib-processes.ts';
import { startMeasuredServer } from '../test/support/measured-process.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 200);
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bench-security-'));
  dirs.push(d);
  return d;
};

async function memoryPerStream(): Promise<void> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const upstream = await startMockUpstream(async () => {
    await gate; // every run waits here with its client stream open
    return { text: 'done' };
  });
  const { url, heap, stop } = await startMeasuredServer(upstream.baseUrl, tempDir(), {
    CORTEX_SSE_KEEPALIVE_SECONDS: '0',
  });
  const stream = (i: number) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        stream: true,
        messages: [{ role: 'user', content: `stream ${i}` }],
      }),
    }).then((r) => r.text());
  release(); // warm-up runs go straight through
  for (let i = 0; i < 10; i++) await stream(i);
  // Holds STREAMS runs open (each waiting on its upstream), measures, lets them finish, measures.
  const batch = async () => {
    let hold!: () => void;
    const held = new Promise<void>((r) => (hold = r));
    upstream.setResponder(async () => {
      await held;
      return { text: 'done' };
    });
    const before = upstream.requests.length;
    const open = Array.from({ length: STREAMS }, (_, i) => stream(i));
    while (upstream.requests.length < before + STREAMS) await new Promise((r) => setTimeout(r, 20));
    const peak = await heap();
    hold();
    await Promise.all(open);
    return { peak, after: await heap() };
  };
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const perStream = (bytes: number) => `${(bytes / STREAMS / 1024).toFixed(1)} KiB (${Math.round(bytes / STREAMS)} B)`;
  // The first batch also pays what the process spends once, the first time it holds that many
  // streams (code compiled and optimised for those paths, pools and tables grown): that stays after
  // the streams end and is no stream's. The second batch, from the heap the first left, is what an
  // open stream holds.
  const idle = await heap();
  const first = await batch();
  const second = await batch();
  await stop();
  await upstream.close();
  console.log(
    `live heap: ${mb(idle)} idle, ${mb(first.peak)} with ${STREAMS} open streams, ${mb(first.after)} after they ended`,
  );
  console.log(`  first ${STREAMS} (one-time costs included): ${perStream(first.peak - idle)} per open stream`);
  console.log(
    `  next ${STREAMS}: ${mb(first.after)} -> ${mb(second.peak)} -> ${mb(second.after)}: ` +
      `${perStream(second.peak - first.after)} per open stream`,
  );
}

async function authCost(): Promise<void> {
  const body = JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: 'hello' }] });
  const common = { CORTEX_SAMPLE_CORPUS: 'false', CORTEX_LOG_LEVEL: 'warn' };
  const off = await startServer({ ...common, CORTEX_DATA_DIR: tempDir() });
  const on = await startServer({
    ...common,
    CORTEX_DATA_DIR: tempDir(),
    CORTEX_API_KEYS: 'sk-bench-key',
    CORTEX_RATE_LIMIT_RPM: '100000000',
    CORTEX_RATE_LIMIT_TPM: '100000000000',
  });
  try {
    const rows = [
      await load('auth and rate limits off', `${off.baseUrl}/v1/chat/completions`, body),
      await load('auth and rate limits on', `${on.baseUrl}/v1/chat/completions`, body, {
        headers: { authorization: 'Bearer sk-bench-key' },
      }),
    ];
    printTable(rows);
    console.log(
      `ratios on / off: req/s ${ratio(rows[1].rps, rows[0].rps)}, p50 ${ratio(rows[1].p50, rows[0].p50)}, p99 ${ratio(rows[1].p99, rows[0].p99)}`,
    );
  } finally {
    await off.stop();
    await on.stop();
  }
}

try {
  await memoryPerStream();
  await authCost();
} finally {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
}
