// How a request's runs end up in the store: each choice's turn record (status, answer so far,
// trace, usage), the checkpoint of a choice paused for client tools, and the end of the paused run
// this request resumed. Pure bookkeeping over the memory API; the lifecycle decides when.
import type { ConversationMemory, TurnStatus } from '../conversation/types.ts';
import type { RunEvent, RunEventOf } from '../orchestrator/events.ts';
import type { ChatMessage, RunCheckpoint } from '../orchestrator/types.ts';
import type { RunSummary } from '../orchestrator/run-summary.ts';
import { CANCEL_REQUESTED, CHOICE_FAILED, isServerStop, STOPPED, type StopReason } from '../http/run-limits.ts';
import type { StoredResponse } from '../store/types.ts';

export interface RecordedChoice {
  index: number;
  runId: string;
  summary: RunSummary;
}

export interface TurnContext {
  memory: ConversationMemory;
  conversationId: string;
  owner: string | undefined;
  model: string;
  newMessages: ChatMessage[];
  promptTokens: number;
  startedAt: Date;
  /** Why the run was stopped, if it was. */
  stopReason: StopReason | undefined;
  /** The checkpoint this request resumed, if any. */
  resumed: RunCheckpoint | undefined;
  completionTokens(choice: RecordedChoice): number;
  /** What else a choice's record carries (a Responses API response), built once the run is over. */
  attachment?(choice: RecordedChoice): StoredResponse | undefined;
  /**
   * The events that closed the stored trace of a choice stopped before it finished (closedTrace),
   * once stored: its live followers get them too, so that they see the run end as a replay does.
   */
  closed?(choice: RecordedChoice, events: RunEvent[]): void;
}

/** A choice's final status and the reason it did not complete, as stored with its run. */
export function outcomeOf(run: RunSummary, stopReason: StopReason | undefined): { status: TurnStatus; error?: string } {
  if (run.failure) return { status: 'failed', error: run.failure.message };
  // Stopped by the server (time limit, shutdown) before it finished: a failure, with the reason.
  if (!run.done && isServerStop(stopReason)) return { status: 'failed', error: STOPPED[stopReason].message };
  if (run.finishReason === 'tool_calls') return { status: 'tool_calls' };
  if (run.finishReason) return { status: 'completed' };
  if (stopReason === 'choice_failed') return { status: 'cancelled', error: CHOICE_FAILED };
  return {
    status: 'cancelled',
    error:
      stopReason === 'cancelled'
        ? 'the client cancelled the run before it finished'
        : 'client disconnected before the run finished',
  };
}

/** Why a run the server did not stop ended unfinished, as its trace says it. */
const UNFINISHED = {
  cancelled: CANCEL_REQUESTED.message,
  choice_failed: `Stopped: ${CHOICE_FAILED}.`,
  client: 'The client disconnected before the run finished.',
};

/**
 * The trace of a run stopped before it finished, closed as a timeline needs it: each tool call still
 * running gets a result, an error saying why it was stopped (a tool that does not heed the run's
 * signal would otherwise stay "running" in the stored trace for good), each agent still at work
 * finishes, not ok, with the same reason, and a run the server stopped (time limit, shutdown) ends
 * failed with that reason. A run the client left is `cancelled` by its status.
 */
