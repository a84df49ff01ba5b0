// The one name a document file has in the knowledge base: its canonical absolute path. A file
// reached through a symlinked folder, a relative path or `..` is the same document, so ingest and
// `kb remove` agree on it and a document is never stored twice under two spellings.
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    // A file already deleted (removing it from the knowledge base is the next step): its folder
    // may still be reached through a symlink.
    try {
      return join(await realpath(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}
