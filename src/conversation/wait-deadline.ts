// The signal a bounded, cancellable wait listens to: aborted by the caller's signal or when `ms` have
// passed. Built only when a wait actually happens; dispose() clears its timer and listener.
export interface WaitDeadline {
  readonly signal: AbortSignal;
  /** Whether the caller gave up (as opposed to the time running out). */
  cancelled(): boolean;
  dispose(): void;
}

export function waitDeadline(caller: AbortSignal | undefined, ms: number): WaitDeadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, ms));
  timer.unref();
  const onAbort = () => controller.abort();
  if (caller?.aborted) controller.abort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    cancelled: () => caller?.aborted ?? false,
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}
