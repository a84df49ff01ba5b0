// Text files as real folders hold them: saved by Notepad or PowerShell (UTF-16 with a byte order
// mark, Windows line ends), by older editors (Latin-1), or damaged; and binary data named `.md`,
// which must still be passed over.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { extractDocument, NotADocumentError } from '../../src/kb/extract.ts';
import { chunkText } from '../../src/kb/chunk.ts';

const utf16 = (text: string, order: 'le' | 'be') => {
  const le = Buffer.from(`\ufeff${text}`, 'utf16le');
  return order === 'le' ? le : Buffer.from(le).swap16();
};

describe('the text of files in other encodings', () => {
  it('reads UTF-16 with a byte order mark, little- and big-endian', async () => {
    for (const order of ['le', 'be'] as const) {
      const doc = await extractDocument(
        '/docs/walrus.md',
        utf16('# Walrus\r\n\r\nWalruses live in the Arctic.', order),
      );
      expect(doc, order).toEqual({ title: 'Walrus', text: '# Walrus\n\nWalruses live in the Arctic.' });
    }
  });

  it('reads Latin-1 text, accents and all', async () => {
    const bytes = Buffer.from('# Café notes\n\nLe café est très bon; crème brûlée à la façon du chef.', 'latin1');
    const doc = await extractDocument('/docs/cafe.md', bytes);
    expect(doc.title).toBe('Café notes');
    expect(doc.text).toContain('crème brûlée à la façon');
  });

  it('keeps UTF-8 with a damaged byte as UTF-8 (no Latin-1 mojibake of its accents)', async () => {
    const bytes = Buffer.concat([Buffer.from('Crème brûlée, naïve café. '), Buffer.from([0xff]), Buffer.from(' Fin.')]);
    const doc = await extractDocument('/docs/dessert.txt', bytes);
    expect(doc.text).toContain('Crème brûlée, naïve café.');
  });

  it('titles a Markdown file with Windows line ends by its heading, with no \\r left in its text', async () => {
    const bytes = Buffer.from('# Tractors\r\n\r\nLine one.\r\nLine two.\r\n\r\n## Harvesters\r\n\r\nMore.\r\n');
    const doc = await extractDocument('/docs/farm.md', bytes);
    expect(doc.title).toBe('Tractors');
    expect(doc.text).not.toContain('\r');
    expect(chunkText(doc.text).map((c) => c.heading)).toEqual(['Tractors', 'Harvesters']);
  });

  it('still passes over binary data under a text name, with or without NUL bytes or a BOM', async () => {
    const noNul = randomBytes(200 * 1024).map((b) => b || 1);
    for (const bytes of [randomBytes(200 * 1024), noNul, Buffer.concat([Buffer.from([0xff, 0xfe]), noNul])])
      await expect(extractDocument('/docs/random.md', bytes)).rejects.toBeInstanceOf(NotADocumentError);
  });
});
