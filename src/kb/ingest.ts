// `cortex-flow ingest <file-or-folder>`: every supported document under the path goes into the
// knowledge base; a changed file replaces its chunks, an unchanged one is skipped.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { chunkText } from './chunk.ts';
import { canonicalPath } from './document-source.ts';
import { extractDocument, NotADocumentError, SUPPORTED_EXTENSIONS } from './extract.ts';
import type { KnowledgeBase } from './types.ts';

export interface IngestReport {
  added: number;
  updated: number;
  unchanged: number;
  failed: { path: string; error: string }[];
  /**
   * What was passed over, and why: files of another type, links (not followed), files with a
   * document's extension whose content is not one, documents without text.
   */
  skipped: { path: string; reason: string }[];
  bytes: number;
  chunks: number;
}

const SUPPORTED = `supported: ${SUPPORTED_EXTENSIONS.join(' ')}`;

/** The documents under `path` (a file or a folder, searched through), and what was passed over. */
export async function findDocuments(path: string): Promise<{ files: string[]; skipped: IngestReport['skipped'] }> {
  const full = await canonicalPath(path);
  const info = await stat(full).catch(() => {
    throw new Error(`No file or folder at ${path} (ingest reads local files).`);
  });
  const files: string[] = [];
  const skipped: IngestReport['skipped'] = [];
  const consider = async (file: string, link: boolean) => {
    // Links are not followed (a link to a folder above makes a loop; one to a file, a duplicate).
    if (link) {
      const target = await stat(file).catch(() => undefined);
      return void skipped.push({ path: file, reason: target ? 'a link (not followed)' : 'a link to nothing' });
    }
    if (SUPPORTED_EXTENSIONS.includes(extname(file).toLowerCase())) files.push(file);
    else skipped.push({ path: file, reason: `not a document type it reads (${SUPPORTED})` });
  };
  if (info.isFile()) await consider(full, false);
  else
    for (const entry of await readdir(full, { withFileTypes: true, recursive: true }))
      if (entry.isFile() || entry.isSymbolicLink())
        await consider(join(entry.parentPath, entry.name), entry.isSymbolicLink());
  return { files: files.sort(), skipped: skipped.sort((a, b) => a.path.localeCompare(b.path)) };
}

export async function ingestPath(
  kb: KnowledgeBase,
  path: string,
  onProgress?: (done: number, total: number, file: string) => void,
): Promise<IngestReport> {
  const { files, skipped } = await findDocuments(path);
  const report: IngestReport = { added: 0, updated: 0, unchanged: 0, failed: [], skipped, bytes: 0, chunks: 0 };
  for (const [i, file] of files.entries()) {
    try {
      const bytes = await readFile(file);
      const { title, text } = await extractDocument(file, bytes);
      const chunks = chunkText(text);
      if (!chunks.length) throw new NotADocumentError('no text to index');
      const outcome = await kb.upsertDocument({
        source: file,
        title,
        hash: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
        chunks,
      });
      report[outcome]++;
      report.bytes += bytes.length;
      if (outcome !== 'unchanged') report.chunks += chunks.length;
    } catch (err) {
      if (err instanceof NotADocumentError) report.skipped.push({ path: file, reason: err.message });
      else report.failed.push({ path: file, error: (err as Error).message });
    }
    onProgress?.(i + 1, files.length, file);
  }
  return report;
}
