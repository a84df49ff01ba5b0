// Errors of the conversation memory and the store that reach a client as API errors: the same
// words on every surface (an HTTP route, an MCP tool call).
import { conversationIdOfKey } from '../conversation/conversation-keys.ts';
import { ConversationNotFoundError } from '../conversation/types.ts';
import { ForeignConversationError } from '../store/types.ts';
import { ApiError, notFound } from './errors.ts';

/**
 * A store that answers but cannot write now: SQLite locked by another writer past busy_timeout
 * (SQLITE_BUSY, SQLITE_LOCKED and their extended codes), PostgreSQL's lock timeout, deadlock or
 * serialization failure. Transient: the client may retry, and /ready (a read) still answers.
 */
function storeBusy(error: unknown): boolean {
  const { errcode, code } = (error ?? {}) as { errcode?: unknown; code?: unknown };
  if (typeof errcode === 'number' && code === 'ERR_SQLITE_ERROR')
    return (errcode & 0xff) === 5 || (errcode & 0xff) === 6;
  return code === '55P03' || code === '40P01' || code === '40001';
}

/** The API error a memory or store error stands for, if it stands for one. */
export function apiErrorOfMemory(error: unknown): ApiError | undefined {
  if (storeBusy(error))
    return new ApiError(
      503,
      'service_unavailable',
      'The store is busy (another writer holds it); please retry shortly.',
      {
        code: 'store_busy',
        headers: { 'retry-after': '1' },
      },
    );
  if (error instanceof ConversationNotFoundError || error instanceof ForeignConversationError) {
    // The message is the conversation's store key: the client knows it by its id.
    const id = conversationIdOfKey(error.message);
    return notFound(`No conversation found with id '${id}'.`, 'conversation_not_found', 'conversation_id');
  }
  return undefined;
}
