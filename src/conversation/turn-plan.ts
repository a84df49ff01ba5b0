// Where a request's turn goes in the stored conversations: continue one, retry its failed last
// turn, branch from one (an edited or regenerated earlier turn), or start a new one. Read-only: the
// plan is written by beginTurn once the conversation's lock is held.
import type { ChatMessage } from '../orchestrator/types.ts';
import type { RetryableTurn, Store, StoredMessage } from '../store/types.ts';
import type { RunStatus } from './types.ts';
import { overlapLength, sameMessage } from './merge.ts';

export interface TurnPlan {
  conversationId: string;
  /** The conversation is stored already (this turn continues or retries in it). */
  exists: boolean;
  /** A new conversation copying the first `depth` messages of another (an edit or a regenerate). */
  branchFrom?: { conversationId: string; depth: number };
  /** The failed or cancelled last run this turn retries: its partial answer leaves the transcript. */
  supersedes?: string;
  /** Non-system messages of the request that the store does not have yet. */
  newMessages: ChatMessage[];
  /** The stored transcript the context is read from (a branch reads its source up to the branch point). */
  history?: { conversationId: string; throughSeq?: number };
}

const RETRYABLE: ReadonlySet<RunStatus> = new Set(['failed', 'cancelled', 'interrupted']);
/** How many stored messages past the request's own are read to recognise a retried last turn. */
const LAST_TURN_SLACK = 8;

/** The stored messages at the end of a transcript that belong to its last run, split around it. */
function lastTurnOf(tail: StoredMessage[]) {
  const runId = tail.at(-1)?.runId;
  if (!runId) return undefined;
  let start = tail.length;
  while (start > 0 && tail[start - 1].runId === runId) start--;
  const turn = tail.slice(start);
  const answer = turn.at(-1)!.role === 'assistant' ? turn.at(-1) : undefined;
  const messages = answer ? turn.slice(0, -1) : turn; // without its (partial) answer
  return { runId, before: tail.slice(0, start), messages, answer };
}

const sameMessages = (a: readonly ChatMessage[], b: readonly ChatMessage[]) =>
  a.length === b.length && a.every((m, i) => sameMessage(m, b[i]));

/** Whether `tail`'s last turn failed or was cancelled and `again` is its user's messages sent again. */
async function retriedRun(
  store: Store,
  owner: string,
  turn: ReturnType<typeof lastTurnOf>,
  again: readonly ChatMessage[],
): Promise<string | undefined> {
  if (!turn?.messages.length || !sameMessages(turn.messages, again)) return undefined;
  const run = await store.getRun(turn.runId, owner);
  return run && RETRYABLE.has(run.status) ? turn.runId : undefined;
}

/**
 * A request naming its conversation: today's merge rule, plus retries of a failed last turn. Or
 * undefined: the request resends a whole history that leaves the stored one (an earlier turn edited
 * or regenerated, a failed question replaced), which is placed by that history as a request
 * without an id is (src/conversation/stored.ts), rather than appended after it a second time.
 */
export async function planNamed(
  store: Store,
  owner: string,
  conversationId: string,
  messageCount: number | undefined,
  rest: ChatMessage[],
): Promise<TurnPlan | undefined> {
  const exists = messageCount !== undefined;
  if (!exists) return { conversationId, exists, newMessages: rest };
  const tail = await store.tailMessages(conversationId, rest.length + LAST_TURN_SLACK);
  const last = lastTurnOf(tail);
  if (last) {
    // Matched against the transcript as it was before the last turn, does the request bring exactly
    // that turn's messages again? Then it is a retry (whole history resent, or only the new message).
    const again = rest.slice(overlapLength(last.before, rest));
    const turn = again.slice(0, last.messages.length);
    const after = again.slice(last.messages.length);
    // Or that turn's messages and then more, where its failed run's partial answer was: a client that
    // got an error instead of that answer (or kept its own part of a stream it stopped) goes on after
    // its question. It goes on here, the partial answer leaving the transcript as on a retry; read
    // as a history that leaves the transcript, it branched, storing the history a second time.
    // (A turn that completed is continued by its answer: no run is read for that.)
    const goesOn = after.length > 0 && last.answer !== undefined && !sameMessage(after[0], last.answer);
    if (!after.length || goesOn) {
      const supersedes = await retriedRun(store, owner, last, turn);
      if (supersedes) return { conversationId, exists, supersedes, newMessages: after, history: { conversationId } };
    }
  }
  const overlap = overlapLength(tail, rest);
  if (overlap === 0 && (await leavesTranscript(store, conversationId, messageCount, tail, rest))) return undefined;
  return { conversationId, exists, newMessages: rest.slice(overlap), history: { conversationId } };
}

/**
 * Whether `rest`, which does not go on from the transcript's end, is a whole history of its own:
 * it starts where the transcript starts and has an answer in it. (A client sending only its new
 * messages starts with neither.)
 */
async function leavesTranscript(
  store: Store,
  conversationId: string,
  messageCount: number,
  tail: StoredMessage[],
  rest: ChatMessage[],
): Promise<boolean> {
  if (!rest.some((m) => m.role === 'assistant')) return false;
  const first = messageCount <= tail.length ? tail[0] : (await store.recentMessages(conversationId, 1, 1))[0];
  return first !== undefined && sameMessage(first, rest[0]);
}

