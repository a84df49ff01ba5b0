// The answer streams as a model's would: word by word, each delta after a turn of the event loop
// and a millisecond's pause, so a client renders it progressively and other requests are served
// in between, instead of receiving the whole text in one burst.
import { setTimeout as sleep } from 'node:timers/promises';

/** Word-sized pieces (a word with the spaces after it) that join back into exactly `text`. */
export const wordPieces = (text: string): string[] => text.match(/^\s+|\S+\s*/g) ?? [];

export async function* paced(text: string, signal: AbortSignal, pauseMs = 1): AsyncGenerator<string> {
  for (const piece of wordPieces(text)) {
    if (signal.aborted) return;
    yield piece;
    await sleep(pauseMs);
  }
}
