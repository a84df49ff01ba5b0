// The console's calls to the API: same origin, with the API key the user gave (kept in
// sessionStorage: it lasts as long as the browser tab, never on disk). A 401 asks for a key.
import { Shared } from './shared.ts';

const KEY_ITEM = 'cortex-flow.api-key';

export const apiKey = new Shared<string | null>(sessionStorage.getItem(KEY_ITEM));
/** Set when the server refused the key (or asked for one): the key prompt shows. */
export const keyNeeded = new Shared(false);

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY_ITEM, key);
  apiKey.set(key);
  keyNeeded.set(false);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_ITEM);
  apiKey.set(null);
}

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string | null;
  /** The run a failed chat completion started (`error.run_id`), if it started one. */
  readonly runId: string | undefined;
  /** The parameter the refusal names (`error.param`: a list's `after` cursor, say). */
  readonly param: string | null;
  /** Seconds the server asked to wait before trying again (its Retry-After), if it said. */
  readonly retryAfter: number | undefined;
  constructor(
    status: number,
    message: string,
    code: string | null,
    runId?: string,
    param: string | null = null,
    retryAfter?: number,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.runId = runId;
    this.param = param;
    this.retryAfter = retryAfter;
  }
}

/**
 * What to tell the user of a failure: the server's message, and when to try again if the server said
 * (a 429, a 503 of a server shutting down or of its store) and the message does not already; a
 * connection lost (fetch's TypeError, "Failed to fetch") says so in words.
 */
export function failureText(err: unknown): string {
  if (err instanceof TypeError) return 'The server could not be reached (the connection failed or was lost).';
  if (!(err instanceof Error)) return String(err);
  const wait = err instanceof ApiFailure ? err.retryAfter : undefined;
  if (wait === undefined || /try again in/i.test(err.message)) return err.message;
  return `${err.message} Try again in ${wait} s.`;
}

/** A fetch to the API with the key; an error envelope becomes an ApiFailure. */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (apiKey.value) headers.set('authorization', `Bearer ${apiKey.value}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (res.ok) return res;
  throw await failureOf(res);
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await api(path, init)).json()) as T;
}

async function failureOf(res: Response): Promise<ApiFailure> {
  let message = `${res.status} ${res.statusText}`;
  let code: string | null = null;
  let runId: string | undefined;
  let param: string | null = null;
  const seconds = Number(res.headers.get('retry-after') ?? NaN);
  const retryAfter = Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
  try {
    const body = (await res.json()) as {
      error?: { message?: string; code?: string | null; run_id?: string; param?: string | null };
    };
    message = body.error?.message ?? message;
    code = body.error?.code ?? null;
    runId = body.error?.run_id;
    param = body.error?.param ?? null;
  } catch {
    // not the envelope: keep the status line
  }
  if (res.status === 401) keyNeeded.set(true);
  return new ApiFailure(res.status, message, code, runId, param, retryAfter);
}
