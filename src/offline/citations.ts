// The sources one answer cites, numbered in the order the answer first cites them: [1], [2], ...
// without gaps. The search tool numbers every passage it returns; most of those are never quoted,
// so the answer keeps numbers of its own.
import type { Source } from '../orchestrator/events.ts';

export class Citations {
  private readonly byUrl = new Map<string, Source>();

  cite(source: Omit<Source, 'index'>): number {
    const known = this.byUrl.get(source.url);
    if (known) return known.index;
    const index = this.byUrl.size + 1;
    this.byUrl.set(source.url, { ...source, index });
    return index;
  }

  list(): Source[] {
    return [...this.byUrl.values()];
  }

  /** The "Sources" block that closes an answer, one line per source (read back by follow-ups). */
  block(): string[] {
    const list = this.list();
    return list.length ? ['', '**Sources:**', ...list.map((s) => `[${s.index}] ${s.title} (${s.url})`)] : [];
  }
}
