// At most a few calls at once per run: a model can ask for dozens of pages in one turn, and each
// holds a connection and up to the page size limit in memory while it is read. The others wait
// for a slot (or for the run to stop).
export function runSlots(limit: number) {
  const queues = new WeakMap<object, { active: number; waiting: (() => void)[] }>();
  return async function inSlot<T>(run: object, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    let q = queues.get(run);
    if (!q) queues.set(run, (q = { active: 0, waiting: [] }));
    const queue = q;
    if (queue.active < limit) queue.active++;
    else {
      signal.throwIfAborted();
      // A finished call hands its slot over directly, so a newcomer cannot take it in between.
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener('abort', stop);
          resolve();
        };
        const stop = () => {
          const i = queue.waiting.indexOf(go);
          if (i >= 0) queue.waiting.splice(i, 1);
          reject(signal.reason);
        };
        queue.waiting.push(go);
        signal.addEventListener('abort', stop, { once: true });
      });
    }
    try {
      return await work();
    } finally {
      const next = queue.waiting.shift();
      if (next) next();
      else queue.active--;
    }
  };
}
