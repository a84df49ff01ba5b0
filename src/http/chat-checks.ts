// Checks OpenAI makes on a chat request beyond the shape of each field: the tools a request offers
// and the calls its messages answer must agree, and every content part must be one the models can
// read. Each check works on the orchestrator's plain types (or the raw parts) and throws a 400 naming
// the parameter path, so the Chat Completions and Responses edges can share them.
import { invalidRequest, unsupportedParameter } from './errors.ts';
import { typeName } from './request-issues.ts';
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
const NO_CALLS: ReadonlySet<string> = new Set();

const duplicateResult = (param: string, id: string) =>
  invalidRequest(
    `Invalid parameter: '${param}' (${JSON.stringify(id)}) answers a call that an earlier tool message already answered.`,
    param,
    'duplicate_tool_result',
  );

export function checkToolResults(messages: ChatMessage[]): void {
  /** The calls of the last assistant message, and those of them that still wait for a result. */
  let calls: ReadonlySet<string> = NO_CALLS;
  let waiting = new Set<string>();
  let last = -1;
  let leading = true;
  /** The calls the leading results answer (a paused run's): each once, as anywhere else. */
  const leadingAnswered = new Set<string>();
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
      calls = m.role === 'assistant' && m.toolCalls?.length ? new Set(m.toolCalls.map((c) => c.id)) : NO_CALLS;
      waiting = new Set(calls);
      return;
    }
    const id = m.toolCallId ?? '';
    const param = `messages[${i}].tool_call_id`;
    if (leading) {
      if (leadingAnswered.has(id)) throw duplicateResult(param, id);
      leadingAnswered.add(id);
      return;
    }
    if (waiting.delete(id)) return;
    if (calls.has(id)) throw duplicateResult(param, id);
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

const SCHEMA_TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
/** Deeper schemas are refused: every layer that handles them (the providers' JSON) recurses. */
export const MAX_SCHEMA_DEPTH = 64;
/** Keywords whose value maps names to subschemas, and those holding a subschema or a list of them. */
const SCHEMA_MAPS = ['properties', '$defs', 'definitions', 'patternProperties'];
// prettier-ignore
const SCHEMA_CHILDREN = ['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else', 'anyOf', 'oneOf', 'allOf', 'prefixItems'];
/** Subschemas looked at per tool: a larger schema's rest is passed on as it is. */
const SCHEMA_NODES_CHECKED = 10_000;

/**
 * The client's tools, as OpenAI checks them: each name once, and parameters that are a JSON Schema
 * of an object whose types, `required` lists and local `$ref`s make sense. `at(i)` names tool i's
 * function in the request (`tools[i].function`, or `functions[i]` for the legacy form).
 */
export function checkTools(
  tools: { name: string; parameters: Record<string, unknown> | null }[] | undefined,
  at: (i: number) => string,
): void {
  const seen = new Map<string, number>();
  tools?.forEach((tool, i) => {
    const earlier = seen.get(tool.name);
    if (earlier !== undefined)
      throw invalidRequest(
        `Invalid '${at(i)}.name': '${tool.name}' is the name of '${at(earlier)}' too; tool names must be unique.`,
        `${at(i)}.name`,
        'duplicate_tool_name',
      );
    seen.set(tool.name, i);
    const problem = tool.parameters && parametersProblem(tool.parameters);
    if (problem)
      throw invalidRequest(
        `Invalid schema for function '${tool.name}': ${problem}`,
        `${at(i)}.parameters`,
        'invalid_function_parameters',
      );
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What makes `root` unusable as a function's parameters, if anything. */
function parametersProblem(root: Record<string, unknown>): string | undefined {
  if (root.type !== undefined && root.type !== 'object')
    return `schema must be a JSON Schema of 'type: "object"', got 'type: ${JSON.stringify(root.type)}'.`;
  // Walked with a list, not recursion: a schema nested 100,000 deep must not overflow the stack.
  const pending: [Record<string, unknown>, number][] = [[root, 0]];
  for (let checked = 0; pending.length && checked < SCHEMA_NODES_CHECKED; checked++) {
    const [node, depth] = pending.pop()!;
    if (depth > MAX_SCHEMA_DEPTH) return `the schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels.`;
    const types = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type];
    const badType = types.find((t) => typeof t !== 'string' || !SCHEMA_TYPES.has(t));
    if (badType !== undefined) return `${JSON.stringify(badType)} is not a valid JSON Schema type.`;
    const required = node.required;
    if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === 'string')))
      return "'required' must be an array of property names.";
    if (node.properties !== undefined && !isObject(node.properties))
      return "'properties' must be an object of schemas.";
    if (typeof node.$ref === 'string' && resolvePointer(root, node.$ref) === undefined)
      return `the reference ${JSON.stringify(node.$ref)} names nothing in the schema.`;
    // Only the subschemas there are: the budget counts schemas, not the keywords a schema lacks.
    const add = (child: unknown) => isObject(child) && pending.push([child, depth + 1]);
    for (const key of SCHEMA_MAPS) if (isObject(node[key])) Object.values(node[key]).forEach(add);
    for (const key of SCHEMA_CHILDREN) (Array.isArray(node[key]) ? node[key] : [node[key]]).forEach(add);
  }
  return undefined;
}

