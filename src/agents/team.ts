// The LLM team behind the API. Model `<name>` runs the full team: the supervisor answers directly
// or delegates tasks to specialists (several in one turn run in parallel), over at most the
// depth's rounds, and hands over to the writer, whose text streams to the client as the answer.
// `<name>-supervisor` is the supervisor alone with its tools, `<name>-<agent>` one specialist.
import { stepCountIs, tool, type ToolSet } from 'ai';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { ModelResolver, ResolvedModel } from '../llm/providers.ts';
import { classifyError } from '../llm/upstream-error.ts';
import type { RunEvent } from '../orchestrator/events.ts';
import type { ModelInfo, Orchestrator, RunInput } from '../orchestrator/types.ts';
import type { ToolRegistry } from '../tools/types.ts';
import { agentToolSet } from './agent-tools.ts';
import { clientToolSet, firstStepChoice } from './client-tools.ts';
import { depthOf } from './depth.ts';
import { lastUserMessage, toAgentPrompt } from './model-messages.ts';
import { RunContext } from './run-context.ts';
import { SUPERVISOR, WRITER, type AgentSpec } from './spec.ts';
import { runSpecialist, type Assignment } from './specialist.ts';
import { streamAnswer, type StreamedAnswer } from './stream-answer.ts';
import { writeAnswer } from './writer.ts';

export interface TeamOptions {
  config: Pick<
    Config,
    'model' | 'modelName' | 'maxIterations' | 'defaultReasoningEffort' | 'llmTimeoutSeconds' | 'llmMaxRetries'
  >;
  agents: AgentSpec[];
  providers: ModelResolver;
  tools: ToolRegistry;
}

interface Member {
  spec: AgentSpec;
  model: ResolvedModel;
}

const assignment = z.object({
  task: z.string().describe('What the agent must do, precisely, as a self-contained instruction.'),
  context: z
    .string()
    .optional()
    .describe(
      'Facts from the conversation or from earlier results that the agent needs (it does not see the conversation).',
    ),
});

const delegationToolName = (agent: string) => `ask_${agent}`;

export class TeamOrchestrator implements Orchestrator {
  readonly engine = 'llm';
  private readonly options: TeamOptions;
  private readonly members = new Map<string, Member>();

  constructor(options: TeamOptions) {
    this.options = options;
    const fallback = options.config.model;
    for (const spec of options.agents) {
      const modelText = spec.model ?? fallback;
      if (!modelText) throw new Error(`agent '${spec.name}' has no model and CORTEX_MODEL is unset`);
      // Resolving every model now makes a missing key a start-up error, not a failed request.
      this.members.set(spec.name, { spec, model: options.providers.resolve(modelText) });
    }
    if (!this.members.has(SUPERVISOR)) throw new Error('the team has no supervisor');
  }

  private get specialists(): Member[] {
    return [...this.members.values()].filter((m) => m.spec.name !== SUPERVISOR);
  }

  models(): ModelInfo[] {
    const name = this.options.config.modelName;
    return [
      {
        id: name,
        description: `The full team: the supervisor delegating to ${this.specialists.map((m) => m.spec.name).join(', ')}.`,
      },
      {
        id: `${name}-supervisor`,
        description: 'The supervisor answering on its own with its tools, without delegating.',
      },
      ...this.specialists.map((m) => ({ id: `${name}-${m.spec.name}`, description: m.spec.description })),
    ];
  }

