// Memory that keeps nothing: each request's messages are its whole context. Used where a store is
// deliberately absent (unit tests of the HTTP layer, benchmarks of the wire) and for the Responses
// API's `store: false`; the server otherwise uses the stored memory. Locks are real (in this process)
// so that turn ordering behaves the same. It holds no paused run: those such a request resumes are
// brought along by the request (OpenRunOptions.carried: sealed checkpoints its client carries back,
// or the stored one of the response it continues).
import type { ChatMessage } from '../orchestrator/types.ts';
import { newConversationId } from '../run/run-ids.ts';
import type { TokenCounter } from '../tokens.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { fitToBudget, PRIMING_TOKENS } from './merge.ts';
import { waitDeadline } from './wait-deadline.ts';
import {
  ConversationBusyError,
  LockWaitAbortedError,
  type ConversationLock,
  type ConversationMemory,
  type LockOptions,
  type LockTurnInput,
  type PausedRun,
  type PreparedTurn,
  type PrepareTurnInput,
} from './types.ts';

/** The context window a StatelessMemory fits each request's messages to. */
export interface ContextWindow {
  tokens: TokenCounter;
  maxContextTokens: number;
}

export class StatelessMemory implements ConversationMemory {
  private readonly mutex = new KeyedMutex();
  private readonly window: ContextWindow | undefined;

  /** Without a window, the request's messages are the context whatever their size (tests of the wire). */
  constructor(window?: ContextWindow) {
    this.window = window;
  }

  async lock(input: LockTurnInput, options: LockOptions = {}): Promise<ConversationLock> {
    const conversationId = input.conversationId ?? newConversationId();
    let unlock = this.mutex.tryLock(conversationId);
    if (!unlock) {
      const started = Date.now();
      const deadline = waitDeadline(options.signal, options.waitMs ?? 30_000);
      try {
        unlock = await this.mutex.lock(conversationId, deadline.signal);
      } catch {
        throw deadline.cancelled()
          ? new LockWaitAbortedError(conversationId)
          : new ConversationBusyError(conversationId, Date.now() - started);
      } finally {
        deadline.dispose();
      }
    }
    const release = async () => unlock();
    return { conversationId, release, [Symbol.asyncDispose]: release };
  }

  async prepare(input: PrepareTurnInput): Promise<PreparedTurn> {
    const lock = input.lock ?? (await this.lock(input, { signal: input.signal }));
    return {
      conversationId: lock.conversationId,
      ...(this.window ? fitRequest(input.messages, this.window) : { context: input.messages }),
      newMessages: input.messages,
      release: () => lock.release(),
    };
  }
  async begin(): Promise<void> {}
  async record(): Promise<void> {}
  async savePausedRun(): Promise<void> {}
  async findPausedRun(): Promise<PausedRun | undefined> {
    return undefined;
  }
  async resumedRun(): Promise<void> {}
  async saveProgress(): Promise<void> {}
  async recoverInterruptedRuns(): Promise<number> {
    return 0;
  }
}

/**
 * The request's messages fitted to the window as the stored memory fits a conversation's: system
 * messages kept (in place), the oldest others dropped, whole, never a tool result without its call,
 * and always the message being answered.
 */
function fitRequest(messages: ChatMessage[], { tokens, maxContextTokens }: ContextWindow) {
  const costed = messages.map((m, i) => ({ m, i, cost: tokens.countMessage(m) }));
  const systemCost = costed.reduce((n, c) => n + (c.m.role === 'system' ? c.cost : 0), 0);
  const others = costed.filter((c) => c.m.role !== 'system');
  const budget = maxContextTokens - PRIMING_TOKENS - systemCost;
  let window = fitToBudget(others, budget);
  if (!window.length && others.length) window = others.slice(-1);
  const from = window[0]?.i ?? messages.length;
  const kept = costed.filter((c) => c.m.role === 'system' || c.i >= from);
  const promptTokens = PRIMING_TOKENS + kept.reduce((n, c) => n + c.cost, 0);
  return {
    context: kept.map((c) => c.m),
    promptTokens,
    trimmed: window.length < others.length,
    overBudget: promptTokens > maxContextTokens,
  };
}