/** The part of `root` a local JSON pointer (`#/$defs/a`) names; undefined for any other reference. */
function resolvePointer(root: unknown, ref: string): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
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

/** `value` as an object, or a 400 naming `param` and what it got instead. */
function objectAt(value: unknown, param: string): Record<string, unknown> {
  if (isObject(value)) return value;
  throw invalidRequest(
    `Invalid type for '${param}': expected an object, but got ${typeName(value)}.`,
    param,
    'invalid_type',
  );
}

/** OpenAI's bounds of `metadata`: at most 16 pairs, keys of at most 64 characters, string values of at most 512. */
export const METADATA_PAIRS = 16;
const METADATA_KEY_CHARS = 64;
const METADATA_VALUE_CHARS = 512;

/**
 * `metadata` of a chat completion or a Responses request, checked as OpenAI checks it. Read from the
 * body as parsed (JSON.parse makes `"__proto__"` an own key, which a schema's record would skip), so
 * every key the client sent is counted and checked; the pairs come back as own properties.
 */
export function checkMetadata(raw: unknown, param = 'metadata'): Record<string, string> | undefined {
  if (raw == null) return undefined;
  const value = objectAt(raw, param);
  const keys = Object.keys(value);
  if (keys.length > METADATA_PAIRS)
    throw invalidRequest(
      `Invalid '${param}': too many properties. Expected an object with at most ${METADATA_PAIRS} properties, but got an object with ${keys.length} properties instead.`,
      param,
      'object_above_max_properties',
    );
  const pairs: [string, string][] = [];
  for (const key of keys) {
    if (key.length > METADATA_KEY_CHARS)
      throw invalidRequest(
        `Invalid key in '${param}': keys are at most ${METADATA_KEY_CHARS} characters.`,
        param,
        'invalid_value',
      );
    const v = value[key];
    const at = `${param}.${key}`;
    if (typeof v !== 'string')
      throw invalidRequest(`Invalid type for '${at}': expected string, but got ${typeName(v)}.`, at, 'invalid_type');
    if (v.length > METADATA_VALUE_CHARS)
      throw invalidRequest(
        `Invalid '${at}': string too long. Expected a string with maximum length ${METADATA_VALUE_CHARS}.`,
        at,
        'string_above_max_length',
      );
    pairs.push([key, v]);
  }
  return Object.fromEntries(pairs); // own properties, `__proto__` included
}

const TOKEN_ID = /^\d{1,10}$/;

/**
 * `logit_bias`, checked as OpenAI checks it (token ids as decimal strings, biases from -100 to 100),
 * then refused when it biases anything: its token ids are a provider model's, and the answer is
 * written by a team whose models (and their fallback) may each have another tokenizer, after turns
 * the bias must not touch. An empty one changes nothing and is accepted.
 */
export function checkLogitBias(raw: unknown): void {
  const param = 'logit_bias';
  if (raw == null) return;
  const value = objectAt(raw, param);
  const keys = Object.keys(value);
  for (const key of keys) {
    if (!TOKEN_ID.test(key))
      throw invalidRequest(
        `Invalid key in '${param}': ${JSON.stringify(key.slice(0, 40))} is not a token id; keys are token ids as decimal strings ("50256").`,
        param,
        'invalid_value',
      );
    const bias = value[key];
    if (typeof bias !== 'number' || !Number.isFinite(bias) || bias < -100 || bias > 100)
      throw invalidRequest(
        `Invalid value in '${param}' for token ${key}: ${JSON.stringify(bias)?.slice(0, 40)}; a bias is a number from -100 to 100.`,
        param,
        'invalid_value',
      );
  }
  if (keys.length)
    throw unsupportedParameter(
      param,
      "is not supported by this server: token ids are a provider model's, and the answer is written by a team of agents whose models may each tokenize differently, so no bias can be applied as asked.",
    );
}
