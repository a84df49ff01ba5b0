// One specialist doing one task for the supervisor: it sees its instructions, the task, the context
// the supervisor gave it and the findings of the team so far, never the raw conversation. Its calls
// stream (so that a long report is timed by the upstream's silence, not its length) and obey the
// agent's own signal: its time limit ends it without ending the run.
import { stepCountIs, streamText, type ModelMessage } from 'ai';
import type { ResolvedModel } from '../llm/providers.ts';
import type { ToolRegistry } from '../tools/types.ts';
import { agentToolSet } from './agent-tools.ts';
import { specialistSettings } from './generation.ts';
import type { RunContext } from './run-context.ts';
import type { AgentSpec } from './spec.ts';

export interface Assignment {
  task: string;
  context?: string;
}

export function briefing(run: RunContext, a: Assignment): string {
  return [`Task: ${a.task}`, a.context ? `Context from the supervisor:\n${a.context}` : '', run.material()]
    .filter(Boolean)
    .join('\n\n');
}

export async function runSpecialist(
  run: RunContext,
  spec: AgentSpec,
  model: ResolvedModel,
  registry: ToolRegistry,
  a: Assignment,
  signal: AbortSignal,
): Promise<string> {
  const result = streamText({
    ...run.callSettings(model.model, signal),
    ...specialistSettings(),
    system: spec.instructions,
    prompt: briefing(run, a),
    tools: agentToolSet(spec.tools, registry, run, spec.name, { signal }),
    stopWhen: stepCountIs(run.depth.agentSteps),
    // The last step must write the report rather than call yet another tool.
    prepareStep: ({ stepNumber }) => (stepNumber >= run.depth.agentSteps - 1 ? { toolChoice: 'none' } : undefined),
    onError: () => {}, // errors arrive as `error` parts below; the SDK would otherwise print them
  });
  let text = '';
  for await (const part of result.fullStream) {
    switch (part.type) {
      case 'start-step':
        text = ''; // the report is the text of the last step
        break;
      case 'text-delta':
        text += part.text;
        break;
      case 'finish-step':
        run.usage(spec.name, model.name, part.usage);
        break;
      case 'error':
        throw part.error;
      case 'abort':
        throw signal.reason ?? new Error('the agent was stopped');
    }
  }
  return text.trim();
}

/**
 * Text of one call without tools, streamed so that only silence times it out (the writer's draft).
 */
export async function collectText(
  run: RunContext,
  o: { agent: string; model: ResolvedModel; system: string; prompt: string | ModelMessage[] },
): Promise<string> {
  const result = streamText({
    ...run.callSettings(o.model.model),
    ...specialistSettings(),
    system: o.system,
    prompt: o.prompt,
    onError: () => {},
  });
  let text = '';
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    else if (part.type === 'finish-step') run.usage(o.agent, o.model.name, part.usage);
    else if (part.type === 'error') throw part.error;
    else if (part.type === 'abort') throw run.signal.reason ?? new Error('the call was stopped');
  }
  return text;
}
