// Conversation memory over the store: the stored transcript is the source of truth. lock() finds
// the conversation a request continues (named, or found from the history it resends) and holds it;
// prepare() assembles the context (system prompt kept, oldest turns dropped to fit
// OPENAI_COMPAT_MAX_CONTEXT_TOKENS, reading only as much history as the window needs); begin()
// writes the user's messages and the running run(s); record() ends each run and appends the answer.
import { isMintedConversationId, newConversationId } from '../run/run-ids.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import { compactTrace } from '../store/trace.ts';
import type { Conversation, NewMessage, RunProgress, Store, StoredMessage } from '../store/types.ts';
import type { TokenCounter } from '../tokens.ts';
import { ConversationLocks, type LeasedLock } from './conversation-locks.ts';
import { holderIsDead } from './lease-holder.ts';
import { fitToBudget, PRIMING_TOKENS, sameMessage } from './merge.ts';
import { pausedRunEndsTranscript, pausedTailLength } from './paused-tail.ts';
import { planFromHistory, planNamed, type TurnPlan } from './turn-plan.ts';
import {
  ConversationBusyError,
  ConversationNotFoundError,
  type BranchPoint,
  type BeginTurnInput,
  type ConversationLock,
  type ConversationMemory,
  type LockOptions,
  type LockTurnInput,
  type PausedRun,
  type PreparedTurn,
  type PrepareTurnInput,
  type TurnRecord,
} from './types.ts';

export { ConversationNotFoundError };

/** What a chat message costs besides its content: 3 tokens of framing and 1 for the role `assistant`. */
const MESSAGE_OVERHEAD = 4;
/** A minted id the history lookup settles on may change once while the lock is awaited; not more. */
const MAX_PLAN_ATTEMPTS = 3;

export interface StoredMemoryOptions {
  /** Longest wait for a conversation busy with another turn (lock()'s `waitMs` overrides it). */
  lockWaitMs?: number;
  /** Lease on a conversation held by a turn, renewed while it runs (a dead process blocks it this long). */
  leaseMs?: number;
}

/** What a turn holds between lock() and release(): the plan made under the lock, and what it wrote. */
interface TurnState {
  lock: LeasedLock;
  owner: string;
  plan: TurnPlan;
  /** The request's non-system messages, as sent. */
  request: ChatMessage[];
  title: string;
  /** The request's system messages, joined; they replace the stored prompt. */
  requestedSystem?: string;
  /** The prompt of the conversation the turn continues (or branches from). */
  storedSystem?: string;
  begun: boolean;
  /** The new messages with their token counts, once prepare() has counted them. */
  newCosted?: NewMessage[];
  /** The request answers a paused run's tool calls: its checkpoint is forgotten after the record. */
  answersToolCalls: boolean;
  /** Runs begun and not yet recorded: the record of the last one also releases the lease. */
  unrecorded?: Set<string>;
}

export class StoredMemory implements ConversationMemory {
  private readonly store: Store;
  private readonly tokens: TokenCounter;
  private readonly maxContextTokens: number;
  private readonly lockWaitMs: number;
  private readonly locks: ConversationLocks;
  private readonly leaseMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** One turn per conversation at a time in this process (the lock sees to it). */
  private readonly turns = new Map<string, TurnState>();
  /** The turns among those whose client left, until they release their lock (see settled()). */
  private readonly abandoned = new Map<string, TurnState>();

  constructor(store: Store, tokens: TokenCounter, maxContextTokens: number, options: StoredMemoryOptions = {}) {
    this.store = store;
    this.tokens = tokens;
    this.maxContextTokens = maxContextTokens;
    this.lockWaitMs = options.lockWaitMs ?? 30_000;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.locks = new ConversationLocks(store, { leaseMs: this.leaseMs });
  }

