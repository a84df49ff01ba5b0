// The MCP endpoint's sessions, and which to close when a new one needs room. Sessions are kept
// (a client's `notifications/cancelled` arrives in a request of its own and must reach the run it
// names), so the table is bounded, and no key may fill it: past its share, a key's own least
// recently used session makes room for its new one; a full table closes the least recently used
// session of the key holding the most. Sessions answering a request are never closed.

export interface TableSession {
  owner: string | undefined;
  lastSeen: number;
  /** Its requests still being answered (a tool call's stream lasts as long as its run). */
  busy: number;
  transport: { close(): Promise<void> };
}

export interface SessionLimits {
  /** Sessions kept in all. */
  max: number;
  /** Sessions one key may hold. */
  perKey: number;
  /** Sessions idle this long are closed: when a new one opens, and by the sweep. */
  idleMs: number;
  /** How often idle sessions are looked for while none opens (an idle server's table empties too). */
  sweepMs: number;
}

export const SESSION_LIMITS: SessionLimits = { max: 1000, perKey: 200, idleMs: 30 * 60_000, sweepMs: 60_000 };

export class SessionTable<S extends TableSession> {
  /** By session id. */
  readonly sessions = new Map<string, S>();

  private readonly limits: SessionLimits;

  private readonly sweeper: NodeJS.Timeout;

  constructor(limits: SessionLimits = SESSION_LIMITS) {
    this.limits = limits;
    // Sessions clients abandoned (most never send DELETE) were closed only when a new one opened:
    // a server no one opened a session on again kept them, and their servers, for good.
    this.sweeper = setInterval(() => this.closeIdle(Date.now()), limits.sweepMs).unref();
  }

  /** Stops the sweep (the table's owner closes the sessions themselves). */
  stopSweeping(): void {
    clearInterval(this.sweeper);
  }

  /** Closes the sessions idle past the limit that are not answering a request. */
  closeIdle(now: number): void {
    for (const [sid, s] of this.sessions) if (s.busy === 0 && now - s.lastSeen > this.limits.idleMs) this.close(sid, s);
  }

  /** Closes what must close for `owner` to open a session; the refusal's message when nothing can. */
  makeRoomFor(owner: string | undefined, now = Date.now()): string | undefined {
    const mine = [...this.sessions].filter(([, s]) => s.owner === owner);
    if (mine.length >= this.limits.perKey && !this.closeOldest(mine))
      return "This key's MCP sessions are all busy; try again later.";
    this.closeIdle(now);
    if (this.sessions.size < this.limits.max) return undefined;
    // Full of live sessions: the key holding the most gives its least recently used one.
    const byOwner = new Map<string | undefined, [string, S][]>();
    for (const entry of this.sessions) {
      const held = byOwner.get(entry[1].owner);
      if (held) held.push(entry);
      else byOwner.set(entry[1].owner, [entry]);
    }
    const largestFirst = [...byOwner.values()].sort((a, b) => b.length - a.length);
    return largestFirst.some((held) => this.closeOldest(held))
      ? undefined
      : 'Too many MCP sessions are open; try again later.';
  }

  /** Closes the least recently used session of `entries` that is not answering a request; false if none. */
  private closeOldest(entries: [string, S][]): boolean {
    let oldest: [string, S] | undefined;
    for (const entry of entries)
      if (entry[1].busy === 0 && (!oldest || entry[1].lastSeen < oldest[1].lastSeen)) oldest = entry;
    if (oldest) this.close(...oldest);
    return oldest !== undefined;
  }

  private close(sid: string, session: S): void {
    this.sessions.delete(sid);
    void session.transport.close().catch(() => {});
  }
}
