// Headings of Markdown and plain-text documents written the other way: a line underlined with `=`
// or `-` (Markdown's setext headings, reStructuredText, READMEs and specifications in plain text),
// sometimes overlined too, and lines that only draw a rule (`-----`, `*****`). The knowledge base
// knows a section by a `#` heading (chunking, citations, the offline engine's paragraph titles),
// so these become `#` headings and the rules go; otherwise a title and its underline were read as
// the first words of the next sentence ("Database Locking ---------------- When the frontend...")
// and quoted as an answer.
import { isFence } from './code-fences.ts';

/** A line drawn with one punctuation character, three times or more. */
const RULE = /^([=\-~^*#+_:`'"])\1{2,}$/;

/** `=` underlines are the top level, `-` the next; any other character the one below. */
const levelOf = (rule: string) => (rule[0] === '=' ? '#' : rule[0] === '-' ? '##' : '###');

/** Whether `line` can be a title: one line of words, not a rule, a list item or a heading already. */
const isTitle = (line: string) =>
  line.length > 0 && line.length <= 120 && !RULE.test(line) && !/^([-*+•]\s|#{1,6}\s|\d+[.)]\s|>)/.test(line);

export function normaliseHeadings(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    // What is inside a fenced code block is code, never a heading (nor is a fence of ``` a rule).
    const fence = isFence(line);
    if (fence) inFence = !inFence;
    if (inFence || fence || !RULE.test(line)) {
      out.push(lines[i]);
      continue;
    }
    // A rule under a title that stands on its own line (after a blank line, an overline or the
    // start) makes it a heading; any other rule is a separator and goes.
    const title = out.at(-1)?.trim() ?? '';
    const above = out.at(-2)?.trim();
    if (isTitle(title) && (above === undefined || above === '' || above.startsWith('#'))) {
      out[out.length - 1] = `${levelOf(line)} ${title}`;
      out.push('');
    } else if (out.at(-1)?.trim() !== '') out.push('');
  }
  return out.join('\n');
}
