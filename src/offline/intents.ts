// The rule-based supervisor: what a message asks for, recognised before any search. A greeting,
// an introduction, a question about the conversation, a text to summarise, a calculation or a
// request only a language model could serve never reaches the knowledge base, whose passages
// would share a word or two with it and answer nothing.
import type { ChatMessage } from '../orchestrator/types.ts';
import { calculationOf, type Calculation } from './arithmetic.ts';
import { anyOf, pattern } from './pattern.ts';
import { proseSentences, stems } from './text.ts';
import { earlierAnswers, pointAsked } from './earlier-answers.ts';
import {
  asksForName,
  conversationQuestion,
  factsIn,
  nameIn,
  recallAboutUser,
  type ConversationQuestion,
} from './memory.ts';

export type Intent =
  | { kind: 'greeting'; thanks: boolean }
  | { kind: 'capabilities' }
  | { kind: 'introduction'; name?: string; facts: string[] }
  | { kind: 'ask-name' }
  | { kind: 'about-user'; statements: string[] }
  | { kind: 'conversation'; which: ConversationQuestion }
  | { kind: 'summarize-text'; text: string; style: 'points' | 'shorter' }
  | { kind: 'ask-text'; text: string; question: string }
  | { kind: 'key-findings' }
  | { kind: 'more' }
  | { kind: 'point'; n: number }
  | { kind: 'compare'; left: Calculation; right: Calculation; asks: 'larger' | 'smaller' }
  | { kind: 'calculate'; calculation: Calculation }
  | { kind: 'needs-model'; task: string }
  | { kind: 'research' };

const GREETING_WORD = anyOf(
  'hi',
  'hello',
  'hey',
  'hiya',
  'howdy',
  'greetings',
  'good (?:morning|afternoon|evening|day)',
  'how are you(?: doing)?(?: today)?',
  "how's it going",
  "what's up",
  'thanks',
  'thank you',
  'thx',
  'cheers',
);
const GREETING = pattern('i', String.raw`^\s*${GREETING_WORD}\b`);
const GREETING_PREFIX = pattern(
  'i',
  String.raw`^\s*(?:${GREETING_WORD}\b[\s,.!?]*)+`,
  String.raw`(?:there|everyone|all|again|cortex(?: flow)?|so much|a lot|very much)?[\s,.!?]*`,
);
const GREETING_FILLER = new Set('there everyone again today doing much lot cortex flow friend bot'.split(' '));
const THANKS = /^\s*(thanks|thank you|thx|cheers)\b/i;
const CAPABILITIES = pattern(
  'i',
  String.raw`^\s*`,
  anyOf('who are you', 'what are you', 'what can you do', 'what do you do', 'help', 'how do you work'),
  String.raw`\s*[?!.]*\s*$`,
);

const SUMMARY_VERB = anyOf(
  'summari[sz]e',
  'shorten',
  'condense',
  'sum up',
  'tl;?dr',
  String.raw`(?:give me|list|what are) (?:the )?(?:key|main) points(?: of| in)?`,
);
const POLITE = String.raw`(?:please\s+|can you\s+|could you\s+)?`;
// "Summarise this text: <text>", "List the key points of: <text>".
const PASTED_AFTER = pattern(
  'i',
  String.raw`^\s*${POLITE}(${SUMMARY_VERB})\b`,
  String.raw`(?:\s+(?:this|the following|that|my))?`,
  String.raw`(?:\s+(?:text|passage|paragraph|article|email|note|story|document))?\s*(?:for me)?`,
  String.raw`\s*(?::|\n|-|–|—)\s*([\s\S]{40,})$`,
);
// "<text>\nCan you summarize this?": the request is the message's last line. It is read from the
// last line rather than by one pattern over the whole message: a pattern that looks for the text's
// end before it backtracks over every long run of spaces or newlines, quadratic time (18 s for a
// message of 200,000 spaces).
const SUMMARY_REQUEST = pattern(
  'i',
  String.raw`^${POLITE}(${SUMMARY_VERB})\b`,
  String.raw`(?:\s+(?:this|that|the above|it)(?:\s+text)?)?(?:\s+(?:please|for me))?\s*[?.!]*$`,
);

