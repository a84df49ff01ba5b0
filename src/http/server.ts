// The Fastify instance: JSON parsing that answers in OpenAI's error envelope, the routes, and one
// error handler so that no failure (and no stack trace) reaches a client in any other shape.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { registerAuth } from './auth-hook.ts';
import type { AppDeps } from './deps.ts';
import { ApiError, invalidRequest, notFound, serverError } from './errors.ts';
import { registerChatCompletions } from './routes/chat-completions.ts';
import { registerHealth } from './routes/health.ts';
import { registerModels } from './routes/models.ts';
import { registerOps } from './routes/ops.ts';
import { registerConversations } from './routes/conversations.ts';
import { ConversationNotFoundError } from '../conversation/stored.ts';
import { ForeignConversationError } from '../store/types.ts';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface ServerOptions {
  logger?: boolean;
  /** Where the JSON logs go (stdout by default). */
  logStream?: NodeJS.WritableStream;
}

export function buildServer(deps: AppDeps, options: ServerOptions = {}): FastifyInstance {
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
    // Long agent runs: never let Node cut a request that is still being answered.
    requestTimeout: 0,
    return503OnClosing: true,
  });
  app.decorateRequest('owner', undefined);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  if (deps.config.corsOrigins.length) {
    const origins = deps.config.corsOrigins;
    void app.register(cors, {
      origin: origins.includes('*') ? true : origins,
      exposedHeaders: ['x-request-id', 'x-conversation-id'],
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    deps.metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    deps.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });
  registerAuth(app, deps);

  // Bodies are JSON whatever the content type says: `curl -d` sends form encoding by default.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
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

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
    reply.status(apiError.status).headers(apiError.headers).send(apiError.toJSON());
  });

  registerHealth(app, deps);
  registerOps(app, deps);
  registerModels(app, deps);
  registerChatCompletions(app, deps);
  if (deps.store) registerConversations(app, deps.store);
  return app;
}

function toApiError(error: FastifyError | ApiError): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ConversationNotFoundError || error instanceof ForeignConversationError) {
    return notFound(`No conversation found with id '${error.message}'.`, 'conversation_not_found', 'conversation_id');
  }
  const status = error.statusCode ?? 500;
  if (status === 413)
    return new ApiError(413, 'invalid_request_error', 'The request body is too large.', { code: 'request_too_large' });
  if (status === 400 && error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return invalidRequest('The request body is empty; expected a JSON object.', null, 'invalid_json');
  if (status >= 400 && status < 500)
    return new ApiError(status, 'invalid_request_error', error.message, { code: error.code ?? null });
  return serverError();
}
