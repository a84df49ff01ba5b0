// The local knowledge base: documents split into chunks, indexed for full-text ranking.
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

/** Words worth searching for: lower-case letters and digits, short stop words dropped. */
export function queryTerms(query: string): string[] {
  const words =
    query
      .toLowerCase()
      .normalize('NFKC')
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((w) => w.length > 1 && !STOP_WORDS.has(w)))].slice(0, 32);
}

// Words that carry no subject: a question matching a passage on them alone is not answered by it.
// English function words, and those of German, French and Spanish that are no English words
// (not "die", "war", "son"): a question in another language must not match English text, nor
// text in that language, on its articles and prepositions.
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
  ]
    .join(' ')
    .split(' '),
);
