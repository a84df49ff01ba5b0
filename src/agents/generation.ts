// Which upstream call gets which of the request's settings. The client's parameters describe the
// answer it receives, so they all apply to the call that writes it (the writer, or a solo agent or
// the supervisor answering directly). Calls that plan or do a specialist's work get budgets of
// their own: a `max_tokens: 40` must bound the answer, not cut the supervisor's tool calls.
import type { GenerationParams } from '../orchestrator/types.ts';

/** Output budget of a planning turn (the supervisor's, or a solo agent's before it answers). */
export const PLANNING_MAX_OUTPUT_TOKENS = 4096;
/** Output budget of one turn of a specialist (researcher, analyst...) and of the writer's draft. */
export const SPECIALIST_MAX_OUTPUT_TOKENS = 4096;

function userOption(g: GenerationParams) {
  const user = g.user ? { user: g.user } : undefined;
  // `user` is provider-specific; each OpenAI-style provider reads it under its own name.
  return user ? { providerOptions: { openai: user, openaiCompatible: user, ollama: user, compatible: user } } : {};
}

/** Sampling settings that shape the wording but cannot cut a tool call. */
function sampling(g: GenerationParams) {
  return {
    temperature: g.temperature,
    topP: g.topP,
    presencePenalty: g.presencePenalty,
    frequencyPenalty: g.frequencyPenalty,
    seed: g.seed,
    ...userOption(g),
  };
}

/** The call that writes the answer and only that: every parameter of the request. */
export function answerSettings(g: GenerationParams) {
  return { ...sampling(g), maxOutputTokens: g.maxTokens, stopSequences: g.stop };
}

/**
 * A turn that may answer or plan. Sampling applies; `max_tokens` and `stop` are enforced on the
 * streamed answer (src/agents/answer-limits.ts), never sent upstream where they would cut tool calls.
 */
export function planningSettings(g: GenerationParams) {
  // Without a client `max_tokens` the turn is left unbounded, as the client asked: a planning budget
  // sent upstream would cut a long direct answer at PLANNING_MAX_OUTPUT_TOKENS.
  if (g.maxTokens === undefined) return sampling(g);
  return { ...sampling(g), maxOutputTokens: Math.max(PLANNING_MAX_OUTPUT_TOKENS, g.maxTokens) };
}

export const specialistSettings = () => ({ maxOutputTokens: SPECIALIST_MAX_OUTPUT_TOKENS });

/** The upstream `responseFormat` of the answer (native structured output), when the client asked for JSON. */
export function responseFormatOf(g: GenerationParams) {
  const format = g.responseFormat;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json' as const };
  return {
    type: 'json' as const,
    schema: format.jsonSchema.schema as never,
    name: format.jsonSchema.name,
    description: format.jsonSchema.description,
  };
}
