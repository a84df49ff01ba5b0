// Plain text out of the document formats the knowledge base takes: Markdown and text as they are,
// HTML through a streaming tokenizer (scripts, styles and navigation dropped), PDF through unpdf.
import { basename, extname } from 'node:path';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';
import { looksBinary } from './binary-content.ts';
import { htmlToText } from './html-text.ts';

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
  const text = new TextDecoder('utf-8').decode(bytes);
  if (ext === '.html' || ext === '.htm') return extractHtml(text, fallbackTitle);
  if (ext === '.md' || ext === '.markdown') {
    const heading = /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
    return { title: heading || fallbackTitle, text };
  }
  return { title: fallbackTitle, text };
}

/** Title and readable text of a page: scripts, styles and navigation dropped (see html-text.ts). */
export async function extractHtml(html: string, fallbackTitle = 'Untitled page'): Promise<ExtractedDocument> {
  const { title, text } = await htmlToText(html, { fallbackTitle });
  return { title, text };
}

const PDF_ERRORS_ONLY = 0;

async function extractPdf(bytes: Uint8Array, fallbackTitle: string): Promise<ExtractedDocument> {
  // pdf.js prints its warnings ("Indexing all PDF objects", ...) to the console, into the output
  // of the CLI; a document it cannot read is reported as a failure by the caller instead.
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: PDF_ERRORS_ONLY });
  const { text } = await extractText(pdf, { mergePages: false });
  const meta = await getMeta(pdf).catch(() => undefined);
  const title = (meta?.info as { Title?: string } | undefined)?.Title?.trim() || fallbackTitle;
  return { title, text: (text as string[]).join('\n\n') };
}
