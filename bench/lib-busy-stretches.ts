// Where an event-loop stall goes: in a V8 CPU profile (`node --cpu-prof`), the longest run of
// consecutive samples that are not `(idle)` inside a time window is the longest time the loop was
// held; its samples, by function, say what held it. Self time names the leaf (`postMessage`,
// `(garbage collector)`); inclusive time of the project's own frames names the caller behind it.
import type { Profile } from './lib-cpu-profile.ts';

export { readMainProfile } from './lib-cpu-profile.ts';

/** A window in microseconds of the monotonic clock (`process.hrtime`), the clock V8 stamps samples with. */
export interface Window {
  label: string;
  fromUs: number;
  toUs: number;
}

export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** For each window, the longest busy stretch and the functions it was spent in. */
export function busyStretches(profile: Profile, windows: Window[], top = 6): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^.*\/(node_modules|src)\//, '$1/');
    return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
  };
  const times: number[] = [];
  let at = profile.startTime;
  for (const dt of profile.timeDeltas) times.push((at += dt));
  const out: string[] = [];
  for (const w of windows) {
    // The longest run of non-idle samples in the window: [first, last] sample indexes.
    let best: [number, number] | undefined;
    let start = -1;
    for (let i = 0; i <= profile.samples.length; i++) {
      const busy =
        i < profile.samples.length &&
        times[i] >= w.fromUs &&
        times[i] <= w.toUs &&
        byId.get(profile.samples[i])!.callFrame.functionName !== '(idle)';
      if (busy && start < 0) start = i;
      if (!busy && start >= 0) {
        if (!best || times[i - 1] - times[start] > times[best[1]] - times[best[0]]) best = [start, i - 1];
        start = -1;
      }
    }
    if (!best) continue;
    const self = new Map<string, number>();
    const inclusive = new Map<string, number>();
    let total = 0;
    for (let i = best[0] + 1; i <= best[1]; i++) {
      const dt = profile.timeDeltas[i];
      total += dt;
      self.set(name(profile.samples[i]), (self.get(name(profile.samples[i])) ?? 0) + dt);
      const seen = new Set<string>();
      for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
        const n = name(id);
        if (!n.includes(' src/') || seen.has(n)) continue;
        seen.add(n);
        inclusive.set(n, (inclusive.get(n) ?? 0) + dt);
      }
    }
    const rows = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(
          ([n, us]) =>
            `    ${(us / 1000).toFixed(1).padStart(7)} ms ${String(Math.round((100 * us) / total)).padStart(3)}%  ${n}`,
        )
        .join('\n');
    out.push(
      `${w.label}: longest busy stretch ${(total / 1000).toFixed(1)} ms\n  self time:\n${rows(self)}\n  inclusive, src/ frames:\n${rows(inclusive)}`,
    );
  }
  return out.join('\n\n');
}
