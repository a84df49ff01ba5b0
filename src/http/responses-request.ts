// Validation of a POST /v1/responses body (the Responses API, as Open Responses specifies it) and its
// translation into the same ChatRequest a chat completion produces: one run lifecycle, two wire
// formats. What the response object must echo back (tools, text format, sampling) is kept beside it.
// Input items and tools the server cannot honour are refused with a 400 naming them, never dropped.
import { z } from 'zod';
import type { ChatRequest } from './chat-request.ts';
import { functionName, isAcceptedImageUrl, serviceTierSchema } from './chat-request.ts';
import { invalidRequest, missingParameter, unsupportedParameter, validationError } from './errors.ts';
import { issueToError } from './request-issues.ts';
import { checkMediaLimits, checkMetadata, checkToolResults, checkTools } from './chat-checks.ts';
import { checkId } from './resource-ids.ts';
import { inResponsesTerms, type MessageOrigin } from './responses-params.ts';
import { newItemId } from './render/responses-object.ts';
import type {
  ChatMessage,
  ClientTool,
  ContentImage,
  GenerationParams,
  ResponseFormat,
  ToolCall,
} from '../orchestrator/types.ts';

const effort = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']);
const functionTool = z.object({
  type: z.literal('function'),
  name: functionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
const textFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    description: z.string().nullish(),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
  }),
]);

/**
 * What OpenAI's `include` may name: accepted, anything else refused. Only `reasoning.encrypted_content`
 * produces something here (a paused run's sealed checkpoint); the rest names what this server has not,
 * except `message.output_text.logprobs`, which asks for something of every answer: refused below.
 */
const INCLUDABLE = [
  'file_search_call.results',
  'web_search_call.results',
  'web_search_call.action.sources',
  'message.input_image.image_url',
  'computer_call_output.output.image_url',
  'code_interpreter_call.outputs',
  'reasoning.encrypted_content',
  'message.output_text.logprobs',
] as const;

const responsesRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.record(z.string(), z.unknown()))]),
  instructions: z.string().nullish(),
  previous_response_id: z.string().nullish(),
  tools: z
    .array(z.object({ type: z.string() }).passthrough())
    .max(128)
    .nullish(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.string(), name: z.string().optional() })])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: textFormat.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  reasoning: z.object({ effort: effort.nullish(), summary: z.string().nullish() }).nullish(),
  max_output_tokens: z.number().int().min(16).nullish(),
  // A bound on calls of built-in tools, which this server has none of: echoed, nothing to bound.
  max_tool_calls: z.number().int().min(1).nullish(),
  include: z.array(z.enum(INCLUDABLE)).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  // metadata is checked on the body as parsed (checkMetadata): a record schema would skip a
  // `"__proto__"` key.
  // OpenAI's that this server does not have: refused by name rather than dropped (below).
  conversation: z.unknown().optional(),
  prompt: z.unknown().optional(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  background: z.boolean().nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  service_tier: serviceTierSchema.nullish(),
});
type Raw = z.output<typeof responsesRequestSchema>;

/** A function tool as a response object echoes it: every field present, as Open Responses requires. */
export interface EchoedTool {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean | null;
}

export type TextFormat = z.output<typeof textFormat>;

/** What a response object repeats of its request. */
export interface ResponseEcho {
  instructions: string | null;
  previousResponseId: string | null;
  tools: EchoedTool[];
  toolChoice: 'none' | 'auto' | 'required' | { type: 'function'; name: string };
  parallelToolCalls: boolean;
  textFormat: TextFormat;
  verbosity: 'low' | 'medium' | 'high';
  reasoningEffort: z.output<typeof effort> | null;
  reasoningSummary: string | null;
  maxOutputTokens: number | null;
  maxToolCalls: number | null;
  temperature: number;
  topP: number;
  presencePenalty: number;
  frequencyPenalty: number;
  topLogprobs: number;
  metadata: Record<string, string>;
  store: boolean;
  truncation: 'auto' | 'disabled';
  safetyIdentifier: string | null;
  promptCacheKey: string | null;
  serviceTier: string;
}

export interface ResponsesRequest {
  chat: ChatRequest;
  echo: ResponseEcho;
  /** Where each of `chat.messages` came from: for errors that name one (src/http/responses-params.ts). */
  origins: MessageOrigin[];
  /** The input as items with ids, as GET /v1/responses/{id}/input_items lists them. */
  inputItems: Record<string, unknown>[];
  /** The `encrypted_content` of the reasoning items sent back: sealed checkpoints (src/run/sealed-checkpoint.ts). */
  sealed: SealedItem[];
  /** `include` asks for `reasoning.encrypted_content`: a paused run's checkpoint, sealed, goes to the client. */
  sealsCheckpoints: boolean;
}

