// What Node's HTTP server would answer by itself, bodiless or not at all, before Fastify sees a
// request: parser failures (a malformed request line, a request line or headers over the size
// limit, a request not received in time), an `Expect` it does not know, a CONNECT. Each gets
// OpenAI's error envelope, written on the raw socket where there is no request to reply to, with an
// `x-request-id` as every other answer has (a new one: the request's own headers were not read).
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './errors.ts';

const envelope = (message: string, code: string): ErrorBody => ({
  error: { message, type: 'invalid_request_error', param: null, code },
});

/** A request id of the server's own, as Fastify's `genReqId` makes them (src/http/server.ts). */
const newRequestId = () => `req_${randomUUID()}`;

/** A complete HTTP/1.1 response that ends the connection. */
function rawResponse(status: number, body: ErrorBody, requestId = newRequestId()): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nX-Request-Id: ${requestId}\r\n` +
    `Connection: close\r\n\r\n${text}`
  );
}

/**
 * Ending (not destroying) lets the answer reach the client before the close (a reset could discard
 * it); whatever the client still sends is discarded, and a client that never closes is cut shortly.
 */
function answerAndClose(socket: Duplex, response: string): void {
  socket.end(response);
  socket.resume();
  setTimeout(() => socket.destroy(), 2000).unref();
}

type ClientError = Error & { code?: string };

/** The status and envelope Node's parser error stands for. */
export function clientErrorBody(err: ClientError): { status: number; body: ErrorBody } {
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

/**
 * Fastify's `clientErrorHandler` (called on the Fastify instance): answer once, then close the
 * connection. The answer's request id is logged, so a client reporting it can be found.
 */
export function answerClientError(
  this: { log?: { debug(obj: object, msg: string): void } } | void,
  err: ClientError,
  socket: Duplex,
): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // As Node itself does: never write into a response that has already begun on this socket.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) return void socket.destroy();
  const { status, body } = clientErrorBody(err);
  const requestId = newRequestId();
  this?.log?.debug({ reqId: requestId, status, code: err.code }, 'client error answered');
  answerAndClose(socket, rawResponse(status, body, requestId));
}

/** The server's `connect` listener: this is not a proxy (without one, Node drops the socket silently). */
export function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  answerAndClose(socket, rawResponse(405, envelope('CONNECT is not supported by this server.', 'method_not_allowed')));
}

/** The server's `checkExpectation` listener: an `Expect` other than 100-continue. */
export function answerExpectation(request: IncomingMessage, response: ServerResponse): void {
  const text = JSON.stringify(
    envelope(`The expectation '${request.headers.expect}' is not supported.`, 'expectation_failed'),
  );
  response.writeHead(417, { 'content-type': 'application/json', 'x-request-id': newRequestId(), connection: 'close' });
  response.end(text);
}
