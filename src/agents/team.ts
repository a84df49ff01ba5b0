// The LLM team behind the API. Model `<name>` runs the full team: the supervisor answers directly
// or delegates tasks to specialists (several in one turn run in parallel), over at most the
// depth's rounds, and hands over to the writer, whose text streams to the client as the answer.
// `<name>-supervisor` is the supervisor alone with its tools, `<name>-<agent>` one specialist.
//
// A run is a loop this file owns, one model turn at a time (see docs/ARCHITECTURE.md, "The run
// state machine"): the turn's tool calls are run here, in parallel, each agent under its own time
// limit; a call to a client tool pauses the run with a checkpoint once the turn's other work is
// done, and the request carrying the client's results resumes it without redoing any of it.
import { tool, type ToolSet } from 'ai';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { ModelResolver, ResolvedModel } from '../llm/providers.ts';
import { guardModel } from '../llm/stream-guard.ts';
import { classifyError } from '../llm/upstream-error.ts';
import type { RunEvent } from '../orchestrator/events.ts';
import type {
  ModelInfo,
  Orchestrator,
  RunCheckpoint,
  RunInput,
  RunRefusal,
  RunRequest,
  ToolCall,
} from '../orchestrator/types.ts';
import type { ToolRegistry } from '../tools/types.ts';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { agentToolSet } from './agent-tools.ts';
import { AnswerLimiter } from './answer-limits.ts';
import { readCheckpoint, writeCheckpoint, type AgentLoopState } from './checkpoint.ts';
import { clientToolSet, firstStepChoice, newToolCallId, oneClientCall } from './client-tools.ts';
import { jsonFormatOf, refuseSchema, writeStructured } from './structured-answer.ts';
import { canSee } from '../llm/model-spec.ts';
import { depthOf } from './depth.ts';
import { planningSettings } from './generation.ts';
import { lastUserMessage, NO_CLIENT_RESULT, splitPausedTurn, toAgentPrompt } from './model-messages.ts';
import { declarations, modelStep, type StepToolCall } from './model-step.ts';
import { RunContext } from './run-context.ts';
import { SUPERVISOR, WRITER, type AgentSpec } from './spec.ts';
import { runSpecialist, type Assignment } from './specialist.ts';
import { delegationName, plainName, refuseReservedNames } from './tool-names.ts';
import {
  assistantMessage,
  clientResults,
  clientResultsMessage,
  toolMessage,
  type CallResult,
} from './turn-messages.ts';
import { toolSchema } from './tool-schema.ts';
import { hasTool, newToolSet, toolNamed } from './tool-set.ts';
import { writeAnswer } from './writer.ts';

export interface TeamOptions {
  config: Pick<
    Config,
    'model' | 'modelName' | 'maxIterations' | 'defaultReasoningEffort' | 'llmTimeoutSeconds' | 'llmMaxRetries'
  > &
    Partial<Pick<Config, 'agentTimeoutSeconds' | 'visionModels'>>;
  agents: AgentSpec[];
  providers: ModelResolver;
  tools: ToolRegistry;
}

interface Member {
  spec: AgentSpec;
  model: ResolvedModel;
  /** Its model reads images and PDFs. */
  vision: boolean;
}

type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

interface Outcome {
  finishReason: FinishReason;
  iterations: number;
  toolCalls?: ToolCall[];
  checkpoint?: RunCheckpoint;
}

const assignment = toolSchema(
  z.object({
    task: z.string().describe('What the agent must do, precisely, as a self-contained instruction.'),
    context: z
      .string()
      .optional()
      .describe(
        'Facts from the conversation or from earlier results that the agent needs (it does not see the conversation).',
      ),
  }),
);

/** Supervisor turns beyond the delegation rounds: its own tools, a writer that failed, concluding. */
const EXTRA_STEPS = 2;
const DEFAULT_AGENT_TIMEOUT_SECONDS = 300;
/** Delegation tools by name, and the specialist behind each. Shared by all runs: never modified. */
interface Delegation {
  tools: ToolSet;
  delegates: ReadonlyMap<string, Member>;
}
const NO_DELEGATION: Delegation = { tools: newToolSet(), delegates: new Map() };
const HANDOVER_TASK = "Write the answer to the user's request from the team's findings.";

