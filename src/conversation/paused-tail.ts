// Whether a paused run can still be resumed from its conversation's transcript: its calls end it,
// or a resume of it that did not go through does (the client's results, and perhaps part of an
// answer, of a run that failed, was cancelled or is still being wound down). A client that lost
// the answer to its results (an SDK's timeout, a dropped connection, a user's second submit) sends
// them again; that retry takes the failed turn's place in the transcript (turn-plan.ts), and must
// go on from the checkpoint, not start the team's research over. The checkpoint survives such a
// resume: it is forgotten only once a continuation is stored (record-choices.ts).
import type { RunCheckpoint } from '../orchestrator/types.ts';
import type { Store, StoredMessage } from '../store/types.ts';
import type { RunStatus } from './types.ts';

/** A resume in these states left no continuation: its results may be sent again. `running` is
 * re-checked under the conversation's lock, where only a dead or abandoned turn can still be it. */
const UNFINISHED: ReadonlySet<RunStatus> = new Set(['running', 'failed', 'cancelled', 'interrupted']);

/** How many messages at the transcript's end to read: a failed resume's results and its partial answer. */
export const pausedTailLength = (checkpoint: RunCheckpoint): number => checkpoint.pendingToolCallIds.length + 2;

export async function pausedRunEndsTranscript(
  store: Store,
  owner: string,
  checkpoint: RunCheckpoint,
  tail: StoredMessage[],
): Promise<boolean> {
  const last = tail.at(-1);
  if (!last?.runId) return false;
  if (last.runId === checkpoint.runId) return true;
  let start = tail.length;
  while (start > 0 && tail[start - 1].runId === last.runId) start--;
  // Right after the paused run's calls, nothing but results for them and at most a partial answer.
  if (tail[start - 1]?.runId !== checkpoint.runId) return false;
  const turn = tail.slice(start);
  const shaped = turn.every((m, i) =>
    m.role === 'tool'
      ? m.toolCallId !== undefined && checkpoint.pendingToolCallIds.includes(m.toolCallId)
      : m.role === 'assistant' && !m.toolCalls?.length && i === turn.length - 1,
  );
  if (!shaped) return false;
  const run = await store.getRun(last.runId, owner);
  return run !== undefined && UNFINISHED.has(run.status);
}