  async lock(input: LockTurnInput, options: LockOptions = {}): Promise<ConversationLock> {
    const owner = input.owner ?? '';
    const rest = input.messages.filter((m) => m.role !== 'system');
    const title = titleOf(input.messages);
    const answersToolCalls = rest.at(-1)?.role === 'tool';
    const acquire = (id: string) =>
      this.locks.acquire(id, { signal: options.signal, waitMs: options.waitMs ?? this.lockWaitMs });
    /** Holds `lock` for `plan`; the system prompt is the request's, else the one stored with the conversation. */
    const holdTurn = (lock: LeasedLock, plan: TurnPlan, storedSystem: string | null | undefined) =>
      this.hold(lock, {
        owner,
        plan,
        request: rest,
        title,
        answersToolCalls,
        ...systemOf(input.messages, input.systemNotCarried ? undefined : storedSystem),
      });

    if (input.buildsOn) {
      const held = await this.lockAt(input.buildsOn, owner, rest, holdTurn, acquire);
      if (held) return held; // else: a whole history of its own, placed by it as below
    } else if (input.conversationId) {
      const id = input.conversationId;
      const lock = await acquire(id);
      try {
        const conversation = await this.store.getConversation(id, owner);
        // Another key's conversation is not found. Nor is an unknown id of the form the server mints:
        // those are stored without the key's prefix (conversation-keys.ts), so a client may continue
        // one it was given but not create one, which another key could then not (or, found, tell it exists).
        if (!conversation && (isMintedConversationId(id) || (await this.store.getConversationOwner(id)) !== undefined))
          throw new ConversationNotFoundError(id);
        const plan = await planNamed(this.store, owner, id, conversation?.messageCount, rest);
        if (plan) return holdTurn(lock, plan, conversation?.systemPrompt);
      } catch (err) {
        await lock.release();
        throw err;
      }
      // A whole history that leaves the named transcript: placed by that history, below.
      await lock.release();
    }

    // No id: the history decides. A plan that continues a stored conversation is made again under
    // its lock, as another turn may have moved it on while this one waited (then this one branches).
    // A plan for the minted id (a new conversation, or a branch) is final: nobody else knows the id.
    const minted = newConversationId();
    const holdPlan = async (lock: LeasedLock, plan: TurnPlan) => {
      const source = plan.history?.conversationId;
      return holdTurn(lock, plan, source ? (await this.store.getConversation(source, owner))?.systemPrompt : undefined);
    };
    const ownConversation = (): TurnPlan => ({ conversationId: minted, exists: false, newMessages: rest });
    let plan = await this.settled(await planFromHistory(this.store, owner, rest, minted), owner, rest, acquire, () =>
      planFromHistory(this.store, owner, rest, minted),
    );
    for (let attempt = 1; ; attempt++) {
      const lock = plan.conversationId === minted ? this.locks.mint(minted) : await acquire(plan.conversationId);
      try {
        if (lock.lease.state === 'pending') return await holdPlan(lock, plan);
        const again = await planFromHistory(this.store, owner, rest, minted);
        if (again.conversationId === plan.conversationId) return await holdPlan(lock, again);
        // A new conversation (or branch) is never busy: only a moving target uses up attempts. When
        // it keeps moving (clients sending the same history at once), the turn starts a conversation
        // of its own from the request's history rather than wait for a place that keeps changing.
        plan = again.conversationId !== minted && attempt >= MAX_PLAN_ATTEMPTS ? ownConversation() : again;
      } catch (err) {
        await lock.release();
        throw err;
      }
      await lock.release();
    }
  }

