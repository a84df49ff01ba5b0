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
  /** Files with a document's extension whose content is not one (binary data named `.md`). */
  skipped: { path: string; reason: string }[];
  bytes: number;
  chunks: number;
}

export async function findDocuments(path: string): Promise<string[]> {
  const full = await canonicalPath(path);
  const info = await stat(full);
  if (info.isFile()) return [full];
  const out: string[] = [];
  for (const entry of await readdir(full, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && SUPPORTED_EXTENSIONS.includes(extname(entry.name).toLowerCase()))
      out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

export async function ingestPath(
  kb: KnowledgeBase,
  path: string,
  onProgress?: (done: number, total: number, file: string) => void,
): Promise<IngestReport> {
  const files = await findDocuments(path);
  const report: IngestReport = { added: 0, updated: 0, unchanged: 0, failed: [], skipped: [], bytes: 0, chunks: 0 };
  for (const [i, file] of files.entries()) {
    try {
      const bytes = await readFile(file);
      const { title, text } = await extractDocument(file, bytes);
      const chunks = chunkText(text);
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
