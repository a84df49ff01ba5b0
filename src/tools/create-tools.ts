// The tools every engine shares, built from the settings: the knowledge base search and the
// calculator always; web search when a provider is configured; fetch_url with its limits.
import { ConfigError, type Config } from '../config.ts';
import type { KnowledgeBase } from '../kb/types.ts';
import { calculatorTool } from './calculator.ts';
import { fetchUrlTool } from './fetch-url.ts';
import { knowledgeSearchTool } from './knowledge-search.ts';
import { ToolRegistry } from './types.ts';
import { webSearchProblem, webSearchTool } from './web-search.ts';

export function createToolRegistry(config: Config, kb: KnowledgeBase): ToolRegistry {
  const registry = new ToolRegistry()
    .register(knowledgeSearchTool(kb))
    .register(calculatorTool())
    .register(
      fetchUrlTool({
        allowPrivate: config.fetchAllowPrivate,
        maxBytes: config.fetchMaxBytes,
        timeoutMs: config.fetchTimeoutSeconds * 1000,
      }),
    );
  if (config.webSearch !== 'none') {
    const problem = webSearchProblem(config);
    if (problem) throw new ConfigError(problem);
    registry.register(webSearchTool(config));
  }
  return registry;
}
