// One chat completion request's runs, from admission to release: the one place that takes (and
// gives back) what a run needs. The HTTP route parses, opens a ChatRun with `await using`, and
// renders its events as JSON or SSE; whatever happens meanwhile (an exception, a header error, a
// client gone, a store failure), disposing the run records what is left to record and releases
// everything it took, in reverse order of taking it.
//
// Admission, in this order: rate limits (n x prompt tokens) -> the conversation's lock (cancellable,
// bounded) -> n run slots (cancellable, bounded) -> memory preparation -> the turn and its runs
// written as running, while the runs start -> the run timer and the shutdown registry. A request
// waiting for a busy conversation therefore holds no run slot, and a client that leaves stops
// waiting.
import type { FastifyBaseLogger } from 'fastify';
import type { AppDeps } from '../http/deps.ts';
import type { ChatRequest } from '../http/chat-request.ts';
import { ApiError } from '../http/errors.ts';
import {
  CANCEL_REQUESTED,
  isServerStop,
  NOT_STARTED_SHUTTING_DOWN,
  rateLimited,
  STOPPED,
  type StopReason,
} from '../http/run-limits.ts';
import { recordChoices, type TurnContext } from './record-choices.ts';
import { newRunId } from './run-ids.ts';
import { instrument } from '../http/run-metrics.ts';
import type { RunEvent } from '../orchestrator/events.ts';
import { RunSummary } from '../orchestrator/run-summary.ts';
import { TurnTakenOverError, type StoredResponse } from '../store/types.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import {
  ConversationBusyError,
  LockWaitAbortedError,
  type ConversationLock,
  type ConversationMemory,
  type LockOptions,
  type LockTurnInput,
} from '../conversation/types.ts';
import { guardRun, mergeRuns } from './run-events.ts';
import {
  answeredResults,
  answersCallsBefore,
  carriedRun,
  checkAllAnswered,
  checkAnswersPending,
  noPausedRun,
} from './resume.ts';
import { conversationIdOfKey, conversationKey } from '../conversation/conversation-keys.ts';
import {
  choicesExceedCapacity,
  clientClosedRequest,
  contextTooLong,
  conversationBusy,
  RunApiError,
  tooManyChoices,
  tooManyConcurrentRuns,
  tooManyRunsForKey,
  turnNotStored,
  turnTakenOver,
} from './run-errors.ts';

/** How long a stopped run may take to wind down before what it produced is recorded anyway. */
const WIND_DOWN_MS = 5_000;
/** The waits before each attempt to mark the runs of a turn that could not be stored as failed. */
const UNSTORED_RETRY_MS = [100, 500, 2_000];
/**
 * The reason `ended` fires with, made once: without one, `abort()` creates a DOMException (with
 * its stack trace) on every request. Nothing reads it.
 */
const RUN_OVER = new Error('the run is over');

export interface OpenRunOptions {
  /** The API key's id; undefined when auth is off. */
  owner?: string;
  log: FastifyBaseLogger;
  /** Aborts when the client goes away: cancels the waits for a lock or a slot, then the runs. */
  clientGone: AbortSignal;
  /** The memory of this request's turn instead of the server's (a request that asks to keep nothing). */
  memory?: ConversationMemory;
  /**
   * Paused runs the request brings along rather than its memory holding them: checkpoints its client
   * carries back sealed, or the stored one of the response a `store: false` request continues. One
   * resumes when the request answers its calls and the memory has no paused run for them.
   */
  carried?: RunCheckpoint[];
}

/** One choice of the request: a run of its own, with its own id, trace and record. */
export interface Choice {
  index: number;
  runId: string;
  summary: RunSummary;
}

export class ChatRun implements AsyncDisposable {
  /** The conversation's id as its client knows it. */
  readonly conversationId: string;
  /** The conversation's key in the store (src/conversation/conversation-keys.ts). */
  private readonly conversationKey: string;
  readonly choices: Choice[];
  /** Prompt tokens of the context one choice saw (usage counts them once, as OpenAI does). */
  readonly promptTokens: number;
  /** OpenAI's `x-ratelimit-*` headers of the key's limits after this request (none without limits). */
  readonly rateLimitHeaders: Readonly<Record<string, string>>;
  /** Aborted when the run is stopped: by the client, the run timer or a shutdown. */
  readonly signal: AbortSignal;
  /**
   * Aborted once the runs produce nothing more: every choice finished, or the run was stopped. From
   * then on a renderer must not wait for a slow client: the turn is recorded and the slots released
   * while the last frames are still on their way.
   */
  readonly ended: AbortSignal;

