// The console in a real browser (playwright-core + Debian's Chromium) under the conditions a busy
// server puts it in: hundreds of conversations paged back and forth while some are deleted (a URL
// counted from a deleted one), a conversation deleted while its turn still runs (the server waits,
// then answers 409 conversation_busy), and chat requests refused before any run began (a rate
// limit, a server shutting down, its store down, the connection refused).
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
let book: ScriptBook;
let browser: TestBrowser;
let app: App;
let baseUrl: string;
const dataDir = mkdtempSync(join(tmpdir(), 'cortex-console-hard-'));

beforeAll(async () => {
  upstream = await startMockUpstream(() => ({ status: 500 }));
  book = new ScriptBook(upstream);
  ({ app, baseUrl } = await startTeamApp(upstream.baseUrl, dataDir, {
    // A delete (or a turn) waits this long for the turn in progress, then answers 409.
    CORTEX_CONVERSATION_WAIT_SECONDS: '1',
  }));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function expectAccessible(page: Page) {
  const violations = await seriousViolations(page);
  expect(violations, JSON.stringify(violations, null, 1)).toEqual([]);
}

async function chat(content: string) {
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cortex-flow', messages: [{ role: 'user', content }] }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { conversation_id: string };
}

async function send(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

const idOfLink = (href: string | null) => href!.split('/').pop()!;

describe('hundreds of conversations', () => {
  const TOTAL = 250; // 13 pages of 20
  const titles = (page: Page) => page.locator('.list li a').allInnerTexts();

  beforeAll(async () => {
    const tag = book.add('many', teamScript('many', { plan: { text: 'Hello. [[many]]' } }));
    // In order (each newer than the last), a few at a time.
    for (let i = 1; i <= TOTAL; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, j) => chat(`Question ${i + j} [[${tag}]]`)));
  }, 120_000);

  it('pages to the end and back by keyboard: every page as it was, the focus kept on the pager', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/conversations`);
    await page.locator('.list li a').first().waitFor();
    const seen: string[][] = [await titles(page)];
    const older = page.getByRole('button', { name: 'Older' });
    await older.focus();
    for (let n = 2; n <= 13; n++) {
      await page.keyboard.press('Enter');
      await page.getByRole('list', { name: `Conversations, page ${n}` }).waitFor();
      seen.push(await titles(page));
    }
    expect(seen.flat()).toHaveLength(TOTAL);
    expect(new Set(seen.flat()).size).toBe(TOTAL);
    expect(seen[12].at(-1)).toMatch(/^Question (1|2|3|4|5|6|7|8|9|10) /);
    expect(await older.isDisabled()).toBe(true);
    // The last page disabled the button that reached it: the keyboard is still there, not sent to the top.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Older');
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Newer');
    for (let n = 12; n >= 1; n--) {
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('.pager .muted').innerText(), SETTLE).toBe(`Page ${n}`);
      await expect.poll(() => titles(page), SETTLE).toEqual(seen[n - 1]);
    }
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Newer');
    await expectAccessible(page);
    await page.close();
  }, 60_000);

  it('pages back past a deleted conversation, and explains a URL counted from one', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/conversations`);
    const older = page.getByRole('button', { name: 'Older' });
    await page.locator('.list li a').first().waitFor();
    await older.click();
    await expect.poll(() => page.locator('.pager .muted').innerText(), SETTLE).toBe('Page 2');
    await page.locator('.list li a').first().waitFor();
    // Page 3 is read from the last conversation of page 2.
    const cursor = idOfLink(await page.locator('.list li a').last().getAttribute('href'));
    await older.click();
    await expect.poll(() => page.locator('.pager .muted').innerText(), SETTLE).toBe('Page 3');
    const page3Url = page.url();
    await older.click();
    await expect.poll(() => page.locator('.pager .muted').innerText(), SETTLE).toBe('Page 4');
    const page4 = await titles(page);
    expect(page4).toHaveLength(20);

    // Someone deletes that conversation meanwhile (another tab, the API).
    expect((await fetch(`${baseUrl}/v1/conversations/${cursor}`, { method: 'DELETE' })).status).toBe(200);
    // Newer from page 4 still finds page 3: the 20 newer than page 4's first.
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => page.locator('.pager .muted').innerText(), SETTLE).toBe('Page 3');
    await expect.poll(() => page.locator('.list li a').count(), SETTLE).toBe(20);
    expect(await page.getByRole('alert').count()).toBe(0);

    // The URL of page 3 as it was (a bookmark, Back): what went wrong, and the way out.
    await page.goto(page3Url);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText(), SETTLE).toContain('no longer exists');
    await expectAccessible(page);
    await alert.getByRole('link', { name: 'Go to the newest conversations' }).click();
    await expect.poll(() => page.locator('.list li a').count(), SETTLE).toBe(20);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.locator('.pager .muted').innerText()).toBe('Page 1');
    await page.close();
  }, 60_000);
});

