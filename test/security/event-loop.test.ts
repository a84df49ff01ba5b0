// Nothing a client or an upstream sends may hold the event loop: /health keeps answering while the
// server digests pathological input (a generous bound, 1 s, where the old code blocked for minutes).
// Servers under test run in child processes (the real app), so /health is timed from outside;
// the document parsers run in this process next to a live server, sharing its event loop.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openKnowledgeBase } from '../../src/kb/create-kb.ts';
import { ingestPath } from '../../src/kb/ingest.ts';
import { fetchUrlTool } from '../../src/tools/fetch-url.ts';
import { SourceCollector } from '../../src/tools/types.ts';
import { startTestServer } from '../support/app-server.ts';
import { startMeasuredServer } from '../support/measured-process.ts';
import { startMockUpstream } from '../support/mock-openai-upstream.ts';
import { ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

const HEALTH_BOUND_MS = 1000;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'event-loop-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

/** Runs `heavy` while timing /health every 25 ms; the slowest answer and the heavy result. */
async function healthDuring<T>(baseUrl: string, heavy: () => Promise<T>): Promise<{ worstMs: number; result: T }> {
  let done = false;
  const latencies: number[] = [];
  const poll = (async () => {
    while (!done) {
      const started = performance.now();
      const res = await fetch(`${baseUrl}/health`);
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const result = await heavy();
  done = true;
  await poll;
  return { worstMs: Math.max(...latencies), result };
}

const chatBody = (content: string) => JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content }] });

const NESTED_PAGE = `<title>Deep</title>${'<div>'.repeat(60_000)}bottom of the well${'</div>'.repeat(60_000)}`;

