// A run's trace as stored: complete enough to replay the run as a timeline (agents started and
// finished, tool calls with arguments and results, usage, timings), but compact. A streamed answer
// arrives as thousands of `text_delta` events and again whole in `run_finished` (and often in the
// writer's `agent_finished`): consecutive deltas are folded into one (the `at` of its first delta),
// and the whole answer is kept once, in the folded deltas, with references where it repeated.
import type { RunEvent } from '../orchestrator/events.ts';

/** Where a repeated answer was dropped from: restored from the deltas, or from `run_finished.text`. */
type Ref = 'deltas' | 'answer';
type StoredEvent = RunEvent & { textRef?: Ref; outputRef?: Ref };

export function compactTrace(events: readonly RunEvent[]): StoredEvent[] {
  const out: StoredEvent[] = [];
  let pieces: string[] = [];
  const flush = () => {
    if (!pieces.length) return;
    const last = out[out.length - 1] as Extract<RunEvent, { type: 'text_delta' }>;
    last.text = pieces.join('');
    pieces = [];
  };
  for (const e of events) {
    if (e.type === 'text_delta') {
      if (!pieces.length) out.push({ ...e });
      pieces.push(e.text);
      continue;
    }
    flush();
    out.push(e);
  }
  flush();
  const deltas = out.map((e) => (e.type === 'text_delta' ? e.text : '')).join('');
  const answer = (out.find((e) => e.type === 'run_finished') as Extract<RunEvent, { type: 'run_finished' }>)?.text;
  return out.map((e) => {
    if (e.type === 'run_finished' && e.text && e.text === deltas) return { ...e, text: '', textRef: 'deltas' };
    if (e.type === 'agent_finished' && e.output) {
      if (e.output === deltas) return { ...e, output: '', outputRef: 'deltas' };
      if (e.output === answer) return { ...e, output: '', outputRef: 'answer' };
    }
    return e;
  });
}

/** The trace as the run emitted it, deltas folded. Traces stored before compaction read unchanged. */
export function expandTrace(stored: readonly StoredEvent[]): RunEvent[] {
  const deltas = stored.map((e) => (e.type === 'text_delta' ? e.text : '')).join('');
  const finished = stored.find((e) => e.type === 'run_finished') as StoredEvent | undefined;
  const answer =
    finished?.type === 'run_finished' ? (finished.textRef === 'deltas' ? deltas : finished.text) : undefined;
  const resolve = (ref: Ref) => (ref === 'deltas' ? deltas : (answer ?? ''));
  return stored.map((e) => {
    if (e.type === 'run_finished' && e.textRef) {
      const { textRef, ...rest } = e;
      return { ...rest, text: resolve(textRef) };
    }
    if (e.type === 'agent_finished' && e.outputRef) {
      const { outputRef, ...rest } = e;
      return { ...rest, output: resolve(outputRef) };
    }
    return e;
  });
}
