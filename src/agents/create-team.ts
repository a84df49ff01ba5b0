// The LLM team as the app builds it from the settings: the provider registry, the declared agents
// (built-in, per-agent models, agents file) and the shared tools.
import type { Config } from '../config.ts';
import { withFallback } from '../llm/fallback.ts';
import { ProviderRegistry, type ModelResolver } from '../llm/providers.ts';
import type { ToolRegistry } from '../tools/types.ts';
import { loadTeam } from './spec.ts';
import { TeamOrchestrator } from './team.ts';

/** True when a model is configured: the team runs on it instead of the offline engine. */
export const llmConfigured = (config: Config): boolean => config.model !== undefined;

export function createTeam(config: Config, tools: ToolRegistry): TeamOrchestrator {
  const registry = new ProviderRegistry(config);
  const fallback = config.fallbackModel ? registry.resolve(config.fallbackModel) : undefined;
  const providers: ModelResolver = fallback
    ? { resolve: (text) => withFallback(registry.resolve(text), fallback, config.llmMaxRetries) }
    : registry;
  return new TeamOrchestrator({ config, agents: loadTeam(config), providers, tools });
}