export interface SealedItem {
  /** The parameter that carried it, for an error that names it. */
  param: string;
  text: string;
}

/** Tools of the Responses API that run on OpenAI's side; this server offers none of them. */
const HOSTED_TOOLS = new Set([
  'web_search',
  'web_search_preview',
  'web_search_preview_2025_03_11',
  'file_search',
  'computer_use',
  'computer_use_preview',
  'code_interpreter',
  'image_generation',
  'mcp',
  'local_shell',
  'shell',
  'apply_patch',
  'custom',
]);

const itemId = newItemId;

function bad(message: string, param: string | null, code = 'invalid_value'): never {
  throw invalidRequest(message, param, code);
}

/** Validates a parsed JSON body; throws the ApiError of the first problem found. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    bad('The request body must be a JSON object.', null, 'invalid_json');
  const parsed = responsesRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = [...parsed.error.issues].sort((a, b) => a.path.length - b.path.length)[0];
    throw issueToError(issue, body);
  }
  const r = parsed.data;
  if (r.background)
    bad("Background responses are not supported by this server: set 'background' to false.", 'background');
  const metadata = checkMetadata((body as Record<string, unknown>).metadata) ?? {};
  // The answer is written by a team of agents: no token log probabilities of it exist to return.
  const noLogprobs =
    'is not supported by this server: the answer is written by a team of agents, and no token log probabilities of it are available.';
  if (r.top_logprobs) throw unsupportedParameter('top_logprobs', noLogprobs);
  const logprobs = r.include?.indexOf('message.output_text.logprobs') ?? -1;
  if (logprobs >= 0)
    bad(`Unsupported value: 'message.output_text.logprobs' ${noLogprobs}`, `include[${logprobs}]`, 'unsupported_value');
  if (r.conversation != null)
    bad(
      "The 'conversation' parameter (OpenAI's Conversations API) is not supported by this server: continue a response with 'previous_response_id'.",
      'conversation',
      'unsupported_parameter',
    );
  if (r.prompt != null)
    bad(
      "Prompt templates ('prompt') are not supported by this server: send the prompt as 'instructions' and 'input'.",
      'prompt',
      'unsupported_parameter',
    );
  if (r.previous_response_id != null) checkId(r.previous_response_id, 'previous_response_id');

  const tools = (r.tools ?? []).map((t, i) => functionToolOf(t, i));
  checkTools(tools, (i) => `tools[${i}]`);
  const toolChoice = toolChoiceOf(r.tool_choice, tools);
  const { messages, items, origins, media, sealed } = inputOf(r.input);
  const instructions = r.instructions ?? null;
  if (instructions) {
    messages.unshift({ role: 'system', content: instructions });
    origins.unshift({ item: 'instructions', content: 'instructions' });
  }
  if (!messages.some((m) => m.role !== 'system')) bad("'input' must contain at least one message or item.", 'input');
  checkMediaLimits(media);
  try {
    checkToolResults(messages);
  } catch (err) {
    throw inResponsesTerms(err, origins);
  }

  const format: TextFormat = r.text?.format ?? { type: 'text' };
  // Built field by field (no undefined values, no filtering pass): this runs on every request.
  const generation: GenerationParams = {};
  if (r.temperature != null) generation.temperature = r.temperature;
  if (r.top_p != null) generation.topP = r.top_p;
  if (r.max_output_tokens != null) generation.maxTokens = r.max_output_tokens;
  if (r.presence_penalty != null) generation.presencePenalty = r.presence_penalty;
  if (r.frequency_penalty != null) generation.frequencyPenalty = r.frequency_penalty;
  const user = r.safety_identifier ?? r.user;
  if (user != null) generation.user = user;
  // The agent that writes the answer is held to it (src/agents/structured-answer.ts).
  if (format.type !== 'text') generation.responseFormat = responseFormatOf(format);
  const chat: ChatRequest = {
    model: r.model,
    messages,
    stream: r.stream ?? false,
    includeUsage: false,
    n: 1,
    generation,
    // OpenAI: "the instructions from a previous response will not be carried over to the next".
    systemNotCarried: true,
  };
  // The server fits every context to OPENAI_COMPAT_MAX_CONTEXT_TOKENS, dropping the oldest turns
  // (`auto`, also when the client says nothing); a client that asks for `disabled` is refused instead.
  if (r.truncation === 'disabled') chat.untruncated = true;
  if (r.reasoning?.effort != null) chat.reasoningEffort = r.reasoning.effort;
  if (tools.length)
    chat.tools = tools.map((t, i) => {
      const tool: ClientTool = { name: t.name, parameters: t.parameters! };
      if (t.description != null) tool.description = t.description;
      // Passed on only as the client set it: the echoed default (true) would make providers
      // refuse the schemas that are not written for strict mode.
      const strict = (r.tools![i] as { strict?: boolean | null }).strict;
      if (strict != null) tool.strict = strict;
      return tool;
    });
  if (r.tool_choice != null) chat.toolChoice = typeof toolChoice === 'string' ? toolChoice : { name: toolChoice.name };
  if (r.parallel_tool_calls != null) chat.parallelToolCalls = r.parallel_tool_calls;

  return {
    chat,
    origins,
    inputItems: items,
    sealed,
    sealsCheckpoints: r.include?.includes('reasoning.encrypted_content') ?? false,
    echo: {
      instructions,
      previousResponseId: r.previous_response_id ?? null,
      tools,
      toolChoice,
      parallelToolCalls: r.parallel_tool_calls ?? true,
      // Echoed whole, as Open Responses requires a json_schema format to be (description and strict).
      textFormat:
        format.type === 'json_schema'
          ? { ...format, description: format.description ?? null, strict: format.strict ?? false }
          : format,
      verbosity: r.text?.verbosity ?? 'medium',
      reasoningEffort: r.reasoning?.effort ?? null,
      reasoningSummary: r.reasoning?.summary ?? null,
      maxOutputTokens: r.max_output_tokens ?? null,
      maxToolCalls: r.max_tool_calls ?? null,
      temperature: r.temperature ?? 1,
      topP: r.top_p ?? 1,
      presencePenalty: r.presence_penalty ?? 0,
      frequencyPenalty: r.frequency_penalty ?? 0,
      topLogprobs: r.top_logprobs ?? 0,
      metadata,
      store: r.store ?? true,
      truncation: r.truncation ?? 'auto',
      safetyIdentifier: r.safety_identifier ?? null,
      promptCacheKey: r.prompt_cache_key ?? null,
      // How it was served, as OpenAI reports it: every request is served the same way.
      serviceTier: 'default',
    },
  };
}

/** `text.format` as the run's `responseFormat`, the form chat's `response_format` takes too. */
function responseFormatOf(format: TextFormat): ResponseFormat {
  if (format.type !== 'json_schema') return { type: format.type };
  const { name, description, schema, strict } = format;
  return {
    type: 'json_schema',
    jsonSchema: dropUndefined({ name, description: description ?? undefined, schema, strict: strict ?? undefined }),
  };
}

