// One model turn of an agent that plans (the supervisor, or an agent answering on its own): the
// tools are declared but not executed by the SDK, so the turn ends with the model's text and tool
// calls and the run decides what happens next (run the calls, pause for the client, hand over).
// Owning the loop is what makes a run resumable and keeps each upstream call's time its own.
import { InvalidToolInputError, tool, type ModelMessage, type ToolSet } from 'ai';
import { streamCall } from '../llm/model-call.ts';
import type { ResolvedModel } from '../llm/providers.ts';
import type { BadToolCallError } from '../llm/upstream-error.ts';
import { badToolCall } from './bad-tool-call.ts';
import { isInternalName } from './tool-names.ts';
import { newToolSet, toolNamed } from './tool-set.ts';
import type { RunContext } from './run-context.ts';

export interface StepToolCall {
  id: string;
  name: string;
  input: unknown;
  /** Arguments of a call to a client's tool that are no JSON, as the model wrote them. */
  rawArguments?: string;
}

export interface StepResult {
  text: string;
  toolCalls: StepToolCall[];
  finishReason: 'stop' | 'length' | 'tool_calls' | 'content_filter';
}

export interface ModelStepOptions {
  agent: string;
  model: ResolvedModel;
  system: string;
  messages: ModelMessage[];
  tools: ToolSet;
  activeTools?: string[];
  toolChoice?: 'auto' | 'none' | 'required' | { type: 'tool'; toolName: string };
  /** Upstream settings of this turn (sampling, output budget). */
  settings: Record<string, unknown>;
  /** Receives the turn's text as it streams; returns false once the answer must end (a limit). */
  onText: (text: string) => boolean;
}

/** The tools of the sets as declarations only: a call to one ends the turn instead of running it. */
export function declarations(...sets: ToolSet[]): ToolSet {
  const out = newToolSet();
  for (const [name, t] of sets.flatMap((set) => Object.entries(set)))
    out[name] = tool({
      description: t.description,
      inputSchema: t.inputSchema as never,
      ...(t.strict === undefined ? {} : { strict: t.strict }),
    });
  return out;
}

export async function modelStep(run: RunContext, o: ModelStepOptions): Promise<StepResult> {
  // A turn whose tool call cannot be read is asked once more, if none of its text was sent yet.
  for (let attempt = 0; ; attempt++) {
    const outcome = await oneTurn(run, o, attempt > 0);
    if (!('bad' in outcome)) return outcome;
    if (attempt >= 1 || outcome.textSent) throw outcome.bad;
    run.progress(o.agent, `${o.agent} sent an unreadable tool call; asking again`);
  }
}

/**
 * One model turn. Arguments of a call to the client's own tool that are no JSON are the client's to
 * read, as OpenAI passes them on unread: they are asked for once more (most models then write them
 * whole), and passed on as written when they come back the same (`lastAttempt`) or when some of the
 * turn's text was sent already. The team's own tools need arguments they can run with, and so does
 * a client's `strict` function: its arguments must fit its schema, as OpenAI guarantees.
 */
async function oneTurn(
  run: RunContext,
  o: ModelStepOptions,
  lastAttempt: boolean,
): Promise<StepResult | { bad: BadToolCallError; textSent: boolean }> {
  const call = streamCall({
    model: o.model.model,
    maxRetries: run.limits.maxRetries,
    retries: run.retryWatch(o.agent, o.model),
    abortSignal: run.signal,
    settings: o.settings,
    system: o.system,
    messages: o.messages,
    tools: o.tools,
    activeTools: o.activeTools,
    toolChoice: o.toolChoice,
  });
  let text = '';
  let limited = false;
  let finishReason: string | undefined;
  const toolCalls: StepToolCall[] = [];
  let bad: BadToolCallError | undefined;
  let unreadable: BadToolCallError | undefined;
  for await (const part of call) {
    if (part.type === 'text') {
      text += part.text;
      if (!o.onText(part.text)) {
        limited = true;
        // The answer reached the client's limit: leaving the loop cancels the upstream body (and
        // with it the connection), so the rest is not read.
        break;
      }
    } else if (part.type === 'tool-call') {
      // A strict client function's arguments must fit its schema (client-tools.ts): not passed on.
      const strict = toolNamed(o.tools, part.toolName)?.strict === true;
      if (part.invalid && !strict && !isInternalName(part.toolName) && InvalidToolInputError.isInstance(part.error)) {
        unreadable ??= badToolCall(part.toolName, part.error);
        toolCalls.push({
          id: part.toolCallId,
          name: part.toolName,
          input: part.input,
          rawArguments: part.error.toolInput,
        });
      } else if (part.invalid) bad ??= badToolCall(part.toolName, part.error);
      else toolCalls.push({ id: part.toolCallId, name: part.toolName, input: part.input });
    } else {
      finishReason = part.finishReason;
      run.usage(o.agent, o.model.name, part.usage);
    }
  }
  if (bad) return { bad, textSent: text.length > 0 };
  if (unreadable && !lastAttempt && !text) return { bad: unreadable, textSent: false };
  if (limited) return { text, toolCalls: [], finishReason: 'stop' };
  return {
    text,
    toolCalls,
    finishReason: toolCalls.length
      ? 'tool_calls'
      : finishReason === 'length'
        ? 'length'
        : finishReason === 'content-filter'
          ? 'content_filter'
          : 'stop',
  };
}
