// An answer as HTML: Markdown (marked), sanitized (DOMPurify: the answer comes from a model, and
// through it from web pages), with each citation `[n]` linked to source n in the list below it.
import DOMPurify from 'dompurify';
import { marked } from 'marked';

export interface Source {
  index: number;
  title: string;
  url: string;
  snippet?: string;
}

export const sourceAnchor = (scope: string, index: number) => `src-${scope}-${index}`;

/**
 * What an answer may not hold besides scripts: form controls (a fake sign-in form that posts the
 * key elsewhere), styles (an overlay covering the console), and the console's own classes and ids
 * (a fake key prompt drawn in its look, a citation anchor taken over). An answer is text and links.
 */
const SANITIZE = {
  FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'option', 'style', 'dialog'],
  FORBID_ATTR: ['style', 'action', 'formaction', 'class', 'id'],
};

export function answerHtml(text: string, sources: readonly Source[], scope: string): string {
  const known = new Set(sources.map((s) => s.index));
  // `[n]` not already a link (`[n](...)`) and naming a known source: a link to that source.
  const linked = text.replace(/\[(\d+)\](?![(:])/g, (whole, n: string) =>
    known.has(Number(n)) ? `[\\[${n}\\]](#${sourceAnchor(scope, Number(n))} "Source ${n}")` : whole,
  );
  const html = marked.parse(linked, { async: false, gfm: true, breaks: false });
  return DOMPurify.sanitize(html, SANITIZE);
}

/** Only web links are followed; `kb://` sources and the like are shown, not linked. */
export const isWebUrl = (url: string) => /^https?:\/\//i.test(url);
