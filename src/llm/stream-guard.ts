// Every upstream call goes through this guard (AI SDK middleware), which makes two promises the
// SDK alone does not:
//  - Silence, not length, is what times a call out: `timeoutMs` bounds the time to the first part
//    of the answer and the time between two parts of a stream, never the total, so a long answer
//    that keeps coming completes and a stalled one fails within `timeoutMs` of its last part.
//  - An answer is complete only when the upstream said so: a stream that breaks off, ends without
//    a finish reason, carries nothing, or is not a stream at all (a 200 HTML page) is an
//    `IncompleteAnswerError`. It is retried while nothing of it has reached the caller, and
//    otherwise ends the stream with that error (the caller already showed part of the answer).
//    A page is named by its content type on every path (the lean reader's, `readerOf()`'s).
// Attempts that fail, the SDK's and its own, are told to the call's retry watch, for the run's
// trace (src/llm/retry-watch.ts).
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Middleware,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import { wrapLanguageModel } from 'ai';
import { asReadableStream, openParts, readerOf, type PartReader, type PartSource } from './part-reader.ts';
import { watchOf, type RetryWatch } from './retry-watch.ts';
import { IncompleteAnswerError, UpstreamSilenceError } from './upstream-error.ts';

export interface GuardSettings {
  /** Longest silence of the upstream within one call. */
  timeoutMs: number;
  /** Fresh attempts after an incomplete answer of which nothing was passed on yet. */
  retries: number;
}

const COMPLETE = new Set(['stop', 'length', 'tool-calls', 'content-filter']);
/**
 * Parts that carry the answer itself: once one is passed on, the call can no longer be redone. A
 * text's start and an empty delta carry nothing (OpenAI opens every stream with `content: ""`).
 */
const CONTENT = new Set(['text-delta', 'reasoning-delta', 'tool-input-start', 'tool-input-delta', 'tool-call', 'file']);

/**
 * The model behind the guard. It also offers `openParts`, the same guarded call read as parts
 * without a web stream; the inner model's own `openParts` is used when it has one.
 */
export function guardModel(model: LanguageModelV3, settings: GuardSettings): PartSource {
  const wrapped = wrapLanguageModel({ model, middleware: guardMiddleware(settings) });
  return Object.assign(wrapped, {
    openParts: (params: LanguageModelV3CallOptions) =>
      guardedParts((p) => openParts(model, p), params, settings).then((g) => g.reader),
  });
}

export function guardMiddleware(settings: GuardSettings): LanguageModelV3Middleware {
  return {
    specificationVersion: 'v3',
    wrapGenerate: async ({ model, params }) => {
      // A non-streamed answer arrives whole: its first byte is its last, so silence is the total.
      for (let attempt = 0; ; attempt++) {
        const silence = new SilenceTimer(settings.timeoutMs, params.abortSignal);
        try {
          const result = await model.doGenerate({ ...params, abortSignal: silence.signal });
          const reason = result.finishReason.unified;
          if (result.content.length ? reason !== 'error' : COMPLETE.has(reason) && reason !== 'stop') return result;
          if (attempt >= settings.retries || params.abortSignal?.aborted) throw new IncompleteAnswerError('empty');
        } catch (err) {
          throw silence.explain(err);
        } finally {
          silence.stop();
        }
      }
    },
    wrapStream: async ({ model, params }) => {
      // The first attempt's result (request, response metadata) is what the caller is given.
      let first: LanguageModelV3StreamResult | undefined;
      const open = (p: LanguageModelV3CallOptions) =>
        Promise.resolve(model.doStream(p)).then((result) => {
          first ??= result;
          return readerOf(result);
        });
      const { reader } = await guardedParts(open, params, settings);
      return { ...first!, stream: asReadableStream(reader) };
    },
  };
}

type Opener = (params: LanguageModelV3CallOptions) => Promise<PartReader>;

// Promise chains rather than `await`, here and in `openGuarded`: a call waits for its upstream's
// first byte most of its life, and a suspended async function keeps its frame for all that time.
function guardedParts(
  open: Opener,
  params: LanguageModelV3CallOptions,
  settings: GuardSettings,
): Promise<{ reader: PartReader }> {
  const silence = new SilenceTimer(settings.timeoutMs, params.abortSignal);
  return openGuarded(open, params, silence, watchOf(params)).then((first) => ({
    reader: new GuardedReader(first, open, params, settings, silence),
  }));
}

/**
 * An attempt, opened. When a call fails to open, the SDK may retry it: `watch` (the call's, see
 * src/llm/retry-watch.ts) is told. A redo of the guard's own that fails to open ends the answer.
 */
function openGuarded(
  open: Opener,
  params: LanguageModelV3CallOptions,
  silence: SilenceTimer,
  watch?: RetryWatch,
): Promise<PartReader> {
  return Promise.resolve()
    .then(() => open({ ...params, abortSignal: silence.signal }))
    .catch((err: unknown) => {
      silence.stop();
      const cause = silence.explain(err);
      watch?.openFailed(cause, params.prompt);
      throw cause;
    });
}

/** The upstream's parts, passed on once the attempt they belong to can no longer be redone. */
class GuardedReader implements PartReader {
  private readonly open: Opener;
  private readonly params: LanguageModelV3CallOptions;
  private readonly settings: GuardSettings;
  private silence: SilenceTimer;
  private reader: PartReader;
  private attempt = 0;
  private passedOn = false; // some content of this call reached the caller
  private held: LanguageModelV3StreamPart[] = []; // parts before the first content of the current attempt
  private finished = false;
  /** Parts ready for the caller, in order; `closed` once nothing more will come. */
  private out: LanguageModelV3StreamPart[] = [];
  private closed = false;

