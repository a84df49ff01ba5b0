// The errors of a run's lifecycle, in OpenAI's envelope. Once a run exists, its error names it:
// `x-cortex-run-id` on the response and `run_id` in the `error` object, so that a client can look
// the failed run up (GET /v1/runs/{id}) and quote it in a bug report, and `x-conversation-id`, the
// conversation that holds the turn.
import { ApiError, invalidRequest } from '../http/errors.ts';

export const RUN_ID_HEADER = 'x-cortex-run-id';
export const CONVERSATION_HEADER = 'x-conversation-id';

/** An ApiError that names the run(s) it ended. */
export class RunApiError extends ApiError {
  readonly runId: string;

  constructor(error: ApiError, runIds: string[], failedRunId = runIds[0], conversationId?: string) {
    super(error.status, error.type, error.message, {
      param: error.param,
      code: error.code,
      // The conversation holds the turn (its question, the failed run): a retry can name it.
      headers: {
        ...error.headers,
        [RUN_ID_HEADER]: runIds.join(','),
        ...(conversationId ? { [CONVERSATION_HEADER]: conversationId } : {}),
      },
    });
    this.runId = failedRunId;
  }

  override toJSON() {
    const body = super.toJSON();
    return { error: { ...body.error, run_id: this.runId } };
  }
}

export const tooManyChoices = (n: number, max: number) =>
  invalidRequest(
    `Invalid 'n': ${n} choices were asked, this server allows at most ${max} (CORTEX_MAX_CHOICES).`,
    'n',
    'too_many_choices',
  );

export const tooManyConcurrentRuns = () =>
  new ApiError(429, 'rate_limit_error', 'Too many runs are in progress on this server; try again shortly.', {
    code: 'too_many_concurrent_runs',
    headers: { 'retry-after': '1' },
  });

/** The API key holds its whole share of the run slots (CORTEX_MAX_RUNS_PER_KEY), and none freed up in time. */
export const tooManyRunsForKey = (share: number) =>
  new ApiError(
    429,
    'rate_limit_error',
    `This API key already has ${share} runs in progress, its share of this server's runs; try again when one has finished.`,
    { code: 'too_many_concurrent_runs', headers: { 'retry-after': '1' } },
  );

/** A context over the budget, from a client that asked not to have it trimmed (Responses `truncation: "disabled"`). */
export const contextTooLong = (budget: number) =>
  invalidRequest(
    `Your input exceeds the context window of this server (${budget} tokens, OPENAI_COMPAT_MAX_CONTEXT_TOKENS) and 'truncation' is 'disabled'. ` +
      `Send less input, or set 'truncation' to 'auto' to drop the oldest turns.`,
    'input',
    'context_length_exceeded',
  );

/** More choices than the server may ever run at once: waiting would never help. */
export const choicesExceedCapacity = (n: number, capacity: number, perKey: boolean) =>
  invalidRequest(
    `Invalid 'n': ${n} choices cannot run at once on this server (${perKey ? 'CORTEX_MAX_RUNS_PER_KEY' : 'CORTEX_MAX_CONCURRENT_RUNS'} is ${capacity}).`,
    'n',
    'too_many_choices',
  );

/** Another turn of the conversation is still running; the client may retry (the OpenAI SDKs retry a 409). */
export const conversationBusy = (conversationId: string, waitedSeconds: number) =>
  new ApiError(
    409,
    'invalid_request_error',
    `Another turn of conversation '${conversationId}' is still in progress (waited ${waitedSeconds}s); ` +
      'retry once it has finished.',
    { param: 'conversation_id', code: 'conversation_busy', headers: { 'retry-after': '1' } },
  );

/** The answer was produced but could not be stored: the client must not believe its turn was kept. */
export const turnNotStored = () =>
  new ApiError(503, 'server_error', 'The answer could not be stored, so this turn was not kept. Please retry.', {
    code: 'turn_not_stored',
    headers: { 'retry-after': '1' },
  });

/** Another turn took the conversation over while this one ran (its lease ran out): its answer is not kept. */
export const turnTakenOver = () =>
  new ApiError(
    503,
    'server_error',
    'The conversation went on without this turn (the server lost its hold on it while the turn ran), so its answer was not kept. Please retry.',
    { code: 'turn_not_stored', headers: { 'retry-after': '1' } },
  );

/** The client went away while its request waited: nobody will read this, it only ends the request. */
export const clientClosedRequest = () =>
  new ApiError(499, 'invalid_request_error', 'The client closed the request before it was served.', {
    code: 'client_closed_request',
  });