  private readonly deps: AppDeps;
  private readonly chat: ChatRequest;
  private readonly owner: string | undefined;
  private readonly log: FastifyBaseLogger;
  private readonly memory: ConversationMemory;
  private readonly newMessages: ChatMessage[];
  private readonly resumed: RunCheckpoint | undefined;
  private readonly startedAt: Date;
  private readonly resources: AsyncDisposableStack;
  private readonly abort: AbortController;
  private readonly end = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly iterator: AsyncIterator<[number, RunEvent]>;
  /** The runs' first event, asked for as they start (start()), before anyone reads. */
  private first: Promise<IteratorResult<[number, RunEvent]>> | undefined;
  private stopReason: StopReason | undefined;
  private drained = false;
  private recording: Promise<void> | undefined;
  private disposed = false;
  /** Completion tokens counted per choice, with what they were counted for (created when first asked). */
  private counted: Map<number, { key: string; tokens: number }> | undefined;
  /** Tells the conversation's lock that the client left (ConversationLock.abandon). */
  private readonly abandonTurn: () => void;
  private attachment: ((choice: Choice) => StoredResponse | undefined) | undefined;

  /** Admits the request and starts its runs; throws (having released what it took) when it cannot. */
  static async open(deps: AppDeps, chat: ChatRequest, options: OpenRunOptions): Promise<ChatRun> {
    const { config } = deps;
    if (chat.n > config.maxChoices) throw tooManyChoices(chat.n, config.maxChoices);
    const capacity = deps.gate.capacityFor(options.owner);
    if (chat.n > capacity) throw choicesExceedCapacity(chat.n, capacity, capacity < deps.gate.capacity);
    const memory = options.memory ?? deps.memory;
    const owner = options.owner;
    const bucket = owner ?? 'anonymous';

    // Counting tokens costs time: only when a limit needs the figure. Each choice reads the prompt.
    const limit = await deps.rateLimiter.admit(
      bucket,
      deps.rateLimiter.enabled ? deps.tokens.countChat(chat.messages) * chat.n : 0,
    );
    if (!limit.ok) {
      deps.metrics.rejected.inc({ reason: `rate_limit_${limit.limit}` });
      throw rateLimited(limit.limit!, limit.retryAfterSeconds, limit.headers);
    }

    const resources = new AsyncDisposableStack();
    try {
      // The completion tokens are spent whatever the outcome (disposed last-but-one, once recorded).
      let spentTokens = 0;
      resources.defer(() =>
        deps.rateLimiter
          .spend(bucket, spentTokens)
          .catch((err) => options.log.warn({ err }, 'rate limit accounting failed')),
      );
      // The conversation the request names, as the store keys it (per API key).
      const named = chat.conversationId === undefined ? undefined : conversationKey(owner, chat.conversationId);
      const answered = answeredResults(chat.messages);
      const toolCallIds = answered.ids;
      let paused = toolCallIds.length ? await memory.findPausedRun({ owner, toolCallIds }) : undefined;
      // The request names another conversation: these ids are not that run's.
      if (paused && named !== undefined && paused.conversationId !== named) paused = undefined;

      // Results sent alone name their conversation only through the paused run. A request that
      // resends its history is placed by that history, as any other: two copies of one resume
      // (a retry, a double submit) then meet at one conversation's lock, and the later one, finding
      // the run resumed, branches instead of writing the turn twice into one transcript.
      const lock = await lockConversation(
        deps,
        memory,
        {
          conversationId: named ?? (answered.alone ? paused?.conversationId : undefined),
          owner,
          messages: chat.messages,
          ...(chat.buildsOn ? { buildsOn: chat.buildsOn } : {}),
          ...(chat.systemNotCarried ? { systemNotCarried: true } : {}),
        },
        { signal: options.clientGone, waitMs: config.conversationWaitSeconds * 1000 },
      );
      resources.defer(() => lock.release());
      // Another request may have resumed the same paused run while this one waited for the lock; and
      // a run paused in another conversation than the one this turn builds on is not this turn's.
      if (paused) paused = await memory.findPausedRun({ owner, toolCallIds });
      if (paused && lock.buildsOn !== paused.conversationId) paused = undefined;
      // Brought along, a run resumes in whatever conversation the turn is in: the request vouches for
      // it (a seal only this server makes, or the response it names), not where the turn landed.
      paused ??= carriedRun(options.carried, toolCallIds, lock.conversationId);
      if (paused) {
        checkAllAnswered(paused.checkpoint, toolCallIds, answered.first);
        checkAnswersPending(paused.checkpoint, answered);
      } else if (answered.alone && !chat.buildsOn) throw noPausedRun(answered.first); // nothing waits for them
      const resume = paused && paused.checkpoint.model === chat.model ? paused.checkpoint : undefined;

      const releaseSlots = await deps.gate.acquire(options.clientGone, chat.n, owner);
      if (!releaseSlots) {
        if (options.clientGone.aborted) throw clientClosedRequest();
        const keyAtShare = deps.gate.atShare(owner);
        deps.metrics.rejected.inc({ reason: keyAtShare ? 'key_concurrency' : 'concurrency' });
        throw keyAtShare ? tooManyRunsForKey(deps.gate.capacityFor(owner)) : tooManyConcurrentRuns();
      }
      resources.defer(releaseSlots);
      // The server began shutting down while this request waited: its store may be gone any moment.
      if (deps.activeRuns.draining) throw NOT_STARTED_SHUTTING_DOWN;

      const turn = await memory.prepare({ lock, owner, messages: chat.messages });
      if (chat.untruncated && (turn.trimmed || turn.overBudget)) throw contextTooLong(config.maxContextTokens);
      // Results alone that build on a stored response whose paused run is gone (resumed by an earlier
      // copy of this request, or its conversation went on): the calls they answer end the history
      // they build on, so the turn goes on from there (a branch, if the conversation moved) and the
      // team starts again with the calls and their results in its context.
      if (answered.alone && !paused && !answersCallsBefore(turn.context, toolCallIds))
        throw noPausedRun(answered.first);
      const conversationId = turn.conversationId;
      const startedAt = new Date();
      const choices: Choice[] = Array.from({ length: chat.n }, (_, index) => ({
        index,
        runId: newRunId(),
        summary: new RunSummary(),
      }));
      // The turn is written while the runs start: the store's round trip overlaps the upstream
      // call's instead of coming before it (one-call path under load, side by side: +4% req/s,
      // -10% CPU per request). Nothing reaches the client before the write succeeded, since open()
      // returns only then; if it fails, the runs are stopped and nothing is recorded.
      const beginning = memory.begin({
        turn,
        owner,
        model: chat.model,
        runs: choices.map((c) => ({ runId: c.runId, choiceIndex: c.index })),
        startedAt,
      });
      const taken = resources.move();
      let run: ChatRun;
      try {
        run = new ChatRun({
          deps,
          chat,
          options,
          memory,
          conversationId,
          choices,
          context: turn.context,
          promptTokens: turn.promptTokens,
          newMessages: turn.newMessages,
          resume,
          startedAt,
          abandon: () => lock.abandon?.(),
          resources: taken,
          spend: (tokens) => (spentTokens = tokens),
          rateLimitHeaders: limit.headers ?? {},
        });
      } catch (err) {
        await beginning.catch(() => {});
        await taken.disposeAsync();
        throw err;
      }
      run.start();
      try {
        await beginning;
      } catch (err) {
        await run.abandon();
        throw err;
      }
      return run;
    } catch (err) {
      await resources.disposeAsync();
      throw err;
    }
  }

