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

/** Model names known to read images (and PDFs): the defaults of the vision capability. */
const VISION_BY_NAME = [
  /^(chatgpt-)?gpt-4o/i,
  /^gpt-4\.1/i,
  /^gpt-4-turbo/i,
  /^gpt-5/i,
  /^o[134](-|$)/i,
  /^claude-/i,
  /llava/i,
  /vision/i,
  /^gemini/i,
  /^pixtral/i,
  /qwen[\d.]*-?vl/i,
  /^gemma3/i,
  /^llama-?4/i,
];

/**
 * Whether a `provider:model` can read images and files: declared in `declared` (CORTEX_VISION_MODELS:
 * `provider:model` to add, `-provider:model` to remove), else known by its name.
 */
export function canSee(modelText: string, declared: readonly string[] = []): boolean {
  const name = modelText.trim();
  if (declared.includes(`-${name}`)) return false;
  if (declared.includes(name)) return true;
  const modelId = name.slice(name.indexOf(':') + 1);
  return VISION_BY_NAME.some((re) => re.test(modelId));
}