/** A trimmed message's last line, the text before it (its trailing spaces off), and the newlines between. */
function lastLine(q: string): { before: string; newlines: number; line: string } {
  const cut = q.lastIndexOf('\n');
  let end = cut;
  let newlines = cut < 0 ? 0 : 1;
  while (end > 0 && /\s/.test(q[end - 1]!)) if (q[--end] === '\n') newlines++;
  return { before: q.slice(0, Math.max(end, 0)), newlines, line: q.slice(cut + 1).trim() };
}

function pastedBefore(q: string): { text: string; verb: string } | undefined {
  const { before, newlines, line } = lastLine(q);
  if (!newlines || before.length < 80) return undefined;
  const request = SUMMARY_REQUEST.exec(line);
  return request ? { text: before, verb: request[1]! } : undefined;
}

/**
 * A question about a text the message brings along: the text, a blank line, then the question
 * ("<a lease>\n\nWhat does this say about the deposit?"); or a question that points at the text
 * after it ("What does the following text say about parking? <text>"). The text must be prose of a
 * few sentences: a question with a line of context is still a question for the knowledge base.
 */
const QUESTION_AFTER_TEXT = { minText: 150, question: /^[^\n]{3,300}\?$/ };
const QUESTION_BEFORE_TEXT = pattern(
  'i',
  String.raw`^\s*([^\n?]{0,200}\b(?:the following|below|this|these)\b[^\n?]{0,100}\?)\s*`,
  String.raw`([\s\S]{150,})$`,
);
/** The text's own introduction, on its first line ("Here is the refund policy of a shop:"). */
const INTRODUCED = /^[^\n]{0,120}:[^\S\n]*\n/;
/** The fewest sentences a brought text has: fewer are context of a question, not a document. */
const MIN_TEXT_SENTENCES = 3;

function questionAboutText(q: string): Extract<Intent, { kind: 'ask-text' }> | undefined {
  // The question on the last line, after a blank line (read as pastedBefore reads its request).
  const end = lastLine(q);
  const after =
    end.newlines >= 2 && end.before.length >= QUESTION_AFTER_TEXT.minText && QUESTION_AFTER_TEXT.question.test(end.line)
      ? [end.before, end.line]
      : undefined;
  const before = after ? undefined : QUESTION_BEFORE_TEXT.exec(q);
  const [text, question] = after ? [after[0]!.replace(INTRODUCED, ''), after[1]] : before ? [before[2], before[1]] : [];
  if (!text || !question || proseSentences(text).length < MIN_TEXT_SENTENCES) return undefined;
  return { kind: 'ask-text', text: text.trim(), question: question.trim() };
}
// "Summarize the key findings", "recap", "tl;dr": the conversation's findings, not a search topic.
const KEY_FINDINGS = pattern(
  'i',
  String.raw`^\s*${POLITE}(?:summari[sz]e|sum up|recap|tl;?dr)`,
  String.raw`(?:\s+`,
  anyOf(
    'it',
    'this',
    'that',
    'everything',
    'all',
    'so far',
    'the (?:key |main )?(?:findings|points|answers?|conversation)',
    'what you (?:found|said)',
    'your (?:answers?|findings)',
  ),
  String.raw`)*\s*[?.!]*\s*$`,
  String.raw`|^\s*(?:and\s+)?(?:what (?:are|were) )?(?:the |your )?`,
  String.raw`(?:key|main) (?:findings|points)(?: so far)?\s*[?.!]*\s*$`,
);
const MORE = pattern(
  'i',
  String.raw`^\s*(?:and\s+)?`,
  anyOf(
    'tell me more',
    'more(?: details| info(?:rmation)?)?',
    'go on',
    'continue',
    'keep going',
    'elaborate',
    'expand',
    'say more',
    'anything else',
  ),
  String.raw`(?:\s+(?:about|on) (?:that|this|it))?\s*[?.!]*\s*$`,
);

