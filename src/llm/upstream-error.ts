// What a client is told when the upstream LLM fails, in OpenAI's error vocabulary. The upstream's
// own message is passed on only where it is about the request (a 400), never its credentials.
import { AISDKError, APICallError, RetryError } from 'ai';

export interface RunError {
  message: string;
  status: number;
  type: string;
  code: string | null;
}

function lastCause(err: unknown): unknown {
  return RetryError.isInstance(err) ? err.lastError : err;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || /timeout/i.test(err.message));
}

/** The client-facing error of an upstream failure; undefined for an error that is not the upstream's. */
export function classifyError(err: unknown): RunError | undefined {
  const cause = lastCause(err);
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
      return {
        status: 429,
        type: 'rate_limit_error',
        code: 'upstream_rate_limited',
        message: 'The upstream model is rate limiting this server; try again shortly.',
      };
    }
    if (status === undefined) {
      return {
        status: 502,
        type: 'server_error',
        code: 'upstream_unreachable',
        message: 'The upstream model could not be reached.',
      };
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
