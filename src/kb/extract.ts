// Plain text out of the document formats the knowledge base takes: Markdown and text as they are
// (in UTF-8, UTF-16 or Latin-1, unless their bytes are binary: text-encoding.ts) but for
// underlined headings, made `#` headings (underlined-headings.ts), HTML through a streaming
// tokenizer (scripts, styles and navigation dropped), PDF through unpdf in a worker thread with a
// time limit.
import { basename, dirname, extname } from 'node:path';
import { htmlToText, type HtmlTextOptions } from './html-text.ts';
import { normaliseHeadings } from './underlined-headings.ts';
import { readPdf } from './pdf-text.ts';
import { decodeText } from './text-encoding.ts';

export const SUPPORTED_EXTENSIONS = ['.md', '.markdown', '.txt', '.text', '.html', '.htm', '.pdf'];

/** A file that is not a document after all (binary content under a text extension). */
export class NotADocumentError extends Error {}

export interface ExtractedDocument {
  title: string;
  text: string;
}

export async function extractDocument(path: string, bytes: Uint8Array): Promise<ExtractedDocument> {
  const ext = extname(path).toLowerCase();
  // A README or an index page is named by its folder (node_modules/fastify/README.md: "fastify").
  const stem = basename(path, ext);
  const fallbackTitle = /^(readme|index)$/i.test(stem) && basename(dirname(path)) ? basename(dirname(path)) : stem;
  if (ext === '.pdf') return extractPdf(bytes, fallbackTitle);
  const decoded = decodeText(bytes);
  if (decoded === undefined) throw new NotADocumentError(`binary content, not ${ext.slice(1)} text`);
  if (ext === '.html' || ext === '.htm') return extractHtml(decoded, fallbackTitle);
  if (ext === '.md' || ext === '.markdown') {
    // Front matter (`---` lines around `title: ...`, as static site generators write it) is the
    // document's metadata, not its text: its title is the document's, and it is not indexed.
    const front = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(decoded);
    const text = normaliseHeadings(front ? decoded.slice(front[0].length) : decoded);
    const declared = front && /^title:\s*["']?(.+?)["']?\s*$/m.exec(front[1])?.[1];
    return { title: declared || markdownTitle(text) || fallbackTitle, text };
  }
  const text = normaliseHeadings(decoded);
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

/** Markdown images and links as their words: a badge ([![npm](...)](...)) as nothing at all. */
const withoutMarkup = (line: string): string =>
  line
    .replace(/\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)/g, ' ')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * A Markdown document's title: its first level-1 heading (`#` or HTML) when nothing but images,
 * badges and blank lines come before it, without its badges ("# micromatch [![NPM version](...)](...)"). A
 * README whose title is a logo ("[![ioredis](logo.svg)](...)", then prose, then "# Features")
 * is titled by the logo's alternative text; otherwise the caller falls back to the file's name.
 */
function markdownTitle(text: string): string | undefined {
  let logo: string | undefined;
  let at = 0;
  for (let n = 0; n < 200 && at < text.length; n++) {
    const end = text.indexOf('\n', at);
    const line = text.slice(at, end < 0 ? text.length : end);
    const lineStart = at;
    at = end < 0 ? text.length : end + 1;
    const heading = /^#\s+(.+)$/.exec(line);
    if (heading) return withoutMarkup(heading[1]) || logo;
    // A README's HTML title (<h1 align="center">Zod</h1>, or a logo inside one).
    if (/<h1\b/i.test(line)) {
      const inner = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(text.slice(lineStart, lineStart + 8000))?.[1] ?? '';
      return withoutMarkup(inner) || /\balt="([^"]+)"/.exec(inner)?.[1] || logo;
    }
    if (!line.trim() || /^#{2,6}\s/.test(line)) continue;
    if (withoutMarkup(line)) return logo; // prose before any title
    const alt = /^\[?!\[([^\]]+)\]/.exec(line.trim())?.[1];
    if (!logo && alt && /^[\w@./-]+$/.test(alt)) logo = alt;
  }
  return logo;
}
