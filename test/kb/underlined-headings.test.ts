// Underlined headings (Markdown's setext headings, plain-text READMEs and specifications) become the
// `#` headings the knowledge base reads sections by, and rule lines go, so that neither a title nor
// its underline is read as part of the next sentence.
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/kb/chunk.ts';
import { extractDocument } from '../../src/kb/extract.ts';
import { normaliseHeadings } from '../../src/kb/underlined-headings.ts';
import { selectQuotes } from '../../src/offline/relevance.ts';

// As dpkg's and coreutils' plain-text documents are written.
const SPEC = [
  'Frontend locking',
  '================',
  '',
  'Status: draft',
  '',
  '***************',
  'Database Locking',
  '----------------',
  'When the frontend invokes dpkg, it sets DPKG_FRONTEND_LOCKED and releases the database lock.',
  '',
  '-----',
  '',
  'Send bug reports to the list.',
].join('\n');

describe('underlined headings', () => {
  it('makes underlined titles # headings (= first level, - second) and drops rules and overlines', () => {
    expect(normaliseHeadings(SPEC)).toBe(
      [
        '# Frontend locking',
        '',
        '',
        'Status: draft',
        '',
        '## Database Locking',
        '',
        'When the frontend invokes dpkg, it sets DPKG_FRONTEND_LOCKED and releases the database lock.',
        '',
        '',
        'Send bug reports to the list.',
      ].join('\n'),
    );
  });

  it('leaves code, list items and the last line of a paragraph alone', () => {
    const text = [
      '```',
      'Output',
      '======',
      '```',
      '',
      '- an item',
      '----------',
      '',
      'A paragraph of two',
      'hard-wrapped lines.',
      '-------------------',
    ].join('\n');
    expect(normaliseHeadings(text)).toBe(
      ['```', 'Output', '======', '```', '', '- an item', '', '', 'A paragraph of two', 'hard-wrapped lines.', ''].join(
        '\n',
      ),
    );
  });

  it('gives a document its sections and title, and the offline engine the sentence, not the heading', async () => {
    const doc = await extractDocument('/docs/frontend.txt', new TextEncoder().encode(SPEC));
    expect(chunkText(doc.text).map((c) => c.heading)).toEqual(['Frontend locking', 'Database Locking']);
    const md = await extractDocument('/docs/apt.md', new TextEncoder().encode('APT\n===\n\napt manages packages.'));
    expect(md.title).toBe('APT');

    const passage = { source: 1, title: doc.title, url: 'kb://doc_1#0', text: doc.text };
    const { quotes } = selectQuotes('What is the database lock of the frontend?', [passage]);
    expect(quotes.map((q) => q.text)).toEqual([
      'When the frontend invokes dpkg, it sets DPKG_FRONTEND_LOCKED and releases the database lock.',
    ]);
  });
});
