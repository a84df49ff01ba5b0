// Validation of a POST /v1/chat/completions body to OpenAI's ranges, and its translation into the
// orchestrator's plain types. Unknown extra fields are ignored (clients send newer parameters).
// Wrong types and out-of-range values are 400 invalid_request_error (as OpenAI answers); a request
// missing what it needs (no model, no messages, a malformed message) is 422 validation_error.
import { z } from 'zod';
import { invalidRequest, unsupportedParameter } from './errors.ts';
import { issueToError } from './request-issues.ts';
import {
  checkLogitBias,
  checkMediaLimits,
  checkMetadata,
  checkToolChoice,
  checkToolResults,
  checkTools,
  dataUrlInfo,
  unsupportedContent,
} from './chat-checks.ts';
import { checkId } from './resource-ids.ts';
import type { BranchPoint } from '../conversation/types.ts';
import type {
  ChatMessage,
  ClientTool,
  ContentImage,
  GenerationParams,
  ReasoningEffort,
  ResponseFormat,
  ToolCall,
  ToolChoice,
} from '../orchestrator/types.ts';

const opt = <T extends z.ZodType>(schema: T) => schema.nullish();
const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const audioPart = z.object({
  type: z.literal('input_audio'),
  input_audio: z.object({ data: z.string(), format: z.string() }),
});
const filePart = z.object({
  type: z.literal('file'),
  file: z.object({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() });

const textContent = z.union([z.string(), z.array(textPart).min(1)]);
const userContent = z.union([
  z.string(),
  z.array(z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart])).min(1),
]);
const toolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});
// A participant's or a function's (a json_schema's) name, as OpenAI enforces and words it (its docs
// say 64 characters; its check, this pattern): too long is `string_above_max_length`, another
// character `invalid_value` naming the pattern (one pattern of 1-64 characters answered a function
// name too long as invalid_value, unlike OpenAI).
export const functionName = z
  .string()
  .max(64)
  .regex(
    /^[a-zA-Z0-9_-]+$/,
    "string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'",
  );
const name = functionName.optional();

const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: textContent, name }),
  z.object({ role: z.literal('developer'), content: textContent, name }),
  z.object({ role: z.literal('user'), content: userContent, name }),
  z
    .object({
      role: z.literal('assistant'),
      content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, refusalPart]))]).nullish(),
      refusal: z.string().nullish(),
      name,
      tool_calls: z.array(toolCallSchema).nullish(),
      function_call: z.object({ name: z.string(), arguments: z.string() }).nullish(),
    })
    .refine(
      (m) => m.content != null || (m.tool_calls?.length ?? 0) > 0 || m.function_call != null || m.refusal != null,
      {
        message: 'an assistant message needs content or tool_calls',
        path: ['content'],
      },
    ),
  z.object({ role: z.literal('tool'), content: textContent, tool_call_id: z.string().min(1) }),
  z.object({ role: z.literal('function'), content: z.string().nullable(), name: z.string().min(1) }),
]);

const functionSchema = z.object({
  name: functionName,
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().nullish(),
});
const toolSchema = z.object({ type: z.literal('function'), function: functionSchema });
const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: functionName,
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
/** OpenAI's service tiers; every request is served the same way, reported as `default`. */
export const serviceTierSchema = z.enum(['auto', 'default', 'flex', 'scale', 'priority', 'fast']);
const audioOutput = z.object({
  voice: z.union([z.string(), z.object({ id: z.string() })]),
  format: z.enum(['wav', 'aac', 'mp3', 'flac', 'opus', 'pcm16']),
});
const predictionSchema = z.object({ type: z.literal('content'), content: textContent });
const webSearchOptions = z.object({
  search_context_size: z.enum(['low', 'medium', 'high']).optional(),
  user_location: z
    .object({
      type: z.literal('approximate'),
      approximate: z.object({
        city: z.string().optional(),
        country: z.string().optional(),
        region: z.string().optional(),
        timezone: z.string().optional(),
      }),
    })
    .nullish(),
});
const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }),
]);

