// The index of retryable last turns. A client without conversation ids that retries a turn which
// failed, was cancelled or was interrupted resends exactly that turn's messages; the conversation
// whose last turn it is must then be found with one indexed look-up, not by reading the tails and
// runs of every conversation holding the same history. Each conversation keeps, while its last turn
// is retryable, the chain hash of that turn's last user-side message (`retry_hash`), the run
// (`retry_run_id`) and how many messages come before the turn (`retry_depth`); any turn that begins
// in the conversation clears them. The columns are written in the transaction that changes the
// run's status or the transcript, so the index never disagrees with what it stands for.
import type { Sql } from './sql.ts';

/** Run statuses a client may retry: the run's user messages stay, its partial answer goes. */
export const RETRYABLE_STATUSES = ['failed', 'cancelled', 'interrupted'] as const;

/**
 * Marks `runId` as the retryable last turn of its conversation, if it is that turn: the run of the
 * last message, with at least one message of its own besides a (partial) answer.
 */
export async function markRetryable(tx: Sql, conversationId: string, runId: string): Promise<void> {
  const last = await tx.get<{ seq: number; role: string; run_id: string | null; chain_hash: string | null }>(
    'SELECT seq, role, run_id, chain_hash FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1',
    [conversationId],
  );
  if (!last || last.run_id !== runId) return;
  // The turn starts after the last message of another run (read backwards: as long as the turn).
  const before = await tx.get<{ seq: number }>(
    'SELECT seq FROM messages WHERE conversation_id = ? AND (run_id IS NULL OR run_id <> ?) ORDER BY seq DESC LIMIT 1',
    [conversationId, runId],
  );
  const depth = Number(before?.seq ?? 0);
  let end = Number(last.seq);
  let hash = last.chain_hash;
  if (last.role === 'assistant') {
    end--; // the partial answer is not part of what a retry resends
    hash =
      end > depth
        ? ((
            await tx.get<{ chain_hash: string | null }>(
              'SELECT chain_hash FROM messages WHERE conversation_id = ? AND seq = ?',
              [conversationId, end],
            )
          )?.chain_hash ?? null)
        : null;
  }
  // A turn of only an answer, or of messages stored before the hash chain, is not found by history.
  if (end <= depth || !hash) return clearRetryable(tx, conversationId);
  await tx.run('UPDATE conversations SET retry_hash = ?, retry_run_id = ?, retry_depth = ? WHERE id = ?', [
    hash,
    runId,
    depth,
    conversationId,
  ]);
}

export async function clearRetryable(tx: Sql, conversationId: string): Promise<void> {
  await tx.run(
    'UPDATE conversations SET retry_hash = NULL, retry_run_id = NULL, retry_depth = NULL WHERE id = ? AND retry_hash IS NOT NULL',
    [conversationId],
  );
}

/**
 * A turn has just stored messages whose chain ends in `hash`: this conversation is now the newest
 * holding them, and where an id-less client sending them goes. Older conversations whose failed
 * last turn ends the same way are no longer retried (as before the index, where only the newest few
 * holders of a history were considered): many clients that begin with the same message, some of
 * whose turns failed, do not all queue for the last failed one.
 */
export async function supersedeRetries(tx: Sql, hash: string): Promise<void> {
  await tx.run(
    'UPDATE conversations SET retry_hash = NULL, retry_run_id = NULL, retry_depth = NULL WHERE retry_hash = ?',
    [hash],
  );
}

/** Fills the index for conversations stored before it existed (a migration step). */
export async function backfillRetryable(tx: Sql): Promise<void> {
  const statuses = RETRYABLE_STATUSES.map((s) => `'${s}'`).join(', ');
  const rows = await tx.all<{ id: string; run_id: string }>(
    'SELECT c.id, m.run_id FROM conversations c JOIN messages m ON m.conversation_id = c.id AND m.seq = c.message_count ' +
      `JOIN runs r ON r.id = m.run_id WHERE r.status IN (${statuses})`,
  );
  for (const r of rows) await markRetryable(tx, String(r.id), String(r.run_id));
}