function functionToolOf(tool: Record<string, unknown> & { type: string }, i: number): EchoedTool {
  if (tool.type !== 'function') {
    const hosted = HOSTED_TOOLS.has(tool.type);
    bad(
      hosted
        ? `The tool type '${tool.type}' in 'tools[${i}]' is not offered by this server: ` +
            'its team does its own research; ' +
            "declare your own tools with type 'function'."
        : `Invalid value for 'tools[${i}].type': '${tool.type}'. Supported values are: 'function'.`,
      `tools[${i}].type`,
      hosted ? 'unsupported_tool_type' : 'invalid_value',
    );
  }
  const parsed = functionTool.safeParse(tool);
  if (!parsed.success) throw issueToError(parsed.error.issues[0], tool, ['tools', i]);
  const t = parsed.data;
  return {
    type: 'function',
    name: t.name,
    description: t.description ?? null,
    parameters: t.parameters ?? { type: 'object', properties: {} },
    strict: t.strict ?? true,
  };
}

function toolChoiceOf(choice: Raw['tool_choice'], tools: EchoedTool[]): ResponseEcho['toolChoice'] {
  if (choice == null) return 'auto';
  if (typeof choice === 'string') {
    if (choice === 'required' && !tools.length)
      bad("Invalid value for 'tool_choice': 'required' is only allowed when 'tools' are specified.", 'tool_choice');
    return choice;
  }
  if (choice.type !== 'function' || !choice.name)
    bad(
      `Invalid value for 'tool_choice.type': '${choice.type}'. ` +
        `Supported: 'none', 'auto', 'required' or {"type":"function","name":...}.`,
      'tool_choice.type',
    );
  if (!tools.some((t) => t.name === choice.name))
    bad(`Invalid 'tool_choice': no function named '${choice.name}' is in 'tools'.`, 'tool_choice.name');
  return { type: 'function', name: choice.name };
}

