// The writer turns the team's material into the final answer, streamed to the client as it is
// written. When the depth allows, it drafts first, then critiques and rewrites the draft once.
import { generateText, stepCountIs } from 'ai';
import type { ResolvedModel } from '../llm/providers.ts';
import { classifyError } from '../llm/upstream-error.ts';
import { lastUserMessage } from './model-messages.ts';
import type { RunContext } from './run-context.ts';
import { briefing, type Assignment } from './specialist.ts';
import type { AgentSpec } from './spec.ts';
import { streamAnswer, type StreamedAnswer } from './stream-answer.ts';

export interface WriterOutcome {
  /** Set when the answer was written. */
  answer?: StreamedAnswer;
  /** What the supervisor's tool call returns. */
  reply: string;
  /** A failure after part of the answer reached the client: the run cannot recover from it. */
  fatal?: unknown;
}

const REFINE =
  'Critique the draft against the request and the material: is it correct, complete, cited and clear? Then write the improved final answer. Reply with the final answer only.';

export async function writeAnswer(
  run: RunContext,
  member: { spec: AgentSpec; model: ResolvedModel },
  a: Assignment,
  callId: string,
): Promise<WriterOutcome> {
  const { spec, model } = member;
  run.agentStarted(spec.name, a.task, callId);
  run.progress('supervisor', `→ ${spec.name}: ${a.task}`);
  let material = `${briefing(run, a)}\n\nThe user's request:\n${lastUserMessage(run.input.messages)}`;
  try {
    if (run.depth.refine) {
      const draft = await generateText({
        ...run.callSettings(model.model),
        system: spec.instructions,
        prompt: material,
      });
      run.usage(spec.name, model.name, draft.usage);
      run.progress(spec.name, `${spec.name} drafted the answer and is refining it`);
      material = `${material}\n\nYour draft:\n${draft.text}\n\n${REFINE}`;
    }
    const answer = await streamAnswer(run, {
      agent: spec.name,
      model,
      system: spec.instructions,
      messages: [{ role: 'user', content: material }],
      stopWhen: stepCountIs(1),
      generation: run.input.generation,
    });
    run.emit({ type: 'agent_finished', agent: spec.name, callId, ok: true, output: run.answer });
    return { answer, reply: 'The answer was sent to the user.' };
  } catch (err) {
    if (run.signal.aborted) throw err;
    const reason = classifyError(err)?.message ?? (err as Error).message;
    run.emit({ type: 'agent_finished', agent: spec.name, callId, ok: false, output: run.answer, error: reason });
    if (run.answer) return { reply: `The writer failed: ${reason}`, fatal: err };
    return {
      reply: `The writer failed before writing anything: ${reason} Write the answer yourself from the reports.`,
    };
  }
}