// Creative and transformative work: only a language model can do it honestly.
const NEEDS_MODEL: [RegExp, string][] = [
  [
    pattern(
      'i',
      String.raw`^\s*(?:please\s+)?translate\b|\btranslate (?:this|that|it|the following)\b`,
      String.raw`|\bin (?:french|spanish|german|italian|japanese|chinese)\b`,
    ),
    'Translation',
  ],
  [
    pattern(
      'i',
      String.raw`\b(?:write|generate|create|give me)\b.{0,20}`,
      String.raw`\b(?:code|function|script|program|class|sql|query|regex|snippet|unit tests?)\b`,
    ),
    'Writing code',
  ],
  [
    pattern(
      'i',
      String.raw`^\s*(?:please\s+)?(?:can you\s+|could you\s+)?`,
      String.raw`(?:write|compose|draft|create|generate|make(?: up)?|tell)\b.{0,25}\b`,
      anyOf(
        'haiku',
        'poem',
        'story',
        'song',
        'lyrics',
        'essay',
        'email',
        'letter',
        'joke',
        'limerick',
        'speech',
        'tweet',
        'blog',
        'article',
        'report',
        'slogan',
        'cover letter',
        'summary of (?:ai|the news)',
      ),
      String.raw`\b`,
    ),
    'Writing new text',
  ],
  [/^\s*(please\s+)?(rewrite|paraphrase|rephrase|proofread)\b/i, 'Rewriting text'],
  [/\b(what do you think|your opinion|do you believe|predict|brainstorm)\b/i, 'Giving opinions or ideas'],
];

// "Which is larger, 2^10 or 1000?", "compare 5 km and 3 miles".
const COMPARE = pattern(
  'i',
  String.raw`^\s*(?:which is (larger|bigger|greater|more|smaller|less)`,
  String.raw`|what is (larger|bigger|greater|smaller)|compare)`,
  String.raw`\s*[:,]?\s*(.+?)\s*(?:,?\s*or\s*|\s+and\s+|\s+with\s+|\s+vs\.?\s+)(.+?)\s*\??\s*$`,
);

// Two quantities to compare are a short question (each side is at most 200 characters of
// calculation); COMPARE's two lazy groups are quadratic in a long message ("compare x or x or …"
// with no end: 5 s for 40,000 characters, minutes for 200,000).
const MAX_COMPARE_CHARS = 1_000;

export function classify(question: string, history: ChatMessage[]): Intent {
  const q = question.trim();
  const pasted = PASTED_AFTER.exec(q);
  if (pasted) return { kind: 'summarize-text', text: pasted[2], style: styleOf(pasted[1]) };
  const before = pastedBefore(q);
  if (before) return { kind: 'summarize-text', text: before.text, style: styleOf(before.verb) };
  const aboutText = questionAboutText(q);
  if (aboutText) return aboutText;

  const name = nameIn(q);
  const facts = factsIn(q);
  // "My name is Alice", "I'm Bob and I like green": short statements about oneself, not questions.
  if ((name || facts.length) && !q.includes('?') && q.length < 160) return { kind: 'introduction', name, facts };
  if (asksForName(q)) return { kind: 'ask-name' };
  if (GREETING.test(q)) {
    // "Hi, what is 2+2?" is a question with a greeting in front: the question is what to answer.
    const rest = q.replace(GREETING_PREFIX, '');
    if (!/\d/.test(rest) && !stems(rest).some((w) => !GREETING_FILLER.has(w)))
      return { kind: 'greeting', thanks: THANKS.test(q) };
    return classify(rest, history);
  }
  if (CAPABILITIES.test(q)) return { kind: 'capabilities' };
  const which = conversationQuestion(q);
  if (which && history.some((m) => m.role === 'user')) return { kind: 'conversation', which };

  if (q.length < 80) {
    const n = earlierAnswers(history).length ? pointAsked(q) : undefined;
    if (n !== undefined) return { kind: 'point', n };
    if (MORE.test(q)) return { kind: 'more' };
    if (KEY_FINDINGS.test(q)) return { kind: 'key-findings' };
  }

  const compare = q.length <= MAX_COMPARE_CHARS ? COMPARE.exec(q) : null;
  if (compare) {
    const left = calculationOf(compare[3], { bare: true });
    const right = calculationOf(compare[4], { bare: true });
    if (left && right) return { kind: 'compare', left, right, asks: /smaller|less/i.test(q) ? 'smaller' : 'larger' };
  }
  const calculation = calculationOf(q);
  if (calculation) return { kind: 'calculate', calculation };
  for (const [re, task] of NEEDS_MODEL) if (re.test(q)) return { kind: 'needs-model', task };

  const statements = recallAboutUser(history, q);
  if (statements.length) return { kind: 'about-user', statements };
  return { kind: 'research' };
}

const styleOf = (verb: string): 'points' | 'shorter' => (/shorten|condense/i.test(verb) ? 'shorter' : 'points');
