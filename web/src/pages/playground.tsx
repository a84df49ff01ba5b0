// Chat with a served model: the answer streams in (SSE over fetch), the team's progress
// (`delta.reasoning_content`) shows live and folds away once the answer is done, the answer is
// Markdown with its citations linked to its sources, and the conversation goes on across turns.
// The conversation belongs to the tab, not to the view: going to a run (even while its answer
// streams) or to a list and back finds it as it was, and the answer goes on arriving meanwhile.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, apiJson, ApiFailure, failureText } from '../api.ts';
import { answerHtml, isWebUrl, sourceAnchor, type Source } from '../markdown.ts';
import { Shared, useShared } from '../shared.ts';
import { sseData } from '../sse.ts';

interface Model {
  id: string;
}

interface UserTurn {
  role: 'user';
  text: string;
}

interface AssistantTurn {
  role: 'assistant';
  id: number;
  progress: string;
  answer: string;
  sources: Source[];
  runId?: string;
  streaming: boolean;
  error?: string;
}

type Turn = UserTurn | AssistantTurn;

const EFFORTS = ['', 'minimal', 'low', 'medium', 'high'];

/** The playground's conversation, kept for the life of the tab. */
interface Session {
  turns: Turn[];
  conversationId?: string;
  model: string;
  effort: string;
  draft: string;
  busy: boolean;
  status: string;
  /** Why the last message was not sent (refused before any run began: rate limit, shutdown…). */
  refused?: string;
  stop?: AbortController;
}

const session = new Shared<Session>({ turns: [], model: '', effort: '', draft: '', busy: false, status: '' });

function change(patch: Partial<Session> | ((s: Session) => Partial<Session>)): void {
  session.set({ ...session.value, ...(typeof patch === 'function' ? patch(session.value) : patch) });
}

/**
 * The conversation was deleted (from its page): the playground starts a new one rather than send the
 * next message to one that is gone (a 404) and link to it.
 */
export function conversationDeleted(id: string): void {
  if (session.value.conversationId !== id || session.value.busy) return;
  change({ turns: [], conversationId: undefined, status: 'The conversation was deleted.' });
}

const update = (id: number, patch: (t: AssistantTurn) => Partial<AssistantTurn>) =>
  change((s) => ({
    turns: s.turns.map((t) => (t.role === 'assistant' && t.id === id ? { ...t, ...patch(t) } : t)),
  }));

/**
 * The deltas of an answer not yet drawn. A long answer streams in as thousands of small deltas, and
 * drawing each one re-rendered the page and parsed the whole Markdown answer again: quadratic work
 * (3,000 one-character deltas blocked the page for 21 s). A delta costs constant work here (its text
 * appended to what waits), and what waits is drawn at most once a frame, however many arrived since;
 * and at once before anything else changes the turn (an error, the stream's end), so nothing is
 * drawn out of order. A hidden tab draws nothing until it is looked at again or the stream ends.
 */
class PendingDeltas {
  private progress = '';
  private answer = '';
  private metadata?: { sources: Source[]; runId?: string };
  private frame = 0;
  private readonly id: number;

  constructor(id: number) {
    this.id = id;
  }

  add(delta: { content?: string; reasoning_content?: string }, metadata?: { sources?: Source[]; run_id?: string }) {
    this.progress += delta.reasoning_content ?? '';
    this.answer += delta.content ?? '';
    // Folded as drawing each would have: the last sources, the last run id given.
    if (metadata) this.metadata = { sources: metadata.sources ?? [], runId: metadata.run_id ?? this.metadata?.runId };
    this.frame ||= requestAnimationFrame(() => {
      this.frame = 0;
      this.flush();
    });
  }

  /** Draws what waits, now. */
  flush() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const { progress, answer, metadata } = this;
    if (!progress && !answer && !metadata) return;
    this.progress = this.answer = '';
    this.metadata = undefined;
    update(this.id, (t) => ({
      progress: t.progress + progress,
      answer: t.answer + answer,
      ...(metadata ? { sources: metadata.sources, runId: metadata.runId ?? t.runId } : {}),
    }));
  }
}

