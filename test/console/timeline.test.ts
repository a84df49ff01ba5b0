// The run view's model: a run's events folded into lanes, steps, marks, the critical path, and how
// the run ended. The events are those the team emits (see src/orchestrator/events.ts).
import { describe, expect, it } from 'vitest';
import { buildTimeline, retryCause, retryNext, toolState, type RunEvent } from '../../web/src/timeline.ts';

const usage = (agent: string, at: number, inputTokens = 10, outputTokens = 5): RunEvent => ({
  type: 'usage',
  at,
  usage: { agent, model: 'openai:mock-model', inputTokens, outputTokens },
});
const started = (agent: string, callId: string, at: number): RunEvent => ({
  type: 'agent_started',
  agent,
  callId,
  task: `task of ${agent}`,
  at,
});
const finished = (agent: string, callId: string, at: number, ok = true): RunEvent => ({
  type: 'agent_finished',
  agent,
  callId,
  ok,
  output: ok ? 'done' : '',
  ...(ok ? {} : { error: 'timed out' }),
  at,
});

/** A team run: the supervisor plans, researcher (slow) and analyst (fast) in parallel, then the writer. */
const teamRun: RunEvent[] = [
  { type: 'run_started', runId: 'run_1', model: 'cortex-flow', at: 1000 },
  { type: 'progress', agent: 'supervisor', text: 'Supervisor is reading the request', at: 1001 },
  usage('supervisor', 1100),
  started('researcher', 'researcher_1', 1110),
  started('analyst', 'analyst_2', 1110),
  usage('researcher', 1190),
  {
    type: 'tool_call',
    agent: 'researcher',
    toolCallId: 't1',
    toolName: 'search_knowledge_base',
    input: { query: 'q' },
    at: 1200,
  },
  {
    type: 'tool_result',
    agent: 'researcher',
    toolCallId: 't1',
    toolName: 'search_knowledge_base',
    output: [{ title: 'A' }],
    isError: false,
    at: 1250,
  },
  usage('analyst', 1300),
  finished('analyst', 'analyst_2', 1300),
  usage('researcher', 1500),
  finished('researcher', 'researcher_1', 1500),
  usage('supervisor', 1600),
  started('writer', 'writer_3', 1610),
  { type: 'text_delta', text: 'The answer', at: 1700 },
  usage('writer', 1900, 10, 20),
  finished('writer', 'writer_3', 1900),
  {
    type: 'run_finished',
    finishReason: 'stop',
    text: 'The answer',
    agentsUsed: ['researcher', 'analyst', 'writer'],
    iterations: 2,
    sources: [],
    at: 1910,
  },
];