  private constructor(init: {
    deps: AppDeps;
    chat: ChatRequest;
    options: OpenRunOptions;
    memory: ConversationMemory;
    conversationId: string;
    choices: Choice[];
    context: ChatMessage[];
    promptTokens: number | undefined;
    newMessages: ChatMessage[];
    resume: RunCheckpoint | undefined;
    startedAt: Date;
    abandon: () => void;
    resources: AsyncDisposableStack;
    spend: (tokens: number) => void;
    rateLimitHeaders: Record<string, string>;
  }) {
    const { deps, chat, options } = init;
    this.rateLimitHeaders = init.rateLimitHeaders;
    this.deps = deps;
    this.chat = chat;
    this.owner = options.owner;
    this.log = options.log;
    this.memory = init.memory;
    this.conversationKey = init.conversationId;
    this.conversationId = conversationIdOfKey(init.conversationId);
    this.choices = init.choices;
    this.newMessages = init.newMessages;
    this.resumed = init.resume;
    this.startedAt = init.startedAt;
    this.abandonTurn = init.abandon;
    this.promptTokens = init.promptTokens ?? deps.tokens.countChat(init.context);

    this.abort = new AbortController();
    this.signal = this.abort.signal;
    this.ended = this.end.signal;
    // A client that asked the run to stop (CANCEL_REQUESTED) is told apart from one that left.
    const onClientGone = () => this.stop(options.clientGone.reason === CANCEL_REQUESTED ? 'cancelled' : 'client');
    options.clientGone.addEventListener('abort', onClientGone, { once: true });
    if (options.clientGone.aborted) onClientGone();
    // CORTEX_MAX_RUN_SECONDS is the one bound on a run's total time, whatever the client does.
    this.timer = setTimeout(() => this.stop('timeout'), deps.config.maxRunSeconds * 1000);
    deps.metrics.activeRuns.inc(this.choices.length);

    let settled!: () => void;
    const done = new Promise<void>((resolve) => (settled = resolve));
    deps.activeRuns.track({ abort: () => this.stop('shutdown'), done });
    // Disposed in reverse order: the shutdown registry learns last that this run is over, once its
    // slots, lock and token accounting are given back.
    const resources = (this.resources = new AsyncDisposableStack());
    resources.defer(settled);
    // Followers of these runs stop once they are recorded (the store has their traces from then on).
    this.runIds.forEach((id) => deps.runEvents.open(id));
    resources.defer(() => this.runIds.forEach((id) => deps.runEvents.close(id)));
    resources.use(init.resources);
    const saving = this.saveProgressEvery(deps.config.traceSaveSeconds * 1000);
    resources.defer(() => clearInterval(saving));
    resources.defer(() => {
      init.spend(this.completionTokens());
      clearTimeout(this.timer);
      options.clientGone.removeEventListener('abort', onClientGone);
      deps.metrics.activeRuns.dec(this.choices.length);
    });

    const runs = this.choices.map((choice) =>
      instrument(
        guardRun(
          () =>
            deps.orchestrator.run(
              {
                runId: choice.runId,
                conversationId: this.conversationKey,
                model: chat.model,
                messages: init.context,
                generation: chat.generation,
                reasoningEffort: chat.reasoningEffort,
                tools: chat.tools,
                toolChoice: chat.toolChoice,
                parallelToolCalls: chat.parallelToolCalls,
                ...(chat.legacyFunctions ? { legacyFunctions: true } : {}),
                owner: this.owner,
                ...(init.resume ? { resume: init.resume } : {}),
              },
              this.signal,
            ),
          this.log,
        ),
        deps,
        chat.model,
        this.startedAt.getTime(),
      ),
    );
    this.iterator = mergeRuns(runs);
  }

