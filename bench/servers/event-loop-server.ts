// The real app in a child process that watches its own event loop (node:perf_hooks
// monitorEventLoopDelay): write "reset" on stdin to start a window, "stats" to read the window's
// delays as JSON on stdout ({ p50, p99, max } in ms), "exit" to stop. It also stops when stdin
// closes: a bench that died must not leave it running (and holding its caller's output pipe).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const app = await createApp(loadConfig(process.env));
const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
console.log(url);
const ms = (ns: number) => Math.round(ns / 1e5) / 10;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'reset') {
    delay.reset();
    console.log('ok');
  }
  if (line === 'stats')
    console.log(JSON.stringify({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) }));
  if (line === 'exit') break;
}
await app.close();
process.exit(0);
