// A run's events (GET /v1/runs/{id} or the live /events stream) folded into what the timeline
// draws: one lane per agent, a bar per agent step, tool calls, upstream calls and their retries as
// marks, the critical path, failures and pauses, totals. Pure: the same events always draw the same
// timeline.

export type RunEvent = { type: string; at: number; agent?: string; [key: string]: any };

export interface Step {
  id: string;
  agent: string;
  /** 1-based, per lane. */
  n: number;
  task: string;
  start: number;
  /** null while it runs. */
  end: number | null;
  ok: boolean | null;
  error?: string;
  output?: string;
  /** The supervisor's own model turns have no agent_started: a step per upstream call. */
  implicit: boolean;
}

export interface ToolMark {
  id: string;
  agent: string;
  name: string;
  input: unknown;
  output?: unknown;
  isError: boolean;
  start: number;
  end: number | null;
  /**
   * A function tool of the API client. `call`: handed to the client, which the run then waits for
   * (no result in this run: it ends paused). `result`: the client's result this run resumed with;
   * the call was the paused run's, so the mark has no arguments and starts and ends at once.
   */
  client?: 'call' | 'result';
}

export interface UpstreamMark {
  id: string;
  agent: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  start: number;
  end: number;
}

/** An upstream call's attempt that failed and was tried again (`upstream_retry`). */
export interface RetryMark {
  id: string;
  agent: string;
  model: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  status?: number;
  code: string;
  delayMs: number;
  /** The model the next attempt went to, when it was the fallback. */
  fallback?: string;
  at: number;
}

export interface Lane {
  agent: string;
  steps: Step[];
  tools: ToolMark[];
  calls: UpstreamMark[];
  retries: RetryMark[];
  tokens: { input: number; output: number };
}

export interface Timeline {
  start: number;
  end: number;
  model?: string;
  lanes: Lane[];
  /** Ids of the steps whose chain set the run's wall time. */
  critical: Set<string>;
  status: 'running' | 'finished' | 'failed' | 'paused';
  failure?: { message: string; code: string | null; at: number };
  pause?: { toolCalls: { name: string; arguments: string }[]; at: number };
  finishReason?: string;
  answer?: string;
}

const TEAM_ORDER = ['supervisor', 'researcher', 'analyst', 'writer'];

