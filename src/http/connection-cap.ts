// CORTEX_MAX_CONNECTIONS: beyond this many open connections Node closes new ones at once, so that a
// flood of idle or slow connections cannot exhaust the process's file descriptors. Connections kept
// alive between requests (idle for up to 72 s) count toward the cap like busy ones: a client that
// opens many and leaves them idle would hold every place and lock the others out. Near the cap,
// each new connection therefore closes the idle ones (Node's closeIdleConnections: those between
// requests), and one dropped at the cap does too, so that the next attempt gets in. A client whose
// idle keep-alive connection was closed opens another. (A connection that sends nothing is cut by
// the request time limit, CORTEX_REQUEST_TIMEOUT_SECONDS.)
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** From this share of the cap on, idle connections are closed to make room. */
const SHED_IDLE_AT = 0.9;

export function capConnections(server: Server, cap: number): void {
  server.maxConnections = cap;
  const shedAt = Math.max(1, Math.floor(cap * SHED_IDLE_AT));
  let open = 0;
  server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
    if (open >= shedAt) server.closeIdleConnections();
  });
  server.on('drop', () => server.closeIdleConnections());
}
