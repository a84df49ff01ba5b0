// `cortex-flow ingest <file-or-folder>...`: every supported document under the paths goes into the
// knowledge base; a changed file replaces its chunks, an unchanged one is skipped, and a document
// whose file is gone (or is no document any more) leaves it.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { chunkText } from './chunk.ts';
import { canonicalPath } from './document-source.ts';
import { extractDocument, NotADocumentError, SUPPORTED_EXTENSIONS } from './extract.ts';
import type { KnowledgeBase } from './types.ts';

export interface IngestReport {
  added: number;
  updated: number;
  unchanged: number;
  /** Files and folders that could not be read (permissions, a PDF pdf.js cannot parse, ...). */
  failed: { path: string; error: string }[];
  /**
   * What was passed over, and why: files of another type, links (not followed), files with a
   * document's extension whose content is not one, documents without text.
   */
  skipped: { path: string; reason: string }[];
  /**
   * Documents taken out of the knowledge base: their file was deleted from an ingested folder, or
   * is no document any more (emptied, overwritten with binary data). Their chunks would otherwise
   * be found and cited as long as the knowledge base lives.
   */
  removed: { path: string; reason: string }[];
  bytes: number;
  chunks: number;
}

const SUPPORTED = `supported: ${SUPPORTED_EXTENSIONS.join(' ')}`;

interface Found {
  files: string[];
  skipped: IngestReport['skipped'];
  failed: IngestReport['failed'];
  /** The folders searched, canonical: a document stored under one whose file is gone is stale. */
  folders: string[];
}

/** The documents under `path` (a file or a folder, searched through), and what was passed over. */
export async function findDocuments(path: string): Promise<Found> {
  const full = await canonicalPath(path);
  const info = await stat(full).catch(() => {
    throw new Error(`No file or folder at ${path} (ingest reads local files).`);
  });
  const found: Found = { files: [], skipped: [], failed: [], folders: [] };
  const consider = async (file: string, link: boolean) => {
    // Links are not followed (a link to a folder above makes a loop; one to a file, a duplicate).
    if (link) {
      const target = await stat(file).catch(() => undefined);
      return void found.skipped.push({ path: file, reason: target ? 'a link (not followed)' : 'a link to nothing' });
    }
    if (SUPPORTED_EXTENSIONS.includes(extname(file).toLowerCase())) found.files.push(file);
    else found.skipped.push({ path: file, reason: `not a document type it reads (${SUPPORTED})` });
  };
  // Folder by folder, so that one that cannot be read (no permission) is reported and the rest
  // ingested: a recursive readdir gave up on the whole tree at the first such folder.
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((err: Error) => {
      found.failed.push({ path: dir, error: err.message });
      return [];
    });
    for (const entry of entries) {
      const entryPath = join(dir, entry.name);
      if (entry.isDirectory()) await walk(entryPath);
      else if (entry.isFile() || entry.isSymbolicLink()) await consider(entryPath, entry.isSymbolicLink());
    }
  };
  if (info.isFile()) await consider(full, false);
  else {
    found.folders.push(full);
    await walk(full);
  }
  found.files.sort();
  found.skipped.sort((a, b) => a.path.localeCompare(b.path));
  return found;
}

/** Whether nothing is at `path` any more (a file that cannot be read is still there). */
const isGone = (path: string) =>
  lstat(path).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT' || err.code === 'ENOTDIR',
  );

export async function ingestPath(
  kb: KnowledgeBase,
  paths: string | string[],
  onProgress?: (done: number, total: number, file: string) => void,
): Promise<IngestReport> {
  // Every path is looked at before anything is written: a mistyped last one changes nothing.
  const found: Found = { files: [], skipped: [], failed: [], folders: [] };
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const f = await findDocuments(path);
    found.files.push(...f.files);
    found.skipped.push(...f.skipped);
    found.failed.push(...f.failed);
    found.folders.push(...f.folders);
  }
  const { skipped, failed } = found;
  const files = [...new Set(found.files)]; // `ingest docs docs/a.md` reads a.md once
  const ingested = new Set(files);
  const report: IngestReport = {
    added: 0,
    updated: 0,
    unchanged: 0,
    failed,
    skipped,
    removed: [],
    bytes: 0,
    chunks: 0,
  };
  const stored = new Map((await kb.list()).map((d) => [d.source, d.hash]));
  for (const [i, file] of files.entries()) {
    try {
      const bytes = await readFile(file);
      const hash = createHash('sha256').update(bytes).digest('hex');
      // An unchanged file is not read again (a PDF costs seconds of pdf.js).
      if (stored.get(file) === hash) {
        report.unchanged++;
        report.bytes += bytes.length;
      } else {
        const { title, text } = await extractDocument(file, bytes);
        const chunks = chunkText(text);
        if (!chunks.length) throw new NotADocumentError('no text to index');
        const outcome = await kb.upsertDocument({ source: file, title, hash, bytes: bytes.length, chunks });
        report[outcome]++;
        report.bytes += bytes.length;
        if (outcome !== 'unchanged') report.chunks += chunks.length;
      }
    } catch (err) {
      if (!(err instanceof NotADocumentError)) report.failed.push({ path: file, error: (err as Error).message });
      else {
        report.skipped.push({ path: file, reason: err.message });
        if (stored.has(file) && (await kb.remove(file)))
          report.removed.push({ path: file, reason: `no document any more (${err.message})` });
      }
    }
    onProgress?.(i + 1, files.length, file);
  }
  // Documents stored from the folders searched whose files were deleted since.
  for (const source of stored.keys()) {
    const under = found.folders.some((folder) => source.startsWith(folder.endsWith(sep) ? folder : folder + sep));
    if (under && !ingested.has(source) && (await isGone(source)) && (await kb.remove(source)))
      report.removed.push({ path: source, reason: 'its file is gone' });
  }
  return report;
}
