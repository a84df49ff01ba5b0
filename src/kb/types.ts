// The local knowledge base: documents split into chunks, indexed for full-text ranking.
import { wordsOf } from './words.ts';

export interface KbDocument {
  id: string;
  source: string;
  title: string;
  hash: string;
  bytes: number;
  chunkCount: number;
  ingestedAt: string;
}

export interface KbHit {
  documentId: string;
  title: string;
  source: string;
  ordinal: number;
  heading: string | null;
  text: string;
  /** Higher is better. */
  score: number;
}

export interface NewDocument {
  source: string;
  title: string;
  hash: string;
  bytes: number;
  chunks: { ordinal: number; heading: string | null; start: number; end: number; text: string }[];
}

export interface KnowledgeBase {
  /** Adds a document, or replaces the chunks of a changed one; an unchanged one is left alone. */
  upsertDocument(doc: NewDocument): Promise<'added' | 'updated' | 'unchanged'>;
  search(query: string, limit: number): Promise<KbHit[]>;
  list(): Promise<KbDocument[]>;
  /** Removes a document by id or source path. */
  remove(idOrSource: string): Promise<boolean>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Words worth searching for: lower-case letters and digits, Chinese and Japanese split into words
 * (words.ts), short stop words dropped.
 */
export function queryTerms(query: string): string[] {
  const words = wordsOf(query.toLowerCase().normalize('NFKC'));
  return [...new Set(words.filter((w) => (w.length > 1 || IDEOGRAM.test(w)) && !STOP_WORDS.has(w)))].slice(0, 32);
}

/** A word of one character that says something: a Han character ("水", water) or a Hangul syllable. */
const IDEOGRAM = /^[\p{sc=Han}\p{sc=Hangul}]$/u;

// Words that carry no subject: a question matching a passage on them alone is not answered by it.
// English function words, and those of German, French and Spanish that are no English words
// (not "die", "war", "son"): a question in another language must not match English text, nor
// text in that language, on its articles and prepositions. Chinese and Japanese likewise, each
// word as Intl.Segmenter cuts it.
export const STOP_WORDS = new Set(
  [
    'a an and are as at be but by can could did do does for from had has have how i if in into is it its me my of on',
    'or our so that the their them then there these they this to was we were what when where which who whom why will',
    'with would you your about tell please explain describe give show am been being any all some such than too very',
    'not no nor only own same both few more most other under over per each every one ones here just now again once',
    'upon via yet while whose shall may might must ought us him her his she he itself',
    // German
    'der das dem des ein eine einer eines einem einen und ist sind von zu mit im auf für wie wer wo sich es ich du er',
    'sie wir ihr nicht auch bei aus nach oder wenn dass noch kann welche welcher welches',
    // French
    'le la les de du un une et est sont en que qui pour dans sur au aux ce cette ces il elle ils elles ne pas par plus',
    'avec sa ses leur quel quelle quels quelles comment pourquoi où',
    // Spanish
    'el los las del y es una por para como se su sus al lo qué cuál cuándo dónde quién cómo hay muy',
    // Chinese, as Intl.Segmenter splits it (words.ts): particles, pronouns, question words
    '的 了 着 过 是 在 和 与 或 及 也 都 就 而 吗 呢 吧 啊 呀 么 这 那 哪 谁 我 你 您 他 她 它 有 不 把 被 让 给 从 对 于 以 为',
    '之 其 个 请 会 能 要 该 还 很 又 即 将 此 这个 那个 这些 那些 哪个 哪些 我们 你们 他们 她们 它们 什么 怎么 怎样 如何',
    '为什么 多少 几个 可以 能够 应该 需要 是否 没有 关于 告诉 请问',
    // Japanese: particles, auxiliaries and question words (one kana is no word already)
    'から まで より ので のは には では とは です でした ます ました ません ない する して した され される いる います',
    'ある あり あります なる なり これ それ あれ この その あの どこ どの どれ どう どんな いつ なに 何 なぜ 誰 だれ など',
    'ください くだ さい について による ため こと もの よう くらい ぐらい いくら いくつ',
  ]
    .join(' ')
    .split(' '),
);
