// The stored conversations and runs, in OpenAI's list and object conventions. Everything is scoped
// to the caller's API key: another key's conversation or run is "not found".
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Conversation, Store, StoredMessage } from '../../store/types.ts';
import { leaseFor } from '../../conversation/conversation-locks.ts';
import { newHolder } from '../../conversation/lease-holder.ts';
import { conversationBusy } from '../../run/run-errors.ts';
import { watchClient } from '../client-gone.ts';
import type { AppDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { listObject, pageQueryShape, parseQuery, readPage, unixSeconds } from '../lists.ts';
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

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 250;

/**
 * Takes the conversation's lease as a turn does (src/conversation/conversation-locks.ts), waiting
 * up to `waitSeconds` for the turn in progress: deleted under a running turn, the conversation came
 * back when that turn stored its answer (a transcript of one orphaned answer). The holder, or
 * undefined when a turn still runs after the wait or the client left.
 */
async function holdForDelete(store: Store, key: string, waitSeconds: number, signal: AbortSignal) {
  const holder = newHolder();
  const waitMs = waitSeconds * 1000;
  // A turn's lease: should this process die mid-delete, the conversation is free again as soon.
  const ttlMs = leaseFor(waitSeconds);
  const deadline = Date.now() + waitMs;
  for (let pause = FIRST_POLL_MS; !signal.aborted; pause = Math.min(MAX_POLL_MS, pause * 2)) {
    if (await store.acquireLease(key, holder, ttlMs)) return holder;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, deadline - Date.now())));
  }
  return undefined;
}

export function registerConversations(app: FastifyInstance, store: Store, deps: AppDeps): void {
  app.get('/v1/conversations', async (request) => {
    const query = parseQuery(listQuery, request.query);
    const owner = request.owner ?? '';
    // A cursor is an id as the client knows it (the last of the previous page): keyed as stored.
    const page = await readPage(
      query,
      (o) => store.listConversations(owner, { ...o, after: o.after && conversationKey(request.owner, o.after) }),
      async (id) => (await store.getConversation(conversationKey(request.owner, id), owner)) !== undefined,
    );
    return listObject(page.data.map(conversationObject), page.hasMore);
  });

  app.get<{ Params: { id: string } }>('/v1/conversations/:id', async (request) => {
    checkId(request.params.id, 'conversation_id');
    const c = await store.getConversation(conversationKey(request.owner, request.params.id), request.owner ?? '');
    if (!c) throw conversationNotFound(request.params.id);
    const messages = await store.getMessages(c.id);
    return { ...conversationObject(c), system_prompt: c.systemPrompt, messages: messages.map(messageObject) };
  });

  // Deleted once no turn runs on it (waited for as a turn waits; 409 conversation_busy after that):
  // its runs' followers see them end, and no answer lands in a conversation that is gone.
  app.delete<{ Params: { id: string } }>('/v1/conversations/:id', async (request, reply) => {
    checkId(request.params.id, 'conversation_id');
    const gone = watchClient(reply.raw);
    const owner = request.owner ?? '';
    const key = conversationKey(request.owner, request.params.id);
    // Ownership first: another key's conversation is not found, busy or not.
    if (!(await store.getConversation(key, owner))) throw conversationNotFound(request.params.id);
    const started = Date.now();
    const holder = await holdForDelete(store, key, deps.config.conversationWaitSeconds, gone.signal);
    if (!holder) throw conversationBusy(request.params.id, Math.round((Date.now() - started) / 100) / 10);
    try {
      if (!(await store.deleteConversation(key, owner))) throw conversationNotFound(request.params.id);
    } finally {
      await store.releaseLease(key, holder);
    }
    return { id: request.params.id, object: 'conversation.deleted', deleted: true };
  });
}
