// The real app in a child process that can be asked for its heap after a full garbage collection
// (run with --expose-gc): write "heap" on stdin, read the bytes on stdout.
import { createInterface } from 'node:readline';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const app = await createApp(loadConfig(process.env));
const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
console.log(url);
const gc = (globalThis as { gc?: () => void }).gc!;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'heap') {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(process.memoryUsage().heapUsed);
  }
  if (line === 'exit') {
    await app.close();
    process.exit(0);
  }
}
