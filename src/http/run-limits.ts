// The limits a chat request meets before and during its run: per-key rate limits, message count
// and length, and the reasons the server itself may stop a run (time limit, shutdown).
import type { AppDeps } from './deps.ts';
import { ApiError, invalidRequest, modelNotFound } from './errors.ts';
import type { ChatRequest } from './chat-request.ts';

/**
 * Why a run stopped before it finished: its client left or asked it to stop, the server stopped it,
 * or another choice of its request (n > 1) failed, which fails the request.
 */
export type StopReason = 'client' | 'cancelled' | 'timeout' | 'shutdown' | 'choice_failed';
type ServerStop = Exclude<StopReason, 'client' | 'cancelled' | 'choice_failed'>;

/** Why a choice stopped because another one failed, in its record and its trace. */
export const CHOICE_FAILED = 'another choice of the request failed, which ended the request';

export const isServerStop = (reason: StopReason | undefined): reason is ServerStop =>
  reason === 'timeout' || reason === 'shutdown';

/** The reason a client's signal is aborted with when it asks for the run to stop, rather than leaving. */
export const CANCEL_REQUESTED = new Error('The client cancelled the run.');

/** What a client is told when the server stopped its run: the run had started, so its turn is stored. */
export const STOPPED: Record<ServerStop, ApiError> = {
  timeout: new ApiError(
    504,
    'server_error',
    'The run took longer than this server allows (CORTEX_MAX_RUN_SECONDS); the turn was stored with what the run had produced.',
    { code: 'run_timeout' },
  ),
  shutdown: new ApiError(
    503,
    'server_error',
    'The server is shutting down and stopped the run; the turn was stored with what the run had produced. Please retry.',
    // As every 503 server_shutting_down: another replica, or this one restarted, serves the retry.
    { code: 'server_shutting_down', headers: { 'retry-after': '1' } },
  ),
};

/** A request admitted once a shutdown's drain began: its run never started, and nothing was stored. */
export const NOT_STARTED_SHUTTING_DOWN = new ApiError(
  503,
  'server_error',
  'The server is shutting down, so the run was not started and nothing was stored. Please retry.',
  { code: 'server_shutting_down', headers: { 'retry-after': '1' } },
);

/**
 * A refusal the server means to give, not a failure to look into: a shutdown refusing or stopping
 * work (by the request hook, the run gate or the drain) is logged as such, without a stack.
 */
export const isExpectedRefusal = (error: ApiError): boolean => error.code === 'server_shutting_down';

export function rateLimited(
  limit: 'requests' | 'tokens',
  retryAfterSeconds: number,
  rateLimitHeaders: Record<string, string> = {},
): ApiError {
  const what = limit === 'requests' ? 'requests per minute' : 'tokens per minute';
  return new ApiError(
    429,
    limit,
    `Rate limit reached for ${what} on this API key. Please try again in ${retryAfterSeconds}s.`,
    {
      code: 'rate_limit_exceeded',
      headers: { ...rateLimitHeaders, 'retry-after': String(retryAfterSeconds) },
    },
  );
}

/**
 * What every wire format checks before a run opens: the message limits, a model this server serves,
 * and whether its engine can serve the request as asked (a refusal is a 400).
 */
export function checkServable(chat: ChatRequest, deps: AppDeps): void {
  enforceMessageLimits(chat, deps);
  if (!deps.orchestrator.models().some((m) => m.id === chat.model)) throw modelNotFound(chat.model);
  const refusal = deps.orchestrator.refuse?.({
    model: chat.model,
    messages: chat.messages,
    generation: chat.generation,
    reasoningEffort: chat.reasoningEffort,
    tools: chat.tools,
    toolChoice: chat.toolChoice,
    parallelToolCalls: chat.parallelToolCalls,
  });
  if (refusal) throw invalidRequest(refusal.message, refusal.param, refusal.code);
}

export function enforceMessageLimits(chat: ChatRequest, deps: AppDeps): void {
  const { maxMessages, maxMessageChars } = deps.config;
  if (chat.messages.length > maxMessages) {
    throw invalidRequest(
      `Too many messages: ${chat.messages.length} given, at most ${maxMessages} allowed.`,
      'messages',
      'too_many_messages',
    );
  }
  const i = chat.messages.findIndex((m) => m.content.length > maxMessageChars);
  if (i >= 0)
    throw invalidRequest(
      `messages[${i}].content is too long: at most ${maxMessageChars} characters are allowed.`,
      `messages[${i}].content`,
      'message_too_long',
    );
}
