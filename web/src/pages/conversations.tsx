// The stored conversations of this key, newest first, a page at a time; one conversation's
// messages (each answer linked to its run); deleting one.
import { useEffect, useState } from 'preact/hooks';
import { api, apiJson, ApiFailure, failureText } from '../api.ts';
import { navigate, useSearch } from '../router.ts';
import { conversationDeleted } from './playground.tsx';

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

/**
 * Where the list is, from the URL: `?page=N&after=ID` (the page after that conversation, going
 * older) or `?page=N&before=ID` (the page before it, going newer), or the first page. Each page is
 * read from a neighbour's edge, not from a trail of every cursor since the first: a conversation
 * deleted meanwhile spoils at most the one page read from it. (`?pages=a,b` is the former form.)
 */
function placeOf(search: string): { page: number; after?: string; before?: string } {
  const q = new URLSearchParams(search);
  const trail = (q.get('pages') ?? '').split(',').filter(Boolean);
  if (trail.length) return { page: trail.length + 1, after: trail.at(-1) };
  const page = Math.max(1, Number.parseInt(q.get('page') ?? '', 10) || 1);
  const after = q.get('after') ?? undefined;
  const before = after ? undefined : (q.get('before') ?? undefined);
  return after || before ? { page: Math.max(page, 2), after, before } : { page: 1 };
}

const listUrl = (page: number, cursor: 'after' | 'before', id: string) =>
  page <= 1 ? '/conversations' : `/conversations?page=${page}&${cursor}=${encodeURIComponent(id)}`;

interface ListError {
  text: string;
  /** The cursor names no conversation (deleted since the URL was made). */
  staleCursor: boolean;
}

interface ListPage {
  data: Conversation[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function ConversationsPage() {
  const search = useSearch();
  const { page: number, after, before } = placeOf(search);
  // What was read, and for which place: the render right after a move (before the effect below
  // runs) must not show the previous page's list under the new page's number.
  const [loaded, setLoaded] = useState<{ place: string; page?: ListPage; error?: ListError } | null>(null);
  const place = `${after ?? ''}|${before ?? ''}`;
  const page = loaded?.place === place ? (loaded.page ?? null) : null;
  const error = loaded?.place === place ? (loaded.error ?? null) : null;

  useEffect(() => {
    // An answer for a place left meanwhile (quick clicks) is dropped: it would hide the current one.
    let current = true;
    const setPage = (page: ListPage) => current && setLoaded({ place, page });
    const setError = (error: ListError) => current && setLoaded({ place, error });
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), order: 'desc' });
    if (after) query.set('after', after);
    if (before) query.set('before', before);
    apiJson<ListPage>(`/v1/conversations?${query}`)
      .then(setPage)
      .catch((err: unknown) => {
        // The conversation this page is read from is gone (deleted since the URL was made).
        const staleCursor =
          err instanceof ApiFailure && err.status === 400 && (err.param === 'after' || err.param === 'before');
        setError({ text: failureText(err), staleCursor });
      });
    return () => {
      current = false;
    };
  }, [place]);

  // Paging back (`before`) knows whether newer ones remain; paging on (`after`), whether older ones do.
  const hasNewer = before ? !!page?.has_more : number > 1;
  const hasOlder = before ? true : !!page?.has_more;
  return (
    <section aria-labelledby="conversations-heading">
      <h1 id="conversations-heading">Conversations</h1>
      {error && (
        <div class="error" role="alert">
          {error.staleCursor ? (
            <p>
              This page was counted from a conversation that no longer exists (it was deleted).{' '}
              <a href="/conversations">Go to the newest conversations</a>
            </p>
          ) : (
            <p>{error.text}</p>
          )}
        </div>
      )}
      {!page && !error && <p class="muted">Loading…</p>}
      {page && page.data.length === 0 && (
        <p class="muted">
          {number > 1 ? 'No conversations on this page.' : 'No conversations yet: start one in the playground.'}
        </p>
      )}
      {page && page.data.length > 0 && (
        <ul class="list" aria-label={`Conversations, page ${number}`}>
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
        <PagerButton
          label="Newer"
          enabled={!!page && hasNewer}
          onClick={() => page?.first_id && navigate(listUrl(number - 1, 'before', page.first_id))}
        />
        <span class="muted">Page {number}</span>
        <PagerButton
          label="Older"
          enabled={!!page && hasOlder && !!page.last_id}
          onClick={() => page?.last_id && navigate(listUrl(number + 1, 'after', page.last_id))}
        />
      </nav>
    </section>
  );
}

/**
 * A pager button that stays focusable when it cannot be used (aria-disabled, not disabled): the
 * keyboard user who reached the last page with it keeps their place, rather than being sent back to
 * the top of the document when a focused button is disabled.
 */
function PagerButton({ label, enabled, onClick }: { label: string; enabled: boolean; onClick: () => void }) {
  return (
    <button
      type="button"
      class="secondary"
      aria-disabled={enabled ? undefined : 'true'}
      onClick={() => enabled && onClick()}
    >
      {label}
    </button>
  );
}

export function ConversationPage({ id }: { id: string }) {
  const [conversation, setConversation] = useState<(Conversation & { messages: Message[] }) | null>(null);
  const [error, setError] = useState('');
  const [deleting, setDeleting] = useState(false);

  useEffect(() => {
    apiJson<Conversation & { messages: Message[] }>(`/v1/conversations/${encodeURIComponent(id)}`)
      .then(setConversation)
      .catch((err: unknown) => setError(failureText(err)));
  }, [id]);

  async function remove() {
    if (deleting || !confirm('Delete this conversation and its runs?')) return;
    // The server waits for a turn still running on it (seconds): the button says so meanwhile.
    setDeleting(true);
    setError('');
    try {
      await api(`/v1/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
      conversationDeleted(id);
      navigate('/conversations');
    } catch (err) {
      setDeleting(false);
      setError(
        err instanceof ApiFailure && err.code === 'conversation_busy'
          ? 'Not deleted: a turn of this conversation is still running. Delete it again once its answer is complete.'
          : failureText(err),
      );
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
          <button type="button" class="danger" onClick={remove} aria-disabled={deleting ? 'true' : undefined}>
            {deleting ? 'Deleting…' : 'Delete conversation'}
          </button>
          <p class="sr-only" role="status">
            {deleting ? 'Deleting the conversation (waiting for a turn still running on it)…' : ''}
          </p>
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