export function closedTrace(run: RunSummary, stopReason: StopReason | undefined): RunEvent[] {
  if (run.done) return run.events;
  const stopped = isServerStop(stopReason) ? STOPPED[stopReason] : undefined;
  const reason =
    stopped?.message ??
    UNFINISHED[stopReason === 'cancelled' || stopReason === 'choice_failed' ? stopReason : 'client'];
  const atWork = new Map<string, string>(); // call id -> agent
  const running = new Map<string, RunEventOf<'tool_call'>>(); // tool call id -> its call
  for (const e of run.events) {
    if (e.type === 'agent_started') atWork.set(e.callId, e.agent);
    else if (e.type === 'agent_finished') atWork.delete(e.callId);
    else if (e.type === 'tool_call') running.set(e.toolCallId, e);
    else if (e.type === 'tool_result') running.delete(e.toolCallId);
  }
  const at = Date.now();
  const closing: RunEvent[] = [
    ...[...running.values()].map((call): RunEvent => ({
      type: 'tool_result',
      agent: call.agent,
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      output: { error: reason },
      isError: true,
      ...(call.mcp ? { mcp: call.mcp } : {}),
      at,
    })),
    ...[...atWork].map(([callId, agent]): RunEvent => ({
      type: 'agent_finished',
      agent,
      callId,
      ok: false,
      output: '',
      error: reason,
      at,
    })),
  ];
  if (stopped)
    closing.push({
      type: 'run_failed',
      error: { message: stopped.message, status: stopped.status, type: stopped.type, code: stopped.code },
      at,
    });
  return closing.length ? [...run.events, ...closing] : run.events;
}

/**
 * Records every choice in order; throws at the first write that fails. Each choice recorded is added
 * to `recorded`, so that a later call with `unstored` (the turn could not be stored: recordUnstored)
 * skips them.
 */
export async function recordChoices(
  turn: TurnContext,
  choices: RecordedChoice[],
  recorded = new Set<number>(),
  unstored?: string,
): Promise<void> {
  const finishedAt = new Date();
  const outcomes = choices.map((choice) =>
    unstored ? { status: 'failed' as const, error: unstored } : outcomeOf(choice.summary, turn.stopReason),
  );
  // The transcript keeps one answer. A failed choice fails the request (its client gets the error):
  // the turn is kept as failed, with that choice's partial answer, to be retried as with n = 1.
  // Otherwise the first choice that completed (or paused for client tools); choice 0's when none did.
  const failed = outcomes.findIndex((o) => o.status === 'failed');
  const kept =
    failed >= 0
      ? failed
      : Math.max(
          0,
          outcomes.findIndex((o) => o.status === 'completed' || o.status === 'tool_calls'),
        );
  for (const [i, choice] of choices.entries()) {
    if (recorded.has(choice.index)) continue;
    const run = choice.summary;
    const { status, error } = outcomes[i];
    const text = run.answerSoFar;
    const toolCalls = run.toolCalls?.length ? run.toolCalls : undefined;
    const events = closedTrace(run, turn.stopReason);
    await turn.memory.record({
      conversationId: turn.conversationId,
      owner: turn.owner,
      runId: choice.runId,
      choiceIndex: choice.index,
      keepsAnswer: i === kept,
      model: turn.model,
      newMessages: turn.newMessages,
      answer:
        !unstored && (text || toolCalls)
          ? { role: 'assistant', content: text, ...(toolCalls ? { toolCalls } : {}) }
          : null,
      status,
      error,
      events,
      agentsUsed: run.agentsUsed,
      usage: run.usageTotal(),
      promptTokens: turn.promptTokens,
      completionTokens: turn.completionTokens(choice),
      startedAt: turn.startedAt,
      finishedAt: run.endedDate(finishedAt),
      ...(turn.attachment && !unstored ? { response: turn.attachment(choice) } : {}),
    });
    recorded.add(choice.index);
    if (events.length > run.events.length) turn.closed?.(choice, events.slice(run.events.length));
    if (status === 'tool_calls' && run.checkpoint)
      await turn.memory.savePausedRun({
        owner: turn.owner,
        conversationId: turn.conversationId,
        checkpoint: run.checkpoint,
      });
  }
  // The paused run this request resumed is over once its continuation is stored (completed, or
  // paused again); a failed or cancelled continuation keeps it, so that a retry resumes it.
  if (turn.resumed && !unstored && choices.some((c) => c.summary.finishReason))
    await turn.memory.resumedRun({ owner: turn.owner, runId: turn.resumed.runId });
}
