// PostgreSQL refuses U+0000 in text; SQLite keeps it. Both stores replace it with U+FFFD (the
// replacement character) so that the same content reads back the same from either.
export function storedText(s: string): string;
export function storedText(s: string | null | undefined): string | null;
export function storedText(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
