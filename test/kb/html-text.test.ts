// Readable text out of HTML pages (fetch_url and ingest): what is kept and dropped, and pages built
// to exhaust a parser (deep nesting, stray closing tags) read in time linear in their size.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openKnowledgeBase } from '../../src/kb/create-kb.ts';
import { htmlToText } from '../../src/kb/html-text.ts';
import { ingestPath } from '../../src/kb/ingest.ts';

describe('text of an HTML page', () => {
  it('keeps the title, headings as Markdown and paragraphs; drops scripts, styles and navigation', async () => {
    const page = await htmlToText(
      `<!doctype html><html><head><title>Tides &amp; moon</title><style>p{color:red}</style></head>
       <body><header>Site header</header><nav><a href="/">Home</a></nav>
       <h1>Tides</h1><p>The moon&#39;s pull raises <b>two</b> bulges.</p><script>track("visit")</script>
       <ul><li>Spring tides<li>Neap tides</ul><h2>Timing</h2><p>About every 12 hours<br>and 25 minutes.</p>
       <svg><title>Chart title</title><text>chart</text></svg><svg/><footer>Copyright</footer></body></html>`,
    );
    expect(page).toEqual({
      title: 'Tides & moon',
      text: "# Tides\n\nThe moon's pull raises two bulges.\n\nSpring tides\n\nNeap tides\n\n## Timing\n\nAbout every 12 hours\n\nand 25 minutes.",
      truncated: false,
    });
  });

  it('drops the inert markup of a <template>, placeholders and all', async () => {
    const page = await htmlToText(
      `<title>Team</title><body><p>The team meets on Mondays.</p>
       <template id="row"><p>Welcome back, {{ user.name }}! You have {{ count }} new messages.</p></template></body>`,
    );
    expect(page.text).toBe('The team meets on Mondays.');
  });

  it('drops blocks that are mostly links (menus, next/previous lines, an index), keeps prose that links a few words', async () => {
    // As a generated manual writes them: no <nav>, only paragraphs and tables of links.
    const page = await htmlToText(
      `<title>Closures</title><div class="header"><p>Next: <a href="b.html">Closure Example</a>,
       Previous: <a href="a.html">Multiple ABIs</a>, Up: <a href="u.html">Using libffi</a></p></div>
       <h2><a href="#c">The Closure API</a></h2>
       <p>This facility is called the <a href="#c">closure API</a>. It builds functions at run time.</p>
       <table><tr><td><a href="c.html">closure API</a>:</td><td><a href="c.html">The Closure API</a></td></tr>
       <tr><td><a href="t.html">thread safety</a>:</td><td><a href="t.html">Thread Safety</a></td></tr></table>
       <ul><li><a href="/">Home</a></li><li><a href="/docs">Documentation</a></li></ul>`,
    );
    expect(page.text).toBe(
      '## The Closure API\n\nThis facility is called the closure API. It builds functions at run time.',
    );
  });

  it('keeps the links of a page that is nothing but links when asked (fetch_url), not for the knowledge base', async () => {
    const front = `<title>Harbour news</title><h1>Today</h1><ul><li><a href="/1">Storm closes the harbour at Brest</a></li>
       <li><a href="/2">Tidal records broken in March</a></li></ul>`;
    expect((await htmlToText(front, { keepPagesOfLinks: true })).text).toBe(
      '# Today\n\nStorm closes the harbour at Brest\n\nTidal records broken in March',
    );
    expect((await htmlToText(front)).text).toBe('# Today');
  });

  it('heads a definition with its term, one level below the section, and fences preformatted text', async () => {
    const page = await htmlToText(
      `<h2>Users</h2><dl><dt>operator</dt><dd><p>It was in the root group. It had uid 37.</p></dd>
       <dt>www-data</dt><dd>Some web servers run as www-data.</dd></dl>
       <h3>Example</h3><pre>ret = deflateInit(&amp;strm, level);\nif (ret != Z_OK) return ret;</pre><p>Then compress.</p>`,
    );
    expect(page.text).toBe(
      '## Users\n\n### operator\n\nIt was in the root group. It had uid 37.\n\n### www-data\n\n' +
        'Some web servers run as www-data.\n\n### Example\n\n```\nret = deflateInit(&strm, level);\n' +
        'if (ret != Z_OK) return ret;\n```\n\nThen compress.',
    );
  });

  it('reads only <main> when the page has one, and takes the first h1 when there is no title', async () => {
    const page = await htmlToText('<body><div>Sidebar</div><main><h1>Article</h1><p>Body text.</p></main></body>', {
      fallbackTitle: 'fallback',
    });
    expect(page).toMatchObject({ title: 'Article', text: '# Article\n\nBody text.' });
    expect(await htmlToText('<p>no title</p>', { fallbackTitle: 'fallback' })).toMatchObject({ title: 'fallback' });
  });

  it('reads a page that never closes its <head>', async () => {
    expect((await htmlToText('<html><head><title>T</title><p>Visible text')).text).toBe('Visible text');
  });

  it('reads 60,000 nested elements and 60,000 stray closing tags', async () => {
    const nested = `${'<div>'.repeat(60_000)}deep text${'</div>'.repeat(60_000)}`;
    expect((await htmlToText(nested)).text).toBe('deep text');
    const stray = `${'<div>'.repeat(60_000)}start${'</span>'.repeat(60_000)}end`;
    expect((await htmlToText(stray)).text).toBe('startend');
  });

  it('stops at its time budget and keeps the text read so far', async () => {
    const long = '<p>paragraph of text</p>'.repeat(200_000);
    const page = await htmlToText(long, { budgetMs: 0 });
    expect(page.truncated).toBe(true);
    expect(page.text.length).toBeGreaterThan(0);
    expect(page.text.length).toBeLessThan(long.length / 2);
  });

  it('ingests a deeply nested page into the knowledge base', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-html-'));
    const kb = await openKnowledgeBase({ dataDir: join(dir, 'data'), databaseUrl: undefined });
    try {
      const file = join(dir, 'deep.html');
      writeFileSync(file, `<title>Well</title>${'<div>'.repeat(60_000)}The well is deep.${'</div>'.repeat(60_000)}`);
      expect(await ingestPath(kb, file)).toMatchObject({ added: 1, failed: [] });
      expect((await kb.search('well deep', 5))[0]).toMatchObject({ title: 'Well', text: 'The well is deep.' });
    } finally {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