/** The turns without the answer `id` and the question it answers. */
function withoutTurn(turns: Turn[], id: number): Turn[] {
  const at = turns.findIndex((t) => t.role === 'assistant' && t.id === id);
  return at < 0 ? turns : [...turns.slice(0, Math.max(0, at - 1)), ...turns.slice(at + 1)];
}

async function send(text: string) {
  const { model, effort, conversationId } = session.value;
  const id = Date.now();
  const controller = new AbortController();
  const pending = new PendingDeltas(id);
  change((s) => ({
    turns: [
      ...s.turns,
      { role: 'user', text },
      { role: 'assistant', id, progress: '', answer: '', sources: [], streaming: true },
    ],
    draft: '',
    refused: undefined,
    busy: true,
    status: 'The team is working…',
    stop: controller,
  }));
  try {
    const res = await api('/v1/chat/completions', {
      method: 'POST',
      signal: controller.signal,
      body: JSON.stringify({
        model,
        stream: true,
        messages: [{ role: 'user', content: text }],
        ...(conversationId ? { conversation_id: conversationId } : {}),
        ...(effort ? { reasoning_effort: effort } : {}),
      }),
    });
    const runId = res.headers.get('x-cortex-run-id')?.split(',')[0]?.trim();
    if (runId) update(id, () => ({ runId }));
    const conversation = res.headers.get('x-conversation-id');
    if (conversation) change({ conversationId: conversation });
    let failed = false;
    for await (const data of sseData(res, controller.signal)) {
      const chunk = JSON.parse(data);
      if (chunk.error) {
        failed = true;
        pending.flush();
        update(id, () => ({ error: chunk.error.message, runId: chunk.error.run_id ?? runId }));
        continue;
      }
      // Every chunk names the conversation: a render only when it is new, not one a chunk.
      if (chunk.conversation_id && chunk.conversation_id !== session.value.conversationId)
        change({ conversationId: chunk.conversation_id });
      pending.add(chunk.choices?.[0]?.delta ?? {}, chunk.metadata ?? chunk.choices?.[0]?.metadata);
    }
    pending.flush();
    // Stop ends the stream as the server's end does: the answer is marked as cut short.
    if (controller.signal.aborted) update(id, () => ({ error: 'Stopped.' }));
    change({ status: controller.signal.aborted ? 'Stopped.' : failed ? 'The run failed.' : 'Answer complete.' });
  } catch (err) {
    pending.flush();
    const runId = err instanceof ApiFailure ? err.runId : undefined;
    if (err instanceof ApiFailure && !runId) {
      // Refused before any run began (a rate limit, a server shutting down, its store down): nothing
      // was sent to the team nor stored, so the message goes back to the composer, to send again,
      // rather than stay in the transcript as if asked, and the refusal says when to try again.
      change((s) => ({
        turns: withoutTurn(s.turns, id),
        draft: s.draft || text,
        refused: `Not sent: ${failureText(err)}`,
        status: 'The message was not sent.',
      }));
      return;
    }
    const message = controller.signal.aborted ? 'Stopped.' : failureText(err);
    update(id, (t) => ({ error: message, runId: t.runId ?? runId }));
    change({ status: controller.signal.aborted ? 'Stopped.' : 'The request failed.' });
  } finally {
    update(id, () => ({ streaming: false }));
    change({ busy: false, stop: undefined });
  }
}

