// The sources one answer cites, numbered in the order the answer first cites them: [1], [2], ...
// without gaps. The search tool numbers every passage it returns; most of those are never quoted,
// so the answer keeps numbers of its own.
import type { Source } from '../orchestrator/events.ts';
import { SourceCollector } from '../tools/types.ts';

export class Citations extends SourceCollector {
  cite(source: Omit<Source, 'index'>): number {
    return this.add(source);
  }

  /** The "Sources" block that closes an answer, one line per source (read back by follow-ups). */
  block(): string[] {
    const list = this.list();
    return list.length ? ['', '**Sources:**', ...list.map((s) => `[${s.index}] ${s.title} (${s.url})`)] : [];
  }
}
