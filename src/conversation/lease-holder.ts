// Who holds a conversation's lease: this process on this host, and a random part per turn. A
// process restarted after a crash (kill -9, OOM) can then tell, at once, the leases left by its dead
// predecessor on the same host (that pid is gone, or is itself with another start time, as with pid 1
// in a container) from those of live processes, instead of waiting for them to expire.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

const HOST = hostname();
const STARTED = Math.round(Date.now() - process.uptime() * 1000);

export function newHolder(): string {
  return [HOST, process.pid, STARTED, randomUUID()].join('|');
}

/** Whether the process that took this lease is certainly dead (false when unsure: another host). */
export function holderIsDead(holder: string): boolean {
  const [host, pidText, startedText] = holder.split('|');
  const pid = Number(pidText);
  if (host !== HOST || !Number.isInteger(pid) || pid <= 0) return false;
  // The clock of a start time is rounded: a few ms either way is still this process.
  if (pid === process.pid) return Math.abs(Number(startedText) - STARTED) > 1000;
  try {
    process.kill(pid, 0); // signal 0: only asks whether it exists
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