/**
 * A request without a conversation id, resending its history. `rest[0, t)` is the history it builds
 * on (up to its last assistant message), `rest[t, n)` the turn it asks to be answered.
 */
export async function planFromHistory(
  store: Store,
  owner: string,
  rest: ChatMessage[],
  mintedId: string,
): Promise<TurnPlan> {
  const fresh: TurnPlan = { conversationId: mintedId, exists: false, newMessages: rest };
  if (!rest.length) return fresh;
  let t = rest.length;
  while (t > 0 && rest[t - 1].role !== 'assistant') t--;
  const continueIn = (id: string, depth: number): TurnPlan => ({
    conversationId: id,
    exists: true,
    newMessages: rest.slice(depth),
    history: { conversationId: id },
  });
  /** Goes on after the user's messages of a failed last turn (stored up to `depth`): its partial answer goes. */
  const goOnAfter = (failed: RetryableTurn, depth: number): TurnPlan => ({
    ...continueIn(failed.conversationId, depth),
    supersedes: failed.runId,
  });
  const branchFrom = (id: string | undefined, depth: number): TurnPlan =>
    !id || depth === 0
      ? fresh
      : {
          conversationId: mintedId,
          exists: false,
          branchFrom: { conversationId: id, depth },
          newMessages: rest.slice(depth),
          history: { conversationId: id, throughSeq: depth },
        };

  // A linear chat continues the conversation that ends where the request's history ends; a retry of
  // a failed last turn resends that turn exactly: two indexed look-ups, the second normally empty.
  // A retryable turn found is a conversation whose transcript, but for its failed run's partial
  // answer, is the request, message for message (the chain says so): a retry, even when that turn
  // does not start where the request's history ends (it follows a question left unanswered, or
  // holds an answer of the client's own: going on after a failed turn, below). Required to start
  // there, such a retry branched, storing the history once more.
  const history = rest.slice(0, t);
  // Asked together: with the store on its own thread, both questions cross in one message.
  const [heads, retried] = await Promise.all([
    t > 0 ? store.conversationsEndingWith(owner, history) : [],
    store.retryableTurn(owner, rest),
  ]);
  if (retried && !(heads[0] && heads[0].updatedAt > retried.updatedAt))
    return { ...continueIn(retried.conversationId, retried.messageCount), supersedes: retried.runId, newMessages: [] };
  if (heads[0]) return continueIn(heads[0].id, t);
  // The turn's first messages may be stored already, at the end of a conversation whose answer to
  // them failed ([q0, a0, q1] stored, [q0, a0, q1, q2] asked): it goes on there. Only a turn of
  // several messages asks, one look-up per message, at most a few. The failed run may have left a
  // partial answer after them ([q0, a0, q1, partial a1] stored), which a client that got an error
  // never had: found through the retry index, the turn goes on there too, the partial answer
  // leaving the transcript as it does on a retry (not a branch storing the history once more).
  for (let k = rest.length - 1; k > t && k >= rest.length - LAST_TURN_SLACK; k--) {
    const prefix = rest.slice(0, k);
    const [[unanswered], failed] = await Promise.all([
      store.conversationsEndingWith(owner, prefix),
      store.retryableTurn(owner, prefix),
    ]);
    if (unanswered) return continueIn(unanswered.id, k);
    if (failed) return goOnAfter(failed, k);
  }
  // Nothing stored before the turn: a new conversation.
  if (t === 0) return fresh;

  // The history is stored only in part, or continues differently (an edited or regenerated turn):
  // how deep it is stored decides (a binary search over the chain).
  const match = await store.matchHistory(owner, history);
  if (match.depth < t) {
    // Extend a conversation that ends there, or branch. Or the history leaves a conversation where
    // the partial answer of its failed last turn begins: the client has an answer of its own there
    // (what it received of a stream it stopped, an error shown as the answer). It goes on there, its
    // answer replacing the partial one, as a retry replaces it.
    // Or the history is the end of a longer conversation: a client that drops its oldest messages to
    // fit its own context window (keeping the system prompt) sends one that starts later than the
    // conversation, where nothing or another conversation starts (a branch made from an earlier
    // window), and ends where it ends. Found by its last two messages and checked whole against the
    // stored tail, it goes on there, the agents seeing the stored transcript fitted to the budget. An
    // edited or regenerated turn inside the window ends elsewhere: it branches as before.
    const prefix = rest.slice(0, match.depth);
    const [[head], failed, slid] = await Promise.all([
      match.depth ? store.conversationsEndingWith(owner, prefix) : [],
      match.depth ? store.retryableTurn(owner, prefix) : undefined,
      store.conversationEndingWithWindow(owner, history),
    ]);
    if (head) return continueIn(head.id, match.depth);
    if (failed) return goOnAfter(failed, match.depth);
    if (slid) return continueIn(slid.id, t);
    return branchFrom(match.conversations[0]?.id, match.depth);
  }
  return branchFrom(match.conversations[0]?.id, t);
}
