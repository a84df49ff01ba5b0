// POST/GET/DELETE /mcp: the team as an MCP server over Streamable HTTP (the SDK's transport), behind
// the same API keys as /v1 (the route is not public). Sessions are kept, because a client's
// `notifications/cancelled` arrives in a request of its own and must reach the run it names; a
// session belongs to the key that opened it.
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createTeamMcpServer } from '../../mcp/team-server.ts';
import type { AppDeps } from '../deps.ts';

/** Sessions idle this long are closed when new ones open; at most MAX_SESSIONS are kept. */
const IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 1000;

interface Session {
  transport: StreamableHTTPServerTransport;
  owner: string | undefined;
  lastSeen: number;
}

export function registerMcp(app: FastifyInstance, deps: AppDeps): void {
  const sessions = new Map<string, Session>();
  app.addHook('onClose', async () => {
    await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = request.headers['mcp-session-id'];
    let session = typeof id === 'string' ? sessions.get(id) : undefined;
    if (session && session.owner !== request.owner) session = undefined; // another key's: unknown here
    if (!session) {
      if (typeof id === 'string' || request.method !== 'POST' || !isInitializeRequest(request.body))
        return reply.status(404).send(rpcError(-32001, 'Session not found: send an initialize request first.'));
      if (!evictIdle(sessions))
        return reply.status(503).send(rpcError(-32000, 'Too many MCP sessions are open; try again later.'));
      session = await openSession(sessions, deps, request);
    }
    session.lastSeen = Date.now();
    // The transport writes the response itself (JSON or an SSE stream); the hooks' headers go first.
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders()))
      if (value !== undefined) reply.raw.setHeader(name, value);
    await session.transport.handleRequest(request.raw, reply.raw, request.body);
  };
  app.post('/mcp', handle);
  app.get('/mcp', handle);
  app.delete('/mcp', handle);
}

async function openSession(sessions: Map<string, Session>, deps: AppDeps, request: FastifyRequest): Promise<Session> {
  const session: Session = {
    owner: request.owner,
    lastSeen: Date.now(),
    transport: new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void sessions.set(sid, session),
      onsessionclosed: (sid) => void sessions.delete(sid),
    }),
  };
  session.transport.onclose = () => {
    if (session.transport.sessionId) sessions.delete(session.transport.sessionId);
  };
  await createTeamMcpServer(deps, { owner: request.owner, log: request.log }).connect(session.transport);
  return session;
}

/** Closes idle sessions; false when the table is still full. */
function evictIdle(sessions: Map<string, Session>): boolean {
  const now = Date.now();
  for (const [sid, s] of sessions) {
    if (now - s.lastSeen > IDLE_MS) {
      sessions.delete(sid);
      void s.transport.close().catch(() => {});
    }
  }
  return sessions.size < MAX_SESSIONS;
}

const rpcError = (code: number, message: string) => ({ jsonrpc: '2.0', error: { code, message }, id: null });
