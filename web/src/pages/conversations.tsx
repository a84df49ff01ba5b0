// The stored conversations of this key, newest first, a page at a time; one conversation's
// messages (each answer linked to its run); deleting one.
import { useEffect, useState } from 'preact/hooks';
import { api, apiJson } from '../api.ts';
import { navigate, useSearch } from '../router.ts';

interface Conversation {
  id: string;
  title: string;
  created_at: number;
  updated_at: number;
  message_count: number;
}

interface Message {
  role: string;
  content: string | null;
  run_id: string | null;
  created_at: number;
}

const PAGE_SIZE = 20;
const when = (unix: number) => new Date(unix * 1000).toLocaleString();
const titleOf = (title: string) => (title.length > 80 ? `${title.slice(0, 80)}…` : title || '(untitled)');

/** The list at the page after `trail` (the cursors of the pages before it), as a URL Back returns to. */
const listUrl = (trail: string[]) => (trail.length ? `/conversations?pages=${trail.join(',')}` : '/conversations');

export function ConversationsPage() {
  // The cursors of the pages seen so far are in the URL (ids hold no comma): the last is this
  // page's `after`, and Back (or a link) returns to the same page.
  const trail = (new URLSearchParams(useSearch()).get('pages') ?? '').split(',').filter(Boolean);
  const cursors: (string | undefined)[] = [undefined, ...trail];
  const [page, setPage] = useState<{ data: Conversation[]; has_more: boolean; last_id: string | null } | null>(null);
  const [error, setError] = useState('');
  const after = cursors[cursors.length - 1];

  useEffect(() => {
    setPage(null);
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), order: 'desc' });
    if (after) query.set('after', after);
    apiJson<typeof page & {}>(`/v1/conversations?${query}`)
      .then(setPage)
      .catch((err: Error) => setError(err.message));
  }, [after]);

  return (
    <section aria-labelledby="conversations-heading">
      <h1 id="conversations-heading">Conversations</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!page && !error && <p class="muted">Loading…</p>}
      {page && page.data.length === 0 && <p class="muted">No conversations yet: start one in the playground.</p>}
      {page && page.data.length > 0 && (
        <ul class="list" aria-label={`Conversations, page ${cursors.length}`}>
          {page.data.map((c) => (
            <li key={c.id}>
              <a href={`/conversations/${c.id}`}>{titleOf(c.title)}</a>
              <span class="muted">
                {c.message_count} messages · {when(c.updated_at)}
              </span>
            </li>
          ))}
        </ul>
      )}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          class="secondary"
          disabled={cursors.length < 2}
          onClick={() => navigate(listUrl(trail.slice(0, -1)))}
        >
          Newer
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button
          type="button"
          class="secondary"
          disabled={!page?.has_more}
          onClick={() => page?.last_id && navigate(listUrl([...trail, page.last_id]))}
        >
          Older
        </button>
      </nav>
    </section>
  );
}

export function ConversationPage({ id }: { id: string }) {
  const [conversation, setConversation] = useState<(Conversation & { messages: Message[] }) | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    apiJson<Conversation & { messages: Message[] }>(`/v1/conversations/${encodeURIComponent(id)}`)
      .then(setConversation)
      .catch((err: Error) => setError(err.message));
  }, [id]);

  async function remove() {
    if (!confirm('Delete this conversation and its runs?')) return;
    try {
      await api(`/v1/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
      navigate('/conversations');
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <section aria-labelledby="conversation-heading">
      <p>
        <a href="/conversations">← All conversations</a>
      </p>
      <h1 id="conversation-heading">{conversation ? titleOf(conversation.title) : 'Conversation'}</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {conversation && (
        <>
          <p class="muted">
            {conversation.id} · started {when(conversation.created_at)}
          </p>
          <ol class="transcript" aria-label="Messages">
            {conversation.messages.map((m, i) => (
              <li key={i} class={`turn ${m.role === 'user' ? 'user' : 'assistant'}`}>
                <div class="bubble">
                  <span class="who">{m.role}</span>
                  <p class="plain">{m.content ?? ''}</p>
                  {m.run_id && answeredBy(conversation.messages, i) && (
                    <p class="run-link">
                      <a href={`/runs/${m.run_id}`}>View run</a>
                    </p>
                  )}
                </div>
              </li>
            ))}
          </ol>
          <button type="button" class="danger" onClick={remove}>
            Delete conversation
          </button>
        </>
      )}
    </section>
  );
}

/**
 * Whether message `i` is the last of its run's in the transcript: each run's link is shown once, under
 * its answer, or under its question when it left none (a run that failed or was stopped).
 */
function answeredBy(messages: readonly { run_id: string | null }[], i: number): boolean {
  return messages[i + 1]?.run_id !== messages[i].run_id;
}
