// Connections that have not carried a request yet: a browser's preconnection, a client's pool
// opening one it never uses. Node counts them neither idle (between requests) nor busy, so
// closeIdleConnections() leaves them, and a shutdown waited for them until its last resort
// (closeAllConnections after 5 s) while the client kept them open (about 70 s for fetch's pool).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface UnusedConnections {
  /** Closes the connections that have carried no request (called once the server stops serving). */
  close(): void;
}

export function trackUnusedConnections(server: Server): UnusedConnections {
  const unused = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  server.on('request', (req: { socket: Socket }) => unused.delete(req.socket));
  return {
    close() {
      for (const socket of unused) socket.destroy();
    },
  };
}
