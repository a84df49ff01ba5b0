import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APICallError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import { depthOf } from '../../src/agents/depth.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { toAgentPrompt } from '../../src/agents/model-messages.ts';
import { loadTeam } from '../../src/agents/spec.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { parseModelSpec } from '../../src/llm/model-spec.ts';
import { ProviderRegistry } from '../../src/llm/providers.ts';
import { classifyError } from '../../src/llm/upstream-error.ts';

const noModels = {
  agentsFile: undefined,
  supervisorModel: undefined,
  researcherModel: undefined,
  analystModel: undefined,
  writerModel: undefined,
};

function agentsFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'agents-')), 'agents.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('declared agents', () => {
  it('has the built-in team with per-agent models from the settings', () => {
    const team = loadTeam({ ...noModels, researcherModel: 'ollama:llama3.1', writerModel: 'openai:gpt-4.1' });
    expect(team.map((a) => a.name)).toEqual(['supervisor', 'researcher', 'analyst', 'writer']);
    expect(team.find((a) => a.name === 'researcher')!.model).toBe('ollama:llama3.1');
    expect(team.find((a) => a.name === 'writer')!.model).toBe('openai:gpt-4.1');
    expect(team.find((a) => a.name === 'analyst')!.model).toBeUndefined();
  });

  it('changes prompts, adds and removes agents from a file', () => {
    const path = agentsFile({
      agents: [
        { name: 'writer', instructions: 'You are the writer. Answer in French.' },
        {
          name: 'translator',
          description: 'Translates text',
          instructions: 'You are the translator.',
          model: 'openai:gpt-4.1-mini',
          timeoutSeconds: 45,
        },
        { name: 'analyst', disabled: true },
      ],
    });
    const team = loadTeam({ ...noModels, agentsFile: path });
    expect(team.map((a) => a.name)).toEqual(['supervisor', 'researcher', 'writer', 'translator']);
    expect(team.find((a) => a.name === 'writer')).toMatchObject({
      instructions: 'You are the writer. Answer in French.',
      tools: [],
    });
    expect(team.find((a) => a.name === 'translator')).toMatchObject({
      description: 'Translates text',
      model: 'openai:gpt-4.1-mini',
      timeoutSeconds: 45,
      tools: [],
    });
  });

  it('rejects a bad agents file with one line naming the problem', () => {
    expect(() => loadTeam({ ...noModels, agentsFile: agentsFile({ agents: [{ name: 'Bad Name' }] }) })).toThrow(
      /CORTEX_AGENTS_FILE: agents\.0\.name/,
    );
    expect(() => loadTeam({ ...noModels, agentsFile: agentsFile({ agents: [{ name: 'poet' }] }) })).toThrow(
      /needs a description and instructions/,
    );
    expect(() => loadTeam({ ...noModels, agentsFile: '/nonexistent/agents.json' })).toThrow(ConfigError);
  });
});

describe('providers', () => {
  it('parses provider:model', () => {
    expect(parseModelSpec('openai:gpt-4.1-mini')).toEqual({ provider: 'openai', modelId: 'gpt-4.1-mini' });
    expect(parseModelSpec('ollama:llama3.1:8b')).toEqual({ provider: 'ollama', modelId: 'llama3.1:8b' });
    expect(() => parseModelSpec('gpt-4')).toThrow(/provider:model/);
    expect(() => parseModelSpec('bogus:x')).toThrow(/provider:model/);
  });

  it('names the missing key at start-up instead of failing a request later', () => {
    const config = loadConfig({});
    expect(() => new ProviderRegistry(config).resolve('openai:gpt-4.1')).toThrow(/OPENAI_API_KEY/);
    expect(() => new ProviderRegistry(config).resolve('anthropic:claude-sonnet-4-5')).toThrow(/ANTHROPIC_API_KEY/);
    expect(() => new ProviderRegistry(config).resolve('compatible:x')).toThrow(/CORTEX_COMPATIBLE_BASE_URL/);
    const withKeys = new ProviderRegistry(loadConfig({ OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: 'a' }));
    expect(withKeys.resolve('openai:gpt-4.1').name).toBe('openai:gpt-4.1');
    expect(withKeys.resolve('anthropic:claude-sonnet-4-5').model).toMatchObject({ modelId: 'claude-sonnet-4-5' });
    expect(new ProviderRegistry(config).resolve('ollama:llama3.1').model).toMatchObject({ modelId: 'llama3.1' });
  });
});

