// What a client is told when the upstream LLM fails, in OpenAI's error vocabulary. The upstream's
// own message is passed on only where it is about the request (a 400), never its credentials.
import { AISDKError, APICallError, RetryError } from 'ai';
import type { RunError } from '../orchestrator/events.ts';

export type { RunError };

/** The wait an upstream's rate-limit answer asks for, in whole seconds (`retry-after-ms` first, as OpenAI sends). */
function retryAfterOf(headers: Record<string, string> | undefined): number | undefined {
  const ms = Number(headers?.['retry-after-ms']);
  if (headers?.['retry-after-ms'] && Number.isFinite(ms) && ms >= 0) return Math.max(1, Math.ceil(ms / 1000));
  const value = headers?.['retry-after'];
  if (!value) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : undefined;
}

/** The upstream stayed silent longer than CORTEX_LLM_TIMEOUT_SECONDS within one call. */
export class UpstreamSilenceError extends Error {
  constructor(ms: number) {
    super(`The upstream model sent nothing for ${ms / 1000} s.`);
    this.name = 'TimeoutError';
  }
}

const INCOMPLETE = {
  cut: 'The upstream stream ended before the answer was complete.',
  empty: 'The upstream model sent an empty answer.',
  unreadable: 'The upstream model sent an answer that could not be read.',
} as const;

/**
 * A 200 labelled as a page (a proxy's or a login page's HTML) is named for what it is, not read as
 * an answer that happened to be empty. Only a page: servers that label their stream `text/plain`
 * (or not at all) are read as streams.
 */
export const isPageContentType = (type: string | undefined): type is string =>
  !!type && /html|xml|^(image|audio|video)\//i.test(type);

/** A 200 whose body is not the wire format at all (an HTML page): what it was, for the operator. */
export class NotAWireAnswerError extends Error {
  constructor(contentType: string) {
    super(`It answered with ${contentType.split(';')[0].trim().slice(0, 80)}, not a stream of chat completion chunks.`);
    this.name = 'NotAWireAnswerError';
  }
}

/** The message of an error frame the upstream sent in its stream (`data: {"error": {...}}`), if that is the cause. */
function frameMessage(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null || cause instanceof Error) return undefined;
  const message = (cause as { message?: unknown }).message;
  return typeof message === 'string' && message ? message.slice(0, 300) : undefined;
}

/** An upstream answer that did not end as a complete answer: cut off, empty or unreadable. */
export class IncompleteAnswerError extends Error {
  readonly kind: keyof typeof INCOMPLETE;
  constructor(kind: keyof typeof INCOMPLETE, cause?: unknown) {
    const said = frameMessage(cause);
    super(
      cause instanceof NotAWireAnswerError
        ? `${INCOMPLETE[kind]} ${cause.message}`
        : said !== undefined
          ? `The upstream model ended its stream with an error: ${JSON.stringify(said)}.`
          : INCOMPLETE[kind],
      { cause },
    );
    this.name = 'IncompleteAnswerError';
    this.kind = kind;
  }
}

/** A tool call the run cannot use, even after one fresh attempt: arguments that are not valid JSON
 * for the tool, or a tool that was not offered (src/agents/bad-tool-call.ts words each). */
export class BadToolCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadToolCallError';
  }
}

/** The answer did not match the client's `response_format`, even after one repair attempt. */
export class StructuredOutputError extends Error {
  constructor(reason: string) {
    super(`The model's answer did not match the requested response_format after one repair attempt: ${reason}`);
    this.name = 'StructuredOutputError';
  }
}

function lastCause(err: unknown): unknown {
  return RetryError.isInstance(err) ? err.lastError : err;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || /timeout/i.test(err.message));
}

/** The URL of an upstream call without credentials or query (where keys sometimes travel). */
export function safeUrl(url: string | undefined): string {
  if (!url) return 'the upstream';
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'the upstream';
  }
}

