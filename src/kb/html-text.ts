// Readable text out of an untrusted HTML page, in time linear in its size and with no tree.
// Navigation is left out: the elements that hold it (<nav>, <header>, ...) and, since pages rarely
// mark it so, any block of text that is mostly link text (a menu, "Next: ... Up: ...", an index or
// a table of contents), which would otherwise be searched and quoted as if it said something.
//
// A DOM (cheerio, or htmlparser2's Parser, whose open-element stack is an array it unshifts) costs
// time quadratic in the nesting depth: a 660 KB page of 60,000 nested elements blocked the event
// loop for a minute. This walks htmlparser2's Tokenizer instead, keeping only counters of the
// elements it is inside, and feeds it the page in slices, yielding to the event loop between them
// and giving up (keeping the text so far) past a time budget.
import { Tokenizer } from 'htmlparser2';

export interface HtmlText {
  title: string;
  text: string;
  /** True when the time budget ran out before the end of the page. */
  truncated: boolean;
}

export interface HtmlTextOptions {
  fallbackTitle?: string;
  /** Wall-clock limit of the whole extraction. */
  budgetMs?: number;
  /** Longest the extraction keeps the event loop busy before it yields. */
  sliceMs?: number;
  /**
   * A page that is little but links keeps them: what a reader of the web is shown (a front page of
   * headlines says what it links to). Off for the knowledge base: a manual's index is no answer.
   */
  keepPagesOfLinks?: boolean;
}

// Content that is not the page's text: its subtree is skipped. A <template> is markup a script
// copies into the page later, with its placeholders ("{{ user.name }}"), never shown as it is.
const DROPPED = new Set([
  'script',
  'style',
  'noscript',
  'nav',
  'header',
  'footer',
  'aside',
  'svg',
  'form',
  'iframe',
  'template',
]);
// Elements that end a paragraph of text.
const BLOCKS = new Set(['p', 'div', 'section', 'article', 'li', 'tr', 'br', 'pre', 'blockquote', 'table', 'main']);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
// What may sit in <head>; any other element starts the body, as in a browser (a page that never
// closes its <head> still has text).
const HEAD_CONTENT = new Set(['title', 'meta', 'link', 'style', 'script', 'base', 'noscript', 'template']);
const SLICE_CHARS = 64 * 1024;
/**
 * A block whose link text is more than this share of its text is navigation. Prose that links a
 * few of its words stays well under it (an encyclopedia paragraph: a fifth to a third).
 */
const MAX_LINK_SHARE = 0.5;
/** A page that keeps less than this share of its text without its link blocks is a page of links. */
const MIN_KEPT_SHARE = 0.2;
const visibleLength = (text: string) => text.replace(/\s+/g, '').length;

/** The text read so far: of the whole body, and of its <main> if it has one. */
class Output {
  body = '';
  main = '';
  /** Characters other than white space: how much the page says. */
  visible = 0;
}

class TextCollector {
  readonly html: string;
  /** The text without the blocks that are mostly links. */
  readonly kept = new Output();
  /**
   * The text with them, for a page of links that keeps them (built only when it may be used); how
   * much the page says in all is counted either way.
   */
  readonly all: Output | undefined;
  private allVisible = 0;
  title = '';
  firstH1 = '';
  sawMain = false;
  private tagName = '';
  private dropped = new Map<string, number>();
  private droppedDepth = 0;
  private headDepth = 0;
  private titleDepth = 0;
  private titleDone = false;
  private mainDepth = 0;
  private heading: { level: number; text: string } | undefined;
  /** The level of the last <h1>-<h6>: a definition list's terms are headings one below it. */
  private sectionLevel = 1;
  /** Inside a link. Links do not nest: an <a> ends the one still open, as in a browser. */
  private inLink = false;
  /** The block of text being read, held until its end shows whether it is mostly links. */
  private block = { body: '', main: '', visible: 0, linked: 0 };

  constructor(html: string, keepPagesOfLinks: boolean) {
    this.html = html;
    this.all = keepPagesOfLinks ? new Output() : undefined;
  }

  text(data: string): void {
    if (this.titleDepth) this.title += data;
    if (this.droppedDepth || this.headDepth || this.titleDepth) return;
    if (this.heading) this.heading.text += data;
    else this.emit(data);
  }

  private emit(data: string): void {
    const b = this.block;
    b.body += data;
    if (this.mainDepth) b.main += data;
    const visible = visibleLength(data);
    b.visible += visible;
    if (this.inLink) b.linked += visible;
  }

  /** The end of a block: its text is kept unless most of it is link text. */
  endBlock(): void {
    const b = this.block;
    const outputs = b.linked <= MAX_LINK_SHARE * b.visible ? [this.kept, this.all] : [this.all];
    for (const out of outputs) {
      if (!out) continue;
      out.body += b.body;
      out.main += b.main;
      out.visible += b.visible;
    }
    this.allVisible += b.visible;
    this.block = { body: '', main: '', visible: 0, linked: 0 };
    this.write('\n\n');
  }

  /** Text that every version of the page keeps (headings, paragraph breaks). */
  private write(text: string): void {
    const visible = visibleLength(text);
    for (const out of [this.kept, this.all]) {
      if (!out) continue;
      out.body += text;
      if (this.mainDepth) out.main += text;
      out.visible += visible;
    }
    this.allVisible += visible;
  }

