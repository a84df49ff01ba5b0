// What the run's trace says of an upstream call tried again: an attempt that failed (its status and
// what failed) and when the next one goes out. Three layers retry a call, all told by the one watch
// a call carries in its options, read only when an attempt fails (nothing is done while none does):
//  - the AI SDK's retries (a 429, a 5xx, a connection error), which it makes without telling
//    anyone: the guard (src/llm/stream-guard.ts) sees each attempt that fails to open, and the
//    watch reports the ones the SDK will retry, with the wait the SDK will take;
//  - the guard's own, of an answer that ended before any of it was used (at once);
//  - the fallback model (src/llm/fallback.ts), asked in place of the primary's last attempt.
// The lean path (src/llm/model-call.ts) puts the watch in the options it builds; a `streamText`
// call builds its own, so its model is wrapped for that call (`watchRetries`).
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { APICallError, wrapLanguageModel, type LanguageModel } from 'ai';
import { classifyError } from './upstream-error.ts';

export interface UpstreamRetry {
  /** The attempt that failed, from 1 (the call's first). */
  attempt: number;
  /** The upstream's HTTP status, when it answered with one. */
  status?: number;
  /** What failed, as an error of the API names it: `upstream_rate_limited`, `upstream_error`... */
  code: string;
  /** The wait before the next attempt. */
  delayMs: number;
  /** The model the next attempt goes to, when it is the fallback model. */
  fallback?: string;
}

/** The AI SDK's backoff (`retryWithExponentialBackoffRespectingRetryHeaders` in `ai`). */
const INITIAL_DELAY_MS = 2000;
const BACKOFF_FACTOR = 2;
/** The longest `Retry-After` the SDK waits for rather than its own backoff. */
const LONGEST_RETRY_AFTER_MS = 60_000;

/** One upstream call's retries, reported as they are decided. */
export class RetryWatch {
  private readonly maxRetries: number;
  private readonly report: (retry: UpstreamRetry) => void;
  /** The prompt of the attempts counted: a `streamText` call makes a new one per step. */
  private prompt: unknown;
  private failures = 0;

  constructor(maxRetries: number, report: (retry: UpstreamRetry) => void) {
    this.maxRetries = maxRetries;
    this.report = report;
  }

  /**
   * An attempt failed before any answer: reported when the SDK will try again, as it decides (a
   * retryable `APICallError` while retries are left), with the wait it will take.
   */
  openFailed(error: unknown, prompt: unknown): void {
    if (prompt !== this.prompt) {
      this.prompt = prompt;
      this.failures = 0;
    }
    const attempt = ++this.failures;
    if (attempt > this.maxRetries || !APICallError.isInstance(error) || error.isRetryable !== true) return;
    this.report({ attempt, ...failure(error), delayMs: sdkDelayMs(error, attempt) });
  }

  /** The guard asks again, at once, for an answer of which nothing was used. */
  redone(error: unknown, attempt: number): void {
    this.report({ attempt, ...failure(error), delayMs: 0 });
  }

  /** The fallback model takes the call over from the primary, at once. */
  fellBack(error: unknown, attempt: number, fallback: string): void {
    this.report({ attempt, ...failure(error), delayMs: 0, fallback });
  }
}

function failure(error: unknown): { status?: number; code: string } {
  const code = classifyError(error)?.code ?? 'upstream_error';
  const status = APICallError.isInstance(error) ? error.statusCode : undefined;
  return status === undefined ? { code } : { status, code };
}

/**
 * The SDK's wait before the attempt after `attempt`: the upstream's `retry-after-ms`, else its
 * `retry-after` (seconds or a date), when under a minute (or under the backoff); else the backoff.
 */
export function sdkDelayMs(error: APICallError, attempt: number): number {
  const backoff = INITIAL_DELAY_MS * BACKOFF_FACTOR ** (attempt - 1);
  const headers = error.responseHeaders;
  if (!headers) return backoff;
  let ms: number | undefined;
  const retryAfterMs = headers['retry-after-ms'];
  if (retryAfterMs) {
    const value = parseFloat(retryAfterMs);
    if (!Number.isNaN(value)) ms = value;
  }
  const retryAfter = headers['retry-after'];
  if (retryAfter && ms === undefined) {
    const seconds = parseFloat(retryAfter);
    ms = Number.isNaN(seconds) ? Date.parse(retryAfter) - Date.now() : seconds * 1000;
  }
  if (ms !== undefined && !Number.isNaN(ms) && ms >= 0 && (ms < LONGEST_RETRY_AFTER_MS || ms < backoff))
    return Math.round(ms);
  return backoff;
}

const WATCH = Symbol('retryWatch');
type WatchedOptions = LanguageModelV3CallOptions & { [WATCH]?: RetryWatch };

/** The call made with `options` reports its retries to `watch` (the options are returned). */
export function watchCall<T extends LanguageModelV3CallOptions>(options: T, watch: RetryWatch): T {
  (options as WatchedOptions)[WATCH] = watch;
  return options;
}

/** The watch of the call made with `options`, if it has one (it follows spread copies). */
export const watchOf = (options: LanguageModelV3CallOptions): RetryWatch | undefined =>
  (options as WatchedOptions)[WATCH];

/** `model` for one `streamText` call, whose attempts (its steps' too) report to `watch`. */
export function watchRetries(model: LanguageModel, watch: RetryWatch): LanguageModel {
  if (typeof model !== 'object' || model.specificationVersion !== 'v3') return model;
  return wrapLanguageModel({
    model,
    // A copy per attempt: the watch must not ride on options the SDK may share with other calls.
    middleware: { specificationVersion: 'v3', transformParams: async ({ params }) => watchCall({ ...params }, watch) },
  });
}