export class TeamOrchestrator implements Orchestrator {
  readonly engine = 'llm';
  private readonly options: TeamOptions;
  private readonly members = new Map<string, Member>();
  private readonly instructions = new Map<string, string>();
  private delegationOnce: Delegation | undefined;

  constructor(options: TeamOptions) {
    this.options = options;
    const { config } = options;
    const fallback = config.model;
    for (const spec of options.agents) {
      const modelText = spec.model ?? fallback;
      if (!modelText) throw new Error(`agent '${spec.name}' has no model and CORTEX_MODEL is unset`);
      // Resolving every model now makes a missing key a start-up error, not a failed request.
      const resolved = options.providers.resolve(modelText);
      const model = guardModel(resolved.model as LanguageModelV3, {
        timeoutMs: config.llmTimeoutSeconds * 1000,
        retries: config.llmMaxRetries,
      });
      const vision = spec.vision ?? canSee(resolved.name, config.visionModels);
      this.members.set(spec.name, { spec, model: { name: resolved.name, model }, vision });
    }
    if (!this.members.has(SUPERVISOR)) throw new Error('the team has no supervisor');
  }

  private get specialists(): Member[] {
    return [...this.members.values()].filter((m) => m.spec.name !== SUPERVISOR);
  }

  /** Built once: every request asks whether its model is served. */
  private served: ModelInfo[] | undefined;

  models(): ModelInfo[] {
    return (this.served ??= this.listModels());
  }

  private listModels(): ModelInfo[] {
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

  /**
   * A client tool may not take a name reserved for the server's own tools; a JSON schema must be one
   * the answer can be checked against; images and files need models that can read them.
   */
  refuse(request: RunRequest): RunRefusal | undefined {
    return refuseReservedNames(request.tools) ?? refuseSchema(request.generation) ?? this.refuseMedia(request);
  }

  /** Every agent that reads the user's content must be able to see its images and files. */
  private refuseMedia(request: RunRequest): RunRefusal | undefined {
    const i = request.messages.findIndex((m) => m.role === 'user' && m.images?.length);
    if (i < 0) return undefined;
    const name = this.options.config.modelName;
    const solo = request.model === name ? undefined : request.model.slice(name.length + 1);
    const readers = solo ? [this.members.get(solo)!] : [this.members.get(SUPERVISOR)!, this.members.get(WRITER)];
    const blind = readers.find((m) => m && !m.vision);
    if (!blind) return undefined;
    return {
      message:
        `The model ${blind.model.name} of the ${blind.spec.name} cannot read images or files. Use a vision-capable ` +
        `model, or declare this one able to see (CORTEX_VISION_MODELS, or "vision": true in the agents file).`,
      param: `messages[${i}].content`,
      code: 'model_lacks_vision',
    };
  }

  run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    const { config } = this.options;
    const depth = depthOf(input.reasoningEffort, config.defaultReasoningEffort, config.maxIterations);
    const run = new RunContext(input, signal, depth, {
      maxRetries: config.llmMaxRetries,
      agentTimeoutMs: (config.agentTimeoutSeconds ?? DEFAULT_AGENT_TIMEOUT_SECONDS) * 1000,
    });
    // execute() settles every promise of the run itself; this catch only keeps a bug from escaping.
    this.execute(run).catch((err) => run.events.fail(err));
    return run.events;
  }

