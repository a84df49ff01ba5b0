// The hub's buffer of a live run: a follower that arrives late sees the run from its start, and
// the buffer keeps a long answer as one text, not one event per delta.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import { RunEventsHub } from '../../src/run/run-events-hub.ts';

const delta = (text: string, at: number): RunEvent => ({ type: 'text_delta', text, at });

async function take(events: AsyncIterable<RunEvent>, n: number): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of events) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

describe('RunEventsHub', () => {
  it('replays a late follower the run so far with its text deltas folded, then live events', async () => {
    const hub = new RunEventsHub();
    hub.open('run_1');
    hub.publish('run_1', { type: 'run_started', runId: 'run_1', model: 'cortex-flow', at: 1 });
    hub.publish('run_1', { type: 'progress', agent: 'writer', text: 'writing', at: 2 });
    const deltas = ['The ', 'answer ', 'is ', '42.'].map((t, i) => delta(t, 3 + i));
    for (const d of deltas) hub.publish('run_1', d);

    const follower = take(hub.follow('run_1')!, 4);
    hub.publish('run_1', delta(' Done.', 10));
    const events = await follower;
    expect(events).toEqual([
      { type: 'run_started', runId: 'run_1', model: 'cortex-flow', at: 1 },
      { type: 'progress', agent: 'writer', text: 'writing', at: 2 },
      { type: 'text_delta', text: 'The answer is 42.', at: 3 },
      { type: 'text_delta', text: ' Done.', at: 10 },
    ]);
    // The events handed to the hub are shared with the run's other consumers: never changed.
    expect(deltas.map((d) => (d.type === 'text_delta' ? d.text : ''))).toEqual(['The ', 'answer ', 'is ', '42.']);
  });

  it('ends the streams of its followers when the run is closed, and forgets the run', async () => {
    const hub = new RunEventsHub();
    hub.open('run_2');
    hub.publish('run_2', { type: 'run_started', runId: 'run_2', model: 'cortex-flow', at: 1 });
    const events = hub.follow('run_2')!;
    hub.close('run_2');
    const seen: RunEvent[] = [];
    for await (const e of events) seen.push(e);
    expect(seen.map((e) => e.type)).toEqual(['run_started']);
    expect(hub.has('run_2')).toBe(false);
    expect(hub.follow('run_2')).toBeUndefined();
  });

  it('drops an event of a run that is closed: the run is not served again, no follower waits on it', async () => {
    const hub = new RunEventsHub();
    hub.open('run_3');
    hub.publish('run_3', { type: 'run_started', runId: 'run_3', model: 'cortex-flow', at: 1 });
    hub.close('run_3');
    // A late event (a closing event published after the record, a run winding down past its bound).
    hub.publish('run_3', { type: 'run_finished', finishReason: 'stop', text: '', at: 2 } as RunEvent);
    expect(hub.has('run_3')).toBe(false);
    expect(hub.follow('run_3')).toBeUndefined(); // a follower reads the stored trace instead
  });

  it('lets a follower wait for a run opened before its first event', async () => {
    const hub = new RunEventsHub();
    hub.open('run_4');
    const events = take(hub.follow('run_4')!, 1);
    hub.publish('run_4', { type: 'run_started', runId: 'run_4', model: 'cortex-flow', at: 1 });
    expect((await events).map((e) => e.type)).toEqual(['run_started']);
  });
});
