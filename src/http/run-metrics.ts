// Metrics fed from a run's own events, as they pass on their way to the client.
import type { RunEvent } from '../orchestrator/events.ts';
import type { AppDeps } from './deps.ts';

/** Feeds the metrics from a run's events: time to first token, upstream tokens, upstream errors. */
export async function* instrument(
  events: AsyncIterable<RunEvent>,
  deps: AppDeps,
  model: string,
  startedAt: number,
): AsyncIterable<RunEvent> {
  let first = true;
  for await (const event of events) {
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
    } else if (event.type === 'run_failed' && event.error.code?.startsWith('upstream')) {
      deps.metrics.upstreamErrors.inc({ code: event.error.code });
    }
    yield event;
  }
}
