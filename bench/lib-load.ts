// autocannon runs and the table every load benchmark prints.
import autocannon from 'autocannon';

export interface LoadResult {
  label: string;
  rps: number;
  p50: number;
  p99: number;
}

export async function load(
  label: string,
  url: string,
  body: string,
  o: { connections?: number; seconds?: number; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...o.headers },
    body,
    connections: o.connections ?? Number(process.env.BENCH_CONNECTIONS ?? 50),
    duration: o.seconds ?? Number(process.env.BENCH_SECONDS ?? 5),
  });
  if (r.non2xx || r.errors || r.timeouts) {
    // Which statuses: a 409, a 429 and a 503 have different causes.
    const statuses = Object.entries(r.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, s]) => `${s.count} x ${code}`)
      .join(', ');
    throw new Error(
      `${label}: ${r.non2xx} non-2xx (${statuses || 'statuses unknown'}), ${r.errors} errors, ${r.timeouts} timeouts`,
    );
  }
  return { label, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

export function printTable(rows: LoadResult[]): void {
  console.log(`${'case'.padEnd(44)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  for (const r of rows)
    console.log(
      `${r.label.padEnd(44)} ${r.rps.toFixed(0).padStart(8)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)}`,
    );
}

export const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(3));

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
