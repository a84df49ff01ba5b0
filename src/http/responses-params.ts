// The checks a chat completion and a Responses request share (the message limits, the media and
// tool-result checks, the engine's refusals) name the parameters of a chat request:
// `messages[2].content`, `tools[0].function.name`, `response_format`. A 400 on /v1/responses must
// name the Responses request's own (`input[1].content`, `tools[0].name`, `text.format`): this
// translates an error's `param`, and the same words in its message.
import { ApiError } from './errors.ts';

/** Where a message of the run came from in the Responses request: its item, and the field of its text. */
export interface MessageOrigin {
  /** `input[3]`, or `input` (a string input), or `instructions`. */
  item: string;
  /** `input[3].content`, `input[4].output`, `input`, `instructions`. */
  content: string;
}

/** Chat's name of a parameter as the Responses request names it (unchanged when they agree). */
export function responsesParam(param: string, origins: readonly (MessageOrigin | undefined)[]): string {
  const message = /^messages\[(\d+)\](.*)$/.exec(param);
  if (message) {
    const origin = origins[Number(message[1])];
    if (!origin) return 'input'; // a message the request did not send (a stored one)
    const rest = message[2];
    if (rest.startsWith('.content')) return origin.content + rest.slice('.content'.length);
    if (rest === '.tool_call_id') return `${origin.item}.call_id`;
    return origin.item + rest;
  }
  if (param === 'messages') return 'input';
  const tool = /^tools\[(\d+)\]\.function\.(.+)$/.exec(param);
  if (tool) return `tools[${tool[1]}].${tool[2]}`;
  const schema = /^response_format\.json_schema\.(.+)$/.exec(param);
  if (schema) return `text.format.${schema[1]}`;
  return RENAMED[param] ?? param;
}

const RENAMED: Record<string, string> = {
  response_format: 'text.format',
  'response_format.json_schema': 'text.format',
  'tool_choice.function.name': 'tool_choice.name',
  conversation_id: 'previous_response_id',
  max_tokens: 'max_output_tokens',
  max_completion_tokens: 'max_output_tokens',
  reasoning_effort: 'reasoning.effort',
};

/** Chat's rule for tool results, which a Responses client knows as function call outputs. */
const CHAT_TOOL_RESULT_RULE = "messages with role 'tool' must be a response to a preceding message with 'tool_calls'";
const RESPONSES_TOOL_RESULT_RULE = "a 'function_call_output' must answer a 'function_call' by its 'call_id'";

/** The error with its parameter (and the message's mentions of it) in the Responses request's terms. */
export function inResponsesTerms(err: unknown, origins: readonly (MessageOrigin | undefined)[]): unknown {
  if (!(err instanceof ApiError) || err.param == null) return err;
  const param = responsesParam(err.param, origins);
  if (param === err.param) return err;
  // A bare word (`messages`) is left alone in prose ("Too many messages"); a path or a quoted name is
  // the parameter itself.
  const renamed = /[.[]/.test(err.param)
    ? err.message.replaceAll(err.param, param)
    : err.message.replaceAll(`'${err.param}'`, `'${param}'`);
  const message = renamed.replace(CHAT_TOOL_RESULT_RULE, RESPONSES_TOOL_RESULT_RULE);
  return new ApiError(err.status, err.type, message, { param, code: err.code, headers: err.headers });
}
