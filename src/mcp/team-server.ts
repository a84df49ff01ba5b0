// The team as an MCP server: one tool per served model (`cortex-flow`, `cortex-flow-researcher`,
// ...), taking a message and optionally the conversation to continue, answering with the text and
// `{answer, conversation_id, run_id, agents_used, sources}` as structured content. The same server
// is spoken over Streamable HTTP (/mcp) and over stdio (`cortex-flow mcp serve`).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../http/deps.ts';
import { ApiError } from '../http/errors.ts';
import { CANCEL_REQUESTED } from '../http/run-limits.ts';
import { ServedRunError, serveRun, servedErrorText } from './serve-run.ts';

const input = {
  message: z.string().min(1).describe("The user's message to the team."),
  conversation_id: z
    .string()
    .optional()
    .describe('Continue this conversation (the conversation_id of an earlier answer); omit to start a new one.'),
};

const output = {
  answer: z.string(),
  conversation_id: z.string(),
  run_id: z.string(),
  agents_used: z.array(z.string()),
  sources: z.array(z.object({ index: z.number(), title: z.string(), url: z.string(), snippet: z.string().optional() })),
};

export interface TeamServerContext {
  /** The API key's id the session was opened with; undefined when auth is off or over stdio. */
  owner?: string;
  log: FastifyBaseLogger;
  /**
   * What the transport knows of a request beyond the SDK (HTTP: its client cancelled it, or closed
   * its stream), aborted with CANCEL_REQUESTED when the client asked; undefined over stdio.
   */
  requestSignal?: (requestId: RequestId) => AbortSignal | undefined;
}

export function createTeamMcpServer(deps: AppDeps, context: TeamServerContext): McpServer {
  const server = new McpServer({ name: 'cortex-flow', version: deps.version });
  for (const model of deps.orchestrator.models()) {
    server.registerTool(
      model.id,
      {
        description: `${model.description} Send a message; continue a conversation with its conversation_id.`,
        inputSchema: input,
        outputSchema: output,
        annotations: { readOnlyHint: false, openWorldHint: true },
      },
      async ({ message, conversation_id }, extra): Promise<CallToolResult> => {
        const token = extra._meta?.progressToken;
        let step = 0;
        const onProgress =
          token === undefined
            ? undefined
            : (text: string) =>
                void extra
                  .sendNotification({
                    method: 'notifications/progress',
                    params: { progressToken: token, progress: ++step, message: text },
                  })
                  .catch(() => {}); // a client gone cannot be told; the run goes on or is cancelled
        try {
          const answer = await serveRun(
            deps,
            { model: model.id, message, conversationId: conversation_id },
            {
              owner: context.owner,
              log: context.log,
              signal: cancellation(extra.signal, context.requestSignal?.(extra.requestId)),
              onProgress,
            },
          );
          return { content: [{ type: 'text', text: answer.answer }], structuredContent: { ...answer } };
        } catch (err) {
          if (!(err instanceof ApiError) && !(err instanceof ServedRunError))
            context.log.error({ err }, 'MCP tool call failed');
          // The client reads a failed run as a failed tool call, with the reason.
          return { isError: true, content: [{ type: 'text', text: servedErrorText(err) }] };
        }
      },
    );
  }
  return server;
}

/**
 * The call's signal, telling a client's `notifications/cancelled` (the SDK aborts with the reason
 * the client gave, a string; the transport with CANCEL_REQUESTED) from a connection or stream that
 * closed (aborted with anything else): the run is stored as cancelled by its client, or as left by it.
 */
function cancellation(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const run = new AbortController();
  for (const signal of signals) {
    if (!signal) continue;
    const onAbort = () =>
      run.abort(
        typeof signal.reason === 'string' || signal.reason === CANCEL_REQUESTED ? CANCEL_REQUESTED : signal.reason,
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return run.signal;
}