/** The innermost reason of a connection failure, e.g. `connect ECONNREFUSED 127.0.0.1:9`. */
export function connectionCause(err: unknown): string {
  let cause: unknown = err;
  let text = '';
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    text = typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
    cause = cause.cause;
  }
  return text || 'unknown cause';
}

/** The innermost error code of a connection failure (`ECONNREFUSED`, `ENOTFOUND`), which names no host. */
export function connectionCode(err: unknown): string {
  let cause: unknown = err;
  let found = 'connection failed';
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{2,40}$/.test(code)) found = code;
    cause = cause.cause;
  }
  return found;
}

/** The client-facing error of an upstream failure; undefined for an error that is not the upstream's. */
export function classifyError(err: unknown): RunError | undefined {
  const cause = lastCause(err);
  if (cause instanceof IncompleteAnswerError) {
    return { status: 502, type: 'server_error', code: 'upstream_incomplete', message: cause.message };
  }
  if (cause instanceof StructuredOutputError) {
    return { status: 502, type: 'server_error', code: 'invalid_structured_output', message: cause.message };
  }
  if (cause instanceof BadToolCallError) {
    return { status: 502, type: 'server_error', code: 'upstream_bad_tool_call', message: cause.message };
  }
  if (cause instanceof UpstreamSilenceError) {
    return {
      status: 504,
      type: 'server_error',
      code: 'upstream_timeout',
      message: `${cause.message} (CORTEX_LLM_TIMEOUT_SECONDS)`,
    };
  }
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode;
    const detail = upstreamMessage(cause);
    if (status === 400 || status === 413 || status === 422) {
      return {
        status: 400,
        type: 'invalid_request_error',
        code: 'upstream_invalid_request',
        message: `The upstream model rejected the request: ${detail}`,
      };
    }
    if (status === 401 || status === 403) {
      return {
        status: 502,
        type: 'server_error',
        code: 'upstream_auth_failed',
        message: "The upstream model refused the server's credentials; check the provider API key.",
      };
    }
    if (status === 404) {
      return {
        status: 502,
        type: 'server_error',
        code: 'upstream_model_not_found',
        message: `The upstream provider does not know the configured model: ${detail}`,
      };
    }
    if (status === 429) {
      const retryAfterSeconds = retryAfterOf(cause.responseHeaders);
      return {
        status: 429,
        type: 'rate_limit_error',
        code: 'upstream_rate_limited',
        message: 'The upstream model is rate limiting this server; try again shortly.',
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      };
    }
    if (status === undefined) {
      return {
        status: 502,
        type: 'server_error',
        code: 'upstream_unreachable',
        // Its address and the connection's own words (`getaddrinfo ENOTFOUND llm.internal`) name
        // hosts of the operator's network: the client hears the error code, the log the rest.
        message: `The upstream model could not be reached (${connectionCode(cause.cause ?? cause)}); the server's log names the address.`,
        detail: `${safeUrl(cause.url)}: ${connectionCause(cause.cause ?? cause)}`,
      };
    }
    if (status >= 200 && status < 300) {
      // The upstream accepted the call, then its answer broke off (the SDK reports the HTTP status).
      return { status: 502, type: 'server_error', code: 'upstream_incomplete', message: INCOMPLETE.cut };
    }
    return {
      status: 502,
      type: 'server_error',
      code: 'upstream_error',
      message: `The upstream model failed with status ${status}.`,
    };
  }
  if (isTimeout(cause)) {
    return {
      status: 504,
      type: 'server_error',
      code: 'upstream_timeout',
      message: 'The upstream model did not answer in time.',
    };
  }
  if (AISDKError.isInstance(cause)) {
    return {
      status: 502,
      type: 'server_error',
      code: 'upstream_bad_response',
      message: 'The upstream model sent an answer that could not be read.',
    };
  }
  return undefined;
}

function upstreamMessage(err: APICallError): string {
  const data = err.data as { error?: { message?: unknown } } | undefined;
  const fromData = typeof data?.error?.message === 'string' ? data.error.message : undefined;
  return (fromData ?? err.message).slice(0, 500);
}
