// The stored conversations and runs, in OpenAI's list and object conventions. Everything is scoped
// to the caller's API key: another key's conversation or run is "not found".
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Conversation, Store, StoredMessage } from '../../store/types.ts';
import { notFound } from '../errors.ts';
import { listObject, pageQueryShape, parseQuery, unixSeconds } from '../lists.ts';
import { checkId } from '../resource-ids.ts';
import { conversationIdOfKey, conversationKey } from '../../conversation/conversation-keys.ts';

const listQuery = z.object(pageQueryShape);

const conversationObject = (c: Conversation) => ({
  id: conversationIdOfKey(c.id),
  object: 'conversation' as const,
  title: c.title,
  created_at: unixSeconds(c.createdAt),
  updated_at: unixSeconds(c.updatedAt),
  message_count: c.messageCount,
});

const messageObject = (m: StoredMessage) => ({
  role: m.role,
  content: m.content,
  ...(m.name ? { name: m.name } : {}),
  ...(m.toolCalls?.length
    ? {
        tool_calls: m.toolCalls.map((t) => ({
          id: t.id,
          type: 'function',
          function: { name: t.name, arguments: t.arguments },
        })),
      }
    : {}),
  ...(m.toolCallId ? { tool_call_id: m.toolCallId } : {}),
  run_id: m.runId,
  created_at: unixSeconds(m.createdAt),
});

const conversationNotFound = (id: string) =>
  notFound(`No conversation found with id '${id}'.`, 'conversation_not_found', 'conversation_id');

export function registerConversations(app: FastifyInstance, store: Store): void {
  app.get('/v1/conversations', async (request) => {
    const query = parseQuery(listQuery, request.query);
    // The cursor is an id as the client knows it (the last of the previous page): keyed as stored.
    const after = query.after === undefined ? undefined : conversationKey(request.owner, query.after);
    const page = await store.listConversations(request.owner ?? '', { ...query, after });
    return listObject(page.data.map(conversationObject), page.hasMore);
  });

  app.get<{ Params: { id: string } }>('/v1/conversations/:id', async (request) => {
    checkId(request.params.id, 'conversation_id');
    const c = await store.getConversation(conversationKey(request.owner, request.params.id), request.owner ?? '');
    if (!c) throw conversationNotFound(request.params.id);
    const messages = await store.getMessages(c.id);
    return { ...conversationObject(c), system_prompt: c.systemPrompt, messages: messages.map(messageObject) };
  });

  app.delete<{ Params: { id: string } }>('/v1/conversations/:id', async (request) => {
    checkId(request.params.id, 'conversation_id');
    if (!(await store.deleteConversation(conversationKey(request.owner, request.params.id), request.owner ?? '')))
      throw conversationNotFound(request.params.id);
    return { id: request.params.id, object: 'conversation.deleted', deleted: true };
  });
}
