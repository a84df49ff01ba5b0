// Errors of the conversation memory and the store that reach a client as API errors: the same
// words on every surface (an HTTP route, an MCP tool call).
import { conversationIdOfKey } from '../conversation/conversation-keys.ts';
import { ConversationNotFoundError } from '../conversation/types.ts';
import { ForeignConversationError } from '../store/types.ts';
import { type ApiError, notFound } from './errors.ts';

/** The API error a memory or store error stands for, if it stands for one. */
export function apiErrorOfMemory(error: unknown): ApiError | undefined {
  if (error instanceof ConversationNotFoundError || error instanceof ForeignConversationError) {
    // The message is the conversation's store key: the client knows it by its id.
    const id = conversationIdOfKey(error.message);
    return notFound(`No conversation found with id '${id}'.`, 'conversation_not_found', 'conversation_id');
  }
  return undefined;
}
