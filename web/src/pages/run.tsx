// One run: its timeline (a lane per agent, a bar per step, tool and upstream calls as marks, the
// critical path), failures and pauses, totals. A running run follows GET /v1/runs/{id}/events.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, apiJson, ApiFailure } from '../api.ts';
import { RunEventLog } from '../run-events.ts';
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
  // The events live outside the state, appended to in place; `version` is the log's version drawn last.
  const [log] = useState(() => new RunEventLog());
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState(false);
  const [error, setError] = useState('');
  const [now, setNow] = useState(Date.now());
  const [reconnecting, setReconnecting] = useState(false);

  useEffect(() => {
    const stop = new AbortController();
    const path = `/v1/runs/${encodeURIComponent(id)}`;
    // Live events are drawn once a frame, however many arrived since the last one (thousands of
    // deltas a second, for a fast stream); a hidden tab draws nothing until it is looked at again.
    let frame = 0;
    const drawSoon = () => {
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        setVersion(log.version);
      });
    };
    const drawNow = () => {
      cancelAnimationFrame(frame);
      frame = 0;
      setVersion(log.version);
    };
    (async () => {
      const first = await apiJson<Run>(path);
      // Another run opened meanwhile: the log is its now.
      if (stop.signal.aborted) return;
      log.reset(first.events);
      setRun(first);
      drawNow();
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
          // Each connection sends the run from its start: what is drawn stays until it sends.
          let fresh = true;
          for await (const data of sseData(res, stop.signal)) {
            if (fresh) log.reset();
            fresh = false;
            log.push(JSON.parse(data));
            drawSoon();
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
      log.reset(last.events);
      setRun(last);
      drawNow();
    })().catch((err: Error) => {
      if (!stop.signal.aborted) setError(err.message);
    });
    return () => {
      stop.abort();
      cancelAnimationFrame(frame);
    };
  }, [id]);

  // While live, the open bars grow with the clock.
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [live]);

  const events = log.events;
  // A run that is over ended when it was stored: its open steps (a run stopped mid-way) end there,
  // not at the moment the page is looked at.
  const endedAt =
    run && !live && run.duration_seconds !== null
      ? (events[0]?.at ?? run.started_at * 1000) + run.duration_seconds * 1000
      : now;
  // Built again only when the events drawn or the clock changed, not at every render.
  const timeline = useMemo(() => buildTimeline(events, endedAt), [log, version, endedAt]);

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
