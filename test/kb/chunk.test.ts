import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/kb/chunk.ts';

describe('chunking', () => {
  const section = (title: string, n: number) =>
    `## ${title}\n\n` +
    Array.from({ length: n }, (_, i) => `${title} paragraph ${i} ` + 'words and more words. '.repeat(12)).join('\n\n');
  const doc = `# Guide\n\n${section('Install', 4)}\n\n${section('Configure', 4)}\n\n${section('Operate', 4)}`;

  it("keeps paragraphs whole, chunks near the target size, and knows each chunk's section and position", () => {
    const chunks = chunkText(doc);
    expect(chunks.length).toBeGreaterThan(3);
    chunks.forEach((c, i) => {
      expect(c.ordinal).toBe(i);
      expect(c.text.length).toBeLessThanOrEqual(1700);
      // The offsets point at the chunk's own text in the document.
      expect(doc.slice(c.start, c.end)).toContain(c.text.split('\n\n')[0]);
    });
    expect(chunks.find((c) => c.text.includes('Configure paragraph 0'))!.heading).toBe('Configure');
    expect(chunks.find((c) => c.text.includes('Operate paragraph 3'))!.heading).toBe('Operate');
    // Every paragraph is in exactly one chunk.
    for (const title of ['Install', 'Configure', 'Operate'])
      for (let i = 0; i < 4; i++)
        expect(chunks.filter((c) => c.text.includes(`${title} paragraph ${i} `))).toHaveLength(1);
  });

  it('keeps a fenced code block whole, blank lines and all, and never takes a # comment in it for a heading', () => {
    const code = [
      '```sh',
      '# install the tool',
      'npm install tidewatch',
      '',
      '# run it',
      'tidewatch --harbour brest',
      '```',
    ];
    const chunks = chunkText(['## Usage', '', ...code, '', 'Then read the tides.'].join('\n'));
    expect(chunks).toHaveLength(1);
    expect(chunks[0].heading).toBe('Usage');
    expect(chunks[0].text).toContain(code.join('\n'));
  });

  it('cuts a 20 MB paragraph with no sentence end into chunks of the target size', () => {
    // Searching back for a sentence end from each cut to the paragraph's start made this quadratic.
    const chunks = chunkText('word '.repeat(4_000_000));
    expect(chunks.length).toBe(20_000);
    expect(chunks.every((c) => c.text.length <= 1000)).toBe(true);
  });

  it('cuts one huge paragraph (a PDF page) at sentence ends', () => {
    const huge = 'This is a sentence about nothing much. '.repeat(200);
    const chunks = chunkText(huge);
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) expect(c.text.endsWith('.')).toBe(true);
  });

  it('reads an indented `#` line as code (a comment in an example), not as a heading', () => {
    const manual =
      'EXAMPLES\n\n    # The following header is folded.\n    curl -H "X: 1" https://example.com\n\n' +
      'Follow redirects with -L, --location: curl follows the Location header.';
    const chunks = chunkText(manual);
    expect(chunks.map((c) => c.heading)).toEqual(chunks.map(() => null));
    expect(chunkText('# Install\n\nRun the installer.')[0].heading).toBe('Install');
  });
});
