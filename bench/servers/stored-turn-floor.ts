// The floor of a gateway that stores every turn: what the stored turn costs by itself, without a
// team, validation, auth, metrics or a framework. node:http; one streamed upstream call over an
// undici pool to BENCH_UPSTREAM (a base URL ending in /v1); the turn written as Cortex Flow writes
// it, in two transactions: the user's message and a running run before the upstream call, the
// answer and the run's end after it, in SQLite (WAL, synchronous = NORMAL) on the event loop, the
// transactions of one event-loop turn committed together. Answers JSON, or SSE frames as the deltas
// come with `[DONE]` once the turn is stored. Prints its URL. Not a product: a yardstick for
// bench/gateway.ts.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Pool } from 'undici';

const upstream = new URL(process.env.BENCH_UPSTREAM!);
const pool = new Pool(upstream.origin, { connections: 256 });
const dir = mkdtempSync(join(tmpdir(), 'cortex-bench-floor-'));
const db = new DatabaseSync(join(dir, 'floor.db'));
db.exec(`
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = NORMAL;
  CREATE TABLE conversations (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL,
    content TEXT NOT NULL, PRIMARY KEY (conversation_id, seq));
  CREATE TABLE runs (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, status TEXT NOT NULL);
`);
const statements = {
  conversation: db.prepare('INSERT INTO conversations VALUES (?, ?, ?)'),
  touch: db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?'),
  message: db.prepare('INSERT INTO messages VALUES (?, ?, ?, ?)'),
  run: db.prepare('INSERT INTO runs VALUES (?, ?, ?)'),
  finish: db.prepare('UPDATE runs SET status = ? WHERE id = ?'),
};

/** Transactions of one event-loop turn, committed together. */
let queued: (() => void)[] = [];
function transaction(write: () => void): Promise<void> {
  return new Promise((resolve) => {
    const run = () => {
      write();
      resolve();
    };
    if (queued.push(run) > 1) return;
    setImmediate(() => {
      const group = queued;
      queued = [];
      db.exec('BEGIN IMMEDIATE');
      for (const t of group) t();
      db.exec('COMMIT');
    });
  });
}

async function readBody(req: AsyncIterable<Buffer>): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const server = createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    const conversationId = `conv_${randomUUID()}`;
    const runId = `run_${randomUUID()}`;
    const now = new Date().toISOString();
    await transaction(() => {
      statements.conversation.run(conversationId, now, now);
      statements.message.run(conversationId, 1, 'user', String(body.messages.at(-1).content));
      statements.run.run(runId, conversationId, 'running');
    });
    const answer = await pool.request({
      path: `${upstream.pathname.replace(/\/$/, '')}/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', messages: body.messages, stream: true }),
    });
    const head = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: body.model };
    if (body.stream) res.writeHead(200, { 'content-type': 'text/event-stream' });
    let text = '';
    let pending = '';
    for await (const piece of answer.body) {
      pending += piece.toString();
      let end;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const frame = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
        const chunk = JSON.parse(frame.slice(6));
        const delta = chunk.choices?.[0]?.delta?.content;
        if (!delta) continue;
        text += delta;
        if (body.stream)
          res.write(
            `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: delta }, finish_reason: null }] })}\n\n`,
          );
      }
    }
    await transaction(() => {
      const at = new Date().toISOString();
      statements.message.run(conversationId, 2, 'assistant', text);
      statements.finish.run('completed', runId);
      statements.touch.run(at, conversationId);
    });
    if (body.stream) {
      res.end(
        `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`,
      );
      return;
    }
    const json = JSON.stringify({
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      conversation_id: conversationId,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  } catch {
    res.destroy();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
process.on('SIGTERM', () => {
  server.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
