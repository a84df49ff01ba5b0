// A run's events as the run page holds them while it follows the run live. A streamed answer
// arrives as thousands of `text_delta` events: copying the whole list at each one made a long answer
// cost the page quadratic work (and froze it for seconds). Here an event costs constant work:
// appended in place, consecutive deltas folded into one as the stored trace folds them (the `at` of
// the first, the text joined), and a version number says when what was derived from the list is
// stale, so the page rebuilds its timeline at most once a frame, not once an event.
import type { RunEvent } from './timeline.ts';

export class RunEventLog {
  /** Appended to in place: read it again when `version` changes. */
  readonly events: RunEvent[] = [];
  /** Never repeats, across `reset` too: a view keyed on it never mistakes a new list for an old one. */
  version = 0;

  /** Appends one event; a delta right after a delta joins it. */
  push(event: RunEvent): void {
    const last = this.events[this.events.length - 1];
    if (event.type === 'text_delta' && last?.type === 'text_delta')
      // A string appended to is not copied (V8 joins the two lazily): constant work per delta.
      last.text += event.text;
    else this.events.push(event.type === 'text_delta' ? { ...event } : event);
    this.version++;
  }

  /** Starts over with these events (the stored run, or a stream that starts again from the run's start). */
  reset(events: readonly RunEvent[] = []): void {
    this.events.length = 0;
    for (const e of events) this.push(e);
    this.version++;
  }
}
