// Metrics fed from a run's own events, as they pass on their way to the client.
import type { RunEvent } from '../orchestrator/events.ts';
import type { AppDeps } from './deps.ts';

/**
 * Feeds the metrics from a run's events: time to first token, upstream tokens, upstream errors and
 * retries (an upstream that fails now and then shows in its retries before any run fails).
 * A mapping over the run's iterator rather than a generator: nothing is held while the run waits.
 */
export function instrument(
  events: AsyncIterator<RunEvent>,
  deps: AppDeps,
  model: string,
  startedAt: number,
): AsyncIterator<RunEvent> {
  let first = true;
  const observe = (r: IteratorResult<RunEvent>) => {
    if (r.done) return r;
    const event = r.value;
    if (event.type === 'text_delta' && first) {
      first = false;
      deps.metrics.timeToFirstToken.observe({ model }, (Date.now() - startedAt) / 1000);
    } else if (event.type === 'usage') {
      deps.metrics.tokens.inc(
        { agent: event.usage.agent, model: event.usage.model, direction: 'input' },
        event.usage.inputTokens,
      );
      deps.metrics.tokens.inc(
        { agent: event.usage.agent, model: event.usage.model, direction: 'output' },
        event.usage.outputTokens,
      );
    } else if (event.type === 'upstream_retry') {
      deps.metrics.upstreamRetries.inc({ model: event.model, code: event.code });
    } else if (event.type === 'run_failed' && event.error.code?.startsWith('upstream')) {
      deps.metrics.upstreamErrors.inc({ code: event.error.code });
    }
    return r;
  };
  return { next: () => events.next().then(observe) };
}