  /**
   * A turn that builds on `at` (the end of a response's turn). At the conversation's end under its
   * lock, it continues there (two requests continuing one response at once: the first continues,
   * the second finds the conversation moved on and branches); elsewhere it branches at that point.
   * Undefined: the request resends a whole history of its own, to be placed by it.
   */
  private async lockAt(
    at: BranchPoint,
    owner: string,
    rest: ChatMessage[],
    holdTurn: (lock: LeasedLock, plan: TurnPlan, storedSystem: string | null) => ConversationLock,
    acquire: (id: string) => Promise<LeasedLock>,
  ): Promise<ConversationLock | undefined> {
    const lock = await acquire(at.conversationId);
    let stored: Conversation | undefined;
    try {
      stored = await this.store.getConversation(at.conversationId, owner);
      if (!stored) throw new ConversationNotFoundError(at.conversationId);
      if (stored.messageCount === at.depth) {
        const plan = await planNamed(this.store, owner, at.conversationId, at.depth, rest);
        if (!plan) {
          await lock.release();
          return undefined;
        }
        return holdTurn(lock, plan, stored.systemPrompt);
      }
    } catch (err) {
      await lock.release();
      throw err;
    }
    await lock.release();
    const minted = newConversationId();
    const plan: TurnPlan = {
      conversationId: minted,
      exists: false,
      branchFrom: at,
      newMessages: rest,
      history: { conversationId: at.conversationId, throughSeq: at.depth },
    };
    return holdTurn(this.locks.mint(minted), plan, stored.systemPrompt);
  }

  /**
   * A branch is planned while its source may have a turn in flight: a client that hung up and sends
   * the same turn again at once finds its question stored but its cancelled run not recorded yet,
   * so the retry looks like an edit. The plan is made again once that turn is over (a branch is
   * rare: the wait costs an ordinary turn nothing); a source still busy after the wait is branched
   * from as planned. A first turn sent again that way (an SDK's retry after its timeout) has no
   * history to branch from and would start a new conversation beside the abandoned one, storing its
   * question twice: it waits in the same way for a turn of the same messages whose client left
   * (in this process; never for one still being served, which may be another client's).
   */
  private async settled(
    plan: TurnPlan,
    owner: string,
    rest: ChatMessage[],
    acquire: (id: string) => Promise<LeasedLock>,
    replan: () => Promise<TurnPlan>,
  ): Promise<TurnPlan> {
    const sourceId = plan.branchFrom?.conversationId ?? (plan.exists ? undefined : this.abandonedTurn(owner, rest));
    if (!sourceId) return plan;
    let source: LeasedLock;
    try {
      source = await acquire(sourceId);
    } catch (err) {
      if (err instanceof ConversationBusyError) return plan;
      throw err;
    }
    try {
      return await replan();
    } finally {
      await source.release();
    }
  }

  /** The conversation of a turn held here for the same owner and messages, whose client left. */
  private abandonedTurn(owner: string, rest: ChatMessage[]): string | undefined {
    for (const [id, turn] of this.abandoned)
      if (
        turn.owner === owner &&
        turn.request.length === rest.length &&
        turn.request.every((m, i) => sameMessage(m, rest[i]))
      )
        return id;
    return undefined;
  }

  private hold(lock: LeasedLock, state: Omit<TurnState, 'begun' | 'lock'>): ConversationLock {
    const id = lock.conversationId;
    const held: TurnState = { ...state, lock, begun: false };
    this.turns.set(id, held);
    const release = () => {
      // Idempotent: a second call must not forget the state of the turn that holds the lock next.
      if (this.turns.get(id) === held) this.turns.delete(id);
      if (this.abandoned.get(id) === held) this.abandoned.delete(id);
      return lock.release();
    };
    const abandon = () => {
      if (this.turns.get(id) !== held) return;
      this.abandoned.set(id, held);
      this.tellReplicas(id, held);
    };
    const { plan } = state;
    const buildsOn = plan.history?.conversationId ?? (plan.exists ? id : undefined);
    return { conversationId: id, buildsOn, release, abandon, [Symbol.asyncDispose]: release };
  }

  async prepare(input: PrepareTurnInput): Promise<PreparedTurn> {
    const lock =
      input.lock ??
      (await this.lock(
        { conversationId: input.conversationId, owner: input.owner, messages: input.messages },
        { signal: input.signal },
      ));
    try {
      const state = this.turns.get(lock.conversationId);
      if (!state) throw new Error(`conversation ${lock.conversationId} is not locked by this memory`);
      return await this.assemble(lock, state);
    } catch (err) {
      if (!input.lock) await lock.release();
      throw err;
    }
  }

