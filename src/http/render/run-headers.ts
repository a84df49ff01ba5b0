// The headers that tie a chat completion response to what the server keeps: the conversation it
// continued and the run of each choice (comma-separated, in choice order); and, with rate limits
// set, what is left of the key's limits (OpenAI's `x-ratelimit-*`).
import type { ChatRun } from '../../run/chat-run.ts';
import { CONVERSATION_HEADER, RUN_ID_HEADER } from '../../run/run-errors.ts';

export { CONVERSATION_HEADER };

/**
 * A value Node accepts in a header and a client can read back: printable ASCII as is, anything
 * else percent-encoded (Node refuses characters above U+00FF outright, and would garble Latin-1).
 */
export const headerValue = (value: string): string =>
  /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);

export function runHeaders(run: ChatRun): Record<string, string> {
  return { ...runIdHeaders(run), [CONVERSATION_HEADER]: headerValue(run.conversationId) };
}

/** The run ids, and the key's rate limits after this request as OpenAI reports them on every answer. */
export function runIdHeaders(run: ChatRun): Record<string, string> {
  return { ...run.rateLimitHeaders, [RUN_ID_HEADER]: run.runIds.join(',') };
}