describe('the keyboard across pages', () => {
  it("starts the next Tab in the new page's content, after a link or a delete", async () => {
    book.add('keys', teamScript('keys', { plan: { text: 'Typed. [[keys]]' } }));
    const { conversation_id } = await chat('Keyboard only [[keys]]');
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/conversations`);
    const link = page.getByRole('link', { name: /^Keyboard only/ });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Keyboard only/ }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('← All conversations');
    // Deleted by keyboard: the list opens, and Tab goes on in it (its first conversation).
    await page.locator('button.danger').focus();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Conversations, page 1' }).waitFor();
    expect(await page.getByRole('link', { name: /^Keyboard only/ }).count()).toBe(0);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('.list') !== null)).toBe(true);
    expect((await fetch(`${baseUrl}/v1/conversations/${conversation_id}`)).status).toBe(404);
    await page.close();
  }, 30_000);
});

describe('deleting the conversation whose turn is running', () => {
  it('says it waits, explains the 409, deletes on retry, and the playground starts afresh', async () => {
    book.add(
      'busy',
      teamScript('busy', {
        writer: { text: 'Slowly, word by word, it is written. [[busy]]', chunkSize: 3, chunkDelayMs: 200 },
      }),
    );
    book.add('after', teamScript('after', { plan: { text: 'A fresh start. [[after]]' } }));
    const page = await browser.context.newPage();
    await page.goto(baseUrl);
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    await send(page, 'Take your time [[busy]]');
    // While the answer streams, the user opens its conversation and deletes it.
    await page.getByRole('link', { name: /^conv_/ }).click();
    await page.getByRole('heading', { name: /^Take your time/ }).waitFor();
    const title = await page.getByRole('heading', { name: /^Take your time/ }).innerText();
    const button = page.locator('button.danger');
    page.once('dialog', (dialog) => void dialog.accept());
    await button.click();
    // The server waits (up to 1 s here) for the turn: the button says so, and a second click does nothing.
    await expect.poll(() => button.innerText(), SETTLE).toBe('Deleting…');
    expect(await button.getAttribute('aria-disabled')).toBe('true');
    const alert = page.getByRole('alert');
    await expect
      .poll(() => alert.innerText(), SETTLE)
      .toContain('Not deleted: a turn of this conversation is still running');
    expect(await button.innerText()).toBe('Delete conversation');
    await expectAccessible(page);

    // Once the answer is complete, the retry deletes it; the list no longer has it.
    const stored = `${baseUrl}/v1${new URL(page.url()).pathname}`;
    await expect.poll(async () => ((await fetch(stored).then((r) => r.json())) as any).messages.length, SETTLE).toBe(2);
    page.once('dialog', (dialog) => void dialog.accept());
    await button.click();
    await expect.poll(() => new URL(page.url()).pathname, SETTLE).toBe('/conversations');
    await page.locator('.list li a').first().waitFor();
    expect(await titles(page)).not.toContain(title);

    // The playground does not go on in the conversation that is gone.
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    expect(await page.getByRole('link', { name: /^conv_/ }).count()).toBe(0);
    expect(await page.locator('.transcript li').count()).toBe(0);
    await send(page, 'Next [[after]]');
    await expect.poll(() => page.getByTestId('answer').innerText(), SETTLE).toBe('A fresh start. [[after]]');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.close();
  }, 60_000);

  const titles = (page: Page) => page.locator('.list li a').allInnerTexts();
});

describe('the playground when a request is refused', () => {
  const envelope = (status: number, code: string, message: string, headers: Record<string, string>) => ({
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error: { message, type: 'server_error', param: null, code } }),
  });

  it('keeps the message to send again and says when, for a rate limit, a shutdown, a store down', async () => {
    book.add('later', teamScript('later', { plan: { text: 'Got it. [[later]]' } }));
    const page = await browser.context.newPage();
    await page.goto(baseUrl);
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    const composer = page.getByRole('textbox', { name: 'Message' });
    const refusals = [
      envelope(
        429,
        'rate_limit_exceeded',
        'Rate limit reached for requests per minute on this API key. Please try again in 7s.',
        {
          'retry-after': '7',
          'x-ratelimit-limit-requests': '2',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '7s',
        },
      ),
      envelope(503, 'server_shutting_down', 'The server is shutting down; please retry.', { 'retry-after': '1' }),
      envelope(503, 'store_unreachable', 'The store is unreachable; please retry shortly.', { 'retry-after': '2' }),
    ];
    const expected = [
      'Not sent: Rate limit reached for requests per minute on this API key. Please try again in 7s.',
      'Not sent: The server is shutting down; please retry. Try again in 1 s.',
      'Not sent: The store is unreachable; please retry shortly. Try again in 2 s.',
    ];
    for (const [i, refusal] of refusals.entries()) {
      await page.route('**/v1/chat/completions', (route) => route.fulfill(refusal));
      await send(page, 'Later, then [[later]]');
      await expect.poll(() => page.getByTestId('refused').innerText(), SETTLE).toBe(expected[i]);
      // Nothing was asked of the team: the message is back in the composer, not in the transcript.
      expect(await composer.inputValue()).toBe('Later, then [[later]]');
      expect(await page.locator('.transcript li').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true);
      await page.unroute('**/v1/chat/completions');
    }
    await expectAccessible(page);
    // The server takes it again: sent as it was, the refusal gone.
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByTestId('answer').innerText(), SETTLE).toBe('Got it. [[later]]');
    expect(await page.getByTestId('refused').count()).toBe(0);
    expect(await composer.inputValue()).toBe('');
    await page.close();
  }, 60_000);

  it('says in words that the server could not be reached', async () => {
    const page = await browser.context.newPage();
    await page.route('**/v1/models', (route) => route.abort('connectionrefused'));
    await page.goto(baseUrl);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText(), SETTLE).toContain('The server could not be reached');
    await page.unroute('**/v1/models');
    await alert.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).inputValue(), SETTLE).toBe('cortex-flow');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.close();
  }, 30_000);
});