  private async assemble(lock: ConversationLock, state: TurnState): Promise<PreparedTurn> {
    const { plan } = state;
    const systemText = state.requestedSystem ?? state.storedSystem;
    const system: ChatMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];
    const systemCost = system[0] ? this.tokens.countMessage(system[0]) : 0;
    const budget = this.maxContextTokens - PRIMING_TOKENS - systemCost;

    const fresh = plan.newMessages.map((m) => ({ m, cost: this.tokens.countMessage(m) }));
    state.newCosted = fresh.map((f) => ({ ...f.m, tokenCount: f.cost })); // counted once: begin() stores these
    const freshCost = fresh.reduce((n, f) => n + f.cost, 0);
    const stored =
      plan.history && freshCost < budget
        ? await this.store.recentMessages(plan.history.conversationId, budget - freshCost, plan.history.throughSeq)
        : [];
    // A retried turn's partial answer is about to leave the transcript: the agents never see it.
    const superseded = plan.supersedes && stored.at(-1)?.runId === plan.supersedes ? stored.at(-1) : undefined;
    const history = superseded?.role === 'assistant' ? stored.slice(0, -1) : stored;
    const candidates = [...history.map((m) => ({ m: strip(m), cost: m.tokenCount })), ...fresh];
    let window = fitToBudget(candidates, budget);
    // Whatever the budget, the agents must see the message they are answering.
    const answering = candidates.at(-1);
    if (!window.length && answering) window = [answering];
    // Left out: stored messages before the first one read (read only as far as the budget went, which
    // may be none of them), or candidates the window did not take.
    const storedLeftOut = plan.history !== undefined && (stored.length === 0 || stored[0].seq > 1);
    const trimmed = storedLeftOut || window.length < candidates.length;
    const promptTokens = PRIMING_TOKENS + systemCost + window.reduce((n, c) => n + c.cost, 0);

