// Memory that keeps nothing: each request's messages are its whole context. Used where a store is
// deliberately absent (unit tests of the HTTP layer, benchmarks of the wire) and for the Responses
// API's `store: false`; the server otherwise uses the stored memory. Locks are real (in this process)
// so that turn ordering behaves the same. The paused runs such a request can resume are the ones its
// client carries back itself (sealed checkpoints, src/run/sealed-checkpoint.ts).
import { newConversationId } from '../run/run-ids.ts';
import { KeyedMutex } from './keyed-mutex.ts';
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
import type { RunCheckpoint } from '../orchestrator/types.ts';

export class StatelessMemory implements ConversationMemory {
  private readonly mutex: KeyedMutex;
  private readonly carried: RunCheckpoint[];
  /** The conversation of the one request carrying checkpoints: the one they were paused in, as far as runs can tell. */
  private readonly carriedIn: string | undefined;

  constructor(mutex = new KeyedMutex(), carried: RunCheckpoint[] = []) {
    this.mutex = mutex;
    this.carried = carried;
    this.carriedIn = carried.length ? newConversationId() : undefined;
  }

  /** This memory for one request whose client carries back the checkpoints of paused runs. */
  carrying(checkpoints: RunCheckpoint[]): StatelessMemory {
    return checkpoints.length ? new StatelessMemory(this.mutex, checkpoints) : this;
  }

  async lock(input: LockTurnInput, options: LockOptions = {}): Promise<ConversationLock> {
    const conversationId = input.conversationId ?? this.carriedIn ?? newConversationId();
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
    // The request's own history is what the carried runs paused in.
    const buildsOn = conversationId === this.carriedIn ? conversationId : undefined;
    return { conversationId, ...(buildsOn ? { buildsOn } : {}), release, [Symbol.asyncDispose]: release };
  }

  async prepare(input: PrepareTurnInput): Promise<PreparedTurn> {
    const lock = input.lock ?? (await this.lock(input, { signal: input.signal }));
    return {
      conversationId: lock.conversationId,
      context: input.messages,
      newMessages: input.messages,
      release: () => lock.release(),
    };
  }
  async begin(): Promise<void> {}
  async record(): Promise<void> {}
  async savePausedRun(): Promise<void> {}
  async findPausedRun(input: { toolCallIds: string[] }): Promise<PausedRun | undefined> {
    const checkpoint = this.carried.find((c) => c.pendingToolCallIds.some((id) => input.toolCallIds.includes(id)));
    return checkpoint && { conversationId: this.carriedIn!, checkpoint };
  }
  async resumedRun(): Promise<void> {}
  async saveProgress(): Promise<void> {}
  async recoverInterruptedRuns(): Promise<number> {
    return 0;
  }
}
