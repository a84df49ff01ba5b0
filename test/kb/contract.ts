// The knowledge base's behaviour, run on SQLite and on PostgreSQL: every format ingested from
// fixtures made here, ranking on a known corpus, re-ingest replacing chunks, citable hits.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestPath } from '../../src/kb/ingest.ts';
import type { KnowledgeBase } from '../../src/kb/types.ts';

async function makePdf(lines: string[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle('Bee Report');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage();
  lines.forEach((line, i) => page.drawText(line, { x: 50, y: 750 - i * 20, size: 12, font }));
  return doc.save();
}

export function knowledgeBaseContract(
  name: string,
  open: () => Promise<KnowledgeBase>,
  dispose: () => Promise<void> = async () => {},
): void {
  describe(`knowledge base: ${name}`, () => {
    let kb: KnowledgeBase;
    let dir: string;
    beforeAll(async () => {
      kb = await open();
      dir = mkdtempSync(join(tmpdir(), 'kb-fixtures-'));
      writeFileSync(
        join(dir, 'volcanoes.md'),
        '# Volcanoes\n\nA volcano is an opening in the crust where magma erupts as lava.\n\n## Types\n\nShield volcanoes have gentle slopes built by fluid basalt lava flows. Stratovolcanoes are steep and explosive.',
      );
      writeFileSync(
        join(dir, 'tea.txt'),
        'Green tea is made from leaves that are not oxidised. Black tea leaves are fully oxidised before drying.',
      );
      writeFileSync(
        join(dir, 'glaciers.html'),
        '<html><head><title>Glaciers</title><style>.x{color:red}</style><script>var secret = "do not index";</script></head><body><nav>Home | About</nav><main><h1>Glaciers</h1><p>A glacier is a persistent body of dense ice that moves under its own weight.</p><p>Glaciers cover about ten percent of the land surface.</p></main></body></html>',
      );
      writeFileSync(
        join(dir, 'bees.pdf'),
        await makePdf(['Honey bees communicate with a waggle dance.', 'A colony can hold fifty thousand workers.']),
      );
      writeFileSync(join(dir, 'ignored.bin'), 'not a document');
    });
    afterAll(async () => {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
      await dispose();
    });

    it('ingests Markdown, text, HTML and PDF, and skips other files', async () => {
      const report = await ingestPath(kb, dir);
      expect(report).toMatchObject({ added: 4, updated: 0, unchanged: 0, failed: [] });
      const docs = await kb.list();
      expect(docs.map((d) => d.title).sort()).toEqual(['Bee Report', 'Glaciers', 'Volcanoes', 'tea']);
    });

    it('indexes readable text only (no scripts or navigation)', async () => {
      expect(await kb.search('secret index', 5)).toEqual([]);
      expect(await kb.search('Home About', 5)).toEqual([]);
      const [hit] = await kb.search('glacier dense ice', 5);
      expect(hit.title).toBe('Glaciers');
      expect(hit.text).toContain('persistent body of dense ice');
    });

    it('finds text inside a PDF', async () => {
      const [hit] = await kb.search('waggle dance bees', 5);
      expect(hit.title).toBe('Bee Report');
      expect(hit.text).toContain('waggle dance');
    });

    it('ranks the chunk that answers first', async () => {
      const hits = await kb.search('what kind of tea is oxidised', 5);
      expect(hits[0].title).toBe('tea');
      const lava = await kb.search('basalt lava shield', 5);
      expect(lava[0].text).toContain('Shield volcanoes');
      expect(lava[0].title).toBe('Volcanoes');
      expect(await kb.search('quantum chromodynamics', 5)).toEqual([]);
    });

    it('finds the words inside a package name, a path, a URL and an e-mail address', async () => {
      const own = mkdtempSync(join(tmpdir(), 'kb-words-')); // apart from the fixtures the next tests count
      const file = join(own, 'setup.md');
      writeFileSync(
        file,
        '# Setup\n\nRegister @fastify/cors, edit src/kb/chunker.ts, read https://example.org/guides/sandstorm ' +
          'and write to triage@lighthouse.example.',
      );
      await ingestPath(kb, file);
      for (const word of ['cors', 'chunker', 'sandstorm', 'triage', 'lighthouse'])
        expect(
          (await kb.search(word, 5)).map((h) => h.title),
          word,
        ).toEqual(['Setup']);
      expect(await kb.remove(file)).toBe(true);
      rmSync(own, { recursive: true, force: true });
    });

    it('finds a Chinese or Japanese word inside a sentence, and returns the text as written', async () => {
      const own = mkdtempSync(join(tmpdir(), 'kb-unspaced-')); // apart from the fixtures the next tests count
      const tea = '# 绿茶\n\n绿茶应该用八十度左右的水冲泡。冲泡时间大约两到三分钟。';
      const bicycle = '# 自転車の手入れ\n\nタイヤの空気圧は毎週確認してください。チェーンには月に一度油をさします。';
      writeFileSync(join(own, 'tea.md'), tea);
      writeFileSync(join(own, 'bicycle.md'), bicycle);
      await ingestPath(kb, own);
      expect((await kb.search('冲泡时间', 5)).map((h) => h.text)).toEqual([tea]);
      expect((await kb.search('分钟', 5)).map((h) => h.text)).toEqual([tea]);
      expect((await kb.search('空気圧', 5)).map((h) => h.text)).toEqual([bicycle]);
      expect((await kb.search('チェーンの油', 5)).map((h) => h.title)).toEqual(['自転車の手入れ']);
      expect(await kb.search('红茶价格', 5)).toEqual([]);
      for (const file of ['tea.md', 'bicycle.md']) expect(await kb.remove(join(own, file))).toBe(true);
      rmSync(own, { recursive: true, force: true });
    });

    it('ingests text holding NUL characters (past the encoding sample, or UTF-16), read back as U+FFFD', async () => {
      const own = mkdtempSync(join(tmpdir(), 'kb-nul-')); // apart from the fixtures the next tests count
      // The encoding is told from the first 64 KiB; a NUL after them leaves the file text.
      const filler = 'Notes on the harbour crane and its counterweight. '.repeat(1400);
      writeFileSync(join(own, 'late.md'), `# Late\n\n${filler}\n\nThe lighthouse\u0000keeper logs the fog.\n`);
      // One control character in over a hundred is still text (text-encoding.ts).
      const wide = `\ufeff# Wide\n\nThe ferryman\u0000rows across the estuary at dawn. ${'The tide turns twice a day. '.repeat(5)}`;
      writeFileSync(join(own, 'wide.txt'), Buffer.from(wide, 'utf16le'));
      const report = await ingestPath(kb, own);
      expect(report).toMatchObject({ added: 2, failed: [] });
      expect((await kb.search('lighthouse fog', 5)).map((h) => h.text)).toEqual([
        expect.stringContaining('The lighthouse\uFFFDkeeper logs the fog.'),
      ]);
      expect((await kb.search('ferryman estuary', 5)).map((h) => h.text)).toEqual([
        expect.stringContaining('The ferryman\uFFFDrows across the estuary at dawn.'),
      ]);
      for (const file of ['late.md', 'wide.txt']) expect(await kb.remove(join(own, file))).toBe(true);
      rmSync(own, { recursive: true, force: true });
    });

    it('lists what a folder holds besides documents as skipped, with the reason, and reads nothing of it', async () => {
      const own = mkdtempSync(join(tmpdir(), 'kb-skips-')); // apart from the fixtures the next tests count
      writeFileSync(join(own, 'note.md'), '# Note\n\nThe quartermaster counts the lanterns.');
      writeFileSync(join(own, 'data.csv'), 'a,b\n1,2\n');
      writeFileSync(join(own, 'empty.md'), '');
      symlinkSync(join(own, 'gone.md'), join(own, 'dangling.md'));
      symlinkSync(join(own, 'note.md'), join(own, 'again.md'));
      mkdirSync(join(own, 'sub'));
      symlinkSync(own, join(own, 'sub', 'loop'));
      const report = await ingestPath(kb, own);
      expect(report).toMatchObject({ added: 1, failed: [] });
      const reasons = Object.fromEntries(report.skipped.map((s) => [s.path.slice(own.length + 1), s.reason]));
      expect(reasons).toEqual({
        'again.md': 'a link (not followed)',
        'dangling.md': 'a link to nothing',
        'data.csv': expect.stringContaining('not a document type it reads'),
        'empty.md': 'no text to index',
        'sub/loop': 'a link (not followed)',
      });
      // A file of another type named on its own is passed over the same way; a path that is not there says so.
      expect((await ingestPath(kb, join(own, 'data.csv'))).skipped).toHaveLength(1);
      await expect(ingestPath(kb, join(own, 'nowhere.md'))).rejects.toThrow(/^No file or folder at /);
      expect(await kb.remove(join(own, 'note.md'))).toBe(true);
      rmSync(own, { recursive: true, force: true });
    });

    it('re-ingesting a changed file replaces its chunks; an unchanged one is skipped', async () => {
      const again = await ingestPath(kb, dir);
      expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 4 });
      writeFileSync(join(dir, 'tea.txt'), 'Oolong tea is partially oxidised, between green and black.');
      const changed = await ingestPath(kb, join(dir, 'tea.txt'));
      expect(changed).toMatchObject({ updated: 1 });
      const hits = await kb.search('oxidised tea', 5);
      expect(hits.filter((h) => h.title === 'tea').map((h) => h.text)).toEqual([
        'Oolong tea is partially oxidised, between green and black.',
      ]);
      expect(await kb.search('fully oxidised before drying', 5)).not.toContainEqual(
        expect.objectContaining({ text: expect.stringContaining('Black tea') }),
      );
      expect((await kb.list()).find((d) => d.title === 'tea')!.chunkCount).toBe(1);
    });

    it('removes a document by path or id', async () => {
      const doc = (await kb.list()).find((d) => d.title === 'Glaciers')!;
      expect(await kb.remove(doc.source)).toBe(true);
      expect(await kb.search('glacier ice', 5)).toEqual([]);
      expect(await kb.remove(doc.id)).toBe(false);
    });

    it('keeps meta values', async () => {
      expect(await kb.getMeta('k')).toBeUndefined();
      await kb.setMeta('k', 'v1');
      await kb.setMeta('k', 'v2');
      expect(await kb.getMeta('k')).toBe('v2');
    });
  });
}
