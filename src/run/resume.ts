// Which paused run a request answers: the `tool` messages at the end of its messages carry the ids
// of the client tool calls the run paused for. OpenAI clients resend the whole history without a
// conversation id, so these ids, not the conversation id, are what finds the run.
import { invalidRequest } from '../http/errors.ts';
import type { PausedRun } from '../conversation/types.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';

export interface AnsweredResults {
  /** The tool-call ids answered by the trailing `tool` messages (none when the last message is not one). */
  ids: string[];
  /** The index of the first of those messages. */
  first: number;
  /** The results are all the request sends (besides system messages): no history names their calls. */
  alone: boolean;
}

export function answeredResults(messages: ChatMessage[]): AnsweredResults {
  const ids: string[] = [];
  let first = messages.length;
  while (first > 0 && messages[first - 1].role === 'tool') {
    const id = messages[--first].toolCallId;
    if (id) ids.unshift(id);
  }
  const alone = ids.length > 0 && messages.slice(0, first).every((m) => m.role === 'system');
  return { ids, first, alone };
}

/** The run among those a request brings along (OpenRunOptions.carried) whose calls it answers, placed in its turn's conversation. */
export function carriedRun(
  carried: RunCheckpoint[] | undefined,
  answered: string[],
  conversationId: string,
): PausedRun | undefined {
  const checkpoint = carried?.find((c) => c.pendingToolCallIds.some((id) => answered.includes(id)));
  return checkpoint && { conversationId, checkpoint };
}

/** A paused run resumes with the results of all of its calls, as OpenAI requires them all at once. */
export function checkAllAnswered(checkpoint: RunCheckpoint, answered: string[], first: number): void {
  const missing = checkpoint.pendingToolCallIds.filter((id) => !answered.includes(id));
  if (!missing.length) return;
  throw invalidRequest(
    `The run these tool results answer waits for a result of each of its calls. ` +
      `The following tool_call_ids did not have response messages: ${missing.join(', ')}.`,
    `messages[${first}]`,
    'missing_tool_results',
  );
}

/** Whether `ids` answer every call of the assistant message before the trailing results of `context`, and only those. */
export function answersCallsBefore(context: ChatMessage[], ids: string[]): boolean {
  const { first } = answeredResults(context);
  const calls = context[first - 1]?.role === 'assistant' ? (context[first - 1].toolCalls ?? []) : [];
  return (
    calls.length > 0 && ids.every((id) => calls.some((c) => c.id === id)) && calls.every((c) => ids.includes(c.id))
  );
}

/** Results sent alone that no paused run waits for (never paused, another key's, or resumed already). */
export function noPausedRun(first: number) {
  return invalidRequest(
    `Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'; ` +
      `'messages[${first}].tool_call_id' answers no call that a paused run waits for (it may have been answered already).`,
    `messages[${first}].tool_call_id`,
    'invalid_tool_call_id',
  );
}

/** Every result answers a call the paused run waits for: another id is not that run's (nor any other's). */
export function checkAnswersPending(checkpoint: RunCheckpoint, answered: AnsweredResults): void {
  const stranger = answered.ids.findIndex((id) => !checkpoint.pendingToolCallIds.includes(id));
  if (stranger >= 0) throw noPausedRun(answered.first + stranger);
}
