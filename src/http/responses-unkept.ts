// A `store: false` request naming a stored response: `store` says only that the NEW response is not
// kept (OpenAI), so the named response's context is still read, and a run it paused for client tools
// still resumes when the request answers its calls. Nothing is written: the stored conversation
// still ends with the calls, and its paused run stays there for a later request to resume as well.
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import { answeredResults, answersCallsBefore, noPausedRun } from '../run/resume.ts';
import type { Conversation, Store, StoredResponse } from '../store/types.ts';
import { inResponsesTerms, type MessageOrigin } from './responses-params.ts';

export interface UnkeptContinuation {
  /** The stored context, then the request's messages. */
  messages: ChatMessage[];
  /** The request's origins, moved past the stored messages (which have none: an error names `input`). */
  origins: (MessageOrigin | undefined)[];
  /** The paused run of the named response that the request answers (OpenRunOptions.carried). */
  carried: RunCheckpoint[];
}

export async function continueUnkept(
  store: Store,
  owner: string,
  previous: StoredResponse,
  /** The end of the response's turn in its conversation (Store.turnEndOf). */
  end: number | undefined,
  request: { messages: ChatMessage[]; origins: readonly (MessageOrigin | undefined)[] },
): Promise<UnkeptContinuation> {
  const conversation = await store.getConversation(previous.conversationId, owner);
  const latest = !conversation || end === undefined || end >= conversation.messageCount;
  const history = await transcript(store, conversation, latest ? undefined : end);
  const answered = answeredResults(request.messages);
  const carried: RunCheckpoint[] = [];
  if (answered.ids.length) {
    const found = await store.findCheckpoint(owner, answered.ids);
    // Only the named response's own run: it paused where this context ends.
    if (found?.checkpoint.runId === previous.runId) carried.push(found.checkpoint);
    // Results alone must answer the calls the response ended with, as a kept request's must (chat-run).
    else if (answered.alone && !answersCallsBefore([...history, ...request.messages], answered.ids))
      throw inResponsesTerms(noPausedRun(answered.first), request.origins);
  }
  return {
    messages: [...history, ...request.messages],
    origins: [...history.map(() => undefined), ...request.origins],
    carried,
  };
}

/** A stored conversation as context for a turn that keeps nothing (`store: false`). */
async function transcript(
  store: Store,
  conversation: Conversation | undefined,
  throughSeq = Infinity,
): Promise<ChatMessage[]> {
  if (!conversation) return [];
  const stored = (await store.getMessages(conversation.id)).filter((m) => m.seq <= throughSeq);
  // Without its system prompt: a previous response's instructions are not carried over (OpenAI).
  return stored.map((m) => ({
    role: m.role,
    content: m.content,
    ...(m.images ? { images: m.images } : {}),
    ...(m.toolCalls ? { toolCalls: m.toolCalls } : {}),
    ...(m.toolCallId ? { toolCallId: m.toolCallId } : {}),
  }));
}