describe('the event loop under pathological input', () => {
  it('answers /health while counting one chat message of 200,000 × "中" (offline engine)', async () => {
    const server = await startMeasuredServer('http://127.0.0.1:9/v1', tempDir(), { CORTEX_MODEL: '' });
    cleanups.push(() => server.stop());
    const { worstMs, result } = await healthDuring(server.url, async () => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chatBody('中'.repeat(200_000)),
      });
      return { status: res.status, body: (await res.json()) as any };
    });
    expect(result.status).toBe(200);
    expect(result.body.usage.prompt_tokens).toBeGreaterThan(200_000);
    expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  it('refuses a body nested 2,000,000 levels deep before parsing it (close to a second of JSON.parse each)', async () => {
    // In a process of its own, as the others: in this one, /health would also wait for the four 4 MB
    // requests being sent (a CI run under load saw 1,012 ms so).
    const server = await startMeasuredServer('http://127.0.0.1:9/v1', tempDir(), { CORTEX_MODEL: '' });
    cleanups.push(() => server.stop());
    const srv = { baseUrl: server.url };
    const deep = `${'['.repeat(2_000_000)}${']'.repeat(2_000_000)}`;
    const body = chatBody('hi').replace(/}$/, `,"user":"u","junk":${deep}}`);
    const { worstMs, result } = await healthDuring(srv.baseUrl, async () => {
      const sent = Array.from({ length: 4 }, () =>
        fetch(`${srv.baseUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
      );
      return Promise.all(sent.map(async (r) => ({ status: (await r).status, body: (await (await r).json()) as any })));
    });
    for (const r of result) {
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
      expect(r.body.error.message).toContain('nested deeper than 512 levels');
    }
    expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
    // Nesting as deep as a request may need is parsed, and a bracket inside a string counts for nothing.
    const fine = chatBody(`${'[{'.repeat(300)} \\" quoted ]`).replace(
      /}$/,
      `,"junk":${'['.repeat(200)}${']'.repeat(200)}}`,
    );
    const ok = await fetch(`${srv.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fine,
    });
    expect(ok.status).toBe(200);
  });

  // TextRank's graph grows as the square of the sentences, once per choice: 4-8 s before.
  it('answers /health while summarising 199,000 characters of sentences that share their words, n=8 (offline engine)', async () => {
    const server = await startMeasuredServer('http://127.0.0.1:9/v1', tempDir(), { CORTEX_MODEL: '' });
    cleanups.push(() => server.stop());
    const sentences = Array.from(
      { length: 5000 },
      (_, i) => `Sentence ${i} talks about solar panel topic ${i % 97} and water cycle ${i % 13}.`,
    );
    const text = `Summarize this: ${sentences.join(' ')}`.slice(0, 199_000);
    const { worstMs, result } = await healthDuring(server.url, async () => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cortex-flow', n: 8, messages: [{ role: 'user', content: text }] }),
      });
      return { status: res.status, body: (await res.json()) as any };
    });
    expect(result.status).toBe(200);
    expect(result.body.choices).toHaveLength(8);
    expect(result.body.choices[7].message.content).toContain('Sentence 0 talks about solar panel');
    expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  // 4 MB, every message small enough to be counted exactly on its own: 7-13 s of counting before.
  it('answers /health while counting a 4 MB request of 500 messages of random words (offline engine)', async () => {
    const server = await startMeasuredServer('http://127.0.0.1:9/v1', tempDir(), { CORTEX_MODEL: '' });
    cleanups.push(() => server.stop());
    const word = () =>
      Math.random()
        .toString(36)
        .slice(2, 2 + Math.ceil(Math.random() * 8));
    const messages = Array.from({ length: 500 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: Array.from({ length: 1_100 }, word).join(' ').slice(0, 8_000),
    }));
    const { worstMs, result } = await healthDuring(server.url, async () => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cortex-flow', messages }),
      });
      return { status: res.status, body: (await res.json()) as any };
    });
    expect(result.status).toBe(200);
    expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  it('answers /health while counting 4 MB of "x" streamed by the upstream model', async () => {
    const answer = 'x'.repeat(4_000_000);
    const upstream = await startMockUpstream(() => ({ text: answer, chunkSize: 64 * 1024 }));
    cleanups.push(() => upstream.close());
    const server = await startMeasuredServer(upstream.baseUrl, tempDir());
    cleanups.push(() => server.stop());
    const { worstMs, result } = await healthDuring(server.url, async () => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chatBody('Say x.'),
      });
      return { status: res.status, body: (await res.json()) as any };
    });
    expect(result.status).toBe(200);
    expect(result.body.choices[0].message.content).toBe(answer);
    expect(result.body.usage.completion_tokens).toBeGreaterThan(0);
    expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  // Stop sequences may be as long as a message: each chunk of the answer searched the held-back text
  // again for each of them (3-4 s here before, 30 s for four of 200,000 over 500 KB).
  it('answers /health while watching for four stop sequences of 100,000 characters in a 300 KB answer streamed in small chunks', async () => {
    const run = 'a'.repeat(300_000);
    const upstream = await startMockUpstream(() => ({ text: `${run}STOP and what follows`, chunkSize: 16 }));
    cleanups.push(() => upstream.close());
    const server = await startMeasuredServer(upstream.baseUrl, tempDir());
    cleanups.push(() => server.stop());
    const stop = [0, 1, 2].map((i) => `${'a'.repeat(100_000)}b${i}`).concat('STOP');
    const { worstMs, result } = await healthDuring(server.url, async () => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cortex-flow', stop, messages: [{ role: 'user', content: 'Say a.' }] }),
      });
      return { status: res.status, body: (await res.json()) as any };
    });
    expect(result.status).toBe(200);
    expect(result.body.choices[0].message.content).toBe(run);
    expect(result.body.choices[0].finish_reason).toBe('stop');
    expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  // max_tokens counted the word in progress again on every chunk, and byte-pair encoding is itself
  // quadratic in one unbroken piece: seconds here before, minutes for 300 KB.
  it('answers /health while counting max_tokens over 50,000 × "x" streamed by the upstream model', async () => {
    const run = 'x'.repeat(50_000);
    const upstream = await startMockUpstream(() => ({ text: run, chunkSize: 512 }));
    cleanups.push(() => upstream.close());
    const server = await startMeasuredServer(upstream.baseUrl, tempDir());
    cleanups.push(() => server.stop());
    const ask = (max_tokens: number) =>
      healthDuring(server.url, async () => {
        const res = await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'cortex-flow', max_tokens, messages: [{ role: 'user', content: 'Say x.' }] }),
        });
        return { status: res.status, body: (await res.json()) as any };
      });
    const whole = await ask(1_000_000);
    expect(whole.result.status).toBe(200);
    expect(whole.result.body.choices[0].message.content).toBe(run);
    expect(whole.result.body.choices[0].finish_reason).toBe('stop');
    expect(whole.worstMs).toBeLessThan(HEALTH_BOUND_MS);
    // A limit inside the run still cuts the answer at that many tokens.
    const cut = await ask(100);
    expect(cut.result.body.choices[0].finish_reason).toBe('length');
    const content = cut.result.body.choices[0].message.content as string;
    expect(content.length).toBeGreaterThan(100);
    expect(run.startsWith(content) && content.length < 2_000).toBe(true);
    expect(cut.worstMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  // The offline engine reads a message with regular expressions; each of these messages made one of
  // them backtrack over a long run (quadratic time). Sizes are a fraction of the 200,000-character
  // limit, so that the stall fails the test in seconds: at the limit each blocked for 10 s to minutes.
  describe('the offline engine reading a message made of one long run', () => {
    let url: string;
    const ask = async (content: string) => {
      if (!url) {
        const server = await startMeasuredServer('http://127.0.0.1:9/v1', tempDir(), { CORTEX_MODEL: '' });
        cleanups.push(() => server.stop());
        url = server.url;
      }
      return healthDuring(url, async () => {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: chatBody(content),
        });
        return { status: res.status, body: (await res.json()) as any };
      });
    };

    it.each([
      // The calculation's end-anchored pattern and the "<text>\nsummarize this" one: 3-4 s before.
      ['50,000 spaces between two letters', `x${' '.repeat(50_000)}y`],
      // A link's scheme ("a-a-a-…" could always still be one): about 4 s before.
      ['"a-" 50,000 times', 'a-'.repeat(50_000)],
      // The capitalised names of a question, looked for after spaces: about 2 s before.
      ['a line, then 100,000 newlines', `${'x'.repeat(150)}${'\n'.repeat(100_000)}y`],
      // "compare A or B" with no end to it: about 3 s before.
      ['"compare x or x or …" over 30,000 characters', `compare ${'x or '.repeat(6_000)}\n y`],
    ])('answers /health while answering %s', async (_label, content) => {
      const { worstMs, result } = await ask(content);
      expect(result.status).toBe(200);
      expect(result.body.choices[0].message.content.length).toBeGreaterThan(0);
      expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
    });

    it('still reads a calculation, a comparison and a text pasted before its summary request', async () => {
      const answers = await Promise.all(
        [
          'What is 17% of 2,340 ?',
          'Which is larger, 2^10 or 1000?',
          `${'The cat sat on the mat. It was warm there. The dog slept by the door. '.repeat(3)}\n  \nCan you summarize this?`,
        ].map(async (q) => (await ask(q)).result.body.choices[0].message.content as string),
      );
      expect(answers[0]).toContain('397.8');
      expect(answers[1]).toMatch(/2\^10/);
      expect(answers[2]).toMatch(/cat/i);
    });
  });

  describe('documents parsed next to a live server', () => {
    let site: Server;
    let siteUrl: string;

    it('answers /health while fetch_url reads a page nested 60,000 levels deep', async () => {
      site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(NESTED_PAGE));
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise((r) => site.close(r)));
      siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
      const live = await startTestServer(new ScriptedOrchestrator());
      cleanups.push(() => live.close());
      const tool = fetchUrlTool({ allowPrivate: true, maxBytes: 1_000_000, timeoutMs: 10_000 });
      const ctx = {
        signal: new AbortController().signal,
        conversationId: 'c',
        messages: [],
        sources: new SourceCollector(),
      };
      const { worstMs, result } = await healthDuring(live.baseUrl, () => tool.execute({ url: siteUrl }, ctx));
      expect(result.text).toBe('bottom of the well');
      expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
    });

    it('answers /health while ingesting that page into the knowledge base', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'deep.html'), NESTED_PAGE);
      const kb = await openKnowledgeBase({ dataDir: join(dir, 'data'), databaseUrl: undefined });
      cleanups.push(() => kb.close());
      const live = await startTestServer(new ScriptedOrchestrator());
      cleanups.push(() => live.close());
      const { worstMs, result } = await healthDuring(live.baseUrl, () => ingestPath(kb, dir));
      expect(result).toMatchObject({ added: 1, failed: [] });
      expect(worstMs).toBeLessThan(HEALTH_BOUND_MS);
    });
  });
});
