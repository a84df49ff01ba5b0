// Every setting of Cortex Flow: read from the environment (and a `.env` file), typed, validated
// once at start-up. A bad value is reported as one line naming the variable, never a stack trace.
// Each entry's `doc` and default are what the README's settings table shows (a test keeps them in step).
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseModelSpec } from './llm/model-spec.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'expected true or false' })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
/**
 * A number written in decimals, within its range: an empty value is not 0 (as Number('') is), nor is
 * `0x50` eighty; the message says which values would do.
 */
function decimal(min: number, max: number, whole: boolean) {
  const unbounded = max === Number.MAX_SAFE_INTEGER || max === Number.MAX_VALUE;
  const expected = `expected ${whole ? 'a whole number' : 'a number'} ${unbounded ? `of at least ${min}` : `from ${min} to ${max}`}`;
  const inRange = whole ? z.number().int(expected) : z.number();
  return z
    .string({ message: expected })
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, expected)
    .transform(Number)
    .pipe(inRange.min(min, expected).max(max, expected));
}
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => decimal(min, max, true);
const num = (min: number, max = Number.MAX_VALUE) => decimal(min, max, false);
const text = z.string().min(1, 'must not be empty');
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
/** An http(s) URL, or unset: a mistyped base URL stops start-up rather than failing every call. */
const isUrlOf = (protocols: string[]) => (v: string) => {
  try {
    return protocols.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};
const httpUrl = text.refine(isUrlOf(['http:', 'https:']), 'expected an http:// or https:// URL');
const optionalHttpUrl = optionalText.refine(
  (v) => v === undefined || isUrlOf(['http:', 'https:'])(v),
  'expected an http:// or https:// URL',
);
const optionalDatabaseUrl = optionalText.refine(
  (v) => v === undefined || isUrlOf(['postgres:', 'postgresql:'])(v),
  'expected a postgres:// URL',
);
/** A `provider:model`, or unset: checked at start-up, whether or not a model is in use yet. */
const optionalModel = optionalText.superRefine((v, ctx) => {
  if (v === undefined) return;
  try {
    parseModelSpec(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

interface Setting<T extends z.ZodType> {
  env: string;
  schema: T;
  default?: string;
  doc: string;
  /** Secrets are never echoed back in errors or logs. */
  secret?: boolean;
}
const setting = <T extends z.ZodType>(s: Setting<T>) => s;

export const SETTINGS = {
  enabled: setting({
    env: 'OPENAI_COMPAT_ENABLE',
    schema: bool,
    default: 'true',
    doc: 'Serve the OpenAI-compatible API. `false` makes `serve` refuse to start.',
  }),
  port: setting({
    env: 'OPENAI_COMPAT_PORT',
    schema: int(0, 65535),
    default: '8001',
    doc: 'TCP port of the HTTP server (0 picks a free port).',
  }),
  host: setting({
    env: 'CORTEX_HOST',
    schema: text,
    default: '127.0.0.1',
    doc: 'Address to listen on; `0.0.0.0` to accept connections from other machines.',
  }),
  modelName: setting({
    env: 'OPENAI_COMPAT_MODEL_NAME',
    schema: text,
    default: 'cortex-flow',
    doc: 'Model id of the full team; the supervisor and agents are exposed as `<name>-supervisor`, `<name>-researcher`, ...',
  }),
  maxContextTokens: setting({
    env: 'OPENAI_COMPAT_MAX_CONTEXT_TOKENS',
    schema: int(256),
    default: '8000',
    doc: 'Token budget of the conversation context sent to the agents; oldest turns are dropped first.',
  }),
  tokenModel: setting({
    env: 'OPENAI_COMPAT_TOKEN_MODEL',
    schema: text,
    default: 'gpt-4',
    doc: 'Model whose tokenizer counts `usage` (o200k for gpt-4o/4.1/5/o-series, cl100k for gpt-4/3.5).',
  }),
  keepAliveSeconds: setting({
    env: 'CORTEX_SSE_KEEPALIVE_SECONDS',
    schema: num(0, 3600),
    default: '15',
    doc: 'Seconds without output before a `: ping` comment is sent on a stream; 0 turns keep-alives off.',
  }),
  streamProgress: setting({
    env: 'CORTEX_STREAM_PROGRESS',
    schema: bool,
    default: 'true',
    doc: 'Stream what the agents are doing as `delta.reasoning_content` (shown as thinking by Open WebUI and others).',
  }),
  dataDir: setting({
    env: 'CORTEX_DATA_DIR',
    schema: text,
    default: './data',
    doc: 'Directory of the embedded SQLite database and knowledge base.',
  }),
  databaseUrl: setting({
    env: 'CORTEX_DATABASE_URL',
    schema: optionalDatabaseUrl,
    doc: '`postgres://...` to keep conversations, runs and keys in PostgreSQL (shared by replicas); unset uses embedded SQLite.',
    secret: true,
  }),
  // The LLM team (unset CORTEX_MODEL = the offline extractive engine).
  model: setting({
    env: 'CORTEX_MODEL',
    schema: optionalModel,
    doc: 'Model of the team as `provider:model` (`openai:gpt-4.1-mini`, `anthropic:claude-sonnet-4-5`, `ollama:llama3.1`, `compatible:NAME`); unset runs the offline extractive engine.',
  }),
  supervisorModel: setting({
    env: 'CORTEX_SUPERVISOR_MODEL',
    schema: optionalModel,
    doc: 'Model of the supervisor, when it should differ from `CORTEX_MODEL`.',
  }),
  researcherModel: setting({
    env: 'CORTEX_RESEARCHER_MODEL',
    schema: optionalModel,
    doc: 'Model of the researcher (e.g. a cheaper one).',
  }),
  analystModel: setting({ env: 'CORTEX_ANALYST_MODEL', schema: optionalModel, doc: 'Model of the analyst.' }),
  writerModel: setting({
    env: 'CORTEX_WRITER_MODEL',
    schema: optionalModel,
    doc: 'Model of the writer (e.g. a stronger one).',
  }),
  visionModels: setting({
    env: 'CORTEX_VISION_MODELS',
    schema: list,
    doc: 'Comma-separated `provider:model`s that read images and PDFs, beyond the well-known ones (gpt-4o, gpt-4.1, gpt-5, o-series, claude-*, llava, ...); `-provider:model` declares one blind.',
  }),
  agentsFile: setting({
    env: 'CORTEX_AGENTS_FILE',
    schema: optionalText,
    doc: 'JSON file that changes the built-in agents (prompt, tools, model) or adds new ones; see "The team".',
  }),
  mcpConfig: setting({
    env: 'CORTEX_MCP_CONFIG',
    schema: optionalText,
    doc: '`mcp.json` of MCP servers whose tools the agents use; see "MCP".',
  }),
  mcpTimeoutSeconds: setting({
    env: 'CORTEX_MCP_TIMEOUT_SECONDS',
    schema: num(0.1, 3600),
    default: '60',
    doc: 'Longest one MCP tool call may take.',
  }),
  mcpMaxResultChars: setting({
    env: 'CORTEX_MCP_MAX_RESULT_CHARS',
    schema: int(100, 10_000_000),
    default: '50000',
    doc: 'Most characters of one MCP tool result the model is shown (the rest is cut, and it says so).',
  }),
  maxIterations: setting({
    env: 'CORTEX_MAX_ITERATIONS',
    schema: int(1, 50),
    default: '5',
    doc: 'Most delegation rounds of the supervisor in one run (the budget of `reasoning_effort: high`).',
  }),
  defaultReasoningEffort: setting({
    env: 'CORTEX_DEFAULT_REASONING_EFFORT',
    schema: z.enum(['low', 'medium', 'high']),
    default: 'medium',
    doc: 'Depth of a run when the request has no `reasoning_effort`.',
  }),
  llmTimeoutSeconds: setting({
    env: 'CORTEX_LLM_TIMEOUT_SECONDS',
    schema: num(1, 3600),
    default: '120',
    doc: 'Longest silence of the upstream within one LLM call: before its first byte, and between two parts of a stream. A long answer that keeps coming is never cut by it.',
  }),
  agentTimeoutSeconds: setting({
    env: 'CORTEX_AGENT_TIMEOUT_SECONDS',
    schema: num(1, 86400),
    default: '300',
    doc: 'Longest one specialist task may take (all its calls and tools); then it is reported to the supervisor as failed and the run goes on.',
  }),
  llmMaxRetries: setting({
    env: 'CORTEX_LLM_MAX_RETRIES',
    schema: int(0, 10),
    default: '2',
    doc: 'Retries of an upstream call on 429, 5xx and connection errors (with backoff, honouring `Retry-After`), of an answer cut off, empty or unreadable before any of it was used, and the further attempts a specialist gets after a tool call it got wrong.',
  }),
  openaiApiKey: setting({
    env: 'OPENAI_API_KEY',
    schema: optionalText,
    doc: "Key for `openai:` models, as OpenAI's SDKs read it.",
    secret: true,
  }),
  openaiBaseUrl: setting({
    env: 'OPENAI_BASE_URL',
    schema: optionalHttpUrl,
    doc: 'Base URL for `openai:` models: any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, OpenRouter, Groq...).',
  }),
  anthropicApiKey: setting({
    env: 'ANTHROPIC_API_KEY',
    schema: optionalText,
    doc: 'Key for `anthropic:` models.',
    secret: true,
  }),
  anthropicBaseUrl: setting({
    env: 'ANTHROPIC_BASE_URL',
    schema: optionalHttpUrl,
    doc: 'Base URL for `anthropic:` models.',
  }),
  ollamaBaseUrl: setting({
    env: 'OLLAMA_BASE_URL',
    schema: httpUrl,
    default: 'http://127.0.0.1:11434/v1',
    doc: 'OpenAI-compatible endpoint of Ollama for `ollama:` models.',
  }),
  compatibleBaseUrl: setting({
    env: 'CORTEX_COMPATIBLE_BASE_URL',
    schema: optionalHttpUrl,
    doc: 'Base URL of the OpenAI-compatible server for `compatible:` models.',
  }),
  compatibleApiKey: setting({
    env: 'CORTEX_COMPATIBLE_API_KEY',
    schema: optionalText,
    doc: 'Key for `compatible:` models, if that server needs one.',
    secret: true,
  }),
  // Research tools and the knowledge base.
  sampleCorpus: setting({
    env: 'CORTEX_SAMPLE_CORPUS',
    schema: bool,
    default: 'true',
    doc: 'Ingest the sample corpus (`samples/corpus`) into the knowledge base on first start.',
  }),
  webSearch: setting({
    env: 'CORTEX_WEB_SEARCH',
    schema: z.enum(['none', 'tavily', 'brave', 'searxng']),
    default: 'none',
    doc: 'Web search provider of the `web_search` tool.',
  }),
  tavilyApiKey: setting({
    env: 'TAVILY_API_KEY',
    schema: optionalText,
    doc: 'Key for `CORTEX_WEB_SEARCH=tavily`.',
    secret: true,
  }),
  tavilyUrl: setting({
    env: 'CORTEX_TAVILY_URL',
    schema: httpUrl,
    default: 'https://api.tavily.com',
    doc: 'Base URL of the Tavily API.',
  }),
  braveApiKey: setting({
    env: 'BRAVE_API_KEY',
    schema: optionalText,
    doc: 'Key for `CORTEX_WEB_SEARCH=brave`.',
    secret: true,
  }),
  braveUrl: setting({
    env: 'CORTEX_BRAVE_URL',
    schema: httpUrl,
    default: 'https://api.search.brave.com',
    doc: 'Base URL of the Brave Search API.',
  }),
  searxngUrl: setting({
    env: 'CORTEX_SEARXNG_URL',
    schema: optionalHttpUrl,
    doc: 'Base URL of a SearXNG instance (with the JSON format enabled) for `CORTEX_WEB_SEARCH=searxng`.',
  }),
  fetchMaxBytes: setting({
    env: 'CORTEX_FETCH_MAX_BYTES',
    schema: int(1024),
    default: '2000000',
    doc: 'Largest page `fetch_url` reads.',
  }),
  fetchTimeoutSeconds: setting({
    env: 'CORTEX_FETCH_TIMEOUT_SECONDS',
    schema: num(1, 300),
    default: '15',
    doc: 'Time limit of one `fetch_url` or web search call.',
  }),
  fetchAllowPrivate: setting({
    env: 'CORTEX_FETCH_ALLOW_PRIVATE',
    schema: bool,
    default: 'false',
    doc: 'Let `fetch_url` reach private, loopback and link-local addresses (off: such URLs are refused).',
  }),
  // Security, limits and operations.
  apiKeys: setting({
    env: 'CORTEX_API_KEYS',
    // A key travels as `Authorization: Bearer KEY`: a space ends it, and HTTP headers are read
    // byte by byte (latin1), so a key with other characters could never match; keys being
    // required, such a key would lock every client out instead of stopping start-up.
    schema: list.refine(
      (keys) => keys.every((k) => /^[\x21-\x7e]+$/.test(k)),
      'expected keys of visible ASCII characters only (no spaces, no accents or other non-ASCII letters)',
    ),
    doc: 'Comma-separated static API keys. When any key exists (static or created with `cortex-flow keys create`), every API route requires `Authorization: Bearer KEY`.',
    secret: true,
  }),
  auth: setting({
    env: 'CORTEX_AUTH',
    schema: z.enum(['required', 'off']).optional(),
    doc: '`required`: every API route needs a key, even before one exists. `off`: no key is checked. Unset: required as soon as any key has existed (static, or stored, revoked ones included).',
  }),
  rateLimitRpm: setting({
    env: 'CORTEX_RATE_LIMIT_RPM',
    schema: int(0),
    default: '0',
    doc: 'Requests per minute per API key (0: no limit). Shared by replicas on PostgreSQL.',
  }),
  rateLimitTpm: setting({
    env: 'CORTEX_RATE_LIMIT_TPM',
    schema: int(0),
    default: '0',
    doc: 'Tokens (prompt + completion) per minute per API key (0: no limit).',
  }),
  maxBodyBytes: setting({
    env: 'CORTEX_MAX_BODY_BYTES',
    schema: int(1024),
    default: '4194304',
    doc: 'Largest request body; larger bodies get 413.',
  }),
  maxMessages: setting({
    env: 'CORTEX_MAX_MESSAGES',
    schema: int(1),
    default: '500',
    doc: 'Most messages in one request.',
  }),
  maxMessageChars: setting({
    env: 'CORTEX_MAX_MESSAGE_CHARS',
    schema: int(1),
    default: '200000',
    doc: 'Longest message content, in characters.',
  }),
  maxConcurrentRuns: setting({
    env: 'CORTEX_MAX_CONCURRENT_RUNS',
    schema: int(1),
    default: '64',
    doc: 'Runs executing at once in this process; more wait in line.',
  }),
  maxRunsPerKey: setting({
    env: 'CORTEX_MAX_RUNS_PER_KEY',
    schema: int(1).optional(),
    doc: 'Runs one API key may have executing at once (default: half of `CORTEX_MAX_CONCURRENT_RUNS`, rounded up), so that one key cannot take every slot; its further requests wait for its own runs.',
  }),
  queueTimeoutSeconds: setting({
    env: 'CORTEX_QUEUE_TIMEOUT_SECONDS',
    schema: num(0, 600),
    default: '10',
    doc: 'How long a run waits for a free slot before a 429.',
  }),
  maxRunSeconds: setting({
    env: 'CORTEX_MAX_RUN_SECONDS',
    schema: num(1, 86400),
    default: '600',
    doc: 'Longest a run may take; then it is stopped with a 504 error and its partial answer is stored.',
  }),
  conversationWaitSeconds: setting({
    env: 'CORTEX_CONVERSATION_WAIT_SECONDS',
    schema: num(0, 3600),
    default: '10',
    doc: 'How long a turn waits for the turn in progress on the same conversation (before taking a run slot); then 409 `conversation_busy`.',
  }),
  maxChoices: setting({
    env: 'CORTEX_MAX_CHOICES',
    schema: int(1, 128),
    default: '8',
    doc: 'Largest `n` of a chat completion; each choice is a run of its own (a run slot, its tokens in the rate limits).',
  }),
  streamWriteTimeoutSeconds: setting({
    env: 'CORTEX_STREAM_WRITE_TIMEOUT_SECONDS',
    schema: num(1, 3600),
    default: '30',
    doc: 'How long a streaming client that stops reading may leave a frame unread before its connection is closed (and its run stopped).',
  }),
  fallbackModel: setting({
    env: 'CORTEX_FALLBACK_MODEL',
    schema: optionalModel,
    doc: '`provider:model` tried once when the configured model keeps failing (after its retries).',
  }),
  requestTimeoutSeconds: setting({
    env: 'CORTEX_REQUEST_TIMEOUT_SECONDS',
    schema: num(1, 3600),
    default: '30',
    doc: 'Time a client has to send a request (headers and body); slower ones get 408 and are disconnected. Answers (streams) are not limited by it.',
  }),
  maxConnections: setting({
    env: 'CORTEX_MAX_CONNECTIONS',
    schema: int(1),
    default: '1000',
    doc: 'Most open client connections; connections beyond it are closed at once. From 90% of it on, idle keep-alive connections are closed to make room.',
  }),
  corsOrigins: setting({
    env: 'CORTEX_CORS_ORIGINS',
    schema: list.refine(
      (origins) => origins.every((o) => o === '*' || (isUrlOf(['http:', 'https:'])(o) && new URL(o).origin === o)),
      'expected `*` or origins such as https://app.example.com (scheme, host and port only)',
    ),
    doc: 'Comma-separated origins allowed by CORS (`*` for any); empty turns CORS off.',
  }),
  consoleEnabled: setting({
    env: 'CORTEX_CONSOLE',
    schema: bool,
    default: 'true',
    doc: 'Serve the web console at `/` (playground, conversations, run timelines, overview); `false` turns it off.',
  }),
  traceSaveSeconds: setting({
    env: 'CORTEX_TRACE_SAVE_SECONDS',
    schema: num(0, 3600),
    default: '5',
    doc: 'How often a run still going writes its trace so far to the store, so that a process killed mid-run leaves it with the interrupted run; 0 turns it off.',
  }),
  shutdownGraceSeconds: setting({
    env: 'CORTEX_SHUTDOWN_GRACE_SECONDS',
    schema: num(0, 3600),
    default: '30',
    doc: 'On SIGTERM, how long in-flight runs may finish before they are stopped (and stored).',
  }),
  logLevel: setting({
    env: 'CORTEX_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Log level of the JSON logs.',
  }),
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export class ConfigError extends Error {}

/** Parses `.env` (when present) without touching process.env, so the caller decides precedence. */
export function readEnvFile(path = '.env'): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<z.ZodType>][]) {
    const raw = env[s.env] ?? s.default;
    const parsed = s.schema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'invalid value';
      const shown = s.secret || raw === undefined ? '' : ` (got "${raw}")`;
      throw new ConfigError(`Invalid ${s.env}${shown}: ${why}`);
    }
    out[key] = parsed.data;
  }
  return { ...(out as Config), ...overrides };
}

/** The environment as the server sees it: `.env` under the process environment. */
export function effectiveEnv(envFile = '.env'): NodeJS.ProcessEnv {
  return { ...readEnvFile(envFile), ...process.env };
}

export { list as listSetting };