describe('upstream errors as OpenAI errors', () => {
  const apiError = (statusCode: number | undefined) =>
    new APICallError({
      message: 'upstream said no',
      url: 'http://x',
      requestBodyValues: {},
      statusCode,
      data: { error: { message: 'bad max_tokens' } },
    });

  it('passes a 400 on as invalid_request_error with the upstream message, hides credentials problems', () => {
    expect(classifyError(apiError(400))).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      message: expect.stringContaining('bad max_tokens'),
    });
    expect(classifyError(apiError(401))).toMatchObject({ status: 502, code: 'upstream_auth_failed' });
    expect(classifyError(apiError(429))).toMatchObject({ status: 429, code: 'upstream_rate_limited' });
    expect(classifyError(apiError(503))).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(classifyError(apiError(undefined))).toMatchObject({ status: 502, code: 'upstream_unreachable' });
  });

  it("passes on a 429's Retry-After in whole seconds (retry-after-ms first, as OpenAI sends it)", () => {
    const limited = (responseHeaders: Record<string, string>) =>
      new APICallError({
        message: 'slow down',
        url: 'http://x',
        requestBodyValues: {},
        statusCode: 429,
        responseHeaders,
      });
    expect(classifyError(limited({ 'retry-after': '7' }))).toMatchObject({ retryAfterSeconds: 7 });
    expect(classifyError(limited({ 'retry-after-ms': '1500', 'retry-after': '9' }))).toMatchObject({
      retryAfterSeconds: 2,
    });
    const date = new Date(Date.now() + 30_000).toUTCString();
    expect(classifyError(limited({ 'retry-after': date }))!.retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(classifyError(limited({}))!.retryAfterSeconds).toBeUndefined();
  });

  it('looks through retries at the last error, and leaves unknown errors to the caller', () => {
    const retry = new RetryError({
      message: 'gave up',
      reason: 'maxRetriesExceeded',
      errors: [apiError(503), apiError(429)],
    });
    expect(classifyError(retry)).toMatchObject({ status: 429 });
    expect(classifyError(new DOMException('step timeout of 10ms exceeded', 'TimeoutError'))).toMatchObject({
      status: 504,
      code: 'upstream_timeout',
    });
    expect(classifyError(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('depth from reasoning_effort', () => {
  it('maps effort to iterations and refinement, with the configured default', () => {
    expect(depthOf('low', 'medium', 5)).toMatchObject({ maxIterations: 1, refine: false });
    expect(depthOf(undefined, 'medium', 5)).toMatchObject({ effort: 'medium', maxIterations: 3 });
    expect(depthOf('high', 'low', 8)).toMatchObject({ maxIterations: 8, refine: true });
    expect(depthOf('minimal', 'high', 5).effort).toBe('low');
    expect(depthOf('xhigh', 'low', 5).effort).toBe('high');
  });
});

describe('conversation as agent prompt', () => {
  it('folds client system messages into the instructions and pairs tool results with their calls', () => {
    const prompt = toAgentPrompt('You are the supervisor.', [
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Look at this', images: [{ url: 'https://example.com/cat.png' }] },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      },
      { role: 'tool', content: '18 C', toolCallId: 'call_1' },
    ]);
    expect(prompt.system).toContain('You are the supervisor.');
    expect(prompt.system).toContain('Answer in French.');
    expect(prompt.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look at this' },
          { type: 'image', image: new URL('https://example.com/cat.png') },
        ],
      },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'call_1',
            toolName: 'get_weather',
            output: { type: 'text', value: '18 C' },
          },
        ],
      },
    ]);
  });
});

describe('the configured team as models', () => {
  it('lists an agent added from the agents file, and drops a disabled one', () => {
    const path = agentsFile({
      agents: [
        { name: 'translator', description: 'Translates', instructions: 'You are the translator.' },
        { name: 'analyst', disabled: true },
      ],
    });
    const team = createTeam(
      loadConfig({ CORTEX_MODEL: 'openai:gpt-4.1-mini', OPENAI_API_KEY: 'sk-x', CORTEX_AGENTS_FILE: path }),
      new ToolRegistry(),
    );
    expect(team.models().map((m) => m.id)).toEqual([
      'cortex-flow',
      'cortex-flow-supervisor',
      'cortex-flow-researcher',
      'cortex-flow-writer',
      'cortex-flow-translator',
    ]);
  });
});
