// POST/GET/DELETE /mcp: the team as an MCP server over Streamable HTTP (the SDK's transport), behind
// the same API keys as /v1 (the route is not public). Sessions are kept, because a client's
// `notifications/cancelled` arrives in a request of its own and must reach the run it names; a
// session belongs to the key that opened it. The SDK's Web-standard transport is used (a Request in,
// a Response out): its Node wrapper pulls in an adapter that warns on stderr at import under Node 24.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { WebStandardStreamableHTTPServerTransport as StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SessionTable, type TableSession } from '../../mcp/session-table.ts';
import { createTeamMcpServer } from '../../mcp/team-server.ts';
import type { AppDeps } from '../deps.ts';
import type { ApiError } from '../errors.ts';
import { CANCEL_REQUESTED } from '../run-limits.ts';

interface Session extends TableSession {
  transport: StreamableHTTPServerTransport;
  /** The requests in flight, by JSON-RPC id (an id is unique among them). */
  streams: Map<string | number, InFlight>;
}

interface InFlight {
  /**
   * Aborted when its client cancels it or closes its stream: the SDK aborts a handler only on a
   * `notifications/cancelled` it accepts (not for id 0) and never when the stream drops, which
   * would leave the run going, its slot held, until it ends or its timer stops it.
   */
  stop: AbortController;
  /** Closes it out once its client cancels it (it gets no response, so its stream would never end). */
  closeOut: () => void;
}

/** Why a call's run stops when its client closed the call's stream: it left, it did not ask. */
const STREAM_CLOSED = new Error("The MCP client closed the call's stream.");

export function registerMcp(app: FastifyInstance, deps: AppDeps): void {
  const table = new SessionTable<Session>();
  const { sessions } = table;
  app.addHook('onClose', async () => {
    table.stopSweeping();
    await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = request.headers['mcp-session-id'];
    let session = typeof id === 'string' ? sessions.get(id) : undefined;
    if (session && session.owner !== request.owner) session = undefined; // another key's: unknown here
    if (!session) {
      // As the protocol says: 404 for a session that is gone (the client starts a new one), 400 for none.
      if (typeof id === 'string')
        return reply.status(404).send(rpcError(-32001, 'Session not found: send an initialize request first.'));
      if (request.method !== 'POST' || !isInitializeRequest(request.body))
        return reply.status(400).send(rpcError(-32000, 'Bad request: no session; send an initialize request first.'));
      const refused = table.makeRoomFor(request.owner);
      if (refused) return reply.status(503).send(rpcError(-32000, refused));
      session = await openSession(sessions, deps, request);
    }
    const current = session;
    const ids = request.method === 'POST' ? requestIds(request.body) : [];
    // The transport routes answers by id alone: a second request under an id in flight would get
    // the first one's answer, and the first none.
    const taken = ids.find((rpcId) => current.streams.has(rpcId));
    if (taken !== undefined)
      return reply.status(400).send({
        jsonrpc: '2.0',
        error: {
          code: -32600,
          message: `Invalid Request: a request with id ${JSON.stringify(taken)} is still in progress in this session.`,
        },
        id: taken,
      });
    current.lastSeen = Date.now();
    current.busy++;
    // The ids are in flight from now until the answer's stream closes; how a cancelled one is closed
    // out is known once that stream is (below).
    let closeOut = (_rpcId: string | number) => {};
    for (const rpcId of ids)
      current.streams.set(rpcId, { stop: new AbortController(), closeOut: () => closeOut(rpcId) });
    let answered = false;
    const done = () => {
      if (answered) return;
      answered = true;
      current.busy--;
      current.lastSeen = Date.now();
      for (const rpcId of ids) {
        // The stream is over: a run still going for it has nobody left to answer (a run that has
        // answered is over, and unmoved by this).
        current.streams.get(rpcId)?.stop.abort(STREAM_CLOSED);
        current.streams.delete(rpcId);
      }
    };
    // A cancellation stops the call's run as one its client asked for, before the SDK (which stops it
    // as if the client had left when the notification gives no reason) is handed it.
    const cancelled = request.method === 'POST' ? cancelledRequestId(request.body) : undefined;
    const inFlight = cancelled === undefined ? undefined : current.streams.get(cancelled);
    inFlight?.stop.abort(CANCEL_REQUESTED);
    // Heard from now, before anything is awaited: a client that leaves while the transport handles
    // its request closed the response before a listener attached after it could hear it, and the
    // session stayed busy (never closed as idle) with its runs going for nobody.
    const raw = reply.raw;
    raw.once('close', done);
    let response: Response;
    try {
      response = await current.transport.handleRequest(webRequest(request), { parsedBody: request.body });
    } catch (err) {
      done();
      throw err;
    }
    // The transport has taken the cancellation (the call's run is being stopped): its stream ends.
    inFlight?.closeOut();
    // The answer may be an SSE stream that lasts as long as the call: written to the socket directly,
    // after the headers the hooks set.
    reply.hijack();
    if (answered) return void response.body?.cancel().catch(() => {}); // its client has left
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
    response.headers.forEach((value, name) => raw.setHeader(name, value));
    raw.writeHead(response.status);
    if (!response.body) return void raw.end();
    raw.flushHeaders();
    const body = Readable.fromWeb(response.body as WebReadableStream);
    raw.once('close', () => body.destroy()); // a client gone: the transport's stream is cancelled
    body.on('error', () => raw.destroy());
    body.pipe(raw);
    // A request the client cancels gets no response (as the protocol asks; the SDK sends none), so
    // its stream would stay open, and its session busy, until the client hangs up. A request alone:
    // its stream ends. In a batch: the stream also answers the others, and the transport ends it once
    // each request has an answer, so the cancelled one gets an error answer (which a client that
    // cancelled ignores, as the protocol asks it to).
    closeOut =
      ids.length === 1
        ? () => {
            body.unpipe(raw);
            body.destroy();
            raw.end();
          }
        : (rpcId) =>
            void current.transport
              .send({ jsonrpc: '2.0', id: rpcId, error: { code: -32800, message: 'Request cancelled.' } })
              .catch(() => {});
  };

  app.post('/mcp', handle);
  app.delete('/mcp', handle);
  // The team sends nothing of its own accord (a call's progress goes on that call's stream): no
  // stream for a GET to hold open, as the transport allows (405).
  app.get('/mcp', async (_request, reply) =>
    reply
      .status(405)
      .header('allow', 'POST, DELETE')
      .send(rpcError(-32000, 'Method not allowed: this server offers no stream of its own; POST requests.')),
  );
}

async function openSession(sessions: Map<string, Session>, deps: AppDeps, request: FastifyRequest): Promise<Session> {
  const session: Session = {
    owner: request.owner,
    lastSeen: Date.now(),
    busy: 0,
    streams: new Map(),
    transport: new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void sessions.set(sid, session),
      onsessionclosed: (sid) => void sessions.delete(sid),
    }),
  };
  session.transport.onclose = () => {
    if (session.transport.sessionId) sessions.delete(session.transport.sessionId);
  };
  await createTeamMcpServer(deps, {
    owner: request.owner,
    log: request.log,
    requestSignal: (rpcId) => session.streams.get(rpcId)?.stop.signal,
  }).connect(session.transport);
  return session;
}

