// A few hundred concurrent streaming runs on loopback, through the LLM team path against the
// in-suite upstream: all complete, every turn is stored, and the heap returns near its baseline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMeasuredServer } from '../support/measured-process.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';

const RUNS = 300;
let upstream: MockUpstream;
let dataDir: string;

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({
    text: 'A streamed answer of a few words, sent in small pieces.',
    chunkSize: 6,
    chunkDelayMs: 20,
  }));
  dataDir = mkdtempSync(join(tmpdir(), 'cortex-load-'));
});
afterAll(async () => {
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function streamOnce(url: string, i: number): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      stream: true,
      conversation_id: `load_${i}`,
      messages: [{ role: 'user', content: `Question number ${i}` }],
    }),
  });
  const text = await res.text();
  if (!text.endsWith('data: [DONE]\n\n')) throw new Error(`stream ${i} did not complete: ${text.slice(-200)}`);
  const frames = text.split('\n\n').filter((f) => f.startsWith('data: {'));
  return frames.map((f) => JSON.parse(f.slice(6)).choices[0]?.delta?.content ?? '').join('');
}

describe('load on loopback', () => {
  it(
    `completes ${RUNS} concurrent streaming runs, stores every turn, and frees their memory`,
    { timeout: 120_000 },
    async () => {
      const { url, heap, stop } = await startMeasuredServer(upstream.baseUrl, dataDir);
      try {
        for (let i = 0; i < 20; i++) await streamOnce(url, -1 - i); // warm up code paths and caches
        const baseline = await heap();

        let maxOpen = 0;
        const results = await Promise.all(
          Array.from({ length: RUNS }, (_, i) =>
            streamOnce(url, i).then((t) => {
              maxOpen = Math.max(maxOpen, upstream.openConnections());
              return t;
            }),
          ),
        );
        expect(results.every((t) => t === 'A streamed answer of a few words, sent in small pieces.')).toBe(true);
        expect(maxOpen).toBeGreaterThan(50); // the runs really overlapped

        let stored = 0;
        let after: string | undefined;
        do {
          const page = (await (
            await fetch(`${url}/v1/conversations?limit=100${after ? `&after=${after}` : ''}`)
          ).json()) as any;
          stored += page.data.filter(
            (c: any) => c.id.startsWith('load_') && !c.id.startsWith('load_-') && c.message_count === 2,
          ).length;
          after = page.has_more ? page.last_id : undefined;
        } while (after);
        expect(stored).toBe(RUNS);

        const end = await heap();
        console.log(
          `heap: baseline ${(baseline / 1e6).toFixed(1)} MB, after ${RUNS} streams ${(end / 1e6).toFixed(1)} MB`,
        );
        expect(end).toBeLessThan(baseline * 1.25 + 8e6);
      } finally {
        await stop();
      }
    },
  );
});
