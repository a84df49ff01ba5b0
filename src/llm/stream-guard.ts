// Every upstream call goes through this guard (AI SDK middleware), which makes two promises the
// SDK alone does not:
//  - Silence, not length, is what times a call out: `timeoutMs` bounds the time to the first part
//    of the answer and the time between two parts of a stream, never the total, so a long answer
//    that keeps coming completes and a stalled one fails within `timeoutMs` of its last part.
//  - An answer is complete only when the upstream said so: a stream that breaks off, ends without
//    a finish reason, carries nothing, or is not a stream at all (a 200 HTML page) is an
//    `IncompleteAnswerError`. It is retried while nothing of it has reached the caller, and
//    otherwise ends the stream with that error (the caller already showed part of the answer).
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Middleware,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import { wrapLanguageModel } from 'ai';
import { IncompleteAnswerError, UpstreamSilenceError } from './upstream-error.ts';

export interface GuardSettings {
  /** Longest silence of the upstream within one call. */
  timeoutMs: number;
  /** Fresh attempts after an incomplete answer of which nothing was passed on yet. */
  retries: number;
}

const COMPLETE = new Set(['stop', 'length', 'tool-calls', 'content-filter']);
/** Parts that carry the answer itself: once one is passed on, the call can no longer be redone. */
const CONTENT = new Set([
  'text-start',
  'text-delta',
  'reasoning-delta',
  'tool-input-start',
  'tool-input-delta',
  'tool-call',
  'file',
]);

export function guardModel(model: LanguageModelV3, settings: GuardSettings): LanguageModelV3 {
  return wrapLanguageModel({ model, middleware: guardMiddleware(settings) });
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
    wrapStream: async ({ model, params }) => guardedStream(model, params, settings),
  };
}

// Promise chains rather than `await`, here and in `open`: a call waits for its upstream's first
// byte most of its life, and a suspended async function keeps its frame for all that time.
function guardedStream(
  model: LanguageModelV3,
  params: LanguageModelV3CallOptions,
  settings: GuardSettings,
): Promise<LanguageModelV3StreamResult> {
  const silence = new SilenceTimer(settings.timeoutMs, params.abortSignal);
  return openGuarded(model, params, silence).then((first) => guard(first, model, params, settings, silence));
}

function openGuarded(
  model: LanguageModelV3,
  params: LanguageModelV3CallOptions,
  silence: SilenceTimer,
): Promise<LanguageModelV3StreamResult> {
  return Promise.resolve(model.doStream({ ...params, abortSignal: silence.signal })).catch((err: unknown) => {
    silence.stop();
    throw silence.explain(err);
  });
}

function guard(
  first: LanguageModelV3StreamResult,
  model: LanguageModelV3,
  params: LanguageModelV3CallOptions,
  settings: GuardSettings,
  initial: SilenceTimer,
): LanguageModelV3StreamResult {
  let silence = initial;
  const open = () => openGuarded(model, params, silence);
  let reader = first.stream.getReader();
  let attempt = 0;
  let passedOn = false; // some content of this call reached the caller
  let held: LanguageModelV3StreamPart[] = []; // parts before the first content of the current attempt
  let finished = false;

  const stream = new ReadableStream<LanguageModelV3StreamPart>({
    async pull(controller) {
      while (true) {
        let failure: unknown;
        let part: LanguageModelV3StreamPart | undefined;
        try {
          silence.arm();
          const next = await reader.read();
          silence.disarm();
          if (next.done) {
            if (finished) {
              silence.stop();
              for (const p of held) controller.enqueue(p);
              held = [];
              controller.close();
              return;
            }
            failure = new IncompleteAnswerError(passedOn ? 'cut' : 'empty');
          } else part = next.value;
        } catch (err) {
          silence.disarm();
          const cause = silence.explain(err);
          // A stall is named as such; anything else that broke the stream is a cut.
          failure = cause instanceof UpstreamSilenceError ? cause : new IncompleteAnswerError('cut', cause);
        }
        if (part?.type === 'error') failure = new IncompleteAnswerError('unreadable', part.error);
        if (part?.type === 'finish') {
          // An answer that claims to be complete (`stop`) but carries nothing is still empty.
          // `other`: a stream that carried an answer and ended cleanly, from a server that sends no
          // finish_reason (a broken connection is an error of the body, caught above, not this).
          const reason = part.finishReason.unified;
          if ((COMPLETE.has(reason) || reason === 'other') && (passedOn || (reason !== 'stop' && reason !== 'other')))
            finished = true;
          else failure = new IncompleteAnswerError(passedOn ? 'cut' : 'empty');
        }
        if (failure === undefined && part) {
          if (!passedOn && !CONTENT.has(part.type)) {
            held.push(part);
            continue;
          }
          if (!passedOn) {
            passedOn = true;
            for (const p of held) controller.enqueue(p);
            held = [];
          }
          controller.enqueue(part);
          return;
        }
        // The attempt failed. Redo the call if the caller has seen nothing of it.
        void reader.cancel().catch(() => {});
        silence.stop();
        const external = params.abortSignal?.aborted;
        // Silence is not retried: a second wait as long as the first would double the delay.
        if (!external && !passedOn && attempt < settings.retries && !(failure instanceof UpstreamSilenceError)) {
          attempt++;
          held = [];
          finished = false;
          silence = new SilenceTimer(settings.timeoutMs, params.abortSignal);
          try {
            reader = (await open()).stream.getReader();
            continue;
          } catch (err) {
            failure = err;
          }
        }
        if (external) failure = params.abortSignal!.reason;
        controller.enqueue({ type: 'error', error: failure });
        controller.close();
        return;
      }
    },
    cancel(reason) {
      silence.stop();
      return reader.cancel(reason);
    },
  });
  return { ...first, stream };
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
    this.disarm();
    this.timer = setTimeout(() => {
      this.silence = new UpstreamSilenceError(this.ms);
      this.controller.abort(this.silence);
    }, this.ms);
  }

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
