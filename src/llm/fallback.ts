// CORTEX_FALLBACK_MODEL: when a call to the configured model fails in a way another model could
// fix (5xx, 429, connection errors, timeouts, unknown model), the same call goes to the fallback.
// It sits under the AI SDK's retries, so every retry attempt tries the primary first.
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { APICallError } from 'ai';
import { openParts, type PartSource } from './part-reader.ts';
import type { ResolvedModel } from './providers.ts';

function worthFallingBack(err: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  if (APICallError.isInstance(err))
    return err.isRetryable || err.statusCode === undefined || err.statusCode >= 500 || err.statusCode === 404;
  return (
    err instanceof Error &&
    (err.name === 'TimeoutError' || /fetch failed|ECONNRESET|ECONNREFUSED|socket/i.test(err.message))
  );
}

export function withFallback(primary: ResolvedModel, fallback: ResolvedModel): ResolvedModel {
  const p = primary.model as LanguageModelV3;
  const f = fallback.model as LanguageModelV3;
  const model: PartSource = {
    specificationVersion: 'v3',
    provider: p.provider,
    modelId: p.modelId,
    supportedUrls: p.supportedUrls,
    async doGenerate(options) {
      try {
        return await p.doGenerate(options);
      } catch (err) {
        if (!worthFallingBack(err, options.abortSignal)) throw err;
        return f.doGenerate(options);
      }
    },
    async doStream(options) {
      try {
        return await p.doStream(options);
      } catch (err) {
        if (!worthFallingBack(err, options.abortSignal)) throw err;
        return f.doStream(options);
      }
    },
    // The same for a call read as parts (src/llm/part-reader.ts), whichever way each model offers it.
    async openParts(options) {
      try {
        return await openParts(p, options);
      } catch (err) {
        if (!worthFallingBack(err, options.abortSignal)) throw err;
        return openParts(f, options);
      }
    },
  };
  return { name: `${primary.name} (fallback ${fallback.name})`, model };
}
