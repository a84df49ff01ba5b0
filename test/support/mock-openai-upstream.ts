// An in-suite HTTP server that speaks OpenAI's Chat Completions wire format with scripted replies:
// text (streamed or not), tool calls, error statuses with headers, delays, and faults (connection
// reset, truncated or malformed streams, a hang). It stands in for the LLM provider so that tests
// exercise the real provider code path over real HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface UpstreamRequest {
  index: number;
  body: any;
  headers: IncomingMessage['headers'];
  /** The agent that made the call, read from its system prompt ("You are the researcher ..."). */
  agent: string | undefined;
  stream: boolean;
  receivedAt: number;
  /** Set when the server finished sending its reply. */
  answeredAt?: number;
  /** True when the client closed the connection before the reply was complete. */
  abortedByClient: boolean;
}

export interface ToolCallReply {
  name: string;
  arguments: Record<string, unknown> | string;
  id?: string;
}

export type Reply =
  | {
      text: string;
      delayMs?: number;
      chunkSize?: number;
      chunkDelayMs?: number;
      finishReason?: string;
      usage?: { prompt: number; completion: number };
    }
  | { toolCalls: ToolCallReply[]; delayMs?: number; usage?: { prompt: number; completion: number } }
  | {
      status: number;
      error?: { message: string; type?: string; code?: string | null };
      headers?: Record<string, string>;
      delayMs?: number;
    }
  | {
      /**
       * reset: the socket closes before any answer; truncate: the stream's first chunks (`chunks`, or
       * `text` as one), then the socket closes; cut-mid-json: a chunk that stops inside its JSON, then
       * the socket closes; empty: a 200 stream with no event at all; html: a 200 HTML page;
       * malformed: a frame that is not JSON; hang: nothing, ever; stall: the first chunks, then
       * silence with the connection open.
       */
      fault: 'reset' | 'truncate' | 'cut-mid-json' | 'empty' | 'html' | 'malformed' | 'hang' | 'stall';
      text?: string;
      chunks?: string[];
      delayMs?: number;
    };

export type Responder = (req: UpstreamRequest) => Reply | Promise<Reply>;

