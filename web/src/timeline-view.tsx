// The timeline drawn with HTML and CSS: lanes are rows, steps are buttons placed by percentage of
// the run's wall time (so it fits any width), marks are small buttons on the lane. Everything is
// focusable and labelled: the details of what is selected show below, for keyboard and pointer.
import { useState } from 'preact/hooks';
import {
  retryCause,
  retryNext,
  seconds,
  toolState,
  type Lane,
  type RetryMark,
  type Step,
  type Timeline,
  type ToolMark,
  type UpstreamMark,
} from './timeline.ts';

type Selected =
  | { kind: 'step'; item: Step }
  | { kind: 'tool'; item: ToolMark }
  | { kind: 'call'; item: UpstreamMark }
  | { kind: 'retry'; item: RetryMark };

const json = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

export function TimelineView({ timeline }: { timeline: Timeline }) {
  const [selected, setSelected] = useState<Selected | null>(null);
  const span = Math.max(1, timeline.end - timeline.start);
  const x = (at: number) => `${(((at - timeline.start) / span) * 100).toFixed(3)}%`;
  const w = (from: number, to: number) => `max(4px, ${(((to - from) / span) * 100).toFixed(3)}%)`;
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <>
      <section class="timeline-section" aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        <ul class="legend" aria-label="Legend">
          <li>
            <span class="swatch bar-ok" aria-hidden="true" /> step
          </li>
          <li>
            <span class="swatch bar-ok critical" aria-hidden="true" /> on the critical path
          </li>
          <li>
            <span class="swatch bar-failed" aria-hidden="true" /> failed
          </li>
          <li>
            <span class="swatch mark-call" aria-hidden="true" /> upstream call
          </li>
          <li>
            <span class="swatch mark-tool" aria-hidden="true" /> tool call
          </li>
          {timeline.lanes.some((l) => l.tools.some((t) => t.client)) && (
            <li>
              <span class="swatch mark-tool mark-client" aria-hidden="true" /> client tool
            </li>
          )}
          <li>
            <span class="swatch mark-retry" aria-hidden="true" /> upstream retry
          </li>
        </ul>
        <div class="timeline" data-testid="timeline">
          <div class="axis" aria-hidden="true">
            {ticks.map((t) => (
              <span key={t} style={{ left: `${t * 100}%` }}>
                {seconds(t * span)}
              </span>
            ))}
          </div>
          {timeline.lanes.map((lane) => (
            <LaneRow key={lane.agent} lane={lane} timeline={timeline} x={x} w={w} select={setSelected} />
          ))}
          <div class="overlay" aria-hidden="true">
            {timeline.pause && <div class="end-mark pause-mark" style={{ left: x(timeline.pause.at) }} />}
            {timeline.failure && <div class="end-mark failure-mark" style={{ left: x(timeline.failure.at) }} />}
          </div>
        </div>
      </section>
      <Details selected={selected} />
      <Totals timeline={timeline} />
    </>
  );
}

function LaneRow(props: {
  lane: Lane;
  timeline: Timeline;
  x: (at: number) => string;
  w: (from: number, to: number) => string;
  select: (s: Selected) => void;
}) {
  const { lane, timeline, x, w, select } = props;
  const stepCount = `${lane.steps.length} ${lane.steps.length === 1 ? 'step' : 'steps'}`;
  return (
    <div class="lane" role="group" aria-label={`${lane.agent}: ${stepCount}`} data-lane={lane.agent}>
      <div class="lane-name">
        <span>{lane.agent}</span>
        <span class="muted">{stepCount}</span>
      </div>
      <div class="lane-track">
        {lane.steps.map((s) => {
          const end = s.end ?? timeline.end;
          const critical = timeline.critical.has(s.id);
          const state = s.ok === false ? 'failed' : s.end === null ? 'running' : 'ok';
          return (
            <button
              type="button"
              key={s.id}
              data-step={s.id}
              data-state={state}
              class={`bar bar-${state}${critical ? ' critical' : ''}`}
              style={{ left: x(s.start), width: w(s.start, end) }}
              title={`${lane.agent} step ${s.n}: ${seconds(end - s.start)}`}
              aria-label={`${lane.agent} step ${s.n}, ${state}, ${seconds(end - s.start)}${critical ? ', on the critical path' : ''}`}
              onClick={() => select({ kind: 'step', item: s })}
            />
          );
        })}
        {lane.calls.map((c) => (
          <button
            type="button"
            key={c.id}
            class="mark mark-call"
            style={{ left: x(c.end) }}
            title={`${c.model}: ${c.inputTokens} + ${c.outputTokens} tokens, ${seconds(c.end - c.start)}`}
            aria-label={`Upstream call of ${lane.agent} to ${c.model}, ${c.inputTokens} prompt and ${c.outputTokens} completion tokens`}
            onClick={() => select({ kind: 'call', item: c })}
          />
        ))}
        {lane.retries.map((r) => (
          <button
            type="button"
            key={r.id}
            data-retry={r.code}
            class="mark mark-retry"
            style={{ left: x(r.at) }}
            title={`${r.model}: attempt ${r.attempt} failed with ${retryCause(r)}, tried again ${retryNext(r)}`}
            aria-label={`Upstream retry of ${lane.agent}: attempt ${r.attempt} failed with ${retryCause(r)}, tried again ${retryNext(r)}`}
            onClick={() => select({ kind: 'retry', item: r })}
          />
        ))}
        {lane.tools.map((t) => (
          <button
            type="button"
            key={t.id}
            data-tool={t.name}
            data-client={t.client}
            class={`mark mark-tool${t.client ? ' mark-client' : ''}${t.isError ? ' mark-error' : ''}`}
            style={{ left: x(t.start) }}
            title={
              t.client === 'result'
                ? `${t.name}: ${toolState(t)}`
                : `${t.name}(${json(t.input)})${t.client ? `: ${toolState(t)}` : ''}`
            }
            aria-label={
              t.client === 'result'
                ? `Result of the client's tool ${t.name} for ${lane.agent}: ${toolState(t)}`
                : `${t.client ? "Call of the client's tool" : 'Tool call'} ${t.name} by ${lane.agent}${
                    t.client ? `, ${toolState(t)}` : t.isError ? ', failed' : ''
                  }`
            }
            onClick={() => select({ kind: 'tool', item: t })}
          />
        ))}
      </div>
    </div>
  );
}

