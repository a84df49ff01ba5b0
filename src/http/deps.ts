// What the HTTP layer is built from; assembled once by the app (src/app.ts) or by a test.
import type { Config } from '../config.ts';
import type { ConversationMemory } from '../conversation/types.ts';
import type { Orchestrator } from '../orchestrator/types.ts';
import type { TokenCounter } from '../tokens.ts';

export interface AppDeps {
  config: Config;
  orchestrator: Orchestrator;
  memory: ConversationMemory;
  tokens: TokenCounter;
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of the API key that authenticated the request; undefined when auth is off. */
    owner?: string;
  }
}
