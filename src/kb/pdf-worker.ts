// The worker of pdf-text.ts: reads each PDF it is sent and posts back its title and text.
import { parentPort } from 'node:worker_threads';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';

// pdf.js prints its warnings ("Indexing all PDF objects", ...) to the console, into the output of
// the CLI; a document it cannot read is reported as a failure by the caller instead.
const PDF_ERRORS_ONLY = 0;

/**
 * A word the typesetter broke at the end of a line ("alterna-\ntives") is one word again, so that
 * a search for it finds it and a quote reads whole. Only a hyphen between lower-case letters at a
 * line's end; a compound broken there ("well-\nknown") loses its hyphen, the rarer case.
 */
const joinBrokenWords = (text: string) => text.replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2');

parentPort!.on('message', async ({ id, bytes }: { id: number; bytes: Uint8Array }) => {
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: PDF_ERRORS_ONLY });
    const { text } = await extractText(pdf, { mergePages: false });
    const meta = await getMeta(pdf).catch(() => undefined);
    const title = (meta?.info as { Title?: string } | undefined)?.Title?.trim() || undefined;
    await pdf.destroy();
    parentPort!.postMessage({ id, ok: true, pdf: { title, text: joinBrokenWords((text as string[]).join('\n\n')) } });
  } catch (err) {
    parentPort!.postMessage({ id, ok: false, error: (err as Error).message });
  }
});
