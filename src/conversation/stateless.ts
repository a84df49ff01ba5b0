// Memory that keeps nothing: each request's messages are its whole context. Used where a store is
// deliberately absent (unit tests of the HTTP layer, benchmarks of the wire) and for the Responses
// API's `store: false`; the server otherwise uses the stored memory. Locks are real (in this process)
// so that turn ordering behaves the same. It holds no paused run: those such a request resumes are
// brought along by the request (OpenRunOptions.carried: sealed checkpoints its client carries back,
// or the stored one of the response it continues).
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

export class StatelessMemory implements ConversationMemory {
  private readonly mutex = new KeyedMutex();

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
      context: input.messages,
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
