// The last hour of this key's runs, as the store has them (every replica answers the same).
import { useEffect, useState } from 'preact/hooks';
import { apiJson } from '../api.ts';

interface Stats {
  window_seconds: number;
  runs: number;
  errors: number;
  by_status: Record<string, number>;
  tokens_by_agent: Record<string, { prompt_tokens: number; completion_tokens: number; total_tokens: number }>;
  latency_seconds: { p50: number | null; p95: number | null };
}

const secs = (s: number | null) => (s === null ? '–' : `${s.toFixed(2)} s`);

export function OverviewPage() {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState('');
  const load = () =>
    apiJson<Stats>('/v1/stats?window=3600')
      .then((s) => {
        setStats(s);
        setError('');
      })
      .catch((err: Error) => setError(err.message));
  useEffect(() => void load(), []);

  return (
    <section aria-labelledby="overview-heading">
      <div class="page-head">
        <h1 id="overview-heading">Overview: the last hour</h1>
        <button type="button" class="secondary" onClick={load}>
          Refresh
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {stats && (
        <>
          <dl class="figures">
            <div>
              <dt>Requests (runs)</dt>
              <dd>{stats.runs}</dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd>{stats.errors}</dd>
            </div>
            <div>
              <dt>p50 latency</dt>
              <dd>{secs(stats.latency_seconds.p50)}</dd>
            </div>
            <div>
              <dt>p95 latency</dt>
              <dd>{secs(stats.latency_seconds.p95)}</dd>
            </div>
          </dl>
          <h2>Tokens by agent</h2>
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Tokens by agent">
            <table>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Prompt</th>
                  <th scope="col">Completion</th>
                  <th scope="col">Total</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(stats.tokens_by_agent).map(([agent, t]) => (
                  <tr key={agent}>
                    <th scope="row">{agent}</th>
                    <td>{t.prompt_tokens}</td>
                    <td>{t.completion_tokens}</td>
                    <td>{t.total_tokens}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Runs by status</h2>
          <ul class="inline-list">
            {Object.entries(stats.by_status).map(([status, n]) => (
              <li key={status}>
                {status}: {n}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
