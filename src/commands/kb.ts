// `cortex-flow ingest PATH...` and `cortex-flow kb list|remove`: the knowledge base from the shell.
import { SingleBar, Presets } from 'cli-progress';
import { ConfigError, type Config } from '../config.ts';
import { openKnowledgeBase } from '../kb/create-kb.ts';
import { canonicalPath } from '../kb/document-source.ts';
import { ingestPath } from '../kb/ingest.ts';
import { shown } from './shown.ts';

export async function ingestCommand(config: Config, paths: string[], print: (line: string) => void): Promise<void> {
  if (!paths.length) throw new ConfigError('ingest needs a file or folder: cortex-flow ingest PATH...');
  const kb = await openKnowledgeBase(config);
  // A progress bar only on a terminal; logs and pipes get the summary alone.
  const bar = process.stdout.isTTY
    ? new SingleBar({ format: 'Ingesting [{bar}] {value}/{total} {file}', hideCursor: true }, Presets.shades_classic)
    : undefined;
  const started = performance.now();
  try {
    const report = await ingestPath(kb, paths, (done, total, file) => {
      if (!bar) return;
      if (done === 1) bar.start(total, 0, { file: '' });
      bar.update(done, { file: file.length > 50 ? `...${file.slice(-47)}` : file });
    });
    bar?.stop();
    const seconds = (performance.now() - started) / 1000;
    print(
      `Ingested ${report.added} new and ${report.updated} changed documents (${report.chunks} chunks, ${(report.bytes / 1e6).toFixed(2)} MB) in ${seconds.toFixed(1)} s; ${report.unchanged} unchanged${report.removed.length ? `, ${report.removed.length} removed` : ''}.`,
    );
    for (const s of report.skipped) print(`Skipped: ${shown(s.path)}: ${s.reason}`);
    for (const r of report.removed) print(`Removed: ${shown(r.path)}: ${r.reason}`);
    for (const f of report.failed) print(`Failed: ${shown(f.path)}: ${f.error}`);
    if (report.failed.length) process.exitCode = 1;
  } finally {
    bar?.stop();
    await kb.close();
  }
}

export async function kbCommand(
  config: Config,
  action: string | undefined,
  target: string | undefined,
  print: (line: string) => void,
): Promise<void> {
  const kb = await openKnowledgeBase(config);
  try {
    if (action === 'list') {
      const docs = await kb.list();
      if (!docs.length) return print('The knowledge base is empty.');
      for (const d of docs) print(`${d.id}\t${d.chunkCount} chunks\t${shown(d.title)}\t${shown(d.source)}`);
      return;
    }
    if (action === 'remove') {
      if (!target) throw new ConfigError('kb remove needs a document id or path');
      // An id, or a path as ingest stored it: absolute and canonical, whatever the spelling given.
      const removed = (await kb.remove(target)) || (await kb.remove(await canonicalPath(target)));
      if (!removed) throw new ConfigError(`No document with id or path '${target}'`);
      return print(`Removed ${shown(target)}.`);
    }
    throw new ConfigError("Use 'kb list' or 'kb remove ID|PATH'.");
  } finally {
    await kb.close();
  }
}
