// One specialist doing one task for the supervisor: it sees its instructions, the task, the context
// the supervisor gave it and the findings of the team so far, never the raw conversation.
import { generateText, stepCountIs } from 'ai';
import type { ResolvedModel } from '../llm/providers.ts';
import type { ToolRegistry } from '../tools/types.ts';
import { agentToolSet } from './agent-tools.ts';
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
): Promise<string> {
  const result = await generateText({
    ...run.callSettings(model.model),
    system: spec.instructions,
    prompt: briefing(run, a),
    tools: agentToolSet(spec.tools, registry, run, spec.name),
    stopWhen: stepCountIs(run.depth.agentSteps),
    // The last step must write the report rather than call yet another tool.
    prepareStep: ({ stepNumber }) => (stepNumber >= run.depth.agentSteps - 1 ? { toolChoice: 'none' } : undefined),
    onStepFinish: (step) => run.usage(spec.name, model.name, step.usage),
  });
  return result.text.trim();
}
