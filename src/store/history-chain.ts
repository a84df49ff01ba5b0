// Messages are stored with a hash chained over their owner and every message before them in the
// conversation. A client that resends the whole history without a conversation id is then placed
// with a few indexed look-ups: the hash of its n-th message names the stored conversations whose
// first n messages are exactly those. Owners never share a chain (the owner seeds it), and neither
// does a conversation a client named: its id seeds its own chain, so a request without an id is
// never placed in it (where it would read that conversation's system prompt and history).
import { hash } from 'node:crypto';
import type { ChatMessage } from '../orchestrator/types.ts';
import { isMintedConversationId } from '../run/run-ids.ts';
import { storedText } from './text.ts';

const ROOT_LABEL = 'cortex-flow history v1\n';

/**
 * The hash "before the first message" of `owner`'s conversations that id-less requests may find
 * (those the server minted), or of the one conversation `conversationId` when a client named it.
 */
export function chainRoot(owner: string, conversationId?: string): string {
  const named = conversationId !== undefined && !isMintedConversationId(conversationId);
  return hash('sha256', ROOT_LABEL + owner + (named ? `\nnamed ${conversationId}` : ''), 'base64url');
}

/**
 * What identifies a message in the chain: what a client sends back unchanged. Whitespace at the ends
 * of the content is ignored (clients trim), so are names and tool-call arguments (re-serialised by
 * some clients); tool-call ids are unique enough to stand for their calls.
 */
function identity(m: ChatMessage): string {
  return JSON.stringify([
    m.role,
    (storedText(m.content) ?? '').trim(),
    m.toolCallId ?? null,
    m.toolCalls?.length ? m.toolCalls.map((c) => [c.id, c.name]) : null,
    m.images?.length ? m.images.map((i) => i.url) : null,
  ]);
}

export function chainHash(previous: string, m: ChatMessage): string {
  // One-shot hashing: about twice as fast as a Hash object for short inputs, and a request's whole
  // history is hashed on every turn.
  return hash('sha256', previous + '\n' + identity(m), 'base64url');
}

/**
 * The hash of a transcript's last two messages, `previous` and then `last`, with the chain's hashing
 * from the same root: where a transcript ends, whatever came before (`conversations.tail_hash`). A
 * client that drops its oldest messages to fit its own context window sends a history that starts
 * later than the stored one but ends as it does.
 */
export function tailHash(root: string, previous: ChatMessage, last: ChatMessage): string {
  return chainHash(chainHash(root, previous), last);
}

/** Whether two messages are the same to the chain (what a client sends back unchanged). */
export const sameInChain = (a: ChatMessage, b: ChatMessage): boolean => identity(a) === identity(b);

/** A request's messages are looked up more than once (before and under its lock): hashed once. */
const memo = new WeakMap<ChatMessage, { previous: string; hash: string }>();

/** The chain hash of every message of `history` (oldest first). */
export function historyHashes(owner: string, history: readonly ChatMessage[]): string[] {
  const out: string[] = [];
  let previous = chainRoot(owner);
  for (const m of history) {
    const known = memo.get(m);
    const hash = known?.previous === previous ? known.hash : chainHash(previous, m);
    if (!known || known.previous !== previous) memo.set(m, { previous, hash });
    out.push((previous = hash));
  }
  return out;
}
