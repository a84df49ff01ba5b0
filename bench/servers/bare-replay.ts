// The floor: a bare node:http server that answers with bytes recorded from Cortex Flow (a JSON
// body on /json, SSE frames written one by one on /sse). Prints its URL.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const json = readFileSync(process.env.BENCH_JSON_FILE!);
const frames = readFileSync(process.env.BENCH_SSE_FILE!, 'utf8').split(/(?<=\n\n)/);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': json.length });
      res.end(json);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    for (const f of frames) res.write(f);
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
