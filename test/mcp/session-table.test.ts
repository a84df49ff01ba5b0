// The MCP session table's room-making: no key, and no group of keys, can fill it and lock another
// key out; a session answering a request is never closed.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/http-client.ts';
import { SessionTable, type TableSession } from '../../src/mcp/session-table.ts';

const LIMITS = { max: 6, perKey: 2, idleMs: 60_000, sweepMs: 60_000 };

function open(table: SessionTable<TableSession>, owner: string, lastSeen: number, busy = 0): string {
  const refused = table.makeRoomFor(owner, lastSeen);
  if (refused) throw new Error(refused);
  const sid = `${owner}-${lastSeen}`;
  table.sessions.set(sid, { owner, lastSeen, busy, transport: { close: async () => {} } });
  return sid;
}

describe('the MCP session table', () => {
  it('past its share, a key makes room by closing its own least recently used session', () => {
    const table = new SessionTable(LIMITS);
    const first = open(table, 'a', 1);
    open(table, 'a', 2);
    open(table, 'a', 3);
    expect([...table.sessions.keys()]).toEqual(['a-2', 'a-3']);
    expect(table.sessions.has(first)).toBe(false);
  });

  it("a table full of several keys' live sessions makes room for a new key from the largest holder", () => {
    const table = new SessionTable({ ...LIMITS, perKey: 3 });
    // Two keys at their share fill the table (6), none idle long enough to be closed.
    for (const [i, owner] of ['a', 'b', 'a', 'b', 'a', 'b'].entries()) open(table, owner, 10 + i);
    expect(table.sessions.size).toBe(6);
    open(table, 'c', 100);
    expect(table.sessions.has('c-100')).toBe(true);
    expect(table.sessions.has('a-10')).toBe(false); // the oldest of a largest holder
    open(table, 'd', 101);
    expect(table.sessions.has('b-11')).toBe(false); // now b holds the most
    expect([...table.sessions.values()].filter((s) => s.owner === 'c')).toHaveLength(1);
  });

  it('closes sessions idle past the limit first, and never one answering a request', () => {
    const table = new SessionTable({ ...LIMITS, max: 2 });
    open(table, 'a', 0, 1); // busy (a call streaming), and old
    open(table, 'b', 1);
    open(table, 'c', 70_000); // b idle for 69 s: closed
    expect([...table.sessions.keys()]).toEqual(['a-0', 'c-70000']);
    table.sessions.get('c-70000')!.busy = 1;
    expect(table.makeRoomFor('d', 70_001)).toBe('Too many MCP sessions are open; try again later.');
    expect(table.sessions.size).toBe(2);
  });

  it('closes sessions left idle while no new one opens (a client that never said goodbye)', async () => {
    const table = new SessionTable({ ...LIMITS, idleMs: 30, sweepMs: 10 });
    const closed: string[] = [];
    const session = (owner: string, busy: number) => ({
      owner,
      lastSeen: Date.now(),
      busy,
      transport: { close: async () => void closed.push(owner) },
    });
    table.sessions.set('left', session('left', 0));
    table.sessions.set('calling', session('calling', 1)); // a call still streaming: kept
    try {
      await waitFor(() => closed.length > 0, 2_000, 'the idle session to be closed');
      expect(closed).toEqual(['left']);
      expect([...table.sessions.keys()]).toEqual(['calling']);
    } finally {
      table.stopSweeping();
    }
  });
});