/** The input as the run's messages, and as the items GET .../input_items lists. */
function inputOf(input: Raw['input']): {
  messages: ChatMessage[];
  items: Record<string, unknown>[];
  origins: MessageOrigin[];
  media: { param: string; url: string }[];
  sealed: SealedItem[];
} {
  if (typeof input === 'string') {
    if (!input) bad("Invalid 'input': empty string.", 'input', 'string_too_short');
    return {
      messages: [{ role: 'user', content: input }],
      origins: [{ item: 'input', content: 'input' }],
      media: [],
      sealed: [],
      items: [message('user', [{ type: 'input_text', text: input }])],
    };
  }
  if (!input.length) throw validationError("Invalid 'input': empty array.", 'input', 'empty_array');
  const messages: ChatMessage[] = [];
  const items: Record<string, unknown>[] = [];
  const origins: MessageOrigin[] = [];
  const media: { param: string; url: string }[] = [];
  const sealed: SealedItem[] = [];
  // Function calls the model made in one turn arrive as consecutive items: one assistant message.
  let calls: ToolCall[] | undefined;
  const flushCalls = () => (calls = undefined);
  input.forEach((item, i) => {
    const type = item.type ?? ('role' in item ? 'message' : undefined);
    const at = `input[${i}]`;
    switch (type) {
      case 'message': {
        const m = messageOf(item, at, media);
        items.push(message(m.role, m.parts, item.id as string | undefined));
        if (m.chat.role === 'assistant' && messages.at(-1)?.role === 'assistant' && !messages.at(-1)!.toolCalls) {
          messages.at(-1)!.content += m.chat.content; // one answer, several output_text items
        } else {
          messages.push(m.chat);
          origins.push({ item: at, content: `${at}.content` });
        }
        flushCalls();
        break;
      }
      case 'function_call': {
        const callId = str(item.call_id, `${at}.call_id`);
        const name = str(item.name, `${at}.name`);
        const args = typeof item.arguments === 'string' ? item.arguments : str(undefined, `${at}.arguments`);
        const call = { id: callId, name, arguments: args };
        if (calls) calls.push(call);
        else {
          calls = [call];
          const last = messages.at(-1);
          // The answer's text and its calls, when both came in one turn, are one assistant message.
          if (last?.role === 'assistant' && !last.toolCalls) last.toolCalls = calls;
          else {
            messages.push({ role: 'assistant', content: '', toolCalls: calls });
            origins.push({ item: at, content: `${at}.arguments` });
          }
        }
        items.push({
          type: 'function_call',
          id: typeof item.id === 'string' ? item.id : itemId('fc'),
          call_id: callId,
          name,
          arguments: args,
          status: 'completed',
        });
        break;
      }
      case 'function_call_output': {
        const callId = str(item.call_id, `${at}.call_id`);
        const output =
          typeof item.output === 'string'
            ? item.output
            : Array.isArray(item.output)
              ? item.output.map((p: { text?: string }) => p?.text ?? '').join('\n')
              : str(undefined, `${at}.output`);
        messages.push({ role: 'tool', content: output, toolCallId: callId });
        origins.push({ item: at, content: `${at}.output` });
        items.push({
          type: 'function_call_output',
          id: typeof item.id === 'string' ? item.id : itemId('fco'),
          call_id: callId,
          output,
          status: 'completed',
        });
        flushCalls();
        break;
      }
      case 'reasoning':
        // The team's progress, sent back by clients that replay whole outputs (the Agents SDK): it
        // was never part of the conversation's transcript, so it is not added to it either. Its
        // encrypted content is a paused run's checkpoint, which the request may resume.
        if (typeof item.encrypted_content === 'string' && item.encrypted_content)
          sealed.push({ param: `${at}.encrypted_content`, text: item.encrypted_content });
        break;
      case 'item_reference':
        if (typeof item.id === 'string' && item.id.startsWith('rs_')) break; // a reasoning item: as above
        bad(
          `Invalid '${at}': item references are not supported except to reasoning items; send the item itself.`,
          `${at}.id`,
        );
        break;
      default:
        bad(
          `Invalid value for '${at}.type': ${JSON.stringify(type ?? null)}. Supported input item types are: ` +
            "'message', 'function_call', 'function_call_output', 'reasoning'.",
          `${at}.type`,
        );
    }
  });
  return { messages, items, origins, media, sealed };
}

