// OpenAI's error envelope `{error:{message,type,param,code}}` and the statuses of the API contract:
// 400 invalid_request_error, 401 invalid_api_key, 404 not_found_error, 413 request_too_large,
// 408 request_timeout, 414/431 (request line or headers too large), 422 validation_error,
// 429 rate_limit_exceeded, 500 server_error, 503 service_unavailable.
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    type: string,
    message: string,
    opts: { param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }

  toJSON(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(400, 'invalid_request_error', message, { param, code });

/** A parameter OpenAI has that this server cannot honour: refused by name, never dropped. */
export const unsupportedParameter = (param: string, why: string) =>
  invalidRequest(`Unsupported parameter: '${param}' ${why}`, param, 'unsupported_parameter');

export const validationError = (message: string, param: string | null = null, code: string | null = null) =>
  new ApiError(422, 'validation_error', message, { param, code });

/** A parameter the request must have and does not (the body's, a message's, a query's). */
export const missingParameter = (param: string) =>
  validationError(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

export const notFound = (message: string, code: string, param: string | null = null) =>
  new ApiError(404, 'not_found_error', message, { param, code });

export const modelNotFound = (model: string) =>
  notFound(
    `The model '${model}' does not exist. GET /v1/models lists the available models.`,
    'model_not_found',
    'model',
  );

export const serverError = (message = 'The server had an error while processing your request.') =>
  new ApiError(500, 'server_error', message, { code: 'internal_error' });

/** The store (database) does not answer: the same 503 as `/ready` says, so clients and balancers retry. */
export const storeUnavailable = () =>
  new ApiError(503, 'service_unavailable', 'The store is unreachable; please retry shortly.', {
    code: 'store_unreachable',
    // A database restarting or failing over is back in seconds, not in the SDKs' first backoff (0.5 s).
    headers: { 'retry-after': '2' },
  });

/** The store answers but another writer holds it past the wait: transient, retry shortly. */
export const storeBusy = () =>
  new ApiError(503, 'service_unavailable', 'The store is busy (another writer holds it); please retry shortly.', {
    code: 'store_busy',
    headers: { 'retry-after': '1' },
  });

export const shuttingDown = () =>
  new ApiError(503, 'server_error', 'The server is shutting down; please retry.', {
    code: 'server_shutting_down',
    // Another replica, or this one restarted, serves the retry: soon, not after a client's own backoff.
    headers: { connection: 'close', 'retry-after': '1' },
  });
