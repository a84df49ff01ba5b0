// Which paused run a request answers: the `tool` messages at the end of its messages carry the ids
// of the client tool calls the run paused for. OpenAI clients resend the whole history without a
// conversation id, so these ids, not the conversation id, are what finds the run.
import type { ChatMessage } from '../orchestrator/types.ts';

/** The tool-call ids answered by the trailing `tool` messages (none when the last message is not a tool result). */
export function answeredToolCallIds(messages: ChatMessage[]): string[] {
  const ids: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; i--) {
    const id = messages[i].toolCallId;
    if (id) ids.unshift(id);
  }
  return ids;
}
