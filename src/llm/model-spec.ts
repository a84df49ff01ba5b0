// `provider:model` strings, as operators write them in CORTEX_MODEL and the agents file.
export const PROVIDERS = ['openai', 'anthropic', 'ollama', 'compatible'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface ModelSpec {
  provider: ProviderName;
  modelId: string;
}

export class ModelSpecError extends Error {}

export function parseModelSpec(text: string): ModelSpec {
  const at = text.indexOf(':');
  const provider = text.slice(0, at) as ProviderName;
  const modelId = text.slice(at + 1).trim();
  if (at <= 0 || !PROVIDERS.includes(provider) || !modelId) {
    throw new ModelSpecError(
      `"${text}" is not provider:model (providers: ${PROVIDERS.join(', ')}), e.g. openai:gpt-4.1-mini`,
    );
  }
  return { provider, modelId };
}

export const formatModelSpec = (spec: ModelSpec): string => `${spec.provider}:${spec.modelId}`;
