// Ids that sort by creation time (the UUID version 7 layout: 48 bits of Unix milliseconds, then
// random bits). A new row keyed by such an id lands at the right edge of its index, where the rows
// of the turns committed together share pages, instead of on a random page of a large table: runs
// and conversations are keyed that way, and so is every index that leads with a conversation id
// (messages, leases, runs by conversation); so are responses, whose ids are derived from run ids
// (src/http/render/responses-object.ts).
import { randomUUID } from 'node:crypto';

/** A version 7 UUID: the time in its first 12 hex digits, the rest of a v4 UUID's randomness. */
function timeOrderedUuid(now: number): string {
  const time = now.toString(16).padStart(12, '0');
  // randomUUID draws from a cached entropy pool; its version nibble (index 14) becomes 7.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** `run_` and a version 7 UUID. */
export const newRunId = (now = Date.now()): string => `run_${timeOrderedUuid(now)}`;

/** `conv_` and a version 7 UUID. */
export const newConversationId = (now = Date.now()): string => `conv_${timeOrderedUuid(now)}`;

const MINTED_CONVERSATION = /^conv_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether `id` is one this server minted (newConversationId) rather than one a client chose. */
export const isMintedConversationId = (id: string): boolean => MINTED_CONVERSATION.test(id);
