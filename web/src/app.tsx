// The console's frame: navigation, the key prompt when the API asks for a key, and the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import { apiKey, forgetKey, keyNeeded } from './api.ts';
import { KeyPrompt } from './key-prompt.tsx';
import { ConversationPage, ConversationsPage } from './pages/conversations.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PlaygroundPage } from './pages/playground.tsx';
import { RunPage } from './pages/run.tsx';
import { onLinkClick, usePath } from './router.ts';
import { useShared } from './shared.ts';

const NAV = [
  { href: '/', label: 'Playground', match: (p: string) => p === '/' || p === '/playground' },
  { href: '/conversations', label: 'Conversations', match: (p: string) => p.startsWith('/conversations') },
  { href: '/overview', label: 'Overview', match: (p: string) => p === '/overview' },
];

/** A path segment as the id it names; undefined for a malformed percent-encoding (an answer's link may hold one). */
function idOf(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const NotFound = () => (
  <section>
    <h1>Not found</h1>
    <p>This address names no page of the console.</p>
  </section>
);

function page(path: string) {
  const run = /^\/runs\/([^/]+)$/.exec(path);
  const conversation = /^\/conversations\/([^/]+)$/.exec(path);
  const id = idOf((run ?? conversation)?.[1] ?? '');
  if ((run || conversation) && id === undefined) return <NotFound />;
  if (run) return <RunPage id={id!} />;
  if (conversation) return <ConversationPage id={id!} />;
  if (path === '/conversations') return <ConversationsPage />;
  if (path === '/overview') return <OverviewPage />;
  return <PlaygroundPage />;
}

/**
 * Another page of the console: the focus goes to its content, as a page load starts a keyboard or
 * screen-reader user there. Else it stayed on the link or button that was clicked, which the new
 * page removed: the focus fell to the document, and Tab started over from the top.
 */
function useFocusOnMove(path: string, main: { current: HTMLElement | null }) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
  }, [path]);
}

export function App() {
  const path = usePath();
  const needed = useShared(keyNeeded);
  const key = useShared(apiKey);
  // A new key remounts the page, so that it loads again with it.
  const [generation, setGeneration] = useState(0);
  const main = useRef<HTMLElement>(null);
  useFocusOnMove(path, main);
  return (
    <div class="frame" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Cortex Flow</span>
        <nav aria-label="Console">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={n.match(path) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {key && (
          <button
            type="button"
            class="link-button"
            onClick={() => {
              forgetKey();
              setGeneration((g) => g + 1);
            }}
          >
            Forget key
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        {needed ? (
          <KeyPrompt onSaved={() => setGeneration((g) => g + 1)} />
        ) : (
          <div key={`${path}#${generation}`}>{page(path)}</div>
        )}
      </main>
    </div>
  );
}
