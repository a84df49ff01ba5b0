// PDFs are read by pdf.js in a worker thread with a time limit: the text and title come back, and a
// PDF that takes too long is given up on instead of holding the process.
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { PdfTimeoutError, readPdf } from '../../src/kb/pdf-text.ts';

async function makePdf(title: string, line: string, pages = 1): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 0; i < pages; i++) doc.addPage().drawText(line, { x: 50, y: 700, size: 12, font });
  return doc.save();
}

describe('reading a PDF in a worker thread', () => {
  it('returns its title and text', async () => {
    const pdf = await readPdf(await makePdf('Tides', 'The moon raises two bulges of water.'));
    expect(pdf).toEqual({ title: 'Tides', text: 'The moon raises two bulges of water.' });
  });

  it('joins a word the typesetter broke at the end of a line', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const page = doc.addPage();
    page.drawText('The moon raises two bul-', { x: 50, y: 700, size: 12, font });
    page.drawText('ges of water, twice a day.', { x: 50, y: 686, size: 12, font });
    const { text } = await readPdf(await doc.save());
    expect(text.replace(/\s+/g, ' ')).toBe('The moon raises two bulges of water, twice a day.');
  });

  it('reports a file pdf.js cannot read as an error', async () => {
    await expect(readPdf(new TextEncoder().encode('%PDF-1.7 nothing else'))).rejects.toThrow(/PDF/i);
  });

  it('gives up when its time limit passes, and reads the next file with a fresh worker', async () => {
    // 300 pages take far longer than 1 ms to read.
    await expect(readPdf(await makePdf('Slow', 'page', 300), 1)).rejects.toBeInstanceOf(PdfTimeoutError);
    const next = await makePdf('Next', 'Read by a fresh worker.');
    expect(await readPdf(next)).toEqual({ title: 'Next', text: 'Read by a fresh worker.' });
  });
});
