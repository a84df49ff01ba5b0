// The run view of a run paused for a client's tool and of the run that resumed it, in a real browser
// (playwright-core + Debian's Chromium): the paused run's timeline ends with the client's call,
// waiting for the client, and the resumed run's starts with the result the client sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { launchBrowser, seriousViolations, type Page, type TestBrowser } from '../support/browser.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ScriptBook, teamScript } from '../support/team-script.ts';
import { startTeamApp } from '../support/team-app.ts';

/** How long a page may take to show what is awaited (a loaded machine runs the browser slowly). */
const SETTLE = { timeout: 15_000 };

let upstream: MockUpstream;
let browser: TestBrowser;
let app: App;
let baseUrl: string;
let page: Page;
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-console-client-tools-'));

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  new ScriptBook(upstream).add(
    'client',
    teamScript('client', { plan: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } }),
  );
  ({ app, baseUrl } = await startTeamApp(upstream.baseUrl, dataDir));
  browser = await launchBrowser();
  page = await browser.context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const tools = [
  {
    type: 'function',
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  },
];

async function chat(messages: unknown[]) {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', messages, tools }),
  });
  expect(res.status).toBe(200);
  return { runId: res.headers.get('x-cortex-run-id')!, body: (await res.json()) as any };
}

async function expectAccessible() {
  const violations = await seriousViolations(page);
  expect(violations, JSON.stringify(violations, null, 1)).toEqual([]);
}

describe("a client's tool on the timeline", () => {
  const question = { role: 'user', content: 'Weather in Paris? [[client]]' };
  let paused: Awaited<ReturnType<typeof chat>>;

  it("ends the paused run's timeline with the call, waiting for the client", async () => {
    paused = await chat([question]);
    expect(paused.body.choices[0].finish_reason).toBe('tool_calls');
    await page.goto(`${baseUrl}/runs/${paused.runId}`);
    await page.getByTestId('timeline').waitFor();
    const call = page.locator('[data-lane="supervisor"] [data-client="call"]');
    expect(await call.count()).toBe(1);
    expect(await call.getAttribute('aria-label')).toBe(
      "Call of the client's tool get_weather by supervisor, waiting for the client",
    );
    await call.click();
    const details = page.locator('.details');
    await expect.poll(() => details.innerText(), SETTLE).toContain('(waiting for the client)');
    expect(await details.innerText()).toContain('Paris');
    expect(await page.locator('.legend').innerText()).toContain('client tool');
    await expectAccessible();
  });

  it("starts the resumed run's timeline with the result the client sent", async () => {
    const message = paused.body.choices[0].message;
    const resumed = await chat([
      question,
      message,
      { role: 'tool', tool_call_id: message.tool_calls[0].id, content: 'ZX-PARIS 18 C' },
    ]);
    expect(resumed.body.choices[0].message.content).toBe('The answer is 42. [[client]]');
    await page.goto(`${baseUrl}/runs/${resumed.runId}`);
    await page.getByTestId('timeline').waitFor();
    const result = page.locator('[data-lane="supervisor"] [data-client="result"]');
    expect(await result.count()).toBe(1);
    expect(await result.getAttribute('aria-label')).toBe(
      "Result of the client's tool get_weather for supervisor: result sent by the client",
    );
    await result.focus();
    await page.keyboard.press('Enter');
    const details = page.locator('.details');
    await expect.poll(() => details.innerText(), SETTLE).toContain('ZX-PARIS 18 C');
    expect(await details.innerText()).toContain('this run resumed with its result');
    await expectAccessible();
  });
});
