// Cortex Flow's wire layer against the floor of this machine, in one run: requests/s and p50/p99
// latency of non-streaming and streaming answers through Cortex Flow (fixed answer, no memory) and
// from a bare node:http server replaying the very same bytes.
// Run: npm run bench -- http-load
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, printTable, ratio } from './lib-load.ts';
import { startPrinting } from './lib-processes.ts';

const body = JSON.stringify({
  model: 'cortex-flow',
  messages: [{ role: 'user', content: 'What is the capital of France?' }],
});
const streamBody = JSON.stringify({
  model: 'cortex-flow',
  stream: true,
  messages: [{ role: 'user', content: 'What is the capital of France?' }],
});

const cortex = await startPrinting('bench/servers/cortex-wire.ts', {});
const dir = mkdtempSync(join(tmpdir(), 'bench-http-'));
try {
  const post = (b: string) =>
    fetch(`${cortex.line}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: b,
    }).then((r) => r.text());
  writeFileSync(join(dir, 'body.json'), await post(body));
  writeFileSync(join(dir, 'stream.sse'), await post(streamBody));
  const bare = await startPrinting('bench/servers/bare-replay.ts', {
    BENCH_JSON_FILE: join(dir, 'body.json'),
    BENCH_SSE_FILE: join(dir, 'stream.sse'),
  });
  try {
    const rows = [
      await load('bare node:http, JSON body', `${bare.line}/json`, body),
      await load('Cortex Flow, non-streaming', `${cortex.line}/v1/chat/completions`, body),
      await load('bare node:http, SSE frames', `${bare.line}/sse`, streamBody),
      await load('Cortex Flow, streaming', `${cortex.line}/v1/chat/completions`, streamBody),
    ];
    printTable(rows);
    console.log(
      `ratios Cortex Flow / bare: non-streaming req/s ${ratio(rows[1].rps, rows[0].rps)}, p50 ${ratio(rows[1].p50, rows[0].p50)}, p99 ${ratio(rows[1].p99, rows[0].p99)}`,
    );
    console.log(
      `                           streaming     req/s ${ratio(rows[3].rps, rows[2].rps)}, p50 ${ratio(rows[3].p50, rows[2].p50)}, p99 ${ratio(rows[3].p99, rows[2].p99)}`,
    );
  } finally {
    await bare.stop();
  }
} finally {
  await cortex.stop();
  rmSync(dir, { recursive: true, force: true });
}