    return {
      conversationId: lock.conversationId,
      context: [...system, ...window.map((c) => c.m)],
      // From the counts at hand (stored rows carry theirs): the context is not tokenised again.
      promptTokens,
      // As before: a system prompt that changes is part of what the turn adds.
      newMessages: systemChanged(state)
        ? [{ role: 'system', content: state.requestedSystem! }, ...plan.newMessages]
        : plan.newMessages,
      release: () => lock.release(),
      trimmed,
      // Nothing left to drop, and still too long: the system prompt, or the message being answered, alone.
      overBudget: promptTokens > this.maxContextTokens,
    };
  }

  async begin(input: BeginTurnInput): Promise<void> {
    const state = this.turns.get(input.turn.conversationId);
    if (!state) throw new Error(`conversation ${input.turn.conversationId} is not locked by this memory`);
    if (state.begun) return;
    const runs = [...input.runs].sort((a, b) => a.choiceIndex - b.choiceIndex);
    const startedAt = input.startedAt.toISOString();
    const { lease } = state.lock;
    await this.store.beginTurn({
      conversationId: input.turn.conversationId,
      owner: state.owner,
      title: state.title,
      // A new conversation (a branch included) starts with the prompt in force; an existing one
      // changes only when the request brings a different one.
      systemPrompt: state.plan.exists
        ? systemChanged(state)
          ? state.requestedSystem
          : undefined
        : (state.requestedSystem ?? state.storedSystem),
      branchFrom: state.plan.branchFrom,
      supersedes: state.plan.supersedes,
      messages: state.newCosted ?? this.costed(state.plan.newMessages),
      runs: runs.map((r) => ({ id: r.runId, model: input.model, startedAt })),
      // A new conversation's lease is taken with its first write: a running run always has one.
      ...(lease.state === 'pending' ? { lease: { holder: lease.holder, ttlMs: lease.ttlMs } } : {}),
    });
    lease.written();
    state.begun = true;
    state.unrecorded = new Set(runs.map((r) => r.runId));
    // The client left while the turn was being written.
    if (this.abandoned.get(input.turn.conversationId) === state) this.tellReplicas(input.turn.conversationId, state);
  }

  /**
   * A turn whose client left, once written, enters the store's retry index (Store.abandonRun): the
   * same messages resent to another replica wait for it there, as they do here (settled()).
   */
  private tellReplicas(conversationId: string, state: TurnState): void {
    const mainRun = state.unrecorded?.values().next().value;
    if (!state.begun || mainRun === undefined) return;
    // Best effort: if it fails, the resend is placed as before the mark (a new conversation).
    void this.store.abandonRun(conversationId, mainRun).catch(() => {});
  }

  async record(turn: TurnRecord): Promise<void> {
    const owner = turn.owner ?? '';
    const main = (turn.choiceIndex ?? 0) === 0;
    const state = this.turns.get(turn.conversationId);
    // A lifecycle that did not call begin(): the turn is written now, retry and branch included.
    if (main && state && !state.begun) {
      await this.begin({
        turn: { conversationId: turn.conversationId, context: [], newMessages: [], release: async () => {} },
        owner,
        model: turn.model,
        runs: [{ runId: turn.runId, choiceIndex: 0 }],
        startedAt: turn.startedAt,
      });
    }
    const systemPrompt = turn.newMessages.find((m) => m.role === 'system')?.content;
    const releaseLease = state && this.lastWrite(state, turn) ? state.lock.lease.holder : undefined;
    // A begun turn's messages and title are stored already: the store writes them only for a run it
    // does not know, so they are neither counted again nor sent.
    const begun = state?.begun === true;
    await this.store.finishTurn({
      conversationId: turn.conversationId,
      owner,
      title: begun ? '' : titleOf(turn.newMessages),
      systemPrompt,
      messages: main && !begun ? this.costed(turn.newMessages.filter((m) => m.role !== 'system')) : [],
      answer:
        (turn.keepsAnswer ?? main) && turn.answer ? { ...turn.answer, tokenCount: this.answerTokens(turn) } : null,
      run: {
        id: turn.runId,
        conversationId: turn.conversationId,
        owner,
        model: turn.model,
        status: turn.status,
        error: turn.error ?? null,
        agentsUsed: turn.agentsUsed,
        // Folded here, before the store: the embedded store runs on its own thread, and the raw trace
        // holds the answer about four times over (each delta, the writer's output, the run's text),
        // all copied across for a trace that stores it once. Folding again in the store is a no-op.
        events: compactTrace(turn.events),
        usage: turn.usage,
        promptTokens: turn.promptTokens,
        completionTokens: turn.completionTokens,
        startedAt: turn.startedAt.toISOString(),
        finishedAt: turn.finishedAt.toISOString(),
      },
      ...(turn.response ? { response: turn.response } : {}),
      ...(releaseLease ? { releaseLease } : {}),
    });
    state?.unrecorded?.delete(turn.runId);
    if (releaseLease) state!.lock.lease.released();
  }

  /**
   * Whether this record is the turn's last write, so that it can release the lease too: the last
   * run begun, not paused for client tools (its checkpoint is written next), not a resumption of a
   * paused run (its checkpoint is deleted next). Otherwise the lock's release deletes the lease.
   */
  private lastWrite(state: TurnState, turn: TurnRecord): boolean {
    const pending = state.unrecorded;
    return (
      state.lock.lease.state === 'held' &&
      !!pending?.has(turn.runId) &&
      pending.size === 1 &&
      turn.status !== 'tool_calls' &&
      !state.answersToolCalls
    );
  }

  async savePausedRun(input: { owner?: string; conversationId: string; checkpoint: RunCheckpoint }): Promise<void> {
    await this.store.saveCheckpoint(input.owner ?? '', input.conversationId, input.checkpoint);
  }

  async findPausedRun(input: { owner?: string; toolCallIds: string[] }): Promise<PausedRun | undefined> {
    const found = await this.store.findCheckpoint(input.owner ?? '', input.toolCallIds);
    if (!found) return undefined;
    // Only while its calls end the transcript (or a resume of it that did not go through, which a
    // retry replaces: paused-tail.ts): a later turn read them as unanswered and went on, and results
    // sent now would land after that turn's answer (a branch from the calls is a full history).
    const tail = await this.store.tailMessages(found.conversationId, pausedTailLength(found.checkpoint));
    if (!(await pausedRunEndsTranscript(this.store, input.owner ?? '', found.checkpoint, tail))) return undefined;
    return { conversationId: found.conversationId, checkpoint: found.checkpoint };
  }

  async saveProgress(progress: RunProgress): Promise<void> {
    // Folded here, as record() folds the final trace: a long streamed run's raw trace (one event per
    // delta) would otherwise be copied whole to the store's thread at every save.
    await this.store.saveRunProgress({ ...progress, events: compactTrace(progress.events) });
  }

  async resumedRun(input: { owner?: string; runId: string }): Promise<void> {
    await this.store.deleteCheckpoint(input.owner ?? '', input.runId);
  }

  async recoverInterruptedRuns(): Promise<number> {
    // Leases left by a dead process on this host are broken now; those of other hosts expire.
    for (const lease of await this.store.liveLeases())
      if (holderIsDead(lease.holder)) await this.store.releaseLease(lease.conversationId, lease.holder);
    // The sweep again every lease period: for turns whose replica died on another host (once their
    // lease expired), and for runs whose turn could not be stored at all (the store down when they
    // ended, their lease left to expire): no run stays `running` for good.
    this.sweeper ??= setInterval(
      () => void this.store.interruptOrphanedRuns().catch(() => {}),
      this.leaseMs + 1000,
    ).unref();
    return this.store.interruptOrphanedRuns();
  }

  /** Stops the sweep recoverInterruptedRuns started (the store is about to close). */
  stopSweeping(): void {
    clearInterval(this.sweeper);
  }

  /**
   * The answer's tokens as a stored message: the lifecycle counted them already (completionTokens,
   * which also counts tool-call arguments: a slight overestimate, safe for a budget); an answer can be
   * long, and is not tokenised a second time.
   */
  private answerTokens(turn: TurnRecord): number {
    return turn.completionTokens > 0
      ? turn.completionTokens + MESSAGE_OVERHEAD
      : this.tokens.countMessage(turn.answer!);
  }

  private costed(messages: ChatMessage[]): NewMessage[] {
    return messages.map((m) => ({ ...m, tokenCount: this.tokens.countMessage(m) }));
  }
}

function titleOf(messages: ChatMessage[]): string {
  const firstUser = messages.find((m) => m.role === 'user')?.content ?? 'New conversation';
  // Whitespace is collapsed in the head of the message only: a long message is not scanned whole.
  const head = firstUser.trimStart().slice(0, 4 * 80);
  // Cut by characters, not UTF-16 units: an emoji is never cut in half.
  return Array.from(head.replace(/\s+/g, ' ').trim()).slice(0, 80).join('') || 'New conversation';
}

function systemOf(messages: ChatMessage[], stored: string | null | undefined) {
  const systems = messages.filter((m) => m.role === 'system');
  return {
    requestedSystem: systems.length ? systems.map((m) => m.content).join('\n\n') : undefined,
    storedSystem: stored ?? undefined,
  };
}

const systemChanged = (s: TurnState) => s.requestedSystem !== undefined && s.requestedSystem !== s.storedSystem;

/** A stored message as the agents see it (no bookkeeping fields). */
function strip(m: StoredMessage): ChatMessage {
  const { seq: _s, tokenCount: _t, runId: _r, createdAt: _c, ...message } = m;
  return message;
}
