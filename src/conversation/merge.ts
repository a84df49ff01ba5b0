// How a request's messages meet the stored transcript. The rule: the longest run of messages at
// the end of the stored transcript that the request starts with is already stored; the rest of
// the request is new. So a client resending the whole history and a client sending only its new
// message both add exactly the new turn.
import type { ChatMessage } from '../orchestrator/types.ts';
import { storedText } from '../store/text.ts';

export const sameMessage = (a: ChatMessage, b: ChatMessage) =>
  a.role === b.role &&
  (storedText(a.content) ?? '').trim() === (storedText(b.content) ?? '').trim() &&
  (a.toolCallId ?? null) === (b.toolCallId ?? null);

/** How many leading messages of `request` repeat the end of `storedTail`. */
export function overlapLength(storedTail: ChatMessage[], request: ChatMessage[]): number {
  for (let k = Math.min(storedTail.length, request.length); k > 0; k--) {
    const start = storedTail.length - k;
    let same = true;
    for (let i = 0; i < k && same; i++) same = sameMessage(storedTail[start + i], request[i]);
    if (same) return k;
  }
  return 0;
}

export interface Costed {
  m: ChatMessage;
  cost: number;
}

/** The tokens that prime every reply (TokenCounter.countChat): part of every context's count. */
export const PRIMING_TOKENS = 3;

/**
 * The newest messages that fit in `budget` tokens, whole, oldest first, with their costs. A window
 * never starts with a tool result whose call was cut off.
 */
export function fitToBudget<T extends Costed>(messages: T[], budget: number): T[] {
  let used = 0;
  let start = messages.length;
  while (start > 0 && used + messages[start - 1].cost <= budget) used += messages[--start].cost;
  while (start < messages.length && messages[start].m.role === 'tool') start++;
  return messages.slice(start);
}
