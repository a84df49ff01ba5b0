// Errors of the conversation memory and the store that reach a client as API errors: the same
// words on every surface (an HTTP route, an MCP tool call).
import { conversationIdOfKey } from '../conversation/conversation-keys.ts';
import { ConversationNotFoundError } from '../conversation/types.ts';
import { ForeignConversationError } from '../store/types.ts';
import { type ApiError, notFound, storeBusy } from './errors.ts';

/**
 * A store that answers but cannot write now: SQLite locked by another writer past busy_timeout
 * (SQLITE_BUSY, SQLITE_LOCKED and their extended codes), PostgreSQL's lock timeout, deadlock or
 * serialization failure. Transient: the client may retry, and /ready (a read) still answers.
 */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
/** lock_not_available, deadlock_detected, serialization_failure. */
const POSTGRES_BUSY = new Set(['55P03', '40P01', '40001']);

function isStoreBusy(error: unknown): boolean {
  const { errcode, code } = (error ?? {}) as { errcode?: unknown; code?: unknown };
  if (typeof errcode === 'number' && code === 'ERR_SQLITE_ERROR') {
    const primary = errcode & 0xff; // the extended codes (SQLITE_BUSY_RECOVERY, ...) keep it in their low byte
    return primary === SQLITE_BUSY || primary === SQLITE_LOCKED;
  }
  return typeof code === 'string' && POSTGRES_BUSY.has(code);
}

/** The API error a memory or store error stands for, if it stands for one. */
export function apiErrorOfMemory(error: unknown): ApiError | undefined {
  if (isStoreBusy(error)) return storeBusy();
  if (error instanceof ConversationNotFoundError || error instanceof ForeignConversationError) {
    // The message is the conversation's store key: the client knows it by its id.
    const id = conversationIdOfKey(error.message);
    return notFound(`No conversation found with id '${id}'.`, 'conversation_not_found', 'conversation_id');
  }
  return undefined;
}
