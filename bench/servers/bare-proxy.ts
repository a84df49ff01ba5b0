// The floor of a gateway: a bare node:http keep-alive pass-through proxy that forwards each request
// to BENCH_UPSTREAM (a base URL ending in /v1) and pipes the answer back, nothing else. Prints its URL.
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.env.BENCH_UPSTREAM!);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const path = `${upstream.pathname.replace(/\/$/, '')}${req.url!.replace(/^\/v1/, '')}`;
  const out = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  req.pipe(out);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