const ROLES = ['user', 'system', 'developer', 'assistant'] as const;
type Part = Record<string, unknown>;

function messageOf(
  item: Record<string, unknown>,
  at: string,
  media: { param: string; url: string }[],
): { role: string; parts: Part[]; chat: ChatMessage } {
  const role = item.role as (typeof ROLES)[number];
  if (!ROLES.includes(role))
    bad(
      `Invalid value for '${at}.role': ${JSON.stringify(item.role ?? null)}. ` +
        `Supported values are: ${ROLES.map((r) => `'${r}'`).join(', ')}.`,
      `${at}.role`,
    );
  const content = item.content;
  if (content === undefined) throw missingParameter(`${at}.content`);
  const raw: Part[] =
    typeof content === 'string'
      ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: content }]
      : Array.isArray(content)
        ? (content as Part[])
        : bad(`Invalid '${at}.content': expected a string or an array of content parts.`, `${at}.content`);
  const texts: string[] = [];
  const images: ContentImage[] = [];
  const parts: Part[] = raw.map((p, j) => {
    const param = `${at}.content[${j}]`;
    switch (p?.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        texts.push(str(p.text, `${param}.text`));
        return p.type === 'output_text'
          ? { type: 'output_text', text: p.text, annotations: [] }
          : { type: 'input_text', text: p.text };
      case 'refusal':
        texts.push(str(p.refusal, `${param}.refusal`));
        return { type: 'refusal', refusal: p.refusal };
      case 'input_image': {
        if (role !== 'user') bad(`Invalid '${param}': images are accepted in user messages only.`, param);
        const url = p.image_url;
        if (typeof url !== 'string')
          bad(`Invalid '${param}': only 'image_url' images are supported (no file ids).`, `${param}.image_url`);
        if (!isAcceptedImageUrl(url))
          bad(
            `Invalid image URL in '${param}.image_url': ` +
              "expected an http(s) URL or a base64 data URL ('data:image/png;base64,...').",
            `${param}.image_url`,
            'invalid_image_url',
          );
        const detail = (['auto', 'low', 'high'] as const).find((d) => d === p.detail) ?? 'auto';
        images.push({ url, detail });
        media.push({ param, url });
        return { type: 'input_image', image_url: url, detail };
      }
      case 'input_file': {
        const text = textFileOf(p, param);
        texts.push(text);
        return { type: 'input_file', filename: p.filename ?? null, file_data: p.file_data };
      }
      default:
        return bad(
          `Invalid value for '${param}.type': ${JSON.stringify(p?.type ?? null)}. Supported content types are: ` +
            "'input_text', 'input_image', 'input_file', 'output_text', 'refusal'.",
          `${param}.type`,
        );
    }
  });
  const chatRole = role === 'developer' ? 'system' : role;
  const chat: ChatMessage = { role: chatRole, content: texts.join('\n'), ...(images.length ? { images } : {}) };
  return { role, parts, chat };
}

const TEXT_FILE =
  /^data:(text\/[a-z0-9.+-]+|application\/(json|xml|x-yaml|yaml|csv))(;[^,]*)?;base64,([a-z0-9+/=\s]*)$/i;

/**
 * A file the client inlines: a text file (text/*, JSON, XML, YAML, CSV as a base64 data URL) is read
 * into the message, under its name. Anything else (a PDF, a file id) cannot be read here: refused.
 */
function textFileOf(part: Part, param: string): string {
  const data = typeof part.file_data === 'string' ? TEXT_FILE.exec(part.file_data) : null;
  if (!data)
    bad(
      `Invalid '${param}': only text files inlined as base64 data URLs ('data:text/plain;base64,...') are supported.`,
      `${param}.file_data`,
      'unsupported_file',
    );
  const name = typeof part.filename === 'string' ? part.filename : 'file';
  return `[${name}]\n${Buffer.from(data[4], 'base64').toString('utf8')}`;
}

function str(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined) throw missingParameter(param);
  return bad(`Invalid type for '${param}': expected a string.`, param, 'invalid_type');
}

function message(role: string, content: Part[], id?: string): Record<string, unknown> {
  return { type: 'message', id: id ?? itemId('msg'), status: 'completed', role, content };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
