// The shapes OpenAI clients parse: a chat.completion body and chat.completion.chunk frames.
// Fields OpenAI's schema requires are always present, `null` where there is no value.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { RunSummary } from '../orchestrator/run-summary.ts';
import type { ToolCall } from '../orchestrator/types.ts';

// randomUUID draws from a cached entropy pool: much cheaper per request than randomBytes.
export const newCompletionId = () => `chatcmpl-${randomUUID().replaceAll('-', '').slice(0, 24)}`;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

/**
 * The answer's usage with OpenAI's breakdown. `prompt_tokens` counts the context the team received
 * and `completion_tokens` the answer (src/tokens.ts), not upstream calls: none of those tokens came
 * from a cache, none is reasoning (the team's upstream tokens, reasoning included, are in
 * `metadata.upstream_usage`), and there is no audio or predicted output.
 */
export const usageOf = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
});

/** How every request is served, as OpenAI's `service_tier` reports it: one way, whatever was asked. */
export const SERVICE_TIER = 'default';

const fingerprints = new WeakMap<Config, string>();

/**
 * OpenAI's `system_fingerprint`: the backend configuration an answer was made with, so a client can
 * tell when it changed. Here: the server's version, its engine and the models it serves with
 * (`fp_` + 10 hex digits of their hash), the same for every answer of one configuration.
 */
export function systemFingerprint(config: Config, version: string, engine: string): string {
  let fingerprint = fingerprints.get(config);
  if (fingerprint === undefined) {
    const parts = [
      version,
      engine,
      config.modelName,
      config.model,
      config.supervisorModel,
      config.researcherModel,
      config.analystModel,
      config.writerModel,
      config.fallbackModel,
      config.agentsFile,
    ];
    const hash = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
    fingerprints.set(config, (fingerprint = `fp_${hash.slice(0, 10)}`));
  }
  return fingerprint;
}

export function wireToolCalls(calls: ToolCall[]) {
  return calls.map((c) => ({
    id: c.id,
    type: 'function' as const,
    function: { name: c.name, arguments: c.arguments },
  }));
}

/** Characters of a tool call's arguments per streamed delta. */
const ARGUMENT_FRAGMENT_CHARS = 48;

/**
 * A turn's tool calls as OpenAI streams them: the first delta of each call carries its `index`,
 * `id`, `type` and name (with empty arguments), then its arguments follow in fragments carrying
 * only the `index`. Clients (the `openai` package's stream helpers) reassemble calls by index.
 */
export function toolCallDeltas(calls: ToolCall[], fragmentChars = ARGUMENT_FRAGMENT_CHARS, legacy = false) {
  if (legacy) return functionCallDeltas(calls[0], fragmentChars);
  const deltas: { tool_calls: unknown[] }[] = [];
  calls.forEach((c, index) => {
    deltas.push({
      tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }],
    });
    for (let at = 0; at < c.arguments.length; at += fragmentChars)
      deltas.push({ tool_calls: [{ index, function: { arguments: c.arguments.slice(at, at + fragmentChars) } }] });
  });
  return deltas;
}

/** The legacy form: `delta.function_call`, the name first, then the arguments in fragments. */
function functionCallDeltas(call: ToolCall | undefined, fragmentChars: number) {
  if (!call) return [];
  const deltas: { function_call: { name?: string; arguments: string } }[] = [
    { function_call: { name: call.name, arguments: '' } },
  ];
  for (let at = 0; at < call.arguments.length; at += fragmentChars)
    deltas.push({ function_call: { arguments: call.arguments.slice(at, at + fragmentChars) } });
  return deltas;
}

/** Cortex Flow's extension: what the team did to produce the answer. */
export function runMetadata(run: RunSummary, extra: { runId: string; engine: string }) {
  const total = run.usageTotal();
  return {
    execution_time_seconds: run.elapsedSeconds(),
    agents_used: run.agentsUsed,
    iterations: run.iterations,
    run_id: extra.runId,
    engine: extra.engine,
    sources: run.sources,
    ...(run.notes.length ? { notes: run.notes } : {}),
    upstream_usage: {
      prompt_tokens: total.inputTokens,
      completion_tokens: total.outputTokens,
      total_tokens: total.totalTokens,
      by_agent: Object.fromEntries(
        Object.entries(run.usageByAgent()).map(([agent, u]) => [
          agent,
          {
            prompt_tokens: u.inputTokens,
            completion_tokens: u.outputTokens,
            total_tokens: u.totalTokens,
            models: u.models,
          },
        ]),
      ),
    },
  };
}

/**
 * The assistant message of a choice. `legacy`: the request used the legacy `functions`, so its one
 * call is answered as `function_call`, as OpenAI answers such a request.
 */
export function choiceMessage(run: RunSummary, legacy = false) {
  const calls = run.toolCalls?.length ? run.toolCalls : undefined;
  const called = calls
    ? legacy
      ? { function_call: { name: calls[0].name, arguments: calls[0].arguments } }
      : { tool_calls: wireToolCalls(calls) }
    : {};
  return { role: 'assistant' as const, content: calls && !run.text ? null : run.text, refusal: null, ...called };
}

/** OpenAI's finish reason: a legacy function call ends with `function_call` instead of `tool_calls`. */
export const wireFinishReason = (reason: string, legacy = false) =>
  legacy && reason === 'tool_calls' ? 'function_call' : reason;

export interface ChunkHead {
  id: string;
  created: number;
  model: string;
  systemFingerprint: string;
  conversationId: string;
  includeUsage: boolean;
}

export function chunk(head: ChunkHead, choices: unknown[], extra: Record<string, unknown> = {}) {
  return {
    id: head.id,
    object: 'chat.completion.chunk',
    created: head.created,
    model: head.model,
    // On every chunk, as OpenAI sends them.
    service_tier: SERVICE_TIER,
    system_fingerprint: head.systemFingerprint,
    choices,
    // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
    ...(head.includeUsage ? { usage: null } : {}),
    conversation_id: head.conversationId,
    ...extra,
  };
}

export const deltaChoice = (index: number, delta: Record<string, unknown>, finishReason: string | null = null) => ({
  index,
  delta,
  logprobs: null,
  finish_reason: finishReason,
});
