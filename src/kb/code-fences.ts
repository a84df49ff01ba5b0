// Fenced code blocks of Markdown (``` or ~~~ lines around code). A fenced block may hold blank
// lines, which elsewhere end a paragraph: readers that split a document at blank lines join the
// pieces of an open block again, so that code stays whole and a `# comment` inside it is never
// read as a heading.

/** A line that opens or closes a fenced code block. */
export const isFence = (line: string): boolean => /^\s*(```|~~~)/.test(line);

/** Whether a piece of text leaves a code block open that it did not find open, or the other way round. */
export const togglesFence = (text: string): boolean => text.split('\n').filter(isFence).length % 2 === 1;

/** Pieces of a text split at blank lines, with those inside a fenced code block joined again. */
export function joinOpenFences<T>(pieces: T[], textOf: (piece: T) => string, join: (a: T, b: T) => T): T[] {
  const out: T[] = [];
  let open = false;
  for (const piece of pieces) {
    if (open) out[out.length - 1] = join(out[out.length - 1], piece);
    else out.push(piece);
    if (togglesFence(textOf(piece))) open = !open;
  }
  return out;
}
