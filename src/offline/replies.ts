// The engine's fixed sentences: what it is, what it cannot do, and how to switch to a model.
export const CONFIGURE_MODEL =
  'To configure one, start the server with `CORTEX_MODEL` set, for example ' +
  '`CORTEX_MODEL=openai:gpt-4.1-mini OPENAI_API_KEY=sk-... npm start`, ' +
  'or `CORTEX_MODEL=ollama:llama3.1` for a local model.';

export const CAN_DO =
  'I quote answers from the documents in the knowledge base (with numbered sources), ' +
  'summarise text you paste after "Summarise:", compute arithmetic and unit conversions, ' +
  'and remember what you tell me in this conversation.';

const OFFLINE = "I'm Cortex Flow, running on its offline extractive engine";

/** A user's words quoted back, cut short when long: an echo, not a copy of a pasted document. */
export function clip(text: string, max = 200): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length <= max ? t : `${t.slice(0, max).replace(/\s+\S*$/, '')}...`;
}

export const FOOTER =
  '*Quoted from your documents by the offline extractive engine: no language model wrote this answer.*';

export function needsModel(task: string): string {
  return (
    `${task} needs a language model, and none is configured: ` +
    `this server runs its offline extractive engine, which cannot write new text. ${CAN_DO} ${CONFIGURE_MODEL}`
  );
}

export function greeting(name: string | undefined, thanks: boolean): string {
  if (thanks) return `You're welcome${name ? `, ${name}` : ''}!`;
  return `Hello${name ? `, ${name}` : ''}! ${OFFLINE} (no language model is configured). ${CAN_DO}`;
}

export function capabilities(): string {
  return (
    `${OFFLINE}: no language model is configured. ${CAN_DO} ` +
    `I cannot write new text, translate, write code or give opinions: that needs a language model. ${CONFIGURE_MODEL}`
  );
}

export function nothingFound(question: string, terms: string[], matched: number, topic?: string): string {
  const one = matched === 1;
  // One word searched is "it", not "them" ("...for "photosynthesis": no passage contains it.").
  const found = matched
    ? `${matched} passage${one ? '' : 's'} share${one ? 's' : ''} ${terms.length === 1 ? 'this word' : 'some of these words'}, ` +
      `but none answers the question, so I am not quoting ${one ? 'it' : 'them'}.`
    : `no passage contains ${terms.length === 1 ? 'it' : 'them'}.`;
  const searched = terms.length
    ? `I searched the knowledge base for ${terms.map((t) => `"${t}"`).join(', ')}: ${found}`
    : 'Your message has no words I could search the knowledge base for.';
  return (
    `I found nothing that answers "${clip(question)}"` +
    (topic ? ` in the documents of my answer to "${clip(topic)}"` : '') +
    `. ${searched} ` +
    'Add your own documents with `npx cortex-flow ingest <folder>`, ' +
    `or configure a language model for written answers. ${CONFIGURE_MODEL}`
  );
}
