// The Fastify instance: JSON parsing that answers in OpenAI's error envelope, the routes, and one
// error handler so that no failure (and no stack trace) reaches a client in any other shape: not
// the router's (bad URL), not Node's parser's (malformed request line, huge headers, timeouts).
import { randomUUID } from 'node:crypto';
import { validateHeaderValue } from 'node:http';
import cors from '@fastify/cors';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { registerAuth } from './auth-hook.ts';
import { answerClientError, answerConnect, answerExpectation } from './client-errors.ts';
import { capConnections } from './connection-cap.ts';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './json-depth.ts';
import type { AppDeps } from './deps.ts';
import { ApiError, invalidRequest, notFound, serverError, shuttingDown, storeUnavailable } from './errors.ts';
import { storeAnswers } from './store-status.ts';
import { registerChatCompletions } from './routes/chat-completions.ts';
import { registerHealth } from './routes/health.ts';
import { registerModels } from './routes/models.ts';
import { registerOps } from './routes/ops.ts';
import { registerConversations } from './routes/conversations.ts';
import { mcpBodyError, registerMcp } from './routes/mcp.ts';
import { registerConsole } from './routes/console.ts';
import { apiErrorOfMemory } from './memory-errors.ts';
import { registerStats } from './routes/stats.ts';
import { registerResponses } from './routes/responses.ts';
import { isExpectedRefusal } from './run-limits.ts';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** The methods the API answers, for CORS preflights. */
const API_METHODS = ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'];
/** Response headers a browser client may read. */
// (`mcp-session-id`: a browser's MCP client reads it from the initialize answer, as the transport requires.)
const EXPOSED_HEADERS = [
  'x-request-id',
  'x-conversation-id',
  'x-cortex-run-id',
  'mcp-session-id',
  // A browser client paces itself by them as by OpenAI's.
  ...['limit', 'remaining', 'reset'].flatMap((what) => [`x-ratelimit-${what}-requests`, `x-ratelimit-${what}-tokens`]),
];
/**
 * Node's limit on the request line and headers (16 KiB) bounds a URL; the router's own (much
 * lower) limit on one path segment would answer a long id with a bare 414 before auth and id
 * validation could answer it properly.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

/**
 * How often Node looks for requests past their time limit: often enough that a slow client is
 * cut within about a second of the limit (Node's default, 30 s, would let it linger that long).
 */
const checkingInterval = (timeoutMs: number) => Math.max(100, Math.min(1000, Math.floor(timeoutMs / 10)));

export interface ServerOptions {
  logger?: boolean;
  /** Where the JSON logs go (stdout by default). */
  logStream?: NodeJS.WritableStream;
}

