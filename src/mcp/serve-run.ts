// One turn asked by an MCP client, run through the same lifecycle as a chat completion (admission,
// the conversation's lock, run slots, the timer, the turn stored: ChatRun), its events folded into
// progress messages while the agents work and into the answer at the end.
import type { FastifyBaseLogger } from 'fastify';
import type { AppDeps } from '../http/deps.ts';
import { parseChatRequest } from '../http/chat-request.ts';
import { ApiError } from '../http/errors.ts';
import { apiErrorOfMemory } from '../http/memory-errors.ts';
import { checkServable } from '../http/run-limits.ts';
import type { RunEvent, Source } from '../orchestrator/events.ts';
import { ChatRun } from '../run/chat-run.ts';

export interface ServedTurn {
  model: string;
  message: string;
  conversationId?: string;
}

export interface ServedAnswer {
  answer: string;
  conversation_id: string;
  run_id: string;
  agents_used: string[];
  sources: Source[];
}

export interface ServeOptions {
  /** The API key's id (HTTP with keys on); undefined over stdio or with auth off. */
  owner?: string;
  log: FastifyBaseLogger;
  /** Aborted by the client's `notifications/cancelled` (or its going away): stops the run. */
  signal: AbortSignal;
  /** Called with a line of what the team is doing, as it happens. */
  onProgress?: (message: string) => void;
}

export class ServedRunError extends Error {}

export async function serveRun(deps: AppDeps, turn: ServedTurn, o: ServeOptions): Promise<ServedAnswer> {
  const chat = parseChatRequest({
    model: turn.model,
    messages: [{ role: 'user', content: turn.message }],
    ...(turn.conversationId ? { conversation_id: turn.conversationId } : {}),
  });
  checkServable(chat, deps);
  await using run = await ChatRun.open(deps, chat, { owner: o.owner, log: o.log, clientGone: o.signal });
  for await (const [, event] of run.events()) {
    const line = progressLine(event);
    if (line) o.onProgress?.(line);
  }
  await run.complete(); // throws when the turn could not be stored
  const stopped = run.interruption() ?? (run.clientLeft ? new ServedRunError('The run was cancelled.') : undefined);
  if (stopped) throw stopped;
  const failed = run.failure();
  if (failed) throw failed;
  const choice = run.choices[0];
  return {
    answer: choice.summary.text,
    conversation_id: run.conversationId,
    run_id: choice.runId,
    agents_used: choice.summary.agentsUsed,
    sources: choice.summary.sources,
  };
}

/** What an MCP client is told while the agents work: the team's own progress lines. */
function progressLine(event: RunEvent): string | undefined {
  if (event.type === 'progress') return event.text;
  if (event.type === 'agent_started') return `${event.agent} started: ${event.task}`;
  return undefined;
}

/** An error as the MCP client reads it: the message, and the OpenAI error code when there is one. */
export function servedErrorText(err: unknown): string {
  const api = err instanceof ApiError ? err : apiErrorOfMemory(err);
  if (api) {
    const body = api.toJSON().error;
    return body.code ? `${body.message} (${body.code})` : body.message;
  }
  return (err as Error)?.message ?? String(err);
}
