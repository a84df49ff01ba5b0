// One run: its timeline (a lane per agent, a bar per step, tool and upstream calls as marks, the
// critical path), failures and pauses, totals. A running run follows GET /v1/runs/{id}/events.
import { useEffect, useState } from 'preact/hooks';
import { api, apiJson, ApiFailure } from '../api.ts';
import { sseData } from '../sse.ts';
import { buildTimeline, seconds, type RunEvent } from '../timeline.ts';
import { TimelineView } from '../timeline-view.tsx';

interface Run {
  id: string;
  conversation_id: string;
  model: string;
  status: string;
  error: string | null;
  agents_used: string[];
  upstream_usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  started_at: number;
  finished_at: number | null;
  duration_seconds: number | null;
  events: RunEvent[];
}

/** How often, and how far apart, a live run's lost connection is tried again (a restart takes seconds). */
const FOLLOW_ATTEMPTS = 30;
const FOLLOW_RETRY_MS = 2000;
/** A failure worth waiting out: the network (fetch's TypeError) or the server's own 5xx, not a refusal. */
const passing = (err: unknown) => err instanceof TypeError || (err instanceof ApiFailure && err.status >= 500);

export function RunPage({ id }: { id: string }) {
  const [run, setRun] = useState<Run | null>(null);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState('');
  const [now, setNow] = useState(Date.now());
  const [reconnecting, setReconnecting] = useState(false);

  useEffect(() => {
    const stop = new AbortController();
    const path = `/v1/runs/${encodeURIComponent(id)}`;
    (async () => {
      const first = await apiJson<Run>(path);
      setRun(first);
      setEvents(first.events);
      if (first.status !== 'running') return;
      // Running: follow it live, from its start, until it ends; then the stored run has the outcome.
      // A connection lost meanwhile (a server restarting) keeps what is drawn and tries again.
      const sleep = () => new Promise((resolve) => setTimeout(resolve, FOLLOW_RETRY_MS));
      const stored = async (): Promise<Run> => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await apiJson<Run>(path);
          } catch (err) {
            if (stop.signal.aborted || !passing(err) || attempt >= FOLLOW_ATTEMPTS) throw err;
            setReconnecting(true);
            await sleep();
          }
        }
      };
      setLive(true);
      for (let attempt = 0; !stop.signal.aborted; attempt++) {
        try {
          const res = await api(`${path}/events`, { signal: stop.signal });
          const seen: RunEvent[] = [];
          for await (const data of sseData(res, stop.signal)) {
            seen.push(JSON.parse(data));
            setEvents([...seen]);
          }
          break;
        } catch (err) {
          if (stop.signal.aborted || !passing(err) || attempt >= FOLLOW_ATTEMPTS) throw err;
          setReconnecting(true);
          await sleep();
          // The run may have ended meanwhile (or been marked interrupted by the restart).
          if ((await stored()).status !== 'running') break;
          setReconnecting(false);
        }
      }
      if (stop.signal.aborted) return;
      const last = await stored();
      setLive(false);
      setReconnecting(false);
      setRun(last);
      setEvents(last.events);
    })().catch((err: Error) => {
      if (!stop.signal.aborted) setError(err.message);
    });
    return () => stop.abort();
  }, [id]);

  // While live, the open bars grow with the clock.
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [live]);

  if (error)
    return (
      <section aria-labelledby="run-heading">
        <h1 id="run-heading">Run</h1>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!run) return <p class="muted">Loading the run…</p>;

  // A run that is over ended when it was stored: its open steps (a run stopped mid-way) end there,
  // not at the moment the page is looked at.
  const endedAt =
    !live && run.duration_seconds !== null
      ? (events[0]?.at ?? run.started_at * 1000) + run.duration_seconds * 1000
      : now;
  const timeline = buildTimeline(events, endedAt);
  const status = live ? 'running' : run.status;
  return (
    <section aria-labelledby="run-heading" class="run">
      <p>
        <a href={`/conversations/${run.conversation_id}`}>← Conversation</a>
      </p>
      <h1 id="run-heading">
        Run <code>{run.id}</code>
      </h1>
      <dl class="figures">
        <div>
          <dt>Status</dt>
          <dd data-testid="run-status" class={`status status-${status}`}>
            {status}
            {live && (reconnecting ? ' (connection lost, reconnecting…)' : ' (live)')}
          </dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd>{run.model}</dd>
        </div>
        <div>
          <dt>Wall time</dt>
          <dd data-testid="wall-time">{seconds(timeline.end - timeline.start)}</dd>
        </div>
        <div>
          <dt>Upstream tokens</dt>
          <dd>{timeline.lanes.reduce((n, l) => n + l.tokens.input + l.tokens.output, 0)}</dd>
        </div>
      </dl>
      {(timeline.failure || run.error) && (
        <div class="banner failure" role="alert" data-testid="run-failure">
          <strong>{status === 'cancelled' ? 'The run was cancelled' : 'The run failed'}</strong>:{' '}
          {timeline.failure?.message ?? run.error}
          {timeline.failure?.code && (
            <>
              {' '}
              (<code>{timeline.failure.code}</code>)
            </>
          )}
        </div>
      )}
      {timeline.pause && (
        <div class="banner pause" role="status">
          <strong>Paused for the client's tools</strong>:{' '}
          {timeline.pause.toolCalls.map((c) => c.name).join(', ') || 'tool calls'}; the run resumes when their results
          arrive.
        </div>
      )}
      {events.length === 0 ? <p class="muted">This run has no events yet.</p> : <TimelineView timeline={timeline} />}
    </section>
  );
}
