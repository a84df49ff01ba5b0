import { describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint, type AgentLoopState } from '../../src/agents/checkpoint.ts';
import type { RunInput } from '../../src/orchestrator/types.ts';

const state: AgentLoopState = {
  mode: 'team',
  agent: 'supervisor',
  steps: 1,
  rounds: 1,
  findings: [{ agent: 'researcher', task: 'Find X', output: 'X is 42 [1].' }],
  sources: [{ index: 1, title: 'Doc', url: 'kb://doc#1' }],
  agentsUsed: ['researcher'],
  messages: [
    { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'get_weather', input: {} }] },
  ],
  writerTask: undefined,
  elapsedMs: 120,
};
const input = (extra: Partial<RunInput> = {}): RunInput => ({
  runId: 'run_2',
  conversationId: 'c',
  model: 'cortex-flow',
  messages: [],
  generation: {},
  ...extra,
});

describe('the checkpoint of a paused run', () => {
  it('survives a JSON round trip and is read back as it was written', () => {
    const checkpoint = JSON.parse(JSON.stringify(writeCheckpoint(input({ runId: 'run_1' }), ['c1'], state)));
    expect(checkpoint).toMatchObject({
      schemaVersion: 1,
      runId: 'run_1',
      model: 'cortex-flow',
      pendingToolCallIds: ['c1'],
    });
    const { writerTask: _, ...expected } = state;
    expect(readCheckpoint(input({ resume: checkpoint }))).toEqual(expected);
  });

  it('is not resumed by a request for another model, of an unknown version, or malformed', () => {
    const checkpoint = writeCheckpoint(input(), ['c1'], state);
    expect(readCheckpoint(input({ model: 'cortex-flow-researcher', resume: checkpoint }))).toBeUndefined();
    expect(readCheckpoint(input({ resume: { ...checkpoint, schemaVersion: 999 } }))).toBeUndefined();
    expect(readCheckpoint(input({ resume: { ...checkpoint, state: { steps: 'many' } } }))).toBeUndefined();
  });
});
