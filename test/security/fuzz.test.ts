// Thousands of generated malformed requests (bad JSON, wrong types, huge values, odd unicode,
// wrong content types): each gets a 4xx in OpenAI's envelope, never a 500 or a stack trace, and
// the server stays up. Seeded, so a failure can be replayed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app-server.ts';
import { ScriptedOrchestrator } from '../support/scripted-orchestrator.ts';

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