  constructor(
    first: PartReader,
    open: Opener,
    params: LanguageModelV3CallOptions,
    settings: GuardSettings,
    silence: SilenceTimer,
  ) {
    this.reader = first;
    this.open = open;
    this.params = params;
    this.settings = settings;
    this.silence = silence;
  }

  async read(): Promise<ReadableStreamReadResult<LanguageModelV3StreamPart>> {
    if (this.out.length === 0 && !this.closed) await this.pull();
    const value = this.out.shift();
    if (value) return { done: false, value };
    return { done: true, value: undefined };
  }

  cancel(reason?: unknown): Promise<void> {
    this.closed = true;
    this.out = [];
    this.silence.stop();
    return this.reader.cancel(reason);
  }

  private async pull(): Promise<void> {
    const { params, settings } = this;
    while (true) {
      let failure: unknown;
      let part: LanguageModelV3StreamPart | undefined;
      try {
        this.silence.arm();
        const next = await this.reader.read();
        this.silence.disarm();
        if (this.closed) return; // cancelled while the read was pending
        if (next.done) {
          if (this.finished) {
            this.silence.stop();
            this.out.push(...this.held);
            this.held = [];
            this.closed = true;
            return;
          }
          failure = new IncompleteAnswerError(this.passedOn ? 'cut' : 'empty');
        } else part = next.value;
      } catch (err) {
        this.silence.disarm();
        if (this.closed) return;
        const cause = this.silence.explain(err);
        // A stall is named as such; anything else that broke the stream is a cut.
        failure = cause instanceof UpstreamSilenceError ? cause : new IncompleteAnswerError('cut', cause);
      }
      if (part?.type === 'error') failure = new IncompleteAnswerError('unreadable', part.error);
      if (part?.type === 'finish') {
        // An answer that claims to be complete (`stop`) but carries nothing is still empty.
        // `other`: a stream that carried an answer and ended cleanly, from a server that sends no
        // finish_reason (a broken connection is an error of the body, caught above, not this).
        const reason = part.finishReason.unified;
        if (
          (COMPLETE.has(reason) || reason === 'other') &&
          (this.passedOn || (reason !== 'stop' && reason !== 'other'))
        )
          this.finished = true;
        else failure = new IncompleteAnswerError(this.passedOn ? 'cut' : 'empty');
      }
      if (failure === undefined && part) {
        if (!this.passedOn && !carriesContent(part)) {
          this.held.push(part);
          continue;
        }
        if (!this.passedOn) {
          this.passedOn = true;
          this.out.push(...this.held);
          this.held = [];
        }
        this.out.push(part);
        return;
      }
      // The attempt failed. Redo the call if the caller has seen nothing of it.
      void this.reader.cancel().catch(() => {});
      this.silence.stop();
      const external = params.abortSignal?.aborted;
      // Silence is not retried: a second wait as long as the first would double the delay.
      if (
        !external &&
        !this.passedOn &&
        this.attempt < settings.retries &&
        !(failure instanceof UpstreamSilenceError)
      ) {
        this.attempt++;
        watchOf(params)?.redone(failure, this.attempt);
        this.held = [];
        this.finished = false;
        this.silence = new SilenceTimer(settings.timeoutMs, params.abortSignal);
        try {
          this.reader = await openGuarded(this.open, params, this.silence);
          continue;
        } catch (err) {
          failure = err;
        }
      }
      if (external) failure = params.abortSignal!.reason;
      this.out.push({ type: 'error', error: failure });
      this.closed = true;
      return;
    }
  }
}

function carriesContent(part: LanguageModelV3StreamPart): boolean {
  if (!CONTENT.has(part.type)) return false;
  return !('delta' in part) || part.delta !== '';
}

/**
 * Aborts one upstream call when the upstream stays silent for `ms`; armed while waiting for the
 * upstream, disarmed while the caller processes what arrived (a slow consumer is not silence).
 */
class SilenceTimer {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal;
  private readonly ms: number;
  private timer: NodeJS.Timeout | undefined;
  private silence: UpstreamSilenceError | undefined;
  private outer: AbortSignal | undefined;

  constructor(ms: number, outer: AbortSignal | undefined) {
    this.ms = ms;
    this.signal = this.controller.signal;
    // The outer signal is followed with a listener rather than `AbortSignal.any()`, whose weak
    // references and finalization records cost more than the call's other signals together.
    if (outer?.aborted) this.controller.abort(outer.reason);
    else if (outer) {
      this.outer = outer;
      outer.addEventListener('abort', this.onOuterAbort, { once: true });
    }
    this.arm();
  }

  private readonly onOuterAbort = () => this.controller.abort(this.outer!.reason);

  arm(): void {
    // Armed again on every part: restarting the one timer costs less than a new timer and closure.
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(this.onSilence, this.ms);
  }

  private readonly onSilence = () => {
    this.timer = undefined;
    this.silence = new UpstreamSilenceError(this.ms);
    this.controller.abort(this.silence);
  };

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The call is over: no more timing, and the outer signal forgets it. */
  stop(): void {
    this.disarm();
    this.outer?.removeEventListener('abort', this.onOuterAbort);
    this.outer = undefined;
  }

  /** The silence, when it is what ended the call (fetch reports it as a generic abort). */
  explain(err: unknown): unknown {
    return this.silence ?? err;
  }
}
