// Memory that keeps nothing: each request's messages are its whole context. Used where a store is
// deliberately absent (unit tests of the HTTP layer); the server uses the stored memory.
import type { ConversationMemory, PreparedTurn, PrepareTurnInput } from './types.ts';

export class StatelessMemory implements ConversationMemory {
  async prepare(input: PrepareTurnInput): Promise<PreparedTurn> {
    return {
      conversationId: input.conversationId,
      context: input.messages,
      newMessages: input.messages,
      release: () => {},
    };
  }
  async record(): Promise<void> {}
}