  private async execute(run: RunContext): Promise<void> {
    run.emit({ type: 'run_started', runId: run.input.runId, model: run.input.model });
    try {
      const name = this.options.config.modelName;
      const solo = run.input.model === name ? undefined : run.input.model.slice(name.length + 1);
      const resumed = readCheckpoint(run.input);
      const outcome = solo
        ? await this.runLoop(run, this.members.get(solo)!, 'solo', resumed)
        : await this.runLoop(run, this.members.get(SUPERVISOR)!, 'team', resumed);
      const agentsUsed = run.contributors();
      if (!agentsUsed.length) agentsUsed.push(SUPERVISOR); // it answered on its own
      run.emit({
        type: 'run_finished',
        finishReason: outcome.finishReason,
        text: run.answer,
        toolCalls: outcome.toolCalls,
        checkpoint: outcome.checkpoint,
        agentsUsed,
        iterations: outcome.iterations,
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

  /**
   * The run's state machine: a planning agent's turns, each followed by its tool calls, until it
   * answers, hands over to the writer, or pauses for the client's tools.
   */
  private async runLoop(
    run: RunContext,
    lead: Member,
    mode: 'team' | 'solo',
    resumed: AgentLoopState | undefined,
  ): Promise<Outcome> {
    const { spec } = lead;
    const team = mode === 'team';
    const writer = team ? this.members.get(WRITER) : undefined;
    const state: AgentLoopState = resumed ?? {
      mode,
      agent: spec.name,
      steps: 0,
      rounds: 0,
      findings: [],
      sources: [],
      agentsUsed: [],
      messages: [],
      elapsedMs: 0,
    };
    let conversation = run.input.messages;
    if (resumed) {
      run.restore(resumed);
      const split = splitPausedTurn(run.input.messages, run.input.resume!.pendingToolCallIds);
      conversation = split.before;
      const results = clientResults(state.messages, run.input.resume!.pendingToolCallIds, split.results);
      state.messages.push(clientResultsMessage(results));
      // The results this run goes on from, first in its trace: its timeline then reads on its own.
      for (const r of results)
        run.emit({
          type: 'tool_result',
          agent: spec.name,
          toolCallId: r.toolCallId,
          toolName: r.toolName,
          ...(r.output === undefined
            ? { output: { error: NO_CLIENT_RESULT }, isError: true }
            : { output: r.output, isError: false }),
          client: true,
        });
      run.progress(spec.name, `${spec.name} resumes with the results of the client's tools`);
    } else if (!team) {
      run.agentStarted(spec.name, lastUserMessage(run.input.messages));
    }

    const own = agentToolSet(spec.tools, this.options.tools, run, spec.name, { namespaced: true });
    const client = clientToolSet(run.input.tools, run.input.toolChoice);
    const { tools: delegation, delegates } = team ? this.delegation() : NO_DELEGATION;
    const writerTool = writer ? delegationName(WRITER) : undefined;
    const tools = declarations(own, client, delegation);
    const instructions = this.instructionsOf(spec, team);
    const prompt = toAgentPrompt(instructions, conversation);
    const { maxIterations } = run.depth;
    const deadline = run.startedAt + run.depth.delegationBudgetMs;
    const maxSteps = team ? maxIterations + 1 + EXTRA_STEPS : run.depth.agentSteps + 1;

    const handOver = async (task: Assignment, callId: string, writerMember: Member): Promise<Outcome> => {
      const outcome = await writeAnswer(run, writerMember, task, callId);
      if (outcome.answer) return { finishReason: outcome.answer.finishReason, iterations: state.steps };
      throw outcome.fatal ?? outcome.error;
    };
    // A `tool_choice` that requires a client call ("required", or a named function) holds for the
    // first model turn of every request, a resumed one too: OpenAI applies it to each request, and
    // a client that sends it with its tool results (the AI SDK's `toolChoice: 'required'` with an
    // answer tool, every step) expects a call, not text (the AI SDK throws AI_ToolChoiceViolationError).
    // So a forced request skips a pending hand-over to the writer, whose answer would be text.
    const stepsBefore = state.steps;
    const forcedChoice = () =>
      state.steps === stepsBefore ? firstStepChoice(client, run.input.toolChoice) : undefined;
    if (resumed?.writerTask && writer && !forcedChoice())
      return handOver(resumed.writerTask, `${WRITER}_resumed`, writer);

    if (!resumed)
      run.progress(spec.name, `${spec.name === SUPERVISOR ? 'Supervisor' : spec.name} is reading the request`);
    while (true) {
      const mayDelegate = team && state.rounds < maxIterations && Date.now() < deadline;
      const lastStep = state.steps >= maxSteps - 1;
      const first = forcedChoice();
      // The round cap ends delegation, never the hand-over: material gathered goes to the writer
      // (unless this turn must call a client tool).
      if (team && writer && run.findings.length && (!mayDelegate || lastStep) && !first) {
        run.progress(SUPERVISOR, 'The delegation rounds are spent: handing over to the writer');
        return handOver({ task: HANDOVER_TASK }, `${WRITER}_${state.steps + 1}`, writer);
      }
      const active = lastStep
        ? Object.keys(client)
        : [
            ...Object.keys(own),
            ...Object.keys(client),
            ...(mayDelegate ? Object.keys(delegation) : writerTool ? [writerTool] : []),
          ];
      // Once the team has material, the answer is the writer's: the supervisor delegates or hands over.
      const mustCall = team && writer && run.findings.length ? ('required' as const) : undefined;
      const limiter = new AnswerLimiter(run.input.generation);
      // A JSON answer is held back until it validates (structured-answer.ts); text goes nowhere yet.
      const format = jsonFormatOf(run.input.generation);
      let held = '';
      const answerDelta = (text: string) => (format ? (held += text) : run.answerDelta(text));
      const step = await modelStep(run, {
        agent: spec.name,
        model: lead.model,
        system: prompt.system,
        messages: [...prompt.messages, ...state.messages],
        tools,
        activeTools: first?.activeTools ?? active,
        toolChoice: first?.toolChoice ?? mustCall,
        settings: planningSettings(run.input.generation),
        onText: (text) => {
          answerDelta(limiter.push(text));
          return !limiter.reached;
        },
      });
      answerDelta(limiter.flush());
      state.steps++;
      // `parallel_tool_calls: false`: at most one client call per turn (the others are dropped unseen).
      if (run.input.parallelToolCalls === false) step.toolCalls = oneClientCall(step.toolCalls, client);
      // The client answers a call by its id, and the answer finds the paused run by it: the id must
      // be this server's, unique, since upstreams may number their calls (`call_0`) in every answer.
      // A legacy `function_call` has no id: its result answers by the name, which is then the id.
      for (const call of step.toolCalls)
        if (hasTool(client, call.name)) call.id = run.input.legacyFunctions ? call.name : newToolCallId();
      if (!step.toolCalls.length) {
        if (format) {
          const call = {
            agent: spec.name,
            model: lead.model,
            system: prompt.system,
            messages: [...prompt.messages, ...state.messages],
            generation: run.input.generation,
          };
          const finishReason = limiter.reached ?? step.finishReason;
          const answer = await writeStructured(run, call, format, { text: held, finishReason });
          if (!team)
            run.emit({
              type: 'agent_finished',
              agent: spec.name,
              callId: `${spec.name}_1`,
              ok: true,
              output: run.answer,
            });
          return { finishReason: answer.finishReason, iterations: state.steps };
        }
        if (!team)
          run.emit({
            type: 'agent_finished',
            agent: spec.name,
            callId: `${spec.name}_1`,
            ok: true,
            output: run.answer,
          });
        return { finishReason: limiter.reached ?? step.finishReason, iterations: state.steps };
      }
      state.messages.push(assistantMessage(step));

      const clientCalls = step.toolCalls.filter((c) => hasTool(client, c.name));
      const writerCall = step.toolCalls.find((c) => c.name === writerTool);
      const specialistCalls = step.toolCalls.filter(
        (c) => mayDelegate && delegates.has(c.name) && c.name !== writerTool,
      );
      const results = await this.runInternalCalls(run, step.toolCalls, {
        own,
        delegates: mayDelegate ? delegates : NO_DELEGATION.delegates,
        client,
        writerTool,
      });
      if (specialistCalls.length) state.rounds++;

      if (clientCalls.length) {
        // Pause: the turn's own work is done and recorded; the writer (if asked) waits for the client.
        if (writerCall)
          results.push({ call: writerCall, output: 'The writer will write once the tool results are in.' });
        state.messages.push(toolMessage(results));
        const pending = clientCalls.map((c) => ({
          id: c.id,
          name: c.name,
          arguments: c.rawArguments ?? JSON.stringify(c.input ?? {}),
        }));
        const paused: AgentLoopState = {
          ...state,
          findings: run.findings,
          sources: run.sources.list(),
          agentsUsed: run.agentsUsed,
          writerTask: writerCall ? (writerCall.input as Assignment) : undefined,
          elapsedMs: Date.now() - run.startedAt,
        };
        // Handed to the client now: traced as calls of this agent, their results in the run that resumes.
        for (const c of clientCalls)
          run.emit({
            type: 'tool_call',
            agent: spec.name,
            toolCallId: c.id,
            toolName: c.name,
            input: c.rawArguments ?? c.input ?? {},
            client: true,
          });
        run.progress(spec.name, `${spec.name} waits for the client's tools: ${pending.map((c) => c.name).join(', ')}`);
        return {
          finishReason: 'tool_calls',
          iterations: state.steps,
          toolCalls: pending,
          checkpoint: writeCheckpoint(
            run.input,
            pending.map((c) => c.id),
            paused,
          ),
        };
      }
      if (writerCall && writer) {
        const outcome = await writeAnswer(run, writer, writerCall.input as Assignment, writerCall.id);
        if (outcome.answer) return { finishReason: outcome.answer.finishReason, iterations: state.steps };
        if (outcome.fatal) throw outcome.fatal;
        results.push({ call: writerCall, output: outcome.reply });
      }
      state.messages.push(toolMessage(results));
    }
  }

  /**
   * The tools that delegate to the specialists, and who answers each: the same for every run, so
   * built once and shared rather than held by every open run.
   */
  private delegation(): Delegation {
    if (!this.delegationOnce) {
      const tools = newToolSet();
      const delegates = new Map<string, Member>();
      for (const member of this.specialists) {
        const name = delegationName(member.spec.name);
        tools[name] = tool({ description: member.spec.description, inputSchema: assignment });
        delegates.set(name, member);
      }
      this.delegationOnce = { tools, delegates };
    }
    return this.delegationOnce;
  }

  /**
   * The lead's instructions, the same for every run of a mode: built once and shared, as every run
   * holds them while its first call waits (a few KB per open stream otherwise).
   */
  private instructionsOf(spec: AgentSpec, team: boolean): string {
    const key = `${spec.name}\n${team}`;
    let text = this.instructions.get(key);
    if (text === undefined) {
      const roster = this.specialists.map((m) => `- ${delegationName(m.spec.name)}: ${m.spec.description}`).join('\n');
      text = team
        ? `${spec.instructions}\n\nYour team (call these tools to delegate):\n${roster}`
        : `${spec.instructions}\n\n${
            spec.name === SUPERVISOR
              ? 'You work alone here: no agents are available. Use your own tools and answer the user directly.'
              : 'You are talking to the user directly: answer their latest message.'
          }`;
      this.instructions.set(key, text);
    }
    return text;
  }

  /** Runs a turn's internal calls in parallel and waits for all of them; none can fail the run. */
  private async runInternalCalls(
    run: RunContext,
    calls: StepToolCall[],
    tools: { own: ToolSet; delegates: ReadonlyMap<string, Member>; client: ToolSet; writerTool: string | undefined },
  ): Promise<CallResult[]> {
    const work = calls
      .filter((c) => !hasTool(tools.client, c.name) && c.name !== tools.writerTool)
      .map(async (call): Promise<CallResult> => {
        const member = tools.delegates.get(call.name);
        if (member) return { call, output: await this.delegate(run, member, call.input as Assignment, call.id) };
        const own = toolNamed(tools.own, call.name);
        if (own?.execute) {
          const output = await own.execute(call.input, { toolCallId: call.id, messages: [] } as never);
          return { call, output };
        }
        // Also a delegation the model attempts once the rounds are spent (its tool was not offered).
        return { call, output: { error: `The tool ${plainName(call.name)} is not available now.` } };
      });
    const settled = await Promise.allSettled(work);
    if (run.signal.aborted) throw run.signal.reason;
    return settled.map((s) => {
      if (s.status === 'rejected') throw s.reason; // only a bug gets here: delegate() and tools answer errors
      return s.value;
    });
  }

  /**
   * One specialist's task, under its own time limit. A failure goes back to the supervisor as such,
   * with the reason, never as an empty success, and the trace says who failed and why.
   */
  private async delegate(run: RunContext, member: Member, a: Assignment, callId: string) {
    const agent = member.spec.name;
    const limitMs = member.spec.timeoutSeconds ? member.spec.timeoutSeconds * 1000 : run.limits.agentTimeoutMs;
    const timeout = AbortSignal.timeout(limitMs);
    const signal = AbortSignal.any([run.signal, timeout]);
    run.agentStarted(agent, a.task, callId);
    run.progress(SUPERVISOR, `→ ${agent}: ${a.task}`);
    try {
      const output = await runSpecialist(run, member.spec, member.model, this.options.tools, a, signal);
      if (!output) throw new Error('it returned an empty answer.');
      run.findings.push({ agent, task: a.task, output });
      run.emit({ type: 'agent_finished', agent, callId, ok: true, output });
      run.progress(agent, `${agent} finished`);
      return { agent, report: output };
    } catch (err) {
      if (run.signal.aborted) throw err;
      const reason = timeout.aborted
        ? `it did not finish within its time limit of ${limitMs / 1000} s.`
        : (classifyError(err)?.message ?? (err as Error).message);
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
