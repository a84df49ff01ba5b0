// HTTP/1.1 written by hand over node:net, for what fetch refuses to send: percent-encoded and
// absolute-form request targets, malformed request lines, oversized headers, slow clients.
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  /** The first response on the connection, if any arrived. */
  response?: RawResponse;
  /** Whether the server closed the connection before `timeoutMs`. */
  closed: boolean;
}

export const portOf = (baseUrl: string) => Number(new URL(baseUrl).port);

/** A request as text: method, target, headers; `Connection: close` unless a header says otherwise. */
export function request(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const all: Record<string, string> = { Host: 'localhost', Connection: 'close', ...headers };
  if (body && !Object.keys(all).some((h) => h.toLowerCase() === 'content-length'))
    all['Content-Length'] = String(Buffer.byteLength(body));
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Sends `data` (text or bytes) and reads until the server closes the connection or time runs out.
 * `halfClose` ends our side after sending, for a request that would otherwise never complete.
 */
export function exchange(
  port: number,
  data: string | Buffer,
  timeoutMs = 5000,
  halfClose = false,
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response: parseResponse(Buffer.concat(chunks)), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => finish(true));
    socket.on('error', () => {}); // a reset after the answer still ends in 'close'
    if (halfClose) socket.end(data);
    else socket.write(data);
  });
}

/** The first HTTP response in `raw` (chunked bodies decoded), or undefined when there is none. */
export function parseResponse(raw: Buffer): RawResponse | undefined {
  return parseResponses(raw)[0];
}

/** Every final HTTP response in `raw`, in order (several when requests were pipelined). */
export function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let body = rest.subarray(end + 4);
    if (m[1].startsWith('1')) {
      rest = body; // an interim response (100 Continue): the real one follows
      continue;
    }
    rest = Buffer.alloc(0);
    if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
    else if (headers['content-length']) {
      const length = Number(headers['content-length']);
      rest = body.subarray(length);
      body = body.subarray(0, length);
    }
    out.push({ status: Number(m[1]), headers, body: body.toString('utf8') });
  }
  return out;
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** True when `body` is exactly OpenAI's error envelope. */
export function isErrorEnvelope(body: string): boolean {
  try {
    const parsed = JSON.parse(body);
    return (
      Object.keys(parsed).join() === 'error' &&
      Object.keys(parsed.error).sort().join() === 'code,message,param,type' &&
      typeof parsed.error.message === 'string' &&
      typeof parsed.error.type === 'string'
    );
  } catch {
    return false;
  }
}
