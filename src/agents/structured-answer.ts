// `response_format` JSON answers: the answer is held back until it is known to be valid, because a
// client that asked for JSON parses what it gets. The model is asked through the provider's native
// structured output (see stream-answer.ts); its text is then checked (JSON, and the schema when
// there is one), a mismatch gets one repair attempt with the reason, and a second mismatch fails
// the run: invalid JSON is never sent as a success. The exception is an answer cut by the client's
// `max_tokens` (finish reason `length`): sent as it was cut, with that finish reason, as OpenAI does.
import type { ModelMessage } from 'ai';
import type { ResolvedModel } from '../llm/providers.ts';
import { StructuredOutputError } from '../llm/upstream-error.ts';
import type { GenerationParams, ResponseFormat, RunRefusal } from '../orchestrator/types.ts';
import { compileAnswerSchema, schemaMismatch } from './answer-schema.ts';
import type { RunContext } from './run-context.ts';
import { streamAnswer, type StreamedAnswer } from './stream-answer.ts';

export type JsonFormat = Exclude<ResponseFormat, { type: 'text' }>;

/** The request's JSON format, if it asked for one. */
export function jsonFormatOf(g: GenerationParams): JsonFormat | undefined {
  return g.responseFormat && g.responseFormat.type !== 'text' ? g.responseFormat : undefined;
}

/**
 * The schema as a validator, or the reason it cannot be one (an unresolvable `$ref`, a pattern that
 * cannot run in linear time): such a request is refused before it runs. Compiled once per request.
 */
const compiled = new WeakMap<JsonFormat, ReturnType<typeof compileAnswerSchema>>();
export function schemaValidator(format: JsonFormat): ReturnType<typeof compileAnswerSchema> {
  if (format.type === 'json_object' || !format.jsonSchema.schema) return {};
  let validator = compiled.get(format);
  if (!validator) compiled.set(format, (validator = compileAnswerSchema(format.jsonSchema.schema)));
  return validator;
}

/** A `json_schema` the answer could not be checked against: refused (400) before the run starts. */
export function refuseSchema(g: GenerationParams): RunRefusal | undefined {
  const format = jsonFormatOf(g);
  const error = format && schemaValidator(format).error;
  if (!error) return undefined;
  return {
    message: `Invalid 'response_format.json_schema.schema': this schema cannot be used to check the answer (${error}).`,
    param: 'response_format.json_schema.schema',
    code: 'unsupported_schema',
  };
}

/** Why `text` is not an answer in `format`, or undefined when it is one. */
export function mismatch(text: string, format: JsonFormat): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'it is not valid JSON.'; // (the parser's message would quote the text back)
  }
  if (format.type === 'json_object')
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? undefined
      : 'it is not a JSON object.';
  const { validate, error } = schemaValidator(format);
  if (error) return `the schema cannot be checked (${error}).`;
  const reason = validate && schemaMismatch(validate, value);
  return reason && `it does not match the schema '${format.jsonSchema.name}': ${reason}.`;
}

export interface StructuredCall {
  agent: string;
  model: ResolvedModel;
  system: string;
  messages: ModelMessage[];
  generation: GenerationParams;
}

/** One answer call whose text is collected, not streamed to the client. */
async function collect(run: RunContext, call: StructuredCall): Promise<{ text: string; answer: StreamedAnswer }> {
  let text = '';
  const answer = await streamAnswer(run, { ...call, onText: (t) => (text += t) });
  return { text, answer };
}

/** An answer the client's `max_tokens` cut: no JSON to check, sent as it was cut (as OpenAI sends it). */
const cut = (attempt: { answer: StreamedAnswer }) => attempt.answer.finishReason === 'length';

/**
 * Writes the answer in the requested JSON format and sends it whole once it validates. `draft` is
 * what the agent already wrote (a supervisor answering directly) and how it ended; without one the
 * model is asked.
 */
export async function writeStructured(
  run: RunContext,
  call: StructuredCall,
  format: JsonFormat,
  draft?: { text: string; finishReason: StreamedAnswer['finishReason'] },
): Promise<StreamedAnswer> {
  let attempt =
    draft === undefined ? await collect(run, call) : { text: draft.text, answer: { finishReason: draft.finishReason } };
  if (cut(attempt)) return sent(run, attempt);
  let reason = mismatch(attempt.text.trim(), format);
  if (reason) {
    run.progress(call.agent, `${call.agent}'s answer is not valid for the response format; repairing it`);
    const repair: ModelMessage[] = [
      ...call.messages,
      { role: 'assistant', content: attempt.text.trim() },
      {
        role: 'user',
        content: `Your answer cannot be used: ${reason} Reply with the corrected JSON only, nothing else.`,
      },
    ];
    attempt = await collect(run, { ...call, messages: repair });
    if (cut(attempt)) return sent(run, attempt);
    reason = mismatch(attempt.text.trim(), format);
  }
  if (reason) throw new StructuredOutputError(reason);
  return sent(run, { text: attempt.text.trim(), answer: attempt.answer });
}

function sent(run: RunContext, attempt: { text: string; answer: StreamedAnswer }): StreamedAnswer {
  run.answerDelta(attempt.text);
  return attempt.answer;
}
