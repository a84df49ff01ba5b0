// Checks OpenAI makes on a chat request beyond the shape of each field: the tools a request offers
// and the calls its messages answer must agree, and every content part must be one the models can
// read. Each check works on the orchestrator's plain types (or the raw parts) and throws a 400 naming
// the parameter path, so the Chat Completions and Responses edges can share them.
import { invalidRequest } from './errors.ts';
import type { ChatMessage, ClientTool, ToolChoice } from '../orchestrator/types.ts';

/** At most this many images and files in one request (every agent that reads the content gets them). */
export const MAX_MEDIA_PARTS = 16;
/** Largest inline (`data:`) image or file, decoded; the request body limit applies first. */
export const MAX_INLINE_PART_BYTES = 20 * 1024 * 1024;

/** A `tool_choice` naming a function must name one of the request's tools. */
export function checkToolChoice(tools: ClientTool[] | undefined, choice: ToolChoice | undefined): void {
  if (!choice || typeof choice === 'string') return;
  if (tools?.some((t) => t.name === choice.name)) return;
  throw invalidRequest(
    `Invalid value for 'tool_choice': the function '${choice.name}' is not among the request's 'tools'.`,
    'tool_choice.function.name',
    'invalid_value',
  );
}

/**
 * Tool calls and their results must pair up as OpenAI requires: the `tool` messages that follow an
 * assistant message with `tool_calls` answer each of its calls, once, before the conversation goes
 * on. Tool results that lead the request (after system messages only) are the exception: they
 * answer a run paused for them, whose calls are in the store (a client may send the results alone).
 */
export function checkToolResults(messages: ChatMessage[]): void {
  /** The calls of the last assistant message that still wait for a result. */
  let waiting = new Set<string>();
  let last = -1;
  let answered = new Set<string>();
  let leading = true;
  const unanswered = (at: number) => {
    if (!waiting.size) return;
    throw invalidRequest(
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. ` +
        `The following tool_call_ids did not have response messages: ${[...waiting].join(', ')}.`,
      `messages[${at}]`,
      'missing_tool_results',
    );
  };
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    if (m.role !== 'tool') {
      leading = false;
      unanswered(i);
      last = i;
      waiting = new Set(m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.id) : []);
      answered = new Set();
      return;
    }
    if (leading) return;
    const id = m.toolCallId ?? '';
    if (waiting.delete(id)) return answered.add(id);
    const param = `messages[${i}].tool_call_id`;
    if (answered.has(id))
      throw invalidRequest(
        `Invalid parameter: '${param}' (${JSON.stringify(id)}) answers a call that an earlier tool message already answered.`,
        param,
        'duplicate_tool_result',
      );
    // A legacy `function` message answers by name (it has no call id).
    if (m.name && id === m.name) return;
    throw invalidRequest(
      `Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'; ` +
        `'${param}' (${JSON.stringify(id)}) answers no call of the assistant message before it.`,
      param,
      'invalid_tool_call_id',
    );
  });
  unanswered(last);
}

/** A content part the server does not accept: a 400 with `code: "unsupported_content"`. */
export function unsupportedContent(param: string, what: string) {
  return invalidRequest(`Unsupported content in '${param}': ${what}`, param, 'unsupported_content');
}

const DATA_URL = /^data:([a-z0-9.+/-]+);base64,([a-z0-9+/=\s]*)$/i;

/** The media type and decoded size of a base64 `data:` URL, or undefined when it is not one. */
export function dataUrlInfo(url: string): { mediaType: string; bytes: number } | undefined {
  const m = DATA_URL.exec(url);
  if (!m) return undefined;
  const b64 = m[2].replace(/\s+/g, '');
  const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return { mediaType: m[1].toLowerCase(), bytes: Math.floor((b64.length * 3) / 4) - padding };
}

/** The count and size limits of images and files. */
export function checkMediaLimits(parts: { param: string; url: string }[]): void {
  if (parts.length > MAX_MEDIA_PARTS)
    throw invalidRequest(
      `Too many images and files: ${parts.length} given, at most ${MAX_MEDIA_PARTS} per request.`,
      parts[MAX_MEDIA_PARTS].param,
      'too_many_content_parts',
    );
  for (const p of parts) {
    const info = dataUrlInfo(p.url);
    if (info && info.bytes > MAX_INLINE_PART_BYTES)
      throw invalidRequest(
        `'${p.param}' is too large: ${info.bytes} bytes, at most ${MAX_INLINE_PART_BYTES} per image or file.`,
        p.param,
        'content_part_too_large',
      );
  }
}
