// Conversation leases in SQL: which process serves a conversation's turn now, across processes and
// replicas. A lease's expiry is written and compared on the database's clock, never a host's:
// replicas on different hosts disagree on the time, and one whose clock ran ahead would take a live
// lease (two replicas serving one conversation at once), one whose clock ran behind would wait out a
// dead one for longer. SQLite is one host's file; its clock is that host's.
import type { Dialect, Sql } from './sql.ts';

/** The database's clock, in milliseconds since the epoch, as an SQL expression. */
export function clockMs(dialect: Dialect): string {
  return dialect === 'postgres'
    ? '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint'
    : "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
}

/** Takes the lease for `holder` unless another holder's has not expired; whether it was taken. */
export async function takeLease(tx: Sql, conversationId: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = clockMs(tx.dialect);
  const row = await tx.get(
    `INSERT INTO conversation_leases (conversation_id, holder, expires_at) VALUES (?, ?, ${now} + ?) ` +
      'ON CONFLICT (conversation_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at ' +
      `WHERE conversation_leases.expires_at <= ${now} RETURNING holder`,
    [conversationId, holder, ttlMs],
  );
  return row !== undefined;
}

/** Extends `holder`'s lease by `ttlMs` from now; false if it is no longer theirs. */
export async function renewLease(sql: Sql, conversationId: string, holder: string, ttlMs: number): Promise<boolean> {
  const changed = await sql.run(
    `UPDATE conversation_leases SET expires_at = ${clockMs(sql.dialect)} + ? WHERE conversation_id = ? AND holder = ?`,
    [ttlMs, conversationId, holder],
  );
  return changed > 0;
}

/** The leases that have not expired. */
export async function liveLeases(sql: Sql): Promise<{ conversationId: string; holder: string }[]> {
  const rows = await sql.all<{ conversation_id: string; holder: string }>(
    `SELECT conversation_id, holder FROM conversation_leases WHERE expires_at > ${clockMs(sql.dialect)}`,
  );
  return rows.map((r) => ({ conversationId: String(r.conversation_id), holder: String(r.holder) }));
}

/** SQL true when conversation `column` has no live lease (its runs still `running` were left by a dead process). */
export function noLiveLease(dialect: Dialect, column: string): string {
  return `NOT EXISTS (SELECT 1 FROM conversation_leases l WHERE l.conversation_id = ${column} AND l.expires_at > ${clockMs(dialect)})`;
}

/** Deletes the leases that have expired (dead processes' leases would stay until their conversation's next turn). */
export async function deleteExpiredLeases(tx: Sql): Promise<void> {
  await tx.run(`DELETE FROM conversation_leases WHERE expires_at <= ${clockMs(tx.dialect)}`);
}