export interface MockUpstream {
  /** `http://127.0.0.1:PORT/v1`, what OPENAI_BASE_URL should be. */
  baseUrl: string;
  requests: UpstreamRequest[];
  setResponder(responder: Responder): void;
  /** Connections currently open to the mock. */
  openConnections(): number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function agentOf(body: any): string | undefined {
  const system = body?.messages?.find((m: any) => m.role === 'system')?.content;
  const text =
    typeof system === 'string' ? system : Array.isArray(system) ? system.map((p: any) => p.text ?? '').join('') : '';
  return /You are the (\w+)/.exec(text)?.[1];
}

/** Replies taken in order from one queue per agent; an agent with an empty queue gets a 500. */
export function scriptByAgent(script: Record<string, Reply[]>): Responder {
  const queues = Object.fromEntries(Object.entries(script).map(([k, v]) => [k, [...v]]));
  return (req) =>
    queues[req.agent ?? '']?.shift() ?? { status: 500, error: { message: `no scripted reply left for ${req.agent}` } };
}

export async function startMockUpstream(responder: Responder): Promise<MockUpstream> {
  let respond = responder;
  const requests: UpstreamRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const record: UpstreamRequest = {
      index: requests.length,
      body,
      headers: req.headers,
      agent: agentOf(body),
      stream: body.stream === true,
      receivedAt: Date.now(),
      abortedByClient: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.abortedByClient = true;
    });
    const reply = await respond(record);
    if ('delayMs' in reply && reply.delayMs) await sleep(reply.delayMs);
    if (res.destroyed) return;
    await send(record, reply, res);
    record.answeredAt = Date.now();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    setResponder: (r) => (respond = r),
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function send(req: UpstreamRequest, reply: Reply, res: ServerResponse): Promise<void> {
  const model = req.body.model ?? 'mock-model';
  const id = `chatcmpl-mock${req.index}`;
  const created = Math.floor(Date.now() / 1000);
  if ('status' in reply) {
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(
      JSON.stringify({
        error: {
          message: reply.error?.message ?? `status ${reply.status}`,
          type: reply.error?.type ?? 'server_error',
          param: null,
          code: reply.error?.code ?? null,
        },
      }),
    );
    return;
  }
  if ('fault' in reply) return sendFault(req, reply, res, { id, created, model });
  const usage = reply.usage ?? {
    prompt: 10,
    completion: 'text' in reply ? Math.max(1, Math.ceil(reply.text.length / 4)) : 5,
  };
  const wireUsage = {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
  };
  const toolCalls =
    'toolCalls' in reply
      ? reply.toolCalls.map((c, i) => ({
          id: c.id ?? `call_${req.index}_${i}`,
          type: 'function',
          function: {
            name: c.name,
            arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
          },
        }))
      : undefined;
  // Like a real model, a text answer stops at the request's output budget (~4 characters a token).
  const budget = req.body.max_completion_tokens ?? req.body.max_tokens;
  const cut = 'text' in reply && typeof budget === 'number' && reply.text.length > budget * 4;
  const finishReason = toolCalls
    ? 'tool_calls'
    : cut
      ? 'length'
      : ('finishReason' in reply && reply.finishReason) || 'stop';
  const text = 'text' in reply ? (cut ? reply.text.slice(0, budget * 4) : reply.text) : null;

  if (!req.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
            finish_reason: finishReason,
            logprobs: null,
          },
        ],
        usage: wireUsage,
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  res.write(frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  if (text !== null) {
    const size = ('chunkSize' in reply && reply.chunkSize) || 4;
    for (let i = 0; i < text.length; i += size) {
      if (res.destroyed) return;
      res.write(frame([{ index: 0, delta: { content: text.slice(i, i + size) }, finish_reason: null }]));
      if ('chunkDelayMs' in reply && reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    }
  }
  if (toolCalls)
    res.write(
      frame([{ index: 0, delta: { tool_calls: toolCalls.map((c, index) => ({ index, ...c })) }, finish_reason: null }]),
    );
  res.write(frame([{ index: 0, delta: {}, finish_reason: finishReason }]));
  if (req.body.stream_options?.include_usage) res.write(frame([], { usage: wireUsage }));
  res.end('data: [DONE]\n\n');
}

async function sendFault(
  req: UpstreamRequest,
  reply: Extract<Reply, { fault: string }>,
  res: ServerResponse,
  head: { id: string; created: number; model: string },
) {
  const frame = (delta: unknown) =>
    `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
  const chunks = reply.chunks ?? [reply.text ?? 'Partial '];
  // Written, then flushed, before the socket goes: the client really receives these bytes.
  const closeAfter = (data: string) => res.write(data, () => setTimeout(() => res.socket?.destroy(), 20));
  switch (reply.fault) {
    case 'reset':
      res.socket?.destroy();
      return;
    case 'hang':
      return; // never answers; the client's timeout or abort must end it
    case 'stall':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunks.map((c, i) => frame(i ? { content: c } : { role: 'assistant', content: c })).join(''));
      return; // the connection stays open, silent
    case 'truncate':
      // A stream that starts well and then stops without a finish_reason or [DONE].
      res.writeHead(200, { 'content-type': req.stream ? 'text/event-stream' : 'application/json' });
      if (req.stream)
        closeAfter(chunks.map((c, i) => frame(i ? { content: c } : { role: 'assistant', content: c })).join(''));
      else closeAfter('{"id":"chatcmpl-trunc","object":"chat.comp');
      return;
    case 'cut-mid-json':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      closeAfter(
        `${frame({ role: 'assistant', content: '' })}data: {"id":"${head.id}","choices":[{"index":0,"delta":{"content":"Hal`,
      );
      return;
    case 'empty':
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end();
      return;
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    case 'malformed':
      res.writeHead(200, { 'content-type': req.stream ? 'text/event-stream' : 'application/json' });
      res.end(req.stream ? 'data: {"id": this is not json}\n\n' : '{"choices": [ not json');
      return;
  }
}
