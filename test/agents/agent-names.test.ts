// An agent of the agents file may take any name the file allows, `constructor` included (a name
// every JavaScript object answers to): its work is delegated, answered and counted like any other's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { chat, startTestServer, type TestServer } from '../support/app-server.ts';
import { startMockUpstream, type MockUpstream } from '../support/mock-openai-upstream.ts';
import { ask } from '../support/team-script.ts';

let upstream: MockUpstream;
let server: TestServer;
let dir: string;

beforeAll(async () => {
  upstream = await startMockUpstream((req) => {
    if (req.agent === 'constructor') return { text: 'Built: 42.', usage: { prompt: 7, completion: 3 } };
    if (req.agent === 'writer') return { text: 'The answer is 42.' };
    const delegated = req.body.messages.some((m: any) => m.role === 'tool');
    return { toolCalls: [delegated ? ask('writer', 'Write it') : ask('constructor', 'Build the answer')] };
  });
  dir = mkdtempSync(join(tmpdir(), 'agent-names-'));
  const agentsFile = join(dir, 'agents.json');
  writeFileSync(
    agentsFile,
    JSON.stringify({
      agents: [{ name: 'constructor', description: 'Builds answers.', instructions: 'You are the constructor.' }],
    }),
  );
  const env = {
    CORTEX_MODEL: 'openai:mock-model',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: upstream.baseUrl,
    CORTEX_LLM_MAX_RETRIES: '0',
    CORTEX_AGENTS_FILE: agentsFile,
  };
  server = await startTestServer(createTeam(loadConfig(env), new ToolRegistry()), env);
});
afterAll(async () => {
  await server.close();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

it('an agent named constructor works for the answer and its tokens are counted as its own', async () => {
  const res = await chat(server.baseUrl, { messages: [{ role: 'user', content: 'What is the answer?' }] });
  expect(res.status).toBe(200);
  expect(res.body.choices[0].message.content).toBe('The answer is 42.');
  expect(res.body.metadata.agents_used).toEqual(['constructor', 'writer']);
  expect(res.body.metadata.upstream_usage.by_agent.constructor).toEqual({
    prompt_tokens: 7,
    completion_tokens: 3,
    total_tokens: 10,
    models: ['openai:mock-model'],
  });

  const stats = await (await fetch(`${server.baseUrl}/v1/stats`)).json();
  expect(stats.tokens_by_agent.constructor).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
});
