// One specialist doing one task for the supervisor: it sees its instructions, the task, the context
// the supervisor gave it and the findings of the team so far, never the raw conversation. Its calls
// stream (so that a long report is timed by the upstream's silence, not its length) and obey the
// agent's own signal: its time limit ends it without ending the run.
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import {
  stepCountIs,
  streamText,
  wrapLanguageModel,
  type LanguageModel,
  type ModelMessage,
  type StopCondition,
  type ToolSet,
} from 'ai';
import type { ResolvedModel } from '../llm/providers.ts';
import { BadToolCallError } from '../llm/upstream-error.ts';
import type { ToolRegistry } from '../tools/types.ts';
import { agentToolSet } from './agent-tools.ts';
import { badCallWhat } from './bad-tool-call.ts';
import { specialistSettings } from './generation.ts';
import type { RunContext } from './run-context.ts';
import type { AgentSpec } from './spec.ts';
import { plainName } from './tool-names.ts';

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
  const agent = spec.name;
  const { maxRetries } = run.limits;
  const settings = run.callSettings(agent, model, signal);
  const reporting = reportingUsage(settings.model, (usage) => run.usage(agent, model.name, usage));
  const result = streamText({
    ...settings,
    ...(reporting ? { model: reporting } : {}),
    ...specialistSettings(),
    system: spec.instructions,
    prompt: briefing(run, a),
    tools: agentToolSet(spec.tools, registry, run, agent, { signal }),
    // A malformed call reaches the model as that call's error, so its next step is its next
    // attempt: it gets as many as CORTEX_LLM_MAX_RETRIES, as a failed upstream call does.
    stopWhen: [stepCountIs(run.depth.agentSteps), malformedMoreThan(maxRetries)],
    // The last step must write the report rather than call yet another tool.
    prepareStep: ({ stepNumber }) => (stepNumber >= run.depth.agentSteps - 1 ? { toolChoice: 'none' } : undefined),
    onError: () => {}, // errors arrive as `error` parts below; the SDK would otherwise print them
  });
  let text = '';
  let steps = 0;
  /** What was wrong with the current step's first malformed call, and how many steps had one. */
  let malformed: string | undefined;
  let malformedSteps = 0;
  for await (const part of result.fullStream) {
    switch (part.type) {
      case 'start-step':
        steps++;
        text = ''; // the report is the text of the last step
        malformed = undefined;
        break;
      case 'text-delta':
        text += part.text;
        break;
      case 'tool-call':
        // A valid call is traced by the tool itself as it runs (agent-tools.ts); this one never runs.
        if (part.invalid) malformed ??= traceMalformedCall(run, agent, part);
        break;
      case 'finish-step':
        if (!reporting) run.usage(agent, model.name, part.usage);
        if (malformed) {
          const retry = ++malformedSteps <= maxRetries && steps < run.depth.agentSteps;
          run.progress(agent, `${agent} called ${malformed}${retry ? '; asking it again' : ''}`);
        }
        break;
      case 'error':
        throw part.error;
      case 'abort':
        throw signal.reason ?? new Error('the agent was stopped');
    }
  }
  // Its last step was a malformed call (its attempts, or its steps, are spent): that is the failure.
  if (malformed) throw new BadToolCallError(`it called ${malformed}.`);
  return text.trim();
}

/**
 * `model`, telling `report` each call's usage as soon as the call ends. A step's `finish-step`
 * comes only after the tools it asked for have run: a call's usage would be stamped with the end of
 * its tools (the timeline would draw the call over them), and lost with a tool that never ends (the
 * agent's time limit stops it), although the upstream spent those tokens.
 */
function reportingUsage(
  model: LanguageModel,
  report: (usage: { inputTokens: number | undefined; outputTokens: number | undefined }) => void,
): LanguageModel | undefined {
  if (typeof model !== 'object' || model.specificationVersion !== 'v3') return undefined;
  return wrapLanguageModel({
    model,
    middleware: {
      specificationVersion: 'v3',
      wrapStream: async ({ doStream }) => {
        const result = await doStream();
        const stream = result.stream.pipeThrough(
          new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
            transform(part, controller) {
              if (part.type === 'finish')
                report({ inputTokens: part.usage.inputTokens.total, outputTokens: part.usage.outputTokens.total });
              controller.enqueue(part);
            },
          }),
        );
        return { ...result, stream };
      },
    },
  });
}

/** Stops once more steps than `retries` made a malformed call (arguments that are no JSON, no such tool). */
const malformedMoreThan =
  (retries: number): StopCondition<ToolSet> =>
  ({ steps }) =>
    steps.filter((s) => s.toolCalls.some((c) => c.invalid)).length > retries;

/**
 * Records a call the agent's model got wrong as a tool call that failed with what was wrong, as the
 * trace shows any failed call, and returns that (the tool, then what was wrong with the call).
 */
function traceMalformedCall(
  run: RunContext,
  agent: string,
  call: { toolCallId: string; toolName: string; input: unknown; error?: unknown },
): string {
  const what = badCallWhat(call.toolName, call.error);
  const toolName = plainName(call.toolName);
  run.emit({ type: 'tool_call', agent, toolCallId: call.toolCallId, toolName, input: call.input });
  const error = `${agent} called ${what}`;
  run.emit({ type: 'tool_result', agent, toolCallId: call.toolCallId, toolName, output: { error }, isError: true });
  return what;
}

/**
 * Text of one call without tools, streamed so that only silence times it out (the writer's draft).
 */
export async function collectText(
  run: RunContext,
  o: { agent: string; model: ResolvedModel; system: string; prompt: string | ModelMessage[] },
): Promise<string> {
  const result = streamText({
    ...run.callSettings(o.agent, o.model),
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
