// Plain text out of the document formats the knowledge base takes: Markdown and text as they are,
// HTML through cheerio (scripts, styles and navigation dropped), PDF through unpdf.
import { basename, extname } from 'node:path';
import * as cheerio from 'cheerio';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';

export const SUPPORTED_EXTENSIONS = ['.md', '.markdown', '.txt', '.text', '.html', '.htm', '.pdf'];

export interface ExtractedDocument {
  title: string;
  text: string;
}

export async function extractDocument(path: string, bytes: Uint8Array): Promise<ExtractedDocument> {
  const ext = extname(path).toLowerCase();
  const fallbackTitle = basename(path, ext);
  if (ext === '.pdf') return extractPdf(bytes, fallbackTitle);
  const text = new TextDecoder('utf-8').decode(bytes);
  if (ext === '.html' || ext === '.htm') return extractHtml(text, fallbackTitle);
  if (ext === '.md' || ext === '.markdown') {
    const heading = /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
    return { title: heading || fallbackTitle, text };
  }
  return { title: fallbackTitle, text };
}

export function extractHtml(html: string, fallbackTitle = 'Untitled page'): ExtractedDocument {
  const $ = cheerio.load(html);
  const title = $('title').first().text().trim() || $('h1').first().text().trim() || fallbackTitle;
  $('script, style, noscript, nav, header, footer, aside, svg, form, iframe').remove();
  // Block elements become paragraphs, headings keep a Markdown marker so chunks know their section.
  $('h1, h2, h3, h4, h5, h6').each((_, el) => {
    const level = Number(el.tagName.slice(1));
    $(el).replaceWith(`\n\n${'#'.repeat(level)} ${$(el).text().trim()}\n\n`);
  });
  $('p, div, section, article, li, tr, br, pre, blockquote, table').each((_, el) => {
    $(el).append('\n\n');
  });
  const root = $('main').length ? $('main').text() : $('body').length ? $('body').text() : $.root().text();
  const text = root
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { title, text };
}

async function extractPdf(bytes: Uint8Array, fallbackTitle: string): Promise<ExtractedDocument> {
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  const { text } = await extractText(pdf, { mergePages: false });
  const meta = await getMeta(pdf).catch(() => undefined);
  const title = (meta?.info as { Title?: string } | undefined)?.Title?.trim() || fallbackTitle;
  return { title, text: (text as string[]).join('\n\n') };
}