/** The ids of the JSON-RPC requests a POST body carries (one message or a batch). */
function requestIds(body: unknown): (string | number)[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    const id = (m as { id?: unknown; method?: unknown } | null)?.id;
    return (typeof id === 'string' || typeof id === 'number') && typeof (m as { method?: unknown }).method === 'string'
      ? [id]
      : [];
  });
}

/** The request a `notifications/cancelled` names, if that is what the body carries. */
function cancelledRequestId(body: unknown): string | number | undefined {
  const messages = Array.isArray(body) ? body : [body];
  for (const m of messages as { method?: unknown; params?: { requestId?: unknown } }[])
    if (m?.method === 'notifications/cancelled') {
      const id = m.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') return id;
    }
  return undefined;
}

/** The request as the Web-standard transport reads it; the body is passed parsed, separately. */
function webRequest(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  // The URL's origin is not the client's to choose: an unparsable Host header would make it throw.
  return new Request(new URL(request.url, 'http://localhost'), {
    method: request.method,
    headers,
  });
}

const rpcError = (code: number, message: string) => ({ jsonrpc: '2.0', error: { code, message }, id: null });

/**
 * A body the server could not read, for an MCP client: in JSON-RPC's words (a parse error, an invalid
 * request), as the protocol answers it, rather than in the OpenAI envelope of the /v1 routes.
 */
export function mcpBodyError(error: ApiError): Record<string, unknown> | undefined {
  if (error.code === 'request_too_large') return rpcError(-32600, 'Invalid Request: the request body is too large.');
  if (error.code === 'invalid_json') return rpcError(-32700, 'Parse error: the request body is not valid JSON.');
  return undefined;
}
