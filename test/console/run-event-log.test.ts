// The run page's log of a live run's events (web/src/run-events.ts): a streamed answer's deltas are
// folded as they arrive, as the store folds them, at a constant cost per event; and the timeline
// drawn from the folded log is, at every moment of the run, the one the raw events draw.
import { describe, expect, it } from 'vitest';
import { compactTrace, expandTrace } from '../../src/store/trace.ts';
import type { RunEvent as ServerEvent } from '../../src/orchestrator/events.ts';
import { RunEventLog } from '../../web/src/run-events.ts';
import { buildTimeline, type RunEvent } from '../../web/src/timeline.ts';

const T0 = 1_700_000_000_000;
const usage = (agent: string, at: number) => ({
  type: 'usage',
  at,
  usage: { agent, model: 'mock-model', inputTokens: 10, outputTokens: 5 },
});

/** A team run whose writer streams `answer` one character a delta, ended by `end` (its `at` set here). */
function teamRun(answer: string, end: (at: number) => RunEvent[]): RunEvent[] {
  let at = T0;
  const events: RunEvent[] = [
    { type: 'run_started', runId: 'run_1', model: 'cortex-flow', at },
    usage('supervisor', (at += 40)),
    { type: 'agent_started', agent: 'researcher', callId: 'c1', task: 'Find', at: (at += 1) },
    { type: 'tool_call', agent: 'researcher', toolCallId: 't1', toolName: 'search', input: { q: 'x' }, at: (at += 5) },
    {
      type: 'tool_result',
      agent: 'researcher',
      toolCallId: 't1',
      toolName: 'search',
      output: 'found',
      isError: false,
      at: (at += 20),
    },
    usage('researcher', (at += 30)),
    { type: 'agent_finished', agent: 'researcher', callId: 'c1', ok: true, output: 'facts', at: (at += 1) },
    usage('supervisor', (at += 40)),
    { type: 'agent_started', agent: 'writer', callId: 'c2', task: 'Write', at: (at += 1) },
  ];
  for (const ch of answer) events.push({ type: 'text_delta', text: ch, at: (at += 1) });
  // A progress note between two runs of deltas: the deltas after it are folded apart.
  events.push({ type: 'progress', agent: 'writer', text: 'still writing', at: (at += 1) });
  for (const ch of answer) events.push({ type: 'text_delta', text: ch, at: (at += 1) });
  events.push(usage('writer', (at += 1)));
  return [...events, ...end(at + 1)];
}

const finished = (text: string) => (at: number) => [
  { type: 'agent_finished', agent: 'writer', callId: 'c2', ok: true, output: text, at },
  { type: 'run_finished', finishReason: 'stop', text, agentsUsed: ['writer'], iterations: 2, sources: [], at: at + 1 },
];
const failed = (code: string) => (at: number) => [
  { type: 'run_failed', error: { message: `The run ${code}.`, status: 500, type: 'server_error', code }, at },
];
const paused = (at: number) => [
  { type: 'tool_call', agent: 'supervisor', toolCallId: 'k1', toolName: 'get_weather', input: {}, client: true, at },
  {
    type: 'run_finished',
    finishReason: 'tool_calls',
    text: '',
    toolCalls: [{ id: 'k1', name: 'get_weather', arguments: '{}' }],
    agentsUsed: ['writer'],
    iterations: 2,
    sources: [],
    at: at + 1,
  },
];

const ANSWER = 'The answer is 42, word by word.';
const endings: [string, (at: number) => RunEvent[]][] = [
  ['finishes', finished(ANSWER + ANSWER)],
  ['fails', failed('upstream_error')],
  ['is cancelled', failed('cancelled')],
  ['pauses for the client tools', paused],
];

describe('the live run page event log', () => {
  it('folds thousands of deltas as they arrive into what the store keeps, at a constant cost per event', () => {
    const answer = 'x'.repeat(5000);
    const raw = teamRun(answer, finished(answer + answer));
    const log = new RunEventLog();
    let previous: RunEvent | undefined;
    for (const e of raw) {
      const { length } = log.events;
      const { version } = log;
      log.push(e);
      expect(log.version).toBe(version + 1);
      // A delta right after a delta joins it: the list does not grow with the answer.
      const joined = e.type === 'text_delta' && previous?.type === 'text_delta';
      expect(log.events.length).toBe(joined ? length : length + 1);
      previous = e;
    }
    expect(log.events.length).toBe(raw.length - 2 * answer.length + 2);
    // The stored trace, as GET /v1/runs/{id} returns it once the run is over.
    expect(log.events).toEqual(expandTrace(compactTrace(raw as ServerEvent[])));
    // The events it was given are left as they were.
    expect(raw.filter((e) => e.type === 'text_delta').every((e) => e.text === 'x')).toBe(true);
  });

  it.each(endings)('draws, at every event of a run that %s, the timeline the raw events draw', (_, end) => {
    const raw = teamRun(ANSWER, end);
    const log = new RunEventLog();
    raw.forEach((e, i) => {
      log.push(e);
      const now = e.at + 100;
      expect(buildTimeline(log.events, now)).toEqual(buildTimeline(raw.slice(0, i + 1), now));
    });
  });

  it('starts over from a reset (a reconnection, or the stored run) with a version it never had', () => {
    const log = new RunEventLog();
    const raw = teamRun(ANSWER, finished(ANSWER + ANSWER));
    for (const e of raw) log.push(e);
    const seen = new Set([log.version]);
    log.reset();
    expect(log.events).toEqual([]);
    expect(seen.has(log.version)).toBe(false);
    seen.add(log.version);
    const stored = expandTrace(compactTrace(raw as ServerEvent[]));
    log.reset(stored);
    expect(seen.has(log.version)).toBe(false);
    expect(log.events).toEqual(stored);
  });
});
