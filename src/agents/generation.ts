// The request's sampling settings in the AI SDK's vocabulary; they reach the model that writes the
// final answer (and the supervisor, whose reply is the final answer when it answers directly).
import type { GenerationParams } from '../orchestrator/types.ts';

export function generationSettings(g: GenerationParams) {
  const user = g.user ? { user: g.user } : undefined;
  return {
    temperature: g.temperature,
    topP: g.topP,
    maxOutputTokens: g.maxTokens,
    stopSequences: g.stop,
    presencePenalty: g.presencePenalty,
    frequencyPenalty: g.frequencyPenalty,
    seed: g.seed,
    // `user` is provider-specific; each OpenAI-style provider reads it under its own name.
    ...(user ? { providerOptions: { openai: user, openaiCompatible: user, ollama: user, compatible: user } } : {}),
  };
}