export function buildTimeline(events: readonly RunEvent[], now = Date.now()): Timeline {
  const lanes = new Map<string, Lane>();
  const lane = (agent: string) => {
    let l = lanes.get(agent);
    if (!l)
      lanes.set(agent, (l = { agent, steps: [], tools: [], calls: [], retries: [], tokens: { input: 0, output: 0 } }));
    return l;
  };
  const open = new Map<string, Step>();
  const tools = new Map<string, ToolMark>();
  /** When each agent last did something: an upstream call's start is its agent's previous event. */
  const lastAt = new Map<string, number>();
  const start = events[0]?.at ?? now;
  let end: number | null = null;
  let supervisorFrom = start;
  const timeline: Timeline = { start, end: now, lanes: [], critical: new Set(), status: 'running' };

  for (const e of events) {
    const agent = e.agent ?? e.usage?.agent;
    switch (e.type) {
      case 'run_started':
        timeline.model = e.model;
        break;
      case 'agent_started': {
        const l = lane(e.agent!);
        const step: Step = {
          id: `${e.agent}:${e.callId}`,
          agent: e.agent!,
          n: l.steps.length + 1,
          task: e.task ?? '',
          start: e.at,
          end: null,
          ok: null,
          implicit: false,
        };
        l.steps.push(step);
        open.set(e.callId, step);
        break;
      }
      case 'agent_finished': {
        const step = open.get(e.callId);
        if (step) {
          step.end = e.at;
          step.ok = e.ok;
          step.output = e.output;
          if (e.error) step.error = e.error;
          open.delete(e.callId);
        }
        // The supervisor's next turn starts once the work it waited for is done.
        supervisorFrom = Math.max(supervisorFrom, e.at);
        break;
      }
      case 'tool_call': {
        const mark: ToolMark = {
          id: e.toolCallId,
          agent: e.agent!,
          name: e.toolName,
          input: e.input,
          isError: false,
          start: e.at,
          end: null,
          ...(e.client ? { client: 'call' as const } : {}),
        };
        tools.set(e.toolCallId, mark);
        lane(e.agent!).tools.push(mark);
        break;
      }
      case 'tool_result': {
        const mark = tools.get(e.toolCallId);
        if (mark) {
          mark.end = e.at;
          mark.output = e.output;
          mark.isError = e.isError;
        } else if (e.client)
          lane(e.agent!).tools.push({
            id: e.toolCallId,
            agent: e.agent!,
            name: e.toolName,
            input: undefined,
            output: e.output,
            isError: e.isError,
            start: e.at,
            end: e.at,
            client: 'result',
          });
        break;
      }
      case 'usage': {
        const u = e.usage;
        const l = lane(u.agent);
        l.tokens.input += u.inputTokens;
        l.tokens.output += u.outputTokens;
        const inStep = [...open.values()].some((s) => s.agent === u.agent);
        const from = inStep ? (lastAt.get(u.agent) ?? e.at) : Math.max(supervisorFrom, lastAt.get(u.agent) ?? start);
        l.calls.push({
          id: `${u.agent}:call${l.calls.length + 1}`,
          agent: u.agent,
          model: u.model,
          inputTokens: u.inputTokens,
          outputTokens: u.outputTokens,
          start: from,
          end: e.at,
        });
        if (!inStep) {
          // A model turn outside any agent step: the supervisor planning or delegating.
          l.steps.push({
            id: `${u.agent}:turn${l.steps.length + 1}`,
            agent: u.agent,
            n: l.steps.length + 1,
            task: 'model turn',
            start: from,
            end: e.at,
            ok: true,
            implicit: true,
          });
          supervisorFrom = e.at;
        }
        break;
      }
      case 'upstream_retry': {
        const l = lane(e.agent!);
        l.retries.push({
          id: `${e.agent}:retry${l.retries.length + 1}`,
          agent: e.agent!,
          model: e.model ?? '',
          attempt: e.attempt,
          status: e.status,
          code: e.code ?? '',
          delayMs: e.delayMs ?? 0,
          fallback: e.fallback,
          at: e.at,
        });
        break;
      }
      case 'run_finished':
        end = e.at;
        timeline.status = e.finishReason === 'tool_calls' ? 'paused' : 'finished';
        timeline.finishReason = e.finishReason;
        timeline.answer = e.text;
        if (e.finishReason === 'tool_calls')
          timeline.pause = {
            at: e.at,
            toolCalls: (e.toolCalls ?? []).map((c: any) => ({ name: c.name, arguments: c.arguments })),
          };
        break;
      case 'run_failed':
        end = e.at;
        timeline.status = 'failed';
        timeline.failure = { message: e.error?.message ?? 'failed', code: e.error?.code ?? null, at: e.at };
        break;
    }
    // Progress and retries are said while a call runs: they do not start the next one.
    if (agent && e.type !== 'progress' && e.type !== 'upstream_retry') lastAt.set(agent, e.at);
  }

  timeline.end = end ?? now;
  if (timeline.failure) {
    // The steps cut short by the failure end with it, failed; with none open, the turn that failed
    // was the supervisor's own (a model call that never answered).
    let cut = false;
    for (const step of open.values()) {
      step.end = timeline.end;
      step.ok = false;
      step.error ??= timeline.failure.message;
      cut = true;
    }
    if (!cut) {
      const l = lane('supervisor');
      l.steps.push({
        id: `supervisor:turn${l.steps.length + 1}`,
        agent: 'supervisor',
        n: l.steps.length + 1,
        task: 'model turn',
        start: supervisorFrom,
        end: timeline.end,
        ok: false,
        error: timeline.failure.message,
        implicit: true,
      });
    }
  }

  timeline.lanes = [...lanes.values()]
    .filter((l) => l.steps.length || l.tools.length || l.retries.length)
    .sort((a, b) => rank(a.agent) - rank(b.agent));
  timeline.critical = criticalPath(
    timeline.lanes.flatMap((l) => l.steps),
    timeline.end,
  );
  return timeline;
}

const rank = (agent: string) => {
  const i = TEAM_ORDER.indexOf(agent);
  return i < 0 ? TEAM_ORDER.length : i;
};

/**
 * From the end of the run backwards: the step that ended last, then the step that ended last before
 * that one started, and so on. Those steps set the wall time; a shorter parallel step did not.
 */
export function criticalPath(steps: readonly Step[], runEnd: number): Set<string> {
  const path = new Set<string>();
  let cursor = runEnd;
  for (;;) {
    let best: Step | undefined;
    for (const s of steps) {
      const end = s.end ?? runEnd;
      if (path.has(s.id) || end > cursor + 1) continue; // 1 ms: events stamped in the same tick
      if (!best || end > (best.end ?? runEnd)) best = s;
    }
    if (!best) return path;
    path.add(best.id);
    cursor = best.start;
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** Where a tool call stands, as its mark and details say it. */
export function toolState(t: ToolMark): string {
  if (t.end === null) return t.client ? 'waiting for the client' : 'running';
  if (t.client === 'result') return t.isError ? 'the client sent no result' : 'result sent by the client';
  return t.isError ? 'failed' : 'done';
}

/** What failed, as a retry's mark and details say it: `429 (upstream_rate_limited)`. */
export const retryCause = (r: RetryMark) => (r.status === undefined ? r.code : `${r.status} (${r.code})`);

/** When and where the attempt after a failed one went. */
export function retryNext(r: RetryMark): string {
  if (r.fallback) return `to the fallback model ${r.fallback}`;
  return r.delayMs > 0 ? `after ${seconds(r.delayMs)}` : 'at once';
}