export function PlaygroundPage() {
  const { turns, conversationId, model, effort, draft, busy, status, refused, stop } = useShared(session);
  const [models, setModels] = useState<Model[]>([]);
  const [loadError, setLoadError] = useState('');

  const loadModels = () => {
    setLoadError('');
    apiJson<{ data: Model[] }>('/v1/models')
      .then((list) => {
        setModels(list.data);
        if (!session.value.model)
          change({ model: (list.data.find((x) => x.id === 'cortex-flow') ?? list.data[0])?.id || '' });
      })
      .catch((err: unknown) => setLoadError(failureText(err)));
  };
  useEffect(loadModels, []);

  return (
    <section class="playground" aria-labelledby="playground-heading">
      <div class="page-head">
        <h1 id="playground-heading">Playground</h1>
        <div class="controls">
          <label>
            Model
            <select value={model} onChange={(e) => change({ model: (e.target as HTMLSelectElement).value })}>
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id}
                </option>
              ))}
            </select>
          </label>
          <label>
            Reasoning effort
            <select value={effort} onChange={(e) => change({ effort: (e.target as HTMLSelectElement).value })}>
              {EFFORTS.map((x) => (
                <option key={x} value={x}>
                  {x || 'default'}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            class="secondary"
            disabled={busy || !turns.length}
            onClick={() => change({ turns: [], conversationId: undefined })}
          >
            New conversation
          </button>
        </div>
      </div>
      {loadError && (
        <p class="error" role="alert">
          Could not load the models: {loadError}{' '}
          <button type="button" class="secondary" onClick={loadModels}>
            Try again
          </button>
        </p>
      )}
      {conversationId && (
        <p class="muted">
          Conversation <a href={`/conversations/${conversationId}`}>{conversationId}</a>
        </p>
      )}
      <ol class="transcript" aria-label="Messages">
        {turns.map((t, i) => (
          <li key={i} class={`turn ${t.role}`}>
            {t.role === 'user' ? <UserMessage text={t.text} /> : <Answer turn={t} />}
          </li>
        ))}
      </ol>
      <p class="sr-only" role="status">
        {status}
      </p>
      {refused && (
        <p class="error" role="alert" data-testid="refused">
          {refused}
        </p>
      )}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.trim() && model && !busy) void send(draft.trim());
        }}
      >
        <label for="message">Message</label>
        <textarea
          id="message"
          rows={3}
          value={draft}
          placeholder="Ask the team… (Enter sends, Shift+Enter adds a line)"
          onInput={(e) => change({ draft: (e.target as HTMLTextAreaElement).value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
            }
          }}
        />
        <div class="row">
          <button type="submit" disabled={busy || !model}>
            Send
          </button>
          {busy && (
            <button type="button" class="secondary" onClick={() => stop?.abort()}>
              Stop
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function UserMessage({ text }: { text: string }) {
  return (
    <div class="bubble">
      <span class="who">You</span>
      <p class="plain">{text}</p>
    </div>
  );
}

function Answer({ turn }: { turn: AssistantTurn }) {
  const scope = String(turn.id);
  // Parsed again only when the answer changed: not at each keystroke in the composer below, nor for
  // the earlier answers of the conversation while a new one streams in.
  const html = useMemo(
    () => (turn.answer ? answerHtml(turn.answer, turn.sources, scope) : ''),
    [turn.answer, turn.sources, scope],
  );
  const steps = turn.progress.split('\n').filter(Boolean);
  return (
    <div class="bubble" aria-busy={turn.streaming}>
      <span class="who">Cortex Flow</span>
      {steps.length > 0 && (
        // Open while the team works; folded once the answer is done (the user may open it again).
        <details class="progress" open={turn.streaming} key={String(turn.streaming)}>
          <summary>
            {turn.streaming ? 'Team at work' : 'Team progress'} ({steps.length} {steps.length === 1 ? 'step' : 'steps'})
          </summary>
          <ol data-testid="progress">
            {steps.map((s, i) => (
              <li key={i}>{s}</li>
            ))}
          </ol>
        </details>
      )}
      {turn.answer ? (
        <div class="markdown" data-testid="answer" dangerouslySetInnerHTML={{ __html: html }} />
      ) : (
        turn.streaming && <p class="muted">Waiting for the answer…</p>
      )}
      {turn.error && (
        <p class="error" role="alert">
          {turn.error}
        </p>
      )}
      {turn.sources.length > 0 && (
        <section class="sources" aria-label="Sources">
          <h2>Sources</h2>
          <ol>
            {turn.sources.map((s) => (
              <li key={s.index} id={sourceAnchor(scope, s.index)} value={s.index}>
                {isWebUrl(s.url) ? (
                  <a href={s.url} target="_blank" rel="noopener noreferrer">
                    {s.title || s.url}
                  </a>
                ) : (
                  <span>{s.title || s.url}</span>
                )}{' '}
                <span class="muted">{s.url}</span>
              </li>
            ))}
          </ol>
        </section>
      )}
      {turn.runId && (
        <p class="run-link">
          <a href={`/runs/${turn.runId}`}>View run</a>
        </p>
      )}
    </div>
  );
}
