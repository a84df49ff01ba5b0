// Text and title of a PDF, read by pdf.js (unpdf). A PDF is a program of sorts: a crafted one can
// keep pdf.js busy for as long as it likes, and pdf.js runs on the thread that calls it. So it runs
// in a worker thread with a time limit per file; a worker past its limit is terminated and the next
// file gets a fresh one. One worker serves file after file (starting one and loading pdf.js costs
// about as much as reading a small PDF), and never keeps the process alive on its own.
import { Worker } from 'node:worker_threads';

export interface PdfText {
  title: string | undefined;
  text: string;
}

export class PdfTimeoutError extends Error {}

type Reply = { id: number; ok: true; pdf: PdfText } | { id: number; ok: false; error: string };
interface Pending {
  resolve(pdf: PdfText): void;
  reject(err: Error): void;
}

// Development runs the .ts sources; the installed package runs the compiled .js beside this module.
const WORKER = new URL(import.meta.url.endsWith('.ts') ? './pdf-worker.ts' : './pdf-worker.js', import.meta.url);

/** One worker thread and the files it is reading. */
class PdfReader {
  readonly worker = new Worker(WORKER);
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  stopped = false;

  constructor() {
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.pdf);
      else p?.reject(new Error(m.error));
    });
    this.worker.on('error', (err) => this.stop(err));
    this.worker.on('exit', () => this.stop(new Error('the PDF reader stopped')));
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  read(bytes: Uint8Array, timeoutMs: number): Promise<PdfText> {
    const id = this.nextId++;
    return new Promise<PdfText>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Whatever pdf.js is stuck in, the worker goes; the next file gets a new one.
        this.stop(new PdfTimeoutError(`PDF not read within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const settle = () => clearTimeout(timer);
      this.pending.set(id, {
        resolve: (pdf) => (settle(), resolve(pdf)),
        reject: (err) => (settle(), reject(err)),
      });
      this.worker.postMessage({ id, bytes });
    });
  }

  private stop(err: Error): void {
    this.stopped = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.terminate().catch(() => {}); // a worker that is already gone is what we want
  }
}

let reader: PdfReader | undefined;

export function readPdf(bytes: Uint8Array, timeoutMs = 30_000): Promise<PdfText> {
  if (!reader || reader.stopped) reader = new PdfReader();
  return reader.read(bytes, timeoutMs);
}