export const chatRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: opt(z.boolean()),
  stream_options: opt(z.object({ include_usage: z.boolean().optional() })),
  temperature: opt(z.number().min(0).max(2)),
  top_p: opt(z.number().min(0).max(1)),
  n: opt(z.number().int().min(1).max(128)),
  stop: opt(z.union([z.string(), z.array(z.string()).max(4)])),
  max_tokens: opt(z.number().int().min(1)),
  max_completion_tokens: opt(z.number().int().min(1)),
  presence_penalty: opt(z.number().min(-2).max(2)),
  frequency_penalty: opt(z.number().min(-2).max(2)),
  // Whether OpenAI keeps the completion for its dashboard and evals: checked, then nothing to do
  // with it (this server keeps every turn in its conversation, whatever it says).
  store: opt(z.boolean()),
  // logit_bias and metadata are checked on the body as parsed (checkLogitBias, checkMetadata): a
  // record schema would skip a `"__proto__"` key.
  logprobs: opt(z.boolean()),
  top_logprobs: opt(z.number().int().min(0).max(20)),
  seed: opt(z.number().int()),
  user: opt(z.string()),
  service_tier: opt(serviceTierSchema),
  // Checked, then refused when they ask for audio: the answer is text only.
  modalities: opt(z.array(z.enum(['text', 'audio']))),
  audio: opt(audioOutput),
  // Predicted output only makes an answer faster to write: checked, then nothing to do with it.
  prediction: opt(predictionSchema),
  web_search_options: opt(webSearchOptions),
  reasoning_effort: opt(z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'])),
  // Empty lists are refused as OpenAI refuses them (a client meaning "no tools" leaves them out).
  tools: opt(z.array(toolSchema).min(1).max(128)),
  tool_choice: opt(toolChoiceSchema),
  parallel_tool_calls: opt(z.boolean()),
  response_format: opt(responseFormatSchema),
  // The legacy form of tools and tool_choice, still sent by older clients.
  functions: opt(z.array(functionSchema).min(1).max(128)),
  function_call: opt(z.union([z.enum(['none', 'auto']), z.object({ name: z.string().min(1) })])),
  conversation_id: opt(z.string()),
});
type RawChatRequest = z.output<typeof chatRequestSchema>;

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
  includeUsage: boolean;
  n: number;
  generation: GenerationParams;
  reasoningEffort?: ReasoningEffort;
  /** The conversation the client names (its id, not the store's key: src/conversation/conversation-keys.ts). */
  conversationId?: string;
  /** Where in a stored conversation (by its key) the turn builds on, when not at its end (see LockTurnInput). */
  buildsOn?: BranchPoint;
  tools?: ClientTool[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** The request used the legacy `functions`: its call is answered as `function_call`. */
  legacyFunctions?: boolean;
  /** Its system messages are all of its system prompt (see LockTurnInput.systemNotCarried). */
  systemNotCarried?: boolean;
  /** A context that does not fit the budget is refused, not trimmed (Responses `truncation: "disabled"`). */
  untruncated?: boolean;
}

/**
 * A message's text parts, each on its own line; `separator` '' for an answer's parts, which are pieces
 * of one text (see the assistant case below).
 */
function textOf(
  content: string | { type: string; text?: string; refusal?: string }[] | null | undefined,
  separator = '\n',
): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((p) => p.text ?? p.refusal ?? '')
    .filter(Boolean)
    .join(separator);
}

