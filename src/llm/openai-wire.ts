// The lean path of an OpenAI-wire upstream (the `openai`, `ollama` and `compatible` providers): the
// provider model as the AI SDK builds it, plus `openParts`, which makes the same streamed Chat
// Completions call without the SDK's transport. The request body is the SDK's own (its `getArgs`:
// messages, tools, response_format, sampling, provider options), sent with the SDK's headers over
// undici's dispatcher; the answer is read as it arrives (src/llm/upstream-answer.ts): SSE split by
// hand, one JSON.parse per chunk, no web streams (the SDK pipes the body through six of them) and no
// zod per chunk. Failures are the SDK's `APICallError`s, so retries, the fallback and the error
// classification treat both paths alike. A provider whose model does not look as expected (another
// SDK version) is left as it is: `doStream()` then serves every call.
import { createRequire } from 'node:module';
import type { LanguageModelV3, LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { KeepAlivePool } from './http-fetch.ts';
import type { WireFlavor } from './openai-wire-chunks.ts';
import { connectionError, failedResponse, type CallInfo } from './openai-wire-errors.ts';
import { ChatPartsReader } from './openai-wire-reader.ts';
import type { PartReader, PartSource } from './part-reader.ts';
import type { UpstreamAnswer } from './upstream-answer.ts';

/** The parts of the SDK's chat model this path builds on (not in its public types). */
interface SdkChatModel extends LanguageModelV3 {
  getArgs(options: LanguageModelV3CallOptions): Promise<{ args: Record<string, unknown>; warnings: unknown[] }>;
  transformRequestBody?(body: Record<string, unknown>, warnings: unknown[]): Record<string, unknown>;
  config: {
    url(o: { path: string; modelId: string }): string;
    headers(): Record<string, string | undefined>;
    includeUsage?: boolean;
  };
}

function looksLikeSdkChatModel(model: LanguageModelV3): model is SdkChatModel {
  const m = model as Partial<SdkChatModel>;
  return (
    typeof m.getArgs === 'function' && typeof m.config?.url === 'function' && typeof m.config?.headers === 'function'
  );
}

/** The package a provider model comes from, whose provider-utils names itself in the user agent. */
const PROVIDER_PACKAGE: Record<WireFlavor, string> = {
  openai: '@ai-sdk/openai',
  compatible: '@ai-sdk/openai-compatible',
};

/** Adds `openParts` to an OpenAI-wire provider model; any other model is returned as it is. */
export function withOpenAIWire(model: LanguageModelV3, pool: KeepAlivePool, flavor: WireFlavor): LanguageModelV3 {
  if (!looksLikeSdkChatModel(model)) return model;
  const userAgent = userAgentSuffix(PROVIDER_PACKAGE[flavor]);
  if (!userAgent) return model;
  let headers: Record<string, string> | undefined;
  const source: PartSource = {
    specificationVersion: 'v3',
    provider: model.provider,
    modelId: model.modelId,
    get supportedUrls() {
      return model.supportedUrls;
    },
    doGenerate: (options) => model.doGenerate(options),
    doStream: (options) => model.doStream(options),
    openParts: async (options) => {
      const { args, warnings } = await model.getArgs(flavor === 'compatible' ? { ...options } : options);
      const body = requestBody(model, flavor, args, warnings);
      const url = model.config.url({ path: '/chat/completions', modelId: model.modelId });
      // The provider's headers do not change between calls (its key is given, not read per call).
      const sent = options.headers
        ? requestHeaders(model.config.headers(), options.headers, userAgent)
        : (headers ??= requestHeaders(model.config.headers(), undefined, userAgent));
      const call: CallInfo = { url, body, signal: options.abortSignal, responseHeaders: {} };
      return open(pool, call, sent, flavor);
    },
  };
  return source;
}

/** The body as the provider's `doStream()` sends it. */
function requestBody(
  model: SdkChatModel,
  flavor: WireFlavor,
  args: Record<string, unknown>,
  warnings: unknown[],
): Record<string, unknown> {
  if (flavor === 'openai') return { ...args, stream: true, stream_options: { include_usage: true } };
  const body = {
    ...args,
    stream: true,
    stream_options: model.config.includeUsage ? { include_usage: true } : undefined,
  };
  return model.transformRequestBody ? model.transformRequestBody(body, warnings) : body;
}

async function open(
  pool: KeepAlivePool,
  call: CallInfo,
  headers: Record<string, string>,
  flavor: WireFlavor,
): Promise<PartReader> {
  let res: UpstreamAnswer;
  try {
    res = await pool.send({
      method: 'POST',
      url: new URL(call.url),
      headers,
      body: JSON.stringify(call.body),
      signal: call.signal,
    });
  } catch (err) {
    throw connectionError(err, call);
  }
  call.responseHeaders = res.headers;
  const status = res.status;
  if (status < 200 || status > 299) throw await failedResponse(res, status, call);
  const reader = new ChatPartsReader(res, flavor, call);
  // The OpenAI provider fails the call itself (retryable by status) when the stream's first frame
  // is an error, rather than starting an answer with it.
  if (flavor === 'openai') await reader.firstOutput;
  return reader;
}

/**
 * The headers the SDK sends: the provider's (key, its own user agent), the call's, JSON's content
 * type, and provider-utils' user agent after the provider's; lower-case names in sorted order, as
 * the SDK's `Headers` round trip leaves them.
 */
function requestHeaders(
  provider: Record<string, string | undefined>,
  call: Record<string, string | undefined> | undefined,
  userAgent: string,
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({ 'Content-Type': 'application/json', ...provider, ...call }))
    if (value != null) merged[name.toLowerCase()] = String(value).trim();
  merged['user-agent'] = [merged['user-agent'] ?? '', userAgent].filter(Boolean).join(' ');
  const out: Record<string, string> = {};
  for (const name of Object.keys(merged).sort()) out[name] = merged[name]!;
  return out;
}

/** `ai-sdk/provider-utils/<version> runtime/<runtime>`, as the provider's own provider-utils writes it. */
function userAgentSuffix(providerPackage: string): string | undefined {
  try {
    const require = createRequire(import.meta.resolve(providerPackage));
    const { version } = require('@ai-sdk/provider-utils/package.json') as { version: string };
    return `ai-sdk/provider-utils/${version} ${runtimeUserAgent()}`;
  } catch {
    return undefined;
  }
}

function runtimeUserAgent(): string {
  const g = globalThis as { window?: unknown; navigator?: { userAgent?: string } };
  if (g.window) return 'runtime/browser';
  if (g.navigator?.userAgent) return `runtime/${g.navigator.userAgent.toLowerCase()}`;
  return `runtime/node.js/${process.version}`;
}