  /** The page's text: without its link blocks, unless it is a page of links and keeps them. */
  result(): string {
    const pageOfLinks = this.kept.visible < MIN_KEPT_SHARE * this.allVisible;
    const out = (pageOfLinks && this.all) || this.kept;
    return this.sawMain ? out.main : out.body;
  }

  openTagName(start: number, end: number): void {
    this.tagName = this.html.slice(start, end).toLowerCase();
  }

  /** `<svg/>` and the like: an element with nothing inside, so nothing to skip. */
  selfClosingTag(): void {
    if (!DROPPED.has(this.tagName)) this.openTagEnd();
  }

  openTagEnd(): void {
    const name = this.tagName;
    if (this.headDepth && !HEAD_CONTENT.has(name)) this.headDepth = 0;
    if (DROPPED.has(name)) {
      this.dropped.set(name, (this.dropped.get(name) ?? 0) + 1);
      this.droppedDepth++;
    } else if (name === 'head') this.headDepth = 1;
    else if (name === 'body') this.headDepth = 0;
    // The page's title is its first <title> outside dropped content (an <svg> has titles too).
    else if (name === 'title') this.titleDepth = this.droppedDepth || this.titleDone ? 0 : 1;
    else if (name === 'main') {
      this.sawMain = true;
      this.mainDepth++;
    } else if (name === 'a') this.inLink = true;
    else if ((HEADINGS.has(name) || name === 'dt') && !this.droppedDepth && !this.headDepth) {
      // A definition list's term (<dt>operator</dt>) heads its definition as a section title does:
      // "It had uid 37." is then read under "operator", not under the chapter that lists the users.
      this.closeHeading();
      if (name !== 'dt') this.sectionLevel = Number(name[1]);
      this.heading = { level: name === 'dt' ? Math.min(6, this.sectionLevel + 1) : this.sectionLevel, text: '' };
    }
    if (BLOCKS.has(name) && !this.droppedDepth) this.endBlock();
    // Preformatted text is code (or a listing): fenced, so that readers treat it as code, not prose.
    if (name === 'pre' && !this.droppedDepth) this.emit('```\n');
  }

  closeTag(start: number, end: number): void {
    const name = this.html.slice(start, end).toLowerCase();
    const open = this.dropped.get(name);
    if (open) {
      this.dropped.set(name, open - 1);
      this.droppedDepth--;
      return;
    }
    if (name === 'head') this.headDepth = 0;
    else if (name === 'title' && this.titleDepth) {
      this.titleDepth = 0;
      this.titleDone = true;
    } else if (name === 'main' && this.mainDepth) this.mainDepth--;
    else if (name === 'a') this.inLink = false;
    else if (HEADINGS.has(name) || name === 'dt') this.closeHeading();
    if (name === 'pre' && !this.droppedDepth) this.emit('\n```');
    if (BLOCKS.has(name) && !this.droppedDepth) this.endBlock();
  }

  /**
   * A heading becomes a Markdown heading of its own paragraph, so chunks know their section. It is
   * kept even when it is a link (a section that links to itself).
   */
  closeHeading(): void {
    if (!this.heading) return;
    const { level, text } = this.heading;
    this.heading = undefined;
    // Without the permalink sign a documentation generator puts after a heading ("Usage¶").
    const title = text.trim().replace(/\s*[¶§🔗]$/u, '');
    this.endBlock();
    if (!title) return; // an empty heading still ends the paragraph before it
    if (level === 1 && !this.firstH1) this.firstH1 = title;
    this.write(`${'#'.repeat(level)} ${title}`);
    this.endBlock();
  }
}

const normalise = (text: string) =>
  text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function htmlToText(html: string, options: HtmlTextOptions = {}): Promise<HtmlText> {
  const { fallbackTitle = 'Untitled page', budgetMs = 10_000, sliceMs = 20 } = options;
  const collector = new TextCollector(html, options.keepPagesOfLinks ?? false);
  const decodeText = (start: number, end: number) => collector.text(html.slice(start, end));
  const tokenizer = new Tokenizer(
    { decodeEntities: true },
    {
      ontext: decodeText,
      ontextentity: (codepoint) => collector.text(String.fromCodePoint(codepoint)),
      onopentagname: (start, end) => collector.openTagName(start, end),
      onopentagend: () => collector.openTagEnd(),
      onselfclosingtag: () => collector.selfClosingTag(),
      onclosetag: (start, end) => collector.closeTag(start, end),
      onattribdata: () => {},
      onattribentity: () => {},
      onattribend: () => {},
      onattribname: () => {},
      oncdata: () => {},
      oncomment: () => {},
      ondeclaration: () => {},
      onprocessinginstruction: () => {},
      onend: () => {},
    },
  );
  const started = performance.now();
  let sliceStarted = started;
  let truncated = false;
  for (let at = 0; at < html.length; at += SLICE_CHARS) {
    tokenizer.write(html.slice(at, at + SLICE_CHARS));
    const now = performance.now();
    if (now - started > budgetMs) {
      truncated = true;
      break;
    }
    if (now - sliceStarted > sliceMs) {
      await nextTurn();
      sliceStarted = performance.now();
    }
  }
  if (!truncated) tokenizer.end();
  collector.closeHeading();
  collector.endBlock();
  const title = normalise(collector.title) || collector.firstH1 || fallbackTitle;
  return { title, text: normalise(collector.result()), truncated };
}