  get runIds(): string[] {
    return this.choices.map((c) => c.runId);
  }

  /**
   * Something to store with a choice's record, in the same write (the Responses API's response
   * object): built when the choice is recorded, once its run is over.
   */
  recordWith(attachment: (choice: Choice) => StoredResponse | undefined): void {
    this.attachment = attachment;
  }

  /** The client went away, or asked the run to stop, before the answer was delivered. */
  get clientLeft(): boolean {
    return this.stopReason === 'client' || this.stopReason === 'cancelled';
  }

  /**
   * The events of all choices, tagged with the choice index, as they happen; each is folded into its
   * choice's summary first. Breaking out of the loop does not end the runs: disposal drains them.
   */
  events(): AsyncIterable<[number, RunEvent]> {
    // A plain iterator over next(): a generator here would keep its frame and queue for as long as
    // the run waits on its upstream.
    const iterator: AsyncIterator<[number, RunEvent]> = {
      next: () => this.next().then((value) => (value ? { done: false, value } : { done: true, value: undefined })),
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  /**
   * Lets the runs finish, then records every choice (and the checkpoint of a paused one). Throws
   * a RunApiError when a turn could not be stored: the client must not be told it succeeded.
   */
  async complete(): Promise<void> {
    while (await this.next());
    await this.record();
  }

  /** Why the server itself stopped an unfinished run (time limit, shutdown), if it did. */
  interruption(): ApiError | undefined {
    const reason = this.stopReason;
    if (!isServerStop(reason)) return undefined;
    return this.choices.some((c) => !c.summary.done) ? this.error(STOPPED[reason]) : undefined;
  }

  /** The first failed choice's error, naming that choice's run. */
  failure(): ApiError | undefined {
    const failed = this.choices.find((c) => c.summary.failure);
    if (!failed) return undefined;
    const f = failed.summary.failure!;
    const headers = f.retryAfterSeconds ? { 'retry-after': String(f.retryAfterSeconds) } : undefined;
    return this.error(new ApiError(f.status, f.type, f.message, { code: f.code, headers }), failed.runId);
  }

  /** An error of this request, naming its runs (header) and the run at fault (body). */
  error(error: ApiError, runId?: string): RunApiError {
    return error instanceof RunApiError ? error : new RunApiError(error, this.runIds, runId, this.conversationId);
  }

  /** Completion tokens of one choice, or of all: counted once per answer (recording, billing and usage ask). */
  completionTokens(choice?: Choice): number {
    if (!choice) return this.choices.reduce((n, c) => n + this.completionTokens(c), 0);
    const run = choice.summary;
    const calls = run.toolCalls?.map((c) => `${c.name}${c.arguments}`).join('') ?? '';
    const key = `${run.done}/${run.answerSoFar.length}/${calls.length}`;
    const known = this.counted?.get(choice.index);
    if (known?.key === key) return known.tokens;
    const tokens = this.deps.tokens.count(run.answerSoFar) + (calls ? this.deps.tokens.count(calls) : 0);
    (this.counted ??= new Map()).set(choice.index, { key, tokens });
    return tokens;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release({ record: true });
  }

  /**
   * Stops runs that are still going (left early: an exception, a client gone), records what they
   * produced unless told not to, and gives back everything the run took. Once.
   */
  private async release({ record }: { record: boolean }): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      if (!this.drained) {
        this.stop(this.stopReason ?? 'client');
        await windDown(this.drain(), WIND_DOWN_MS);
      }
      if (record) await this.record().catch(() => {}); // already logged; nobody is left to tell
    } finally {
      await this.resources.disposeAsync();
    }
  }

