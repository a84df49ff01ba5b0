// Splits a document into chunks of a few paragraphs (about CHUNK_CHARS), each knowing its
// position, its character range in the document and the heading it sits under, so that a search
// hit can be cited precisely.
import { joinOpenFences } from './code-fences.ts';

export interface Chunk {
  ordinal: number;
  heading: string | null;
  start: number;
  end: number;
  text: string;
}

const CHUNK_CHARS = 1000;
const MAX_CHARS = 1600;

interface Block {
  start: number;
  end: number;
  text: string;
  heading: string | null;
}

/** The paragraphs of a text with their offsets, a fenced code block whole (code-fences.ts). */
function paragraphSpans(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  const re = /\S[\s\S]*?(?=\n\s*\n|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push({ start: m.index, end: m.index + m[0].length });
  return joinOpenFences(
    spans,
    (s) => text.slice(s.start, s.end),
    (a, b) => ({ start: a.start, end: b.end }),
  );
}

/** A Markdown ATX heading: `#` to `######` indented by at most three spaces (four make code). */
export const MARKDOWN_HEADING = /^ {0,3}#{1,6}\s+(.+)$/;

function blocks(text: string): Block[] {
  const out: Block[] = [];
  let heading: string | null = null;
  for (const span of paragraphSpans(text)) {
    // The first line keeps its indentation: `    # ...` is a comment in an indented example (a man
    // page's, a plain-text manual's), not a heading that would label every passage after it.
    const lineStart = text.lastIndexOf('\n', span.start - 1) + 1;
    const start = /^[ \t]*$/.test(text.slice(lineStart, span.start)) ? lineStart : span.start;
    const end = span.end;
    const body = text.slice(start, end).trimEnd();
    const h = MARKDOWN_HEADING.exec(body.split('\n')[0]);
    if (h) heading = h[1].trim();
    // A very long paragraph (a PDF page without blank lines) is cut at sentence ends.
    if (body.length <= MAX_CHARS) {
      out.push({ start, end, text: body, heading });
      continue;
    }
    let offset = 0;
    while (offset < body.length) {
      let cut = Math.min(body.length, offset + CHUNK_CHARS);
      if (cut < body.length) {
        // The last sentence end in the second half of the chunk, searched in that half only: a
        // search from `cut` back to the start of a paragraph with no sentence end made a long one
        // (a 20 MB single line) quadratic.
        const floor = offset + CHUNK_CHARS / 2;
        const stop = body.slice(floor + 1, cut + 2).lastIndexOf('. ');
        if (stop !== -1) cut = floor + 1 + stop + 1;
      }
      out.push({ start: start + offset, end: start + cut, text: body.slice(offset, cut).trim(), heading });
      offset = cut;
    }
  }
  return out;
}

export function chunkText(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Block[] = [];
  const flush = () => {
    if (!current.length) return;
    chunks.push({
      ordinal: chunks.length,
      heading: current[0].heading,
      start: current[0].start,
      end: current[current.length - 1].end,
      text: current.map((b) => b.text).join('\n\n'),
    });
    current = [];
  };
  for (const b of blocks(text)) {
    const size = current.reduce((n, c) => n + c.text.length, 0);
    const isHeading = (x: Block) => MARKDOWN_HEADING.test(x.text.split('\n')[0]);
    // A new section starts a new chunk, unless the chunk so far is only headings ("# Guide").
    const startsSection = isHeading(b) && current.some((c) => !isHeading(c));
    if (current.length && (size + b.text.length > CHUNK_CHARS || startsSection)) flush();
    current.push(b);
  }
  flush();
  return chunks;
}
