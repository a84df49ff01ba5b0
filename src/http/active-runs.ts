// The runs in flight, so that a shutdown can let them finish up to a deadline, then stop the rest
// (whose turns are still stored, as cancelled) before the process exits.
export interface ActiveRun {
  abort(reason: Error): void;
  /** Settles once the run's turn has been recorded. */
  done: Promise<unknown>;
}

export class ActiveRuns {
  private readonly runs = new Set<ActiveRun>();
  private closing = false;
  /** Ends the grace period early (set while a drain waits). */
  private hurry: (() => void) | undefined;
  private hurried = false;

  get size(): number {
    return this.runs.size;
  }

  /** Once a drain began, no new run may start (requests still waiting for a lock or a slot get a 503). */
  get draining(): boolean {
    return this.closing;
  }

  track(run: ActiveRun): void {
    this.runs.add(run);
    // Settled either way, so a run whose record failed never surfaces as an unhandled rejection.
    const forget = () => void this.runs.delete(run);
    run.done.then(forget, forget);
  }

  /**
   * Ends the grace period now: the runs still going are stopped and stored as a late drain would.
   * What a second SIGTERM or Ctrl-C asks for; before a drain began, the drain will not wait at all.
   */
  stopNow(): void {
    this.hurried = true;
    this.hurry?.();
  }

  /** Waits up to `graceMs` for the runs to finish, then aborts the rest and waits for their records. */
  async drain(graceMs: number): Promise<{ finished: number; stopped: number }> {
    this.closing = true;
    const all = [...this.runs];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.hurried ? 0 : graceMs);
      this.hurry = () => resolve('late');
    });
    const outcome = await Promise.race([
      Promise.allSettled(all.map((r) => r.done)).then(() => 'done' as const),
      deadline,
    ]);
    clearTimeout(timer);
    this.hurry = undefined;
    const left = [...this.runs];
    if (outcome === 'late') {
      for (const r of left) r.abort(new Error('the server is shutting down'));
      await Promise.allSettled(left.map((r) => r.done));
    }
    return { finished: all.length - left.length, stopped: outcome === 'late' ? left.length : 0 };
  }
}
