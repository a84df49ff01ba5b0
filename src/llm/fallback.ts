// CORTEX_FALLBACK_MODEL: when the configured model keeps failing in a way another model could fix
// (5xx, 429, connection errors, timeouts, unknown model), the same call goes to the fallback, once.
// The wrapper sits under the AI SDK's retries: a failure the SDK will retry is passed up while the
// configured model has retries left, so the fallback is asked only in place of the last one (or at
// once for a failure the SDK does not retry, as an unknown model or a silent upstream). The run's
// trace says so, as it says of a retry (src/llm/retry-watch.ts).
import type { LanguageModelV3, LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { APICallError } from 'ai';
import { openParts, type PartSource } from './part-reader.ts';
import type { ResolvedModel } from './providers.ts';
import { watchOf } from './retry-watch.ts';

function worthFallingBack(err: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  if (APICallError.isInstance(err))
    return err.isRetryable || err.statusCode === undefined || err.statusCode >= 500 || err.statusCode === 404;
  return (
    err instanceof Error &&
    (err.name === 'TimeoutError' || /fetch failed|ECONNRESET|ECONNREFUSED|socket/i.test(err.message))
  );
}

export function withFallback(primary: ResolvedModel, fallback: ResolvedModel, maxRetries: number): ResolvedModel {
  const p = primary.model as LanguageModelV3;
  const f = fallback.model as LanguageModelV3;
  // Attempts of one call, known by its prompt: the SDK's retries (and the stream guard's) pass the
  // same prompt again in a new options object.
  const attempts = new WeakMap<object, number>();
  const fallBack = <T>(err: unknown, options: LanguageModelV3CallOptions, viaFallback: () => PromiseLike<T>) => {
    if (!worthFallingBack(err, options.abortSignal)) throw err;
    const tried = (attempts.get(options.prompt) ?? 0) + 1;
    attempts.set(options.prompt, tried);
    if (APICallError.isInstance(err) && err.isRetryable && tried <= maxRetries) throw err;
    watchOf(options)?.fellBack(err, tried, fallback.name);
    return viaFallback();
  };
  const model: PartSource = {
    specificationVersion: 'v3',
    provider: p.provider,
    modelId: p.modelId,
    supportedUrls: p.supportedUrls,
    doGenerate: (options) =>
      Promise.resolve(p.doGenerate(options)).catch((err) => fallBack(err, options, () => f.doGenerate(options))),
    doStream: (options) =>
      Promise.resolve(p.doStream(options)).catch((err) => fallBack(err, options, () => f.doStream(options))),
    // The same for a call read as parts (src/llm/part-reader.ts), whichever way each model offers it.
    openParts: (options) => openParts(p, options).catch((err) => fallBack(err, options, () => openParts(f, options))),
  };
  return { name: `${primary.name} (fallback ${fallback.name})`, model };
}