  private stop(reason: StopReason): void {
    if (this.abort.signal.aborted) return;
    this.stopReason = reason;
    // A client that left may send the same request again at once (an SDK's retry after its
    // timeout): the memory has it wait for this turn's record, so that it retries the turn in its
    // conversation instead of storing the question again in a new one beside it.
    if (reason === 'client' || reason === 'cancelled') this.abandonTurn();
    clearTimeout(this.timer);
    this.abort.abort(new Error(reason));
    this.end.abort(RUN_OVER);
  }

  /**
   * Every `ms`, the trace so far of each choice still going that has moved on, written to its run
   * (Store.saveRunProgress): the final record replaces it, and a process killed before that leaves
   * it with the interrupted run. Long runs only: a run that ends sooner never writes one.
   */
  private saveProgressEvery(ms: number): NodeJS.Timeout | undefined {
    if (!ms) return undefined;
    const saved = new Map<number, number>(); // choice -> events written
    const timer = setInterval(() => {
      for (const choice of this.choices) {
        const run = choice.summary;
        if (run.done || saved.get(choice.index) === run.events.length) continue;
        saved.set(choice.index, run.events.length);
        this.memory
          .saveProgress({
            runId: choice.runId,
            owner: this.owner ?? '',
            events: run.events,
            agentsUsed: run.agentsUsed,
            usage: run.usageTotal(),
          })
          .catch((err) => this.log.warn({ err, runId: choice.runId }, "failed to save a run's progress"));
      }
    }, ms);
    return timer.unref();
  }

  /** Starts the runs: their first step (the upstream call) is under way before anyone reads. */
  private start(): void {
    this.first ??= this.iterator.next();
  }

