// The shapes Responses API clients parse: the `response` object and its output items, with every
// field Open Responses requires present (`null` where there is no value). Used by the JSON and the
// SSE renderers and by GET /v1/responses/{id}.
import { randomUUID } from 'node:crypto';
import type { Source } from '../../orchestrator/events.ts';
import type { RunSummary } from '../../orchestrator/run-summary.ts';
import type { ToolCall } from '../../orchestrator/types.ts';
import { METADATA_PAIRS } from '../chat-checks.ts';
import type { ResponseEcho } from '../responses-request.ts';

// Item ids need only be unique: a random part drawn once per process, then a counter (a UUID per item
// cost more than the rest of building the item).
const PROCESS_PART = randomUUID().replaceAll('-', '').slice(0, 20);
let issued = 0;
export const newItemId = (prefix: string) => `${prefix}_${PROCESS_PART}${(issued++).toString(16).padStart(12, '0')}`;

/**
 * A stored response's id: its run's (`run_<uuid>` -> `resp_<uuid without dashes>`). The store finds a
 * conversation's responses through its runs (src/store/sql-store.ts writes the same rule in SQL), and
 * run ids sort by time, so a new response is appended to its table's index, not inserted at random.
 */
export const responseIdOfRun = (runId: string) => `resp_${runId.slice(4).replaceAll('-', '')}`;

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';

/** What every rendering of one response shares. */
export interface ResponseHead {
  id: string;
  createdAt: number;
  model: string;
  echo: ResponseEcho;
  /** Named in `metadata` when the response is stored (the conversation previous_response_id continues). */
  conversationId?: string;
  runId: string;
}

export interface ResponseEnd {
  status: ResponseStatus;
  output: Record<string, unknown>[];
  usage?: ResponseUsage | null;
  error?: { code: string; message: string } | null;
  /** Why an `incomplete` response stopped: `max_output_tokens`, `content_filter`, `cancelled`... */
  incompleteReason?: string;
}

export interface ResponseUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens_details: { reasoning_tokens: number };
}

export const responseUsage = (input: number, output: number): ResponseUsage => ({
  input_tokens: input,
  output_tokens: output,
  total_tokens: input + output,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens_details: { reasoning_tokens: 0 },
});

export function responseObject(head: ResponseHead, end: ResponseEnd) {
  const { echo } = head;
  const finished = end.status !== 'in_progress';
  return {
    id: head.id,
    object: 'response' as const,
    created_at: head.createdAt,
    completed_at: end.status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    status: end.status,
    incomplete_details: end.incompleteReason ? { reason: end.incompleteReason } : null,
    model: head.model,
    previous_response_id: echo.previousResponseId,
    instructions: echo.instructions,
    output: end.output,
    error: end.error ?? null,
    tools: echo.tools,
    tool_choice: echo.toolChoice,
    truncation: echo.truncation,
    parallel_tool_calls: echo.parallelToolCalls,
    text: { format: echo.textFormat, verbosity: echo.verbosity },
    top_p: echo.topP,
    presence_penalty: echo.presencePenalty,
    frequency_penalty: echo.frequencyPenalty,
    top_logprobs: echo.topLogprobs,
    temperature: echo.temperature,
    reasoning: { effort: echo.reasoningEffort, summary: echo.reasoningSummary },
    usage: finished ? (end.usage ?? null) : null,
    max_output_tokens: echo.maxOutputTokens,
    max_tool_calls: echo.maxToolCalls,
    store: echo.store,
    background: false,
    service_tier: echo.serviceTier,
    metadata: withIds(echo.metadata, head),
    safety_identifier: echo.safetyIdentifier,
    prompt_cache_key: echo.promptCacheKey,
  };
}

export type ResponseObject = ReturnType<typeof responseObject>;

/**
 * The request's metadata as it came, with the run's id and the stored conversation's (as a chat
 * completion's conversation_id names it) where they fit: never over a key of the client's, never
 * past the pairs OpenAI accepts (so that an echo can be sent back as it came). (Both ids are also in the `x-cortex-run-id` and `x-conversation-id` headers.)
 */
function withIds(metadata: Record<string, string> | null, head: { conversationId?: string; runId: string }) {
  const out: Record<string, string> = { ...metadata };
  const ids: [string, string | undefined][] = [
    ['conversation_id', head.conversationId],
    ['run_id', head.runId],
  ];
  for (const [key, value] of ids)
    if (value !== undefined && !Object.hasOwn(out, key) && Object.keys(out).length < METADATA_PAIRS) out[key] = value;
  return out;
}

/** The answer's `[n]` markers as url_citation annotations of the sources they cite. */
export function citations(text: string, sources: Source[]) {
  if (!sources.length) return [];
  const byIndex = new Map(sources.map((s) => [s.index, s]));
  const out: { type: 'url_citation'; url: string; title: string; start_index: number; end_index: number }[] = [];
  for (const m of text.matchAll(/\[(\d{1,3})\]/g)) {
    const source = byIndex.get(Number(m[1]));
    if (source)
      out.push({
        type: 'url_citation',
        url: source.url,
        title: source.title,
        start_index: m.index,
        end_index: m.index + m[0].length,
      });
  }
  return out;
}

export const messageItem = (
  id: string,
  status: 'in_progress' | 'completed' | 'incomplete',
  content: Record<string, unknown>[],
) => ({ type: 'message' as const, id, status, role: 'assistant' as const, content });

export const outputText = (text: string, sources: Source[] = []) => ({
  type: 'output_text' as const,
  text,
  annotations: citations(text, sources),
  logprobs: [],
});

export const functionCallItem = (id: string, call: ToolCall, status: 'in_progress' | 'completed') => ({
  type: 'function_call' as const,
  id,
  call_id: call.id,
  name: call.name,
  arguments: status === 'completed' ? call.arguments : '',
  status,
});

export const reasoningItem = (id: string, summaries: string[], encryptedContent?: string) => ({
  type: 'reasoning' as const,
  id,
  summary: summaries.map((text) => ({ type: 'summary_text' as const, text })),
  // A paused run's sealed checkpoint (src/run/sealed-checkpoint.ts), when the request's `include` asked.
  ...(encryptedContent ? { encrypted_content: encryptedContent } : {}),
});

/** The team's progress notes of a run: what each agent did, in order. */
export const progressOf = (run: RunSummary): string[] =>
  run.events.flatMap((e) => (e.type === 'progress' ? [e.text] : []));

/**
 * A finished run's output items: the progress as reasoning (carrying the run's sealed checkpoint,
 * when given), the answer, the client's tool calls.
 */
export function outputItems(run: RunSummary, sealed?: string): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  const progress = progressOf(run);
  if (progress.length || sealed) items.push(reasoningItem(newItemId('rs'), progress, sealed));
  const text = run.answerSoFar;
  const status = run.finishReason === 'stop' || run.finishReason === 'tool_calls' ? 'completed' : 'incomplete';
  if (text || !run.toolCalls?.length)
    items.push(messageItem(newItemId('msg'), status, [outputText(text, run.sources)]));
  for (const call of run.toolCalls ?? []) items.push(functionCallItem(newItemId('fc'), call, 'completed'));
  return items;
}

/** How a finished run ends a response: its status, and for `incomplete` the reason. */
export function endOf(run: RunSummary): { status: ResponseStatus; incompleteReason?: string } {
  switch (run.finishReason) {
    case 'length':
      return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
    case 'content_filter':
      return { status: 'incomplete', incompleteReason: 'content_filter' };
    default:
      return { status: 'completed' };
  }
}
