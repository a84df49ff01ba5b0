// Text and title of a PDF, read by pdf.js (unpdf). A PDF is a program of sorts: a crafted one can
// keep pdf.js busy for as long as it likes, and pdf.js runs on the thread that calls it. So it runs
// in a worker thread with a time limit, terminated when the limit passes.
import { Worker } from 'node:worker_threads';

export interface PdfText {
  title: string | undefined;
  text: string;
}

export class PdfTimeoutError extends Error {}

const WORKER = new URL('./pdf-worker.ts', import.meta.url);

export async function readPdf(bytes: Uint8Array, timeoutMs = 30_000): Promise<PdfText> {
  const worker = new Worker(WORKER, { workerData: bytes, stdout: true, stderr: true });
  try {
    return await new Promise<PdfText>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PdfTimeoutError(`PDF not read within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      worker.once('message', (m: { ok: true; pdf: PdfText } | { ok: false; error: string }) => {
        clearTimeout(timer);
        if (m.ok) resolve(m.pdf);
        else reject(new Error(m.error));
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    await worker.terminate();
  }
}
