// The worker of pdf-text.ts: reads each PDF it is sent and posts back its title and text.
import { parentPort } from 'node:worker_threads';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';

// pdf.js prints its warnings ("Indexing all PDF objects", ...) to the console, into the output of
// the CLI; a document it cannot read is reported as a failure by the caller instead.
const PDF_ERRORS_ONLY = 0;

parentPort!.on('message', async ({ id, bytes }: { id: number; bytes: Uint8Array }) => {
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: PDF_ERRORS_ONLY });
    const { text } = await extractText(pdf, { mergePages: false });
    const meta = await getMeta(pdf).catch(() => undefined);
    const title = (meta?.info as { Title?: string } | undefined)?.Title?.trim() || undefined;
    await pdf.destroy();
    parentPort!.postMessage({ id, ok: true, pdf: { title, text: (text as string[]).join('\n\n') } });
  } catch (err) {
    parentPort!.postMessage({ id, ok: false, error: (err as Error).message });
  }
});
