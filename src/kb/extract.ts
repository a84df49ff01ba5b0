// Plain text out of the document formats the knowledge base takes: Markdown and text as they are
// (unless their bytes are binary) but for underlined headings, made `#` headings
// (underlined-headings.ts), HTML through a streaming tokenizer (scripts, styles and
// navigation dropped), PDF through unpdf in a worker thread with a time limit.
import { basename, extname } from 'node:path';
import { looksBinary } from './binary-content.ts';
import { htmlToText, type HtmlTextOptions } from './html-text.ts';
import { normaliseHeadings } from './underlined-headings.ts';
import { readPdf } from './pdf-text.ts';

export const SUPPORTED_EXTENSIONS = ['.md', '.markdown', '.txt', '.text', '.html', '.htm', '.pdf'];

/** A file that is not a document after all (binary content under a text extension). */
export class NotADocumentError extends Error {}

export interface ExtractedDocument {
  title: string;
  text: string;
}

export async function extractDocument(path: string, bytes: Uint8Array): Promise<ExtractedDocument> {
  const ext = extname(path).toLowerCase();
  const fallbackTitle = basename(path, ext);
  if (ext === '.pdf') return extractPdf(bytes, fallbackTitle);
  if (looksBinary(bytes)) throw new NotADocumentError(`binary content, not ${ext.slice(1)} text`);
  const decoded = new TextDecoder('utf-8').decode(bytes);
  if (ext === '.html' || ext === '.htm') return extractHtml(decoded, fallbackTitle);
  const text = normaliseHeadings(decoded);
  if (ext === '.md' || ext === '.markdown') {
    const heading = /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
    return { title: heading || fallbackTitle, text };
  }
  return { title: fallbackTitle, text };
}

/** Title and readable text of a page: scripts, styles and navigation dropped (see html-text.ts). */
export async function extractHtml(
  html: string,
  fallbackTitle = 'Untitled page',
  options: Pick<HtmlTextOptions, 'keepPagesOfLinks'> = {},
): Promise<ExtractedDocument> {
  const { title, text } = await htmlToText(html, { fallbackTitle, ...options });
  return { title, text };
}

async function extractPdf(bytes: Uint8Array, fallbackTitle: string): Promise<ExtractedDocument> {
  const { title, text } = await readPdf(bytes);
  return { title: title || fallbackTitle, text };
}
