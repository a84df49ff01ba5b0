// Run ids that sort by creation time (the UUID version 7 layout: 48 bits of Unix milliseconds,
// then random bits). A new row keyed by such an id lands at the right edge of its index, where
// the rows of the turns committed together share pages, instead of on a random page of a large
// table: the runs table, and the responses table whose ids are derived from run ids
// (src/http/render/responses-object.ts), are written that way.
import { randomUUID } from 'node:crypto';

/** `run_` and a version 7 UUID: the time in its first 12 hex digits, the rest of a v4 UUID's randomness. */
export function newRunId(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  // randomUUID draws from a cached entropy pool; its version nibble (index 14) becomes 7.
  return `run_${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}
