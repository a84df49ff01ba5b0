// Prometheus metrics of one process, in prom-client's conventions. One registry per app so that
// tests (and several apps in one process) do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'cortex_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'cortex_http_request_duration_seconds',
    help: 'Time to the end of the response, by route.',
    labelNames: ['route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'cortex_time_to_first_token_seconds',
    help: 'Time from the request to the first token of the answer.',
    labelNames: ['model'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'cortex_llm_tokens_total',
    help: 'Upstream tokens by agent, model and direction (input/output).',
    labelNames: ['agent', 'model', 'direction'],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'cortex_upstream_errors_total',
    help: 'Runs that failed because of the upstream, by error code.',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: 'cortex_upstream_retries_total',
    help: 'Upstream LLM calls tried again (a 429, a 5xx, a connection error, a fallback), by model and error code.',
    labelNames: ['model', 'code'],
    registers: [this.registry],
  });
  readonly activeRuns = new Gauge({
    name: 'cortex_active_runs',
    help: 'Runs executing now.',
    registers: [this.registry],
  });
  readonly activeStreams = new Gauge({
    name: 'cortex_active_streams',
    help: 'SSE streams open now.',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'cortex_rejected_requests_total',
    help: 'Requests refused by a limit, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'cortex_' });
  }
}