function normalizeMessage(m: RawChatRequest['messages'][number]): ChatMessage {
  switch (m.role) {
    case 'system':
    case 'developer': // the developer role is the newer name of system for reasoning models
      return { role: 'system', content: textOf(m.content), ...(m.name ? { name: m.name } : {}) };
    case 'user': {
      const images: ContentImage[] =
        typeof m.content === 'string'
          ? []
          : m.content.flatMap((p) =>
              p.type === 'image_url'
                ? [{ url: p.image_url.url, ...(p.image_url.detail ? { detail: p.image_url.detail } : {}) }]
                : p.type === 'file' && p.file.file_data
                  ? [
                      {
                        url: p.file.file_data,
                        mediaType: 'application/pdf',
                        ...(p.file.filename ? { filename: p.file.filename } : {}),
                      },
                    ]
                  : [],
            );
      const text =
        typeof m.content === 'string'
          ? m.content
          : m.content
              .map((p) => (p.type === 'text' ? p.text : ''))
              .filter(Boolean)
              .join('\n');
      return { role: 'user', content: text, ...(m.name ? { name: m.name } : {}), ...(images.length ? { images } : {}) };
    }
    case 'assistant': {
      const toolCalls: ToolCall[] = (m.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
      // A legacy function call is answered by a `function` message naming it: the name is its id.
      if (m.function_call && !toolCalls.length)
        toolCalls.push({ id: m.function_call.name, name: m.function_call.name, arguments: m.function_call.arguments });
      return {
        role: 'assistant',
        // An answer sent back as parts is the answer as the client received it, cut where its stream
        // was (LangChain's content blocks keep one text part per streamed chunk): joined as written,
        // not a line apart, it is the answer the server stored, and the history is found again.
        content: textOf(m.content, ''),
        ...(m.name ? { name: m.name } : {}),
        ...(toolCalls.length ? { toolCalls } : {}),
      };
    }
    case 'tool':
      return { role: 'tool', content: textOf(m.content), toolCallId: m.tool_call_id };
    case 'function': // legacy function-calling result
      return { role: 'tool', content: m.content ?? '', toolCallId: m.name, name: m.name };
  }
}

/** Validates a parsed JSON body; throws the ApiError of the first problem found. */
export function parseChatRequest(body: unknown, headers: { conversationId?: string } = {}): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    // Report a missing model/messages before anything inside them, as OpenAI does.
    const issues = [...parsed.error.issues].sort((a, b) => a.path.length - b.path.length);
    throw issueToError(issues[0], body);
  }
  const r = parsed.data;
  if (r.stream_options && !r.stream)
    throw invalidRequest(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
      'invalid_value',
    );
  refuseUnsupported(r, body as Record<string, unknown>);
  checkCombinations(r);
  if (r.top_logprobs != null && !r.logprobs)
    throw invalidRequest("Using 'top_logprobs' requires 'logprobs' to be true.", 'top_logprobs', 'invalid_value');
  if (r.tool_choice && r.tool_choice !== 'none' && r.tool_choice !== 'auto' && !r.tools?.length)
    throw invalidRequest(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
      'invalid_value',
    );
  // Whichever way an id arrives it is checked: it goes back in a response header and a URL.
  if (r.conversation_id != null) checkId(r.conversation_id, 'conversation_id');
  if (headers.conversationId != null) checkId(headers.conversationId, 'conversation_id');
  checkImageUrls(r.messages);
  checkContentParts(r.messages);
  const messages = r.messages.map(normalizeMessage);
  checkToolResults(messages);
  const tools = (r.tools?.map((t) => t.function) ?? r.functions ?? undefined)?.map((f) =>
    dropUndefined({
      name: f.name,
      description: f.description,
      parameters: f.parameters ?? { type: 'object', properties: {} },
      strict: f.strict ?? undefined,
    }),
  );
  checkTools(tools, (i) => (r.tools ? `tools[${i}].function` : `functions[${i}]`));
  const toolChoice = toolChoiceOf(r);
  checkToolChoice(tools, toolChoice);
  const conversationId = r.conversation_id ?? headers.conversationId;
  const stop = r.stop == null ? undefined : typeof r.stop === 'string' ? [r.stop] : r.stop;
  const generation: GenerationParams = dropUndefined({
    temperature: r.temperature ?? undefined,
    topP: r.top_p ?? undefined,
    maxTokens: r.max_completion_tokens ?? r.max_tokens ?? undefined,
    stop: stop?.length ? stop : undefined,
    presencePenalty: r.presence_penalty ?? undefined,
    frequencyPenalty: r.frequency_penalty ?? undefined,
    seed: r.seed ?? undefined,
    user: r.user ?? undefined,
    responseFormat: responseFormatOf(r.response_format),
  });
  return dropUndefined({
    model: r.model,
    messages,
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
    n: r.n ?? 1,
    generation,
    reasoningEffort: r.reasoning_effort ?? undefined,
    conversationId: conversationId ?? undefined,
    tools,
    toolChoice,
    // A legacy function call is one call per turn, as OpenAI's `function_call` was.
    parallelToolCalls: r.parallel_tool_calls ?? (r.functions && !r.tools ? false : undefined),
    legacyFunctions: r.functions && !r.tools ? true : undefined,
  }) as ChatRequest;
}

/**
 * What OpenAI offers and this server cannot honour, refused by name rather than dropped: token log
 * probabilities and logit biases (the answer is written by a team of agents, not one model's
 * sampling), audio output, and web search options (the team does its own research).
 */