function Details({ selected }: { selected: Selected | null }) {
  return (
    <section class="card details" aria-labelledby="details-heading" aria-live="polite">
      <h2 id="details-heading">Details</h2>
      {!selected && <p class="muted">Select a step or a mark on the timeline (click, or Tab then Enter).</p>}
      {selected?.kind === 'step' && (
        <dl>
          <dt>Step</dt>
          <dd>
            {selected.item.agent} #{selected.item.n} {selected.item.implicit ? '(model turn)' : ''}
          </dd>
          <dt>Duration</dt>
          <dd>{selected.item.end === null ? 'running' : seconds(selected.item.end - selected.item.start)}</dd>
          {selected.item.task && !selected.item.implicit && (
            <>
              <dt>Task</dt>
              <dd class="plain">{selected.item.task}</dd>
            </>
          )}
          {selected.item.error && (
            <>
              <dt>Error</dt>
              <dd class="error">{selected.item.error}</dd>
            </>
          )}
          {selected.item.output && (
            <>
              <dt>Output</dt>
              <dd>
                <pre>{selected.item.output}</pre>
              </dd>
            </>
          )}
        </dl>
      )}
      {selected?.kind === 'tool' && (
        <dl>
          <dt>Tool</dt>
          <dd>
            {selected.item.name} ({selected.item.agent}){selected.item.client && ', run by the client'}
          </dd>
          {selected.item.client === 'result' ? (
            <>
              <dt>Call</dt>
              <dd>made by the run that paused for it; this run resumed with its result</dd>
            </>
          ) : (
            <>
              <dt>Arguments</dt>
              <dd>
                <pre>{json(selected.item.input)}</pre>
              </dd>
            </>
          )}
          <dt>{selected.item.isError ? 'Error' : 'Result'}</dt>
          <dd>
            <pre>{selected.item.end === null ? `(${toolState(selected.item)})` : json(selected.item.output)}</pre>
          </dd>
        </dl>
      )}
      {selected?.kind === 'retry' && (
        <dl>
          <dt>Upstream retry</dt>
          <dd>
            {selected.item.agent} → {selected.item.model}
          </dd>
          <dt>Attempt {selected.item.attempt} failed with</dt>
          <dd>{retryCause(selected.item)}</dd>
          <dt>Tried again</dt>
          <dd>{retryNext(selected.item)}</dd>
        </dl>
      )}
      {selected?.kind === 'call' && (
        <dl>
          <dt>Upstream call</dt>
          <dd>
            {selected.item.agent} → {selected.item.model}
          </dd>
          <dt>Tokens</dt>
          <dd>
            {selected.item.inputTokens} prompt, {selected.item.outputTokens} completion
          </dd>
          <dt>Duration</dt>
          <dd>{seconds(selected.item.end - selected.item.start)}</dd>
        </dl>
      )}
    </section>
  );
}

function Totals({ timeline }: { timeline: Timeline }) {
  const busy = (l: Lane) => l.steps.reduce((n, s) => n + ((s.end ?? timeline.end) - s.start), 0);
  return (
    <section aria-labelledby="totals-heading">
      <h2 id="totals-heading">Totals</h2>
      <p>
        Wall time <strong>{seconds(timeline.end - timeline.start)}</strong>
      </p>
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Totals by agent">
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Steps</th>
              <th scope="col">Upstream calls</th>
              <th scope="col">Retries</th>
              <th scope="col">Prompt tokens</th>
              <th scope="col">Completion tokens</th>
              <th scope="col">Busy</th>
            </tr>
          </thead>
          <tbody>
            {timeline.lanes.map((l) => (
              <tr key={l.agent}>
                <th scope="row">{l.agent}</th>
                <td>{l.steps.length}</td>
                <td>{l.calls.length}</td>
                <td>{l.retries.length}</td>
                <td>{l.tokens.input}</td>
                <td>{l.tokens.output}</td>
                <td>{seconds(busy(l))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
