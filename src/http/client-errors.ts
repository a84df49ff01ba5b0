// Failures Node's HTTP parser meets before Fastify sees a request (a malformed request line, a
// request line or headers over the size limit, a request not received in time) answered in
// OpenAI's error envelope, written on the raw socket since there is no request to reply to.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './errors.ts';

type ClientError = Error & { code?: string };

/** The status and envelope Node's parser error stands for. */
export function clientErrorBody(err: ClientError): { status: number; body: ErrorBody } {
  const envelope = (message: string, code: string): ErrorBody => ({
    error: { message, type: 'invalid_request_error', param: null, code },
  });
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return {
      status: 408,
      body: envelope(
        'The request was not received in time (CORTEX_REQUEST_TIMEOUT_SECONDS); the connection is closed.',
        'request_timeout',
      ),
    };
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return {
      status: 431,
      body: envelope('The request line and headers are larger than this server accepts.', 'headers_too_large'),
    };
  return { status: 400, body: envelope('The HTTP request is malformed.', 'malformed_request') };
}

/** Fastify's `clientErrorHandler`: answer once, then close the connection. */
export function answerClientError(err: ClientError, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // As Node itself does: never write into a response that has already begun on this socket.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { status, body } = clientErrorBody(err);
    const text = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
    // Ending (not destroying) lets the answer reach the client before the close; whatever the
    // client still sends is discarded, and a client that never closes its side is cut shortly.
    socket.resume();
    setTimeout(() => socket.destroy(), 2000).unref();
    return;
  }
  socket.destroy();
}
