// The upstream's failures on the lean OpenAI-wire path, as the AI SDK's providers report them
// (`APICallError`, with the same status, message, data and retryability), so that the retries,
// the fallback and `classifyError()` cannot tell the two paths apart.
import { APICallError } from '@ai-sdk/provider';
import type { UpstreamAnswer } from './upstream-answer.ts';

/** What an error report names of the call: where it went, what it sent, what came back. */
export interface CallInfo {
  url: string;
  body: Record<string, unknown>;
  signal: AbortSignal | undefined;
  responseHeaders: Record<string, string>;
}

/** A connection that failed before any answer, as the SDK reports a failed fetch: retryable. */
export function connectionError(err: unknown, call: CallInfo): unknown {
  if (call.signal?.aborted) return call.signal.reason;
  return new APICallError({
    message: `Cannot connect to API: ${(err as Error).message}`,
    cause: err,
    url: call.url,
    requestBodyValues: call.body,
    isRetryable: true,
  });
}

/** A body that broke off after its status (reset, closed early): retryable, the socket's error as the cause. */
export function bodyError(err: unknown, status: number | undefined, call: CallInfo): unknown {
  if (call.signal?.aborted) return call.signal.reason;
  return new APICallError({
    message: 'Failed to process successful response',
    cause: err,
    statusCode: status,
    url: call.url,
    responseHeaders: call.responseHeaders,
    requestBodyValues: call.body,
    isRetryable: true,
  });
}

/** An error status, as the providers report it: the upstream's own message when it sent one. */
export async function failedResponse(res: UpstreamAnswer, status: number, call: CallInfo): Promise<unknown> {
  const pieces: Buffer[] = [];
  // A body that breaks off leaves the status and what arrived to report.
  const broken = await new Promise<boolean>((settle) =>
    res.listen({ data: (piece) => pieces.push(piece), end: () => settle(false), error: () => settle(true) }),
  );
  if (broken && call.signal?.aborted) return call.signal.reason;
  const text = Buffer.concat(pieces).toString('utf8');
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
  return new APICallError({ ...common, message: res.statusText || `status ${status}` });
}

// An error frame before any output, as the OpenAI provider reports it: its status read from the
// frame's code or type, retryable as an HTTP status would be (unless the quota is exhausted).
export function streamError(frame: Record<string, unknown>, call: CallInfo): APICallError {
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
