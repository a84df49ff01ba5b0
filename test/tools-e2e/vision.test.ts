// Which models may receive images and files: well-known vision models by name, others declared by
// the operator (CORTEX_VISION_MODELS, or `vision` in the agents file); the team refuses a request
// with images before any run when an agent reading them cannot see.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTeam } from '../../src/agents/create-team.ts';
import { loadConfig } from '../../src/config.ts';
import { canSee } from '../../src/llm/model-spec.ts';
import type { RunRequest } from '../../src/orchestrator/types.ts';
import { ToolRegistry } from '../../src/tools/types.ts';

describe('canSee', () => {
  it('knows the well-known vision models by name', () => {
    for (const m of [
      'openai:gpt-4o-mini',
      'openai:gpt-4.1',
      'openai:gpt-5-mini',
      'openai:o3',
      'anthropic:claude-sonnet-4-5',
      'ollama:llava:13b',
      'ollama:llama3.2-vision',
      'compatible:qwen2.5-vl-7b',
    ])
      expect(canSee(m), m).toBe(true);
    for (const m of ['openai:gpt-3.5-turbo', 'ollama:llama3.1', 'compatible:mistral-7b', 'openai:mock-model'])
      expect(canSee(m), m).toBe(false);
  });

  it('follows what the operator declares, either way', () => {
    expect(canSee('openai:mock-model', ['openai:mock-model'])).toBe(true);
    expect(canSee('openai:gpt-4o', ['-openai:gpt-4o'])).toBe(false);
  });
});

describe('the team refuses images a reader cannot see', () => {
  const request = (model: string): RunRequest => ({
    model,
    generation: {},
    messages: [
      { role: 'user', content: 'Hello' },
      { role: 'user', content: 'What is this?', images: [{ url: 'https://example.com/a.png' }] },
    ],
  });
  const team = (env: Record<string, string>) =>
    createTeam(
      loadConfig({ CORTEX_MODEL: 'openai:gpt-4o', OPENAI_API_KEY: 'sk-test', CORTEX_LOG_LEVEL: 'silent', ...env }),
      new ToolRegistry(),
    );

  it('names the blind writer of the team model, and lets the supervisor alone through', () => {
    const t = team({ CORTEX_WRITER_MODEL: 'openai:gpt-3.5-turbo' });
    expect(t.refuse(request('cortex-flow'))).toMatchObject({
      code: 'model_lacks_vision',
      param: 'messages[1].content',
      message: expect.stringContaining('openai:gpt-3.5-turbo of the writer'),
    });
    expect(t.refuse(request('cortex-flow-supervisor'))).toBeUndefined();
  });

  it('takes "vision" from the agents file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cortex-vision-'));
    const file = join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify({ agents: [{ name: 'writer', vision: true }] }));
    const t = team({ CORTEX_WRITER_MODEL: 'openai:my-finetune', CORTEX_AGENTS_FILE: file });
    expect(t.refuse(request('cortex-flow'))).toBeUndefined();
  });
});
