// Errors of the conversation memory and the store that reach a client as API errors: the same
// words on every surface (an HTTP route, an MCP tool call).
import { conversationIdOfKey } from '../conversation/conversation-keys.ts';
import { ConversationNotFoundError } from '../conversation/types.ts';
import { ForeignConversationError } from '../store/types.ts';
import { type ApiError, notFound, storeBusy, storeUnavailable } from './errors.ts';

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

/**
 * The store's connection was lost or never made: PostgreSQL's connection exceptions (class 08), a
 * server shutting down or terminating the connection (57P01-57P03), the socket's own errors, and pg's
 * words for a connection that ended, could not be made in time or stopped answering. The request
 * failed because of the database, not of a bug: a 503 the client may retry, even when the pool has
 * already reconnected by the time the error is answered (a terminated backend, a failover), which the
 * check of /ready at that moment would take for a 500.
 */
const POSTGRES_GONE = /^(08...|57P0[123])$/;
const SOCKET_GONE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const PG_GONE =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Query read timeout)/;

function isStoreGone(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (POSTGRES_GONE.test(code) || SOCKET_GONE.has(code))) return true;
  return error instanceof Error && typeof message === 'string' && PG_GONE.test(message);
}

/** The API error a memory or store error stands for, if it stands for one. */
export function apiErrorOfMemory(error: unknown): ApiError | undefined {
  if (isStoreBusy(error)) return storeBusy();
  if (isStoreGone(error)) return storeUnavailable();
  if (error instanceof ConversationNotFoundError || error instanceof ForeignConversationError) {
    // The message is the conversation's store key: the client knows it by its id.
    const id = conversationIdOfKey(error.message);
    return notFound(`No conversation found with id '${id}'.`, 'conversation_not_found', 'conversation_id');
  }
  return undefined;
}
