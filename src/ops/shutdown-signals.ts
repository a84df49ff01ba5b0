// SIGTERM and SIGINT start the graceful shutdown; a second one during the drain stops the runs still
// going at once, and they are stored as the grace's end would store them. Listening only `once`
// left the second signal to Node's default, which killed the process mid-drain: the streams were
// cut without an error frame and the runs' answers were lost (marked `interrupted` at the next start).
import type { FastifyBaseLogger } from 'fastify';

export interface Stoppable {
  /** Starts the shutdown once; later calls return the same promise. */
  stop(signal: string): Promise<unknown>;
  /** Ends the grace period now: the runs are stopped and stored instead of waited for. */
  stopRunsNow(): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function handleShutdownSignals(target: Stoppable, log: FastifyBaseLogger): void {
  let stopping = false;
  for (const signal of SIGNALS)
    process.on(signal, () => {
      if (!stopping) {
        stopping = true;
        // stop() ends the process itself; should it throw, the failure is logged, never left unheard.
        target.stop(signal).catch((err: unknown) => log.error({ err }, 'shutdown failed'));
        return;
      }
      log.warn({ signal }, 'shutdown hurried: stopping the runs still going now (their turns are stored)');
      target.stopRunsNow();
    });
}