  run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    const { config } = this.options;
    const depth = depthOf(input.reasoningEffort, config.defaultReasoningEffort, config.maxIterations);
    const run = new RunContext(input, signal, depth, {
      maxRetries: config.llmMaxRetries,
      timeoutMs: config.llmTimeoutSeconds * 1000,
    });
    void this.execute(run);
    return run.events;
  }

  private async execute(run: RunContext): Promise<void> {
    run.emit({ type: 'run_started', runId: run.input.runId, model: run.input.model });
    try {
      const name = this.options.config.modelName;
      const solo = run.input.model === name ? undefined : run.input.model.slice(name.length + 1);
      const { answer, iterations } = solo ? await this.runSolo(run, this.members.get(solo)!) : await this.runTeam(run);
      run.emit({
        type: 'run_finished',
        finishReason: answer.finishReason,
        text: run.answer,
        toolCalls: answer.clientToolCalls.length ? answer.clientToolCalls : undefined,
        agentsUsed: run.agentsUsed,
        iterations,
        sources: run.sources.citedIn(run.answer),
      });
      run.events.close();
    } catch (err) {
      if (run.signal.aborted) return run.events.close(); // the client left: nothing to report to
      const known = classifyError(err);
      if (!known) return run.events.fail(err); // a bug: the HTTP layer logs it and answers 500
      run.emit({ type: 'run_failed', error: known });
      run.events.close();
    }
  }

  /** The supervisor or one specialist answering the user directly with its own tools. */
  private async runSolo(run: RunContext, member: Member) {
    const { spec } = member;
    const note =
      spec.name === SUPERVISOR
        ? 'You work alone here: no agents are available. Use your own tools and answer the user directly.'
        : 'You are talking to the user directly: answer their latest message.';
    run.agentStarted(spec.name, lastUserMessage(run.input.messages));
    const prompt = toAgentPrompt(`${spec.instructions}\n\n${note}`, run.input.messages);
    const client = clientToolSet(run.input.tools, run.input.toolChoice);
    const tools = { ...agentToolSet(spec.tools, this.options.tools, run, spec.name), ...client };
    const maxSteps = run.depth.agentSteps + 1;
    let steps = 0;
    const answer = await streamAnswer(run, {
      agent: spec.name,
      model: member.model,
      ...prompt,
      tools,
      stopWhen: stepCountIs(maxSteps),
      prepareStep: ({ stepNumber }) => {
        steps = stepNumber + 1;
        if (stepNumber === 0) return firstStepChoice(client, run.input.toolChoice);
        return stepNumber >= maxSteps - 1 ? { activeTools: Object.keys(client) } : undefined;
      },
      generation: run.input.generation,
      clientToolNames: new Set(Object.keys(client)),
    });
    run.emit({ type: 'agent_finished', agent: spec.name, callId: `${spec.name}_1`, ok: true, output: run.answer });
    return { answer, iterations: steps };
  }

  private async runTeam(run: RunContext): Promise<{ answer: StreamedAnswer; iterations: number }> {
    const supervisor = this.members.get(SUPERVISOR)!;
    const inflight = new Set<Promise<unknown>>();
    const state = {
      step: 0,
      written: undefined as StreamedAnswer | undefined,
      fatal: undefined as { error: unknown } | undefined,
    };

    const delegation: ToolSet = {};
    for (const member of this.specialists) {
      delegation[delegationToolName(member.spec.name)] = tool({
        description: member.spec.description,
        inputSchema: assignment,
        execute: async (a: Assignment, { toolCallId }: { toolCallId: string }) => {
          if (member.spec.name !== WRITER) {
            const work = this.delegate(run, member, a, toolCallId);
            inflight.add(work);
            void work.finally(() => inflight.delete(work));
            return work;
          }
          // The writer works last: it needs what the others of this round found.
          await Promise.allSettled([...inflight]);
          const outcome = await writeAnswer(run, member, a, toolCallId);
          if (outcome.fatal) state.fatal = { error: outcome.fatal };
          if (outcome.answer) state.written = outcome.answer;
          return outcome.reply;
        },
      });
    }
    const own = agentToolSet(supervisor.spec.tools, this.options.tools, run, SUPERVISOR);
    const client = clientToolSet(run.input.tools, run.input.toolChoice);
    const delegationNames = Object.keys(delegation);
    const withoutDelegation = [...Object.keys(own), ...Object.keys(client)];
    const roster = this.specialists
      .map((m) => `- ${delegationToolName(m.spec.name)}: ${m.spec.description}`)
      .join('\n');
    const prompt = toAgentPrompt(
      `${supervisor.spec.instructions}\n\nYour team (call these tools to delegate):\n${roster}`,
      run.input.messages,
    );
    const deadline = run.startedAt + run.depth.delegationBudgetMs;
    const { maxIterations } = run.depth;

    run.progress(SUPERVISOR, 'Supervisor is reading the request');
    const supervised = await streamAnswer(run, {
      agent: SUPERVISOR,
      model: supervisor.model,
      ...prompt,
      tools: { ...own, ...delegation, ...client },
      // One more turn than the delegation rounds: the supervisor must be able to conclude.
      stopWhen: [stepCountIs(maxIterations + 1), () => state.written !== undefined || state.fatal !== undefined],
      prepareStep: ({ stepNumber }) => {
        state.step = stepNumber + 1;
        const mayDelegate = stepNumber < maxIterations && Date.now() < deadline;
        if (!mayDelegate) return { activeTools: withoutDelegation };
        if (stepNumber === 0) return firstStepChoice(client, run.input.toolChoice);
        return { activeTools: [...withoutDelegation, ...delegationNames] };
      },
      generation: run.input.generation,
      clientToolNames: new Set(Object.keys(client)),
    });
    if (state.fatal) throw state.fatal.error;
    if (!run.agentsUsed.length) run.agentsUsed.push(SUPERVISOR); // it answered on its own
    const answer = state.written && supervised.finishReason !== 'tool_calls' ? state.written : supervised;
    return { answer, iterations: state.step };
  }

  /** One specialist's task. A failure goes back to the supervisor as such, never as an empty success. */
  private async delegate(run: RunContext, member: Member, a: Assignment, callId: string) {
    const agent = member.spec.name;
    run.agentStarted(agent, a.task, callId);
    run.progress(SUPERVISOR, `→ ${agent}: ${a.task}`);
    try {
      const output = await runSpecialist(run, member.spec, member.model, this.options.tools, a);
      if (!output) throw new Error('it returned an empty answer');
      run.findings.push({ agent, task: a.task, output });
      run.emit({ type: 'agent_finished', agent, callId, ok: true, output });
      run.progress(agent, `${agent} finished`);
      return { agent, report: output };
    } catch (err) {
      if (run.signal.aborted) throw err;
      const reason = classifyError(err)?.message ?? (err as Error).message;
      run.emit({ type: 'agent_finished', agent, callId, ok: false, output: '', error: reason });
      run.progress(agent, `${agent} failed: ${reason}`);
      return {
        agent,
        failed: true,
        error: `The ${agent} failed: ${reason} Retry once with a clearer task, or answer with what you have and say what is missing.`,
      };
    }
  }
}
