// The console's pages are real paths (/runs/run_..., /conversations/conv_...), served index.html
// by the server; moving between them is history.pushState, links stay links (open in a new tab).
import { Shared, useShared } from './shared.ts';

/** Where the page is: its path (which page) and its query (a list's page, `?pages=...`). */
const place = new Shared({ path: location.pathname, search: location.search });
const moved = () => place.set({ path: location.pathname, search: location.search });
addEventListener('popstate', moved);

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  moved();
  scrollTo(0, 0);
}

export const usePath = (): string => useShared(place).path;

/** The query of the page's URL, following navigation and Back. */
export const useSearch = (): string => useShared(place).search;

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