function refuseUnsupported(r: RawChatRequest, body: Record<string, unknown>): void {
  if (r.logprobs)
    throw unsupportedParameter(
      'logprobs',
      "is not supported by this server: the answer is written by a team of agents, and no token log probabilities of it are available. Leave 'logprobs' unset or false.",
    );
  checkLogitBias(body.logit_bias);
  checkMetadata(body.metadata);
  if (r.modalities?.includes('audio'))
    throw unsupportedContent('modalities', 'audio output is not supported; answers are text only (["text"]).');
  if (r.audio != null) throw unsupportedContent('audio', 'audio output is not supported; answers are text only.');
  if (r.web_search_options != null)
    throw unsupportedParameter(
      'web_search_options',
      "is not supported by this server: its team does its own research (with web search where the server is configured for it). Leave 'web_search_options' unset.",
    );
}

/**
 * Parameters OpenAI refuses together, with its wording: two output budgets (which one bounds the
 * answer would be a guess; the client is told, as OpenAI tells it, rather than served one of them).
 */
function checkCombinations(r: RawChatRequest): void {
  if (r.max_tokens != null && r.max_completion_tokens != null)
    throw invalidRequest(
      "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
      'max_tokens',
      'invalid_parameter_combination',
    );
}

function toolChoiceOf(r: RawChatRequest): ToolChoice | undefined {
  const choice = r.tool_choice ?? r.function_call;
  if (choice == null) return undefined;
  if (typeof choice === 'string') return choice;
  return { name: 'function' in choice ? choice.function.name : choice.name };
}

function responseFormatOf(f: RawChatRequest['response_format']): ResponseFormat | undefined {
  if (!f || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  const { name, description, schema, strict } = f.json_schema;
  return {
    type: 'json_schema',
    jsonSchema: dropUndefined({ name, description, schema, strict: strict ?? undefined }),
  };
}

/**
 * Audio is refused rather than dropped (no agent can hear), a file must be an inline PDF (there is
 * no files API to name by id), and images and files stay within their count and size limits.
 */
function checkContentParts(messages: RawChatRequest['messages']): void {
  const media: { param: string; url: string }[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'user' || typeof m.content === 'string') return;
    m.content.forEach((part, j) => {
      const param = `messages[${i}].content[${j}]`;
      if (part.type === 'input_audio')
        throw unsupportedContent(param, 'audio input is not supported; send a transcript as text.');
      if (part.type === 'image_url') media.push({ param, url: part.image_url.url });
      if (part.type !== 'file') return;
      const data = part.file.file_data;
      if (!data)
        throw unsupportedContent(
          `${param}.file`,
          "files are accepted inline only, as 'file_data' ('data:application/pdf;base64,...'); there is no files API.",
        );
      if (dataUrlInfo(data)?.mediaType !== 'application/pdf')
        throw unsupportedContent(
          `${param}.file.file_data`,
          "expected a base64 PDF data URL ('data:application/pdf;base64,...').",
        );
      media.push({ param, url: data });
    });
  });
  checkMediaLimits(media);
}

/**
 * An image is sent on to the model (and stored with the turn), so it must be something a model
 * can fetch or read: an http(s) URL or an inline `data:image/...;base64,` URL. Anything else
 * (`javascript:`, `file:`, free text) is refused here, before anything runs or is stored.
 */
function checkImageUrls(messages: RawChatRequest['messages']): void {
  messages.forEach((m, i) => {
    if (m.role !== 'user' || typeof m.content === 'string') return;
    m.content.forEach((part, j) => {
      if (part.type !== 'image_url' || isAcceptedImageUrl(part.image_url.url)) return;
      const param = `messages[${i}].content[${j}].image_url.url`;
      throw invalidRequest(
        `Invalid image URL in '${param}': expected an http(s) URL or a base64 data URL ('data:image/png;base64,...').`,
        param,
        'invalid_image_url',
      );
    });
  });
}

const DATA_IMAGE_URL = /^data:image\/[a-z0-9.+-]+;base64,[a-z0-9+/=\s]+$/i;

export function isAcceptedImageUrl(url: string): boolean {
  if (/^data:/i.test(url)) return DATA_IMAGE_URL.test(url);
  if (!URL.canParse(url)) return false;
  const { protocol, hostname } = new URL(url);
  return (protocol === 'https:' || protocol === 'http:') && hostname !== '';
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