  /**
   * The turn could not be written when the runs began: they are stopped (their upstream calls
   * cancelled) and everything is released; nothing is recorded, as the store has just refused.
   */
  private abandon(): Promise<void> {
    return this.release({ record: false });
  }

  private next(): Promise<[number, RunEvent] | undefined> {
    if (this.drained) return Promise.resolve(undefined);
    const first = this.first;
    this.first = undefined;
    return (first ?? this.iterator.next()).then((result) => this.took(result));
  }

  private took(result: IteratorResult<[number, RunEvent]>): [number, RunEvent] | undefined {
    if (result.done) {
      this.drained = true;
      this.settle();
      return undefined;
    }
    const [index, event] = result.value;
    this.choices[index].summary.apply(event);
    this.deps.runEvents.publish(this.choices[index].runId, event);
    // One failed choice fails the request (as one failed completion fails OpenAI's): the others stop.
    if (event.type === 'run_failed' && this.choices.length > 1) this.stop('choice_failed');
    if (this.choices.every((c) => c.summary.done)) this.settle();
    return result.value;
  }

  /** Every choice is done: a completed answer is never turned into a timeout while it is delivered. */
  private settle(): void {
    clearTimeout(this.timer);
    this.end.abort(RUN_OVER);
  }

  private async drain(): Promise<void> {
    while (await this.next());
  }

  private record(): Promise<void> {
    this.recording ??= this.recordChoices();
    return this.recording;
  }

  private async recordChoices(): Promise<void> {
    const turn: TurnContext = {
      memory: this.memory,
      conversationId: this.conversationKey,
      owner: this.owner,
      model: this.chat.model,
      newMessages: this.newMessages,
      promptTokens: this.promptTokens,
      startedAt: this.startedAt,
      stopReason: this.stopReason,
      resumed: this.resumed,
      completionTokens: (choice) => this.completionTokens(this.choices[choice.index]),
      ...(this.attachment ? { attachment: (choice) => this.attachment!(this.choices[choice.index]) } : {}),
      closed: (choice, events) => events.forEach((event) => this.deps.runEvents.publish(choice.runId, event)),
    };
    const recorded = new Set<number>();
    try {
      await recordChoices(turn, this.choices, recorded);
    } catch (err) {
      // Its runs are marked interrupted already, by the turn that took the conversation over.
      if (err instanceof TurnTakenOverError) {
        this.log.warn({ err, conversationId: this.conversationKey }, 'the turn lost its conversation to another turn');
        throw this.error(turnTakenOver());
      }
      this.log.error({ err, conversationId: this.conversationKey }, 'failed to record the conversation turn');
      const notStored = this.error(turnNotStored());
      await this.recordUnstored(turn, recorded, notStored.message);
      throw notStored;
    }
  }

  /**
   * The turn could not be stored: its runs, `running` in the store since they began, are ended as
   * failed with the reason the client is given (their traces kept, no answer), so that they neither
   * stay `running` (followers waiting, stats counting them) nor block a retry. A store that failed
   * once may be briefly busy: a few attempts, the conversation still locked; if all fail, the
   * periodic sweep of runs without a lease marks them interrupted later.
   */
  private async recordUnstored(turn: TurnContext, recorded: Set<number>, reason: string): Promise<void> {
    for (const delayMs of UNSTORED_RETRY_MS) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      try {
        await recordChoices(turn, this.choices, recorded, reason);
        return;
      } catch (err) {
        this.log.warn({ err, conversationId: this.conversationKey }, 'failed to mark an unstored turn as failed');
      }
    }
  }
}

/** Waits for `work`, but no longer than `ms`: an engine that ignores its abort signal cannot hold the release. */
async function windDown(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The conversation's lock, its refusals in the envelope: busy past the wait (409), or nobody waiting any more. */
async function lockConversation(
  deps: AppDeps,
  memory: ConversationMemory,
  input: LockTurnInput,
  options: LockOptions,
): Promise<ConversationLock> {
  try {
    return await memory.lock(input, options);
  } catch (err) {
    if (err instanceof ConversationBusyError) {
      deps.metrics.rejected.inc({ reason: 'conversation_busy' });
      throw conversationBusy(conversationIdOfKey(err.conversationId), err.waitedMs / 1000);
    }
    if (err instanceof LockWaitAbortedError) throw clientClosedRequest();
    throw err;
  }
}