export function buildServer(deps: AppDeps, options: ServerOptions = {}): FastifyInstance {
  const requestTimeoutMs = deps.config.requestTimeoutSeconds * 1000;
  const app = Fastify({
    logger:
      options.logger === false || deps.config.logLevel === 'silent'
        ? false
        : {
            level: deps.config.logLevel,
            redact: {
              paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.api_key'],
              censor: '[redacted]',
            },
            ...(options.logStream ? { stream: options.logStream } : {}),
          },
    // A caller's own request id is kept (tracing across services); otherwise one is made.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID()}`;
    },
    bodyLimit: deps.config.maxBodyBytes,
    // Slow clients (slowloris): the request (headers and body) must arrive within the limit. Node
    // enforces it only until the request is received, so long answers and streams are not cut.
    requestTimeout: requestTimeoutMs,
    http: {
      requestTimeout: requestTimeoutMs,
      // Node checks the request limit only when the headers limit is no larger.
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: checkingInterval(requestTimeoutMs),
      // Node's own refusal has no body; the hook below answers it in the envelope.
      requireHostHeader: false,
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Refused during shutdown by the hook below, in the envelope (Fastify's own 503 is not).
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, request, reply) => {
      const e =
        error.code === 'FST_ERR_BAD_URL'
          ? invalidRequest('The request URL is malformed (an invalid percent-encoding).', null, 'invalid_url')
          : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? new ApiError(414, 'invalid_request_error', 'The request URL is too long.', { code: 'uri_too_long' })
            : serverError();
      void (reply as FastifyReply).status(e.status).header('x-request-id', request.id).send(e.toJSON());
    },
  });
  capConnections(app.server, deps.config.maxConnections);
  app.server.on('connect', answerConnect);
  app.server.on('checkExpectation', answerExpectation);
  app.decorateRequest('owner', undefined);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) throw shuttingDown();
    const raw = request.raw;
    if (raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1 && !raw.headers.host)
      throw invalidRequest('An HTTP/1.1 request needs a Host header.', null, 'missing_host');
  });
  // Before CORS: the auth hook marks the plugin's preflight route public as it is added.
  registerAuth(app, deps);
  if (deps.config.corsOrigins.length) {
    const origins = deps.config.corsOrigins;
    void app.register(cors, {
      origin: origins.includes('*') ? true : origins,
      methods: API_METHODS,
      exposedHeaders: EXPOSED_HEADERS,
      // An OPTIONS without the preflight headers gets an empty 204, not the plugin's plain-text 400.
      strictPreflight: false,
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    deps.metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  // Bodies are JSON whatever the content type says: `curl -d` sends form encoding by default.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    if (nestedDeeperThan(text))
      return done(
        invalidRequest(
          `We could not parse the JSON body of your request: it is nested deeper than ${MAX_JSON_DEPTH} levels.`,
          null,
          'invalid_json',
        ),
        undefined,
      );
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(
        invalidRequest(
          `We could not parse the JSON body of your request: ${(err as Error).message}`,
          null,
          'invalid_json',
        ),
        undefined,
      );
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const e = notFound(`Invalid URL (${request.method} ${request.url.split('?')[0]})`, 'unknown_url');
    reply.status(e.status).send(e.toJSON());
  });

  app.setErrorHandler(async (error: FastifyError | ApiError, request, reply) => {
    let apiError = toApiError(error);
    const rpc = request.routeOptions.url === '/mcp' ? mcpBodyError(apiError) : undefined;
    if (rpc) return reply.status(apiError.status).send(rpc);
    // An unexpected failure while the store is down is the outage, as /ready reports it: a 503
    // the client may retry, not a 500.
    if (apiError.status === 500 && !(error instanceof ApiError) && !(await storeAnswers(deps.checkReady)))
      apiError = storeUnavailable();
    if (isExpectedRefusal(apiError)) request.log.warn({ code: apiError.code }, apiError.message);
    else if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
    dropUnsendableHeaders(reply);
    return reply.status(apiError.status).headers(apiError.headers).send(apiError.toJSON());
  });

  registerHealth(app, deps);
  registerOps(app, deps);
  registerModels(app, deps);
  registerChatCompletions(app, deps);
  registerMcp(app, deps);
  registerResponses(app, deps);
  if (deps.store) registerConversations(app, deps.store, deps);
  if (deps.store) registerStats(app, deps.store);
  if (deps.config.consoleEnabled) registerConsole(app);
  return app;
}

function toApiError(error: FastifyError | ApiError): ApiError {
  if (error instanceof ApiError) return error;
  const memory = apiErrorOfMemory(error);
  if (memory) return memory;
  const status = error.statusCode ?? 500;
  if (status === 413)
    return new ApiError(413, 'invalid_request_error', 'The request body is too large.', { code: 'request_too_large' });
  if (status === 400 && error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return invalidRequest('The request body is empty; expected a JSON object.', null, 'invalid_json');
  if (status >= 400 && status < 500)
    return new ApiError(status, 'invalid_request_error', error.message, { code: error.code ?? null });
  return serverError();
}

/**
 * A header value Node refuses (a character above U+00FF, a line break) makes every later attempt
 * to answer fail too; the error answer goes out without it.
 */
function dropUnsendableHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    try {
      if (typeof value === 'string') validateHeaderValue(name, value);
    } catch {
      reply.removeHeader(name);
    }
  }
}
