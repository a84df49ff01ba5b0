// Turns `provider:model` into an AI SDK language model. OpenAI and Anthropic read their keys and base
// URLs as their own SDKs do; `ollama:` and `compatible:` reach any server speaking OpenAI's
// Chat Completions (vLLM, llama.cpp, LM Studio, OpenRouter, Groq...).
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import type { Config } from '../config.ts';
import { ConfigError } from '../config.ts';
import { keepAlivePool } from './http-fetch.ts';
import { withOpenAIWire } from './openai-wire.ts';
import { formatModelSpec, parseModelSpec, type ModelSpec } from './model-spec.ts';

export type ProviderSettings = Pick<
  Config,
  | 'openaiApiKey'
  | 'openaiBaseUrl'
  | 'anthropicApiKey'
  | 'anthropicBaseUrl'
  | 'ollamaBaseUrl'
  | 'compatibleBaseUrl'
  | 'compatibleApiKey'
>;

export interface ResolvedModel {
  /** `provider:model`, as reported in usage and metadata. */
  name: string;
  model: LanguageModel;
}

/** Where the team gets its models from (the registry, or scripted models in unit tests). */
export interface ModelResolver {
  resolve(text: string): ResolvedModel;
}

/**
 * Remote images are passed to the provider as URLs. Without this the AI SDK would download them
 * here for an OpenAI-compatible server, and the server must never fetch a URL a client names.
 */
const remoteImages = () => ({ 'image/*': [/^https?:\/\/.*$/] });

export class ProviderRegistry implements ModelResolver {
  private readonly settings: ProviderSettings;
  private readonly cache = new Map<string, ResolvedModel>();
  /** One keep-alive pool for every OpenAI-style upstream (src/llm/http-fetch.ts). */
  private readonly pool = keepAlivePool();
  private readonly fetch = this.pool.fetch;

  constructor(settings: ProviderSettings) {
    this.settings = settings;
  }

  /** Resolves (and caches) a model; throws ConfigError naming what is missing. */
  resolve(text: string): ResolvedModel {
    const known = this.cache.get(text);
    if (known) return known;
    let spec: ModelSpec;
    try {
      spec = parseModelSpec(text);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    const resolved = { name: formatModelSpec(spec), model: this.create(spec) };
    this.cache.set(text, resolved);
    return resolved;
  }

  private create({ provider, modelId }: ModelSpec): LanguageModel {
    const s = this.settings;
    switch (provider) {
      case 'openai': {
        // A custom base URL usually means a local server that needs no key.
        if (!s.openaiApiKey && !s.openaiBaseUrl)
          throw new ConfigError(
            `openai:${modelId} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a server without keys)`,
          );
        // Chat Completions rather than the Responses API: every OpenAI-compatible server speaks it.
        // Streamed calls take the lean path (src/llm/openai-wire.ts); the SDK builds their bodies.
        return withOpenAIWire(
          createOpenAI({ apiKey: s.openaiApiKey ?? 'not-needed', baseURL: s.openaiBaseUrl, fetch: this.fetch }).chat(
            modelId,
          ),
          this.pool,
          'openai',
        );
      }
      case 'anthropic':
        if (!s.anthropicApiKey) throw new ConfigError(`anthropic:${modelId} needs ANTHROPIC_API_KEY`);
        return createAnthropic({ apiKey: s.anthropicApiKey, baseURL: s.anthropicBaseUrl })(modelId);
      case 'ollama':
        return this.compatible('ollama', s.ollamaBaseUrl, undefined, modelId);
      case 'compatible':
        if (!s.compatibleBaseUrl) throw new ConfigError(`compatible:${modelId} needs CORTEX_COMPATIBLE_BASE_URL`);
        return this.compatible('compatible', s.compatibleBaseUrl, s.compatibleApiKey, modelId);
    }
  }

  /** A model of an OpenAI-compatible server (Ollama, vLLM, LM Studio...), read on the lean path. */
  private compatible(name: string, baseURL: string, apiKey: string | undefined, modelId: string) {
    return withOpenAIWire(
      createOpenAICompatible({
        name,
        baseURL,
        apiKey,
        includeUsage: true,
        supportedUrls: remoteImages,
        fetch: this.fetch,
      })(modelId),
      this.pool,
      'compatible',
    );
  }
}
