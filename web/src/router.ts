// The console's pages are real paths (/runs/run_..., /conversations/conv_...), served index.html
// by the server; moving between them is history.pushState, links stay links (open in a new tab).
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();
addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  listeners.forEach((l) => l());
  scrollTo(0, 0);
}

/** The query of the page's URL (a list's page, `?pages=...`), following navigation and Back. */
export function useSearch(): string {
  const [search, setSearch] = useState(location.search);
  useEffect(() => {
    const update = () => setSearch(location.search);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return search;
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return path;
}

/** A click on a console link moves within the page, unless the user asked for a new tab or window. */
export function onLinkClick(event: MouseEvent): void {
  const a = (event.target as Element).closest('a');
  if (!a || a.target || a.origin !== location.origin || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (a.hasAttribute('download') || a.pathname.startsWith('/v1/')) return;
  // A link within this page (a citation's `#src-...`) is the browser's to follow: it scrolls there.
  if (a.hash && a.pathname === location.pathname && a.search === location.search) return;
  event.preventDefault();
  navigate(a.pathname + a.search + a.hash);
}