describe('buildTimeline', () => {
  it('draws one lane per agent that worked, a step per agent step and one per supervisor model turn', () => {
    const t = buildTimeline(teamRun);
    expect(t.lanes.map((l) => l.agent)).toEqual(['supervisor', 'researcher', 'analyst', 'writer']);
    expect(t.lanes.map((l) => l.steps.length)).toEqual([2, 1, 1, 1]);
    const [plan, handOver] = t.lanes[0].steps;
    // The supervisor's second turn starts once the slower specialist is done.
    expect([plan.start, plan.end, handOver.start, handOver.end]).toEqual([1000, 1100, 1500, 1600]);
    expect(t.status).toBe('finished');
    expect(t.end - t.start).toBe(910);
  });

  it('counts upstream calls and tokens per agent, and pairs tool calls with their results', () => {
    const t = buildTimeline(teamRun);
    const researcher = t.lanes.find((l) => l.agent === 'researcher')!;
    expect(researcher.calls).toHaveLength(2);
    expect(researcher.tokens).toEqual({ input: 20, output: 10 });
    expect(researcher.tools).toEqual([
      expect.objectContaining({
        name: 'search_knowledge_base',
        input: { query: 'q' },
        output: [{ title: 'A' }],
        start: 1200,
        end: 1250,
      }),
    ]);
    expect(t.lanes.find((l) => l.agent === 'writer')!.tokens).toEqual({ input: 10, output: 20 });
  });

  it('puts the slower of two parallel specialists on the critical path, not the faster', () => {
    const t = buildTimeline(teamRun);
    expect([...t.critical].sort()).toEqual(
      ['researcher:researcher_1', 'supervisor:turn1', 'supervisor:turn2', 'writer:writer_3'].sort(),
    );
  });

  it('marks a failed run: the steps it cut short fail with it', () => {
    const t = buildTimeline([
      ...teamRun.slice(0, 5),
      {
        type: 'run_failed',
        error: { message: 'Upstream down', status: 502, type: 'api_error', code: 'upstream_error' },
        at: 1400,
      },
    ]);
    expect(t.status).toBe('failed');
    expect(t.failure).toEqual({ message: 'Upstream down', code: 'upstream_error', at: 1400 });
    const failed = t.lanes.flatMap((l) => l.steps).filter((s) => s.ok === false);
    expect(failed.map((s) => s.agent).sort()).toEqual(['analyst', 'researcher']);
    expect(failed.every((s) => s.end === 1400)).toBe(true);
  });

  it("marks a failure of the supervisor's own model turn as a failed supervisor step", () => {
    const t = buildTimeline([
      teamRun[0],
      {
        type: 'run_failed',
        error: { message: 'Bad request', status: 400, type: 'invalid_request_error', code: null },
        at: 1050,
      },
    ]);
    expect(t.lanes.map((l) => l.agent)).toEqual(['supervisor']);
    expect(t.lanes[0].steps).toEqual([
      expect.objectContaining({ ok: false, start: 1000, end: 1050, error: 'Bad request' }),
    ]);
  });

  it("marks a run paused for client tools, its client's call last, waiting for the client", () => {
    const t = buildTimeline([
      teamRun[0],
      usage('supervisor', 1100),
      {
        type: 'tool_call',
        agent: 'supervisor',
        toolCallId: 'call_1',
        toolName: 'get_weather',
        input: { city: 'Paris' },
        client: true,
        at: 1105,
      },
      {
        type: 'run_finished',
        finishReason: 'tool_calls',
        text: '',
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        agentsUsed: [],
        iterations: 1,
        sources: [],
        at: 1110,
      },
    ]);
    expect(t.status).toBe('paused');
    expect(t.pause).toEqual({ at: 1110, toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const [call] = t.lanes[0].tools;
    expect(call).toEqual({
      id: 'call_1',
      agent: 'supervisor',
      name: 'get_weather',
      input: { city: 'Paris' },
      isError: false,
      start: 1105,
      end: null,
      client: 'call',
    });
    expect(toolState(call)).toBe('waiting for the client');
  });

  it('shows the results a resumed run went on from, on the lane of the agent that asked for them', () => {
    const result = (toolCallId: string, output: unknown, isError: boolean, at: number): RunEvent => ({
      type: 'tool_result',
      agent: 'supervisor',
      toolCallId,
      toolName: 'get_weather',
      output,
      isError,
      client: true,
      at,
    });
    const t = buildTimeline([
      { type: 'run_started', runId: 'run_2', model: 'cortex-flow', at: 2000 },
      result('call_1', '12 C and rain', false, 2001),
      result('call_2', { error: 'The client sent no result for this call.' }, true, 2001),
      usage('supervisor', 2100),
      {
        type: 'run_finished',
        finishReason: 'stop',
        text: 'Take an umbrella.',
        agentsUsed: ['supervisor'],
        iterations: 2,
        sources: [],
        at: 2110,
      },
    ]);
    expect(t.status).toBe('finished');
    const supervisor = t.lanes.find((l) => l.agent === 'supervisor')!;
    expect(supervisor.tools).toEqual([
      expect.objectContaining({ id: 'call_1', output: '12 C and rain', start: 2001, end: 2001, client: 'result' }),
      expect.objectContaining({ id: 'call_2', isError: true, client: 'result' }),
    ]);
    expect(supervisor.tools.map(toolState)).toEqual(['result sent by the client', 'the client sent no result']);
    // The supervisor's turn after them is still one model turn from the run's start.
    expect(supervisor.steps).toEqual([expect.objectContaining({ start: 2001, end: 2100, implicit: true })]);
    // A result of a server tool whose call is not in the trace stays ignored, as before.
    const orphan = buildTimeline([{ ...result('t9', 'x', false, 2001), client: undefined }]);
    expect(orphan.lanes).toEqual([]);
  });

  it('keeps a solo agent run to its own steps: its model calls are not extra steps', () => {
    const t = buildTimeline([
      teamRun[0],
      started('supervisor', 'supervisor_1', 1000),
      usage('supervisor', 1200),
      finished('supervisor', 'supervisor_1', 1210),
      {
        type: 'run_finished',
        finishReason: 'stop',
        text: 'x',
        agentsUsed: ['supervisor'],
        iterations: 1,
        sources: [],
        at: 1220,
      },
    ]);
    expect(t.lanes).toHaveLength(1);
    expect(t.lanes[0].steps).toHaveLength(1);
    expect(t.lanes[0].calls).toHaveLength(1);
  });

  it("marks upstream retries on their agent's lane, within the call they retried (which still starts where it did)", () => {
    const retry = (agent: string, at: number, more: Record<string, unknown>): RunEvent => ({
      type: 'upstream_retry',
      agent,
      model: 'openai:mock-model',
      attempt: 1,
      code: 'upstream_rate_limited',
      status: 429,
      delayMs: 30,
      at,
      ...more,
    });
    const events = [...teamRun];
    events.splice(2, 0, retry('supervisor', 1050, {}));
    const researcherAt = events.findIndex((e) => e.type === 'usage' && e.usage.agent === 'researcher');
    events.splice(
      researcherAt,
      0,
      retry('researcher', 1150, { attempt: 2, status: undefined, code: 'upstream_unreachable', delayMs: 4000 }),
    );
    const t = buildTimeline(events);
    const supervisor = t.lanes.find((l) => l.agent === 'supervisor')!;
    const researcher = t.lanes.find((l) => l.agent === 'researcher')!;
    expect(supervisor.retries).toEqual([
      {
        id: 'supervisor:retry1',
        agent: 'supervisor',
        model: 'openai:mock-model',
        attempt: 1,
        status: 429,
        code: 'upstream_rate_limited',
        delayMs: 30,
        at: 1050,
      },
    ]);
    expect(researcher.retries).toEqual([
      expect.objectContaining({ attempt: 2, code: 'upstream_unreachable', at: 1150 }),
    ]);
    // The retried calls span their failed attempts: from the turn's start, from the step's start.
    expect(supervisor.steps[0]).toMatchObject({ start: 1000, end: 1100 });
    expect(researcher.calls[0]).toMatchObject({ start: 1110, end: 1190 });
    expect(supervisor.calls).toHaveLength(2); // a retry is no call of its own
    expect([retryCause(supervisor.retries[0]), retryNext(supervisor.retries[0])]).toEqual([
      '429 (upstream_rate_limited)',
      'after 0.03 s',
    ]);
    expect([retryCause(researcher.retries[0]), retryNext(researcher.retries[0])]).toEqual([
      'upstream_unreachable',
      'after 4.00 s',
    ]);
    const fallback = buildTimeline([teamRun[0], retry('supervisor', 1050, { delayMs: 0, fallback: 'openai:backup' })]);
    expect(retryNext(fallback.lanes[0].retries[0])).toBe('to the fallback model openai:backup');
    // A lane whose only news so far is a retry is drawn: the operator sees why it waits.
    expect(fallback.lanes.map((l) => l.agent)).toEqual(['supervisor']);
  });

  it('draws a running run up to now, its open steps still running', () => {
    const t = buildTimeline(teamRun.slice(0, 5), 1250);
    expect(t.status).toBe('running');
    expect(t.end).toBe(1250);
    expect(t.lanes.find((l) => l.agent === 'researcher')!.steps[0]).toMatchObject({ end: null, ok: null });
  });
});
