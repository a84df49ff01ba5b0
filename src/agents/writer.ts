// The writer turns the team's material into the final answer, streamed to the client as it is
// written. It sees the client's system prompt, the results of the client's tools in this turn, the
// team's findings and sources, and the user's request. When the depth allows, it drafts first,
// then critiques and rewrites the draft once.
import type { ResolvedModel } from '../llm/providers.ts';
import { classifyError } from '../llm/upstream-error.ts';
import type { ChatMessage } from '../orchestrator/types.ts';
import { StructuredOutputError } from '../llm/upstream-error.ts';
import {
  clientToolResults,
  lastUserChatMessage,
  lastUserMessage,
  userMessage,
  withClientInstructions,
} from './model-messages.ts';
import type { RunContext } from './run-context.ts';
import { briefing, collectText, type Assignment } from './specialist.ts';
import type { AgentSpec } from './spec.ts';
import { streamAnswer, type StreamedAnswer } from './stream-answer.ts';
import { jsonFormatOf, writeStructured } from './structured-answer.ts';

export interface WriterOutcome {
  /** Set when the answer was written. */
  answer?: StreamedAnswer;
  /** What the supervisor's tool call returns. */
  reply: string;
  /** A failure after part of the answer reached the client: the run cannot recover from it. */
  fatal?: unknown;
  /** The failure, when nothing was written. */
  error?: unknown;
}

const REFINE =
  'Critique the draft against the request and the material: is it correct, complete, cited and clear? Then write the improved final answer. Reply with the final answer only.';

/**
 * `conversation` is the request as the writer should see it: for a resumed run, the conversation
 * with the client's tool results of the paused turn.
 */
export async function writeAnswer(
  run: RunContext,
  member: { spec: AgentSpec; model: ResolvedModel },
  a: Assignment,
  callId: string,
  conversation: ChatMessage[] = run.input.messages,
): Promise<WriterOutcome> {
  const { spec, model } = member;
  run.agentStarted(spec.name, a.task, callId);
  run.progress('supervisor', `→ ${spec.name}: ${a.task}`);
  const toolResults = clientToolResults(conversation);
  let material = [
    briefing(run, a),
    toolResults ? `Results of the tools the user's application ran for this request:\n${toolResults}` : '',
    `The user's request:\n${lastUserMessage(conversation)}`,
  ]
    .filter(Boolean)
    .join('\n\n');
  const system = withClientInstructions(spec.instructions, conversation);
  // The writer sees the user's images and files with the request, as the supervisor did.
  const images = lastUserChatMessage(conversation)?.images;
  const withMedia = (text: string) => [userMessage({ role: 'user', content: text, images })];
  try {
    if (run.depth.refine) {
      const draft = await collectText(run, { agent: spec.name, model, system, prompt: withMedia(material) });
      run.progress(spec.name, `${spec.name} drafted the answer and is refining it`);
      material = `${material}\n\nYour draft:\n${draft}\n\n${REFINE}`;
    }
    const call = { agent: spec.name, model, system, messages: withMedia(material), generation: run.input.generation };
    const format = jsonFormatOf(run.input.generation);
    const answer = format ? await writeStructured(run, call, format) : await streamAnswer(run, call);
    run.emit({ type: 'agent_finished', agent: spec.name, callId, ok: true, output: run.answer });
    return { answer, reply: 'The answer was sent to the user.' };
  } catch (err) {
    if (run.signal.aborted) throw err;
    const reason = classifyError(err)?.message ?? (err as Error).message;
    run.emit({ type: 'agent_finished', agent: spec.name, callId, ok: false, output: run.answer, error: reason });
    // A JSON answer that would not validate must fail the run: the supervisor would answer in prose.
    if (run.answer || err instanceof StructuredOutputError)
      return { reply: `The writer failed: ${reason}`, fatal: err };
    return {
      reply: `The writer failed before writing anything: ${reason} Write the answer yourself from the reports.`,
      error: err,
    };
  }
}
