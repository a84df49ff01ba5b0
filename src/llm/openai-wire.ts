// The lean path of an OpenAI-wire upstream (the `openai`, `ollama` and `compatible` providers): the
// provider model as the AI SDK builds it, plus `openParts`, which makes the same streamed Chat
// Completions call without the SDK's transport. The request body is the SDK's own (its `getArgs`:
// messages, tools, response_format, sampling, provider options), sent with the SDK's headers over
// the keep-alive pool; the answer is read from the node:http response as it arrives: SSE split by
// hand, one JSON.parse per chunk, no web streams (the SDK pipes the body through six of them) and no
// zod per chunk. Failures are the SDK's `APICallError`s, so retries, the fallback and the error
// classification treat both paths alike. A provider whose model does not look as expected (another
// SDK version) is left as it is: `doStream()` then serves every call.
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { APICallError, type LanguageModelV3, type LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { KeepAlivePool } from './http-fetch.ts';
import { ChatChunkReader, type WireFlavor } from './openai-wire-chunks.ts';
import type { PartReader, PartSource, StreamPart } from './part-reader.ts';
import { SseDataReader } from './sse-data.ts';

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

interface CallInfo {
  url: string;
  body: Record<string, unknown>;
  signal: AbortSignal | undefined;
  responseHeaders: Record<string, string>;
}

async function open(
  pool: KeepAlivePool,
  call: CallInfo,
  headers: Record<string, string>,
  flavor: WireFlavor,
): Promise<PartReader> {
  let res: IncomingMessage;
  try {
    res = await pool.post(new URL(call.url), headers, JSON.stringify(call.body), call.signal);
  } catch (err) {
    if (call.signal?.aborted) throw call.signal.reason;
    // As the SDK reports a failed fetch: retryable, the socket's error as the cause.
    throw new APICallError({
      message: `Cannot connect to API: ${(err as Error).message}`,
      cause: err,
      url: call.url,
      requestBodyValues: call.body,
      isRetryable: true,
    });
  }
  call.responseHeaders = headersOf(res);
  const status = res.statusCode ?? 502;
  if (status < 200 || status > 299) throw await failedResponse(res, status, call);
  const reader = new ChatPartsReader(res, flavor, call);
  // The OpenAI provider fails the call itself (retryable by status) when the stream's first frame
  // is an error, rather than starting an answer with it.
  if (flavor === 'openai') await reader.firstOutput;
  return reader;
}

/** An error status, as the providers report it: the upstream's own message when it sent one. */
async function failedResponse(res: IncomingMessage, status: number, call: CallInfo): Promise<unknown> {
  let text = '';
  try {
    res.setEncoding('utf8');
    for await (const piece of res) text += piece as string;
  } catch (err) {
    if (call.signal?.aborted) return call.signal.reason;
  }
  const common = {
    url: call.url,
    requestBodyValues: call.body,
    statusCode: status,
    responseHeaders: call.responseHeaders,
    responseBody: text,
  };
  if (text.trim() !== '') {
    try {
      const data = JSON.parse(text) as { error?: { message?: unknown } };
      if (typeof data?.error?.message === 'string')
        return new APICallError({ ...common, message: data.error.message, data });
    } catch {
      // not JSON: the status text is the message
    }
  }
  return new APICallError({ ...common, message: res.statusMessage ?? `status ${status}` });
}

const HIGH_WATER = 64;

/**
 * The parts of one streamed answer, read from the response body as it arrives. Parts wait in a
 * queue only while the caller is busy (the body is paused when it grows); a waiting `read()` gets
 * the next part directly.
 */
class ChatPartsReader implements PartReader {
  private readonly res: IncomingMessage;
  private readonly call: CallInfo;
  private readonly sse = new SseDataReader();
  private readonly chunks: ChatChunkReader;
  private readonly flavor: WireFlavor;
  private parts: StreamPart[] = [];
  private head = 0;
  private waiter:
    { resolve: (r: ReadableStreamReadResult<StreamPart>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: unknown;
  private paused = false;
  private opening: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  /** Settles once the answer's first output (or its end, or an unreadable chunk) arrived. */
  readonly firstOutput: Promise<void>;

  constructor(res: IncomingMessage, flavor: WireFlavor, call: CallInfo) {
    this.res = res;
    this.call = call;
    this.flavor = flavor;
    this.chunks = new ChatChunkReader(flavor, this.push);
    this.firstOutput = new Promise((resolve, reject) => (this.opening = { resolve, reject }));
    if (flavor !== 'openai') this.opened();
    res.setEncoding('utf8');
    res.on('data', this.onData);
    res.on('end', this.onEnd);
    res.on('error', this.onError);
    res.on('close', this.onClose);
  }

  read(): Promise<ReadableStreamReadResult<StreamPart>> {
    if (this.head < this.parts.length) {
      const value = this.parts[this.head++]!;
      if (this.head === this.parts.length) {
        this.parts = [];
        this.head = 0;
      }
      if (this.paused && this.parts.length - this.head < HIGH_WATER / 2) this.resume();
      return Promise.resolve({ done: false, value });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.paused) this.resume();
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  cancel(): Promise<void> {
    this.ended = true;
    this.parts = [];
    this.head = 0;
    // The answer is abandoned mid-way: the connection cannot be reused, it is closed.
    if (!this.res.complete) this.res.destroy();
    this.settleWaiter();
    return Promise.resolve();
  }

  private resume(): void {
    this.paused = false;
    this.res.resume();
  }

  private readonly push = (part: StreamPart): void => {
    if (part.type === 'error') this.opened();
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: part });
      return;
    }
    this.parts.push(part);
    if (!this.paused && this.parts.length - this.head > HIGH_WATER) {
      this.paused = true;
      this.res.pause();
    }
  };

  private readonly onData = (piece: string): void => {
    if (this.ended) return;
    this.sse.feed(piece, this.onEvent);
  };

  private readonly onEvent = (data: string): void => {
    if (this.ended) return;
    const frame = this.chunks.read(data);
    if (frame) {
      if (this.opening && this.flavor === 'openai' && !this.chunks.sawOutput) {
        const error = streamError(frame, this.call);
        this.opening.reject(error);
        this.opening = undefined;
        void this.cancel();
        return;
      }
      this.chunks.errorFrame(frame);
    }
    if (this.chunks.sawOutput) this.opened();
  };

  private readonly onEnd = (): void => {
    if (this.ended) return;
    this.chunks.end();
    this.ended = true;
    this.opened();
    this.settleWaiter();
  };

  private readonly onError = (err: unknown): void => this.fail(err);

  private readonly onClose = (): void => {
    // Closed before its end without an error event: the connection went away mid-answer.
    if (!this.ended && this.failure === undefined) this.fail(new Error('aborted'));
  };

  private fail(err: unknown): void {
    if (this.ended || this.failure !== undefined) return;
    const signal = this.call.signal;
    this.failure = signal?.aborted
      ? signal.reason
      : new APICallError({
          message: 'Failed to process successful response',
          cause: err,
          statusCode: this.res.statusCode,
          url: this.call.url,
          responseHeaders: this.call.responseHeaders,
          requestBodyValues: this.call.body,
          isRetryable: true,
        });
    if (this.opening) {
      this.opening.reject(this.failure);
      this.opening = undefined;
    }
    this.settleWaiter();
  }

  private opened(): void {
    this.opening?.resolve();
    this.opening = undefined;
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (!waiter || this.head < this.parts.length) return;
    this.waiter = undefined;
    if (this.failure !== undefined) waiter.reject(this.failure);
    else waiter.resolve({ done: true, value: undefined });
  }
}

function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
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

// An error frame before any output, as the OpenAI provider reports it: its status read from the
// frame's code or type, retryable as an HTTP status would be (unless the quota is exhausted).
function streamError(frame: Record<string, unknown>, call: CallInfo): APICallError {
  const parsed = parseStreamError(frame);
  const statusCode = parsed ? statusOf(parsed) : 500;
  const retryable =
    !parsed ||
    (parsed.code !== 'insufficient_quota' &&
      parsed.type !== 'insufficient_quota' &&
      (statusCode === 408 || statusCode === 409 || statusCode === 429 || statusCode >= 500));
  return new APICallError({
    message: parsed?.message ?? 'OpenAI stream failed before any output was generated',
    url: call.url,
    requestBodyValues: call.body,
    statusCode,
    responseHeaders: call.responseHeaders,
    responseBody: JSON.stringify(frame),
    data: frame,
    isRetryable: retryable,
  });
}

interface StreamErrorInfo {
  message: string;
  code: string | number | undefined;
  type: string | undefined;
}

function parseStreamError(frame: Record<string, unknown>): StreamErrorInfo | undefined {
  const error = (typeof frame.error === 'object' && frame.error !== null ? frame.error : frame) as Record<
    string,
    unknown
  >;
  if (typeof error.message !== 'string') return undefined;
  const code = typeof error.code === 'string' || typeof error.code === 'number' ? error.code : undefined;
  return { message: error.message, code, type: typeof error.type === 'string' ? error.type : undefined };
}

function statusOf(error: StreamErrorInfo): number {
  const isHttpError = (n: number) => Number.isInteger(n) && n >= 400 && n <= 599;
  if (typeof error.code === 'number' && isHttpError(error.code)) return error.code;
  if (typeof error.code === 'string' && /^\d{3}$/.test(error.code) && isHttpError(Number(error.code)))
    return Number(error.code);
  const words = [error.code, error.type]
    .filter((v) => v !== undefined)
    .join(' ')
    .toLowerCase();
  if (words.includes('insufficient_quota') || words.includes('rate_limit')) return 429;
  if (words.includes('authentication')) return 401;
  if (words.includes('permission')) return 403;
  if (words.includes('not_found')) return 404;
  if (['invalid', 'bad_request', 'context_length'].some((w) => words.includes(w))) return 400;
  if (words.includes('overload')) return 503;
  if (words.includes('timeout')) return 504;
  return 500;
}
