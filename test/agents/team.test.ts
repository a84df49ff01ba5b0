import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadTeam } from '../../src/agents/spec.ts';
import { TeamOrchestrator } from '../../src/agents/team.ts';
import type { RunEvent } from '../../src/orchestrator/events.ts';
import type { RunInput } from '../../src/orchestrator/types.ts';
import { ToolRegistry } from '../../src/tools/types.ts';
import { scriptedModel, scriptedResolver, type ScriptedModel, type ScriptedReply } from '../support/mock-models.ts';

const knowledgeTool = {
  name: 'search_knowledge_base',
  description: 'Search the knowledge base',
  inputSchema: z.object({ query: z.string() }),
  async execute({ query }: { query: string }, ctx: import('../../src/tools/types.ts').ToolContext) {
    const n = ctx.sources.add({ title: 'Solar handbook', url: 'kb://solar#1', snippet: 'Panels last 25 years.' });
    return `[${n}] Panels last 25 years. (query: ${query})`;
  },
};

function team(
  scripts: Record<string, ScriptedReply[]>,
  opts: {
    delayMs?: Record<string, number>;
    maxIterations?: number;
    timeoutSeconds?: Record<string, number>;
    tools?: ToolRegistry;
  } = {},
) {
  const models: Record<string, ScriptedModel> = {};
  for (const agent of ['supervisor', 'researcher', 'analyst', 'writer'])
    models[agent] = scriptedModel(agent, scripts[agent] ?? [], { delayMs: opts.delayMs?.[agent] });
  const orchestrator = new TeamOrchestrator({
    config: {
      model: 'mock:supervisor',
      modelName: 'cortex-flow',
      maxIterations: opts.maxIterations ?? 5,
      defaultReasoningEffort: 'medium',
      llmTimeoutSeconds: 30,
      llmMaxRetries: 0,
    },
    agents: loadTeam({
      supervisorModel: 'mock:supervisor',
      researcherModel: 'mock:researcher',
      analystModel: 'mock:analyst',
      writerModel: 'mock:writer',
      agentsFile: undefined,
    }).map((a) => ({ ...a, timeoutSeconds: opts.timeoutSeconds?.[a.name] })),
    providers: scriptedResolver(models),
    tools: opts.tools ?? new ToolRegistry().register(knowledgeTool),
  });
  return { orchestrator, models };
}

function input(content: string, extra: Partial<RunInput> = {}): RunInput {
  return {
    runId: 'run_1',
    conversationId: 'conv_1',
    model: 'cortex-flow',
    messages: [{ role: 'user', content }],
    generation: {},
    ...extra,
  };
}

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const finished = (events: RunEvent[]) =>
  events.find((e) => e.type === 'run_finished') as Extract<RunEvent, { type: 'run_finished' }>;
const streamedText = (events: RunEvent[]) =>
  events
    .filter((e) => e.type === 'text_delta')
    .map((e) => (e as { text: string }).text)
    .join('');

describe('the team on mock models', () => {
  it('answers small talk directly with one model call, streamed', async () => {
    const { orchestrator, models } = team({ supervisor: [{ text: 'Hello! How can I help you today?' }] });
    const events = await collect(orchestrator.run(input('Hi there'), new AbortController().signal));
    expect(models.supervisor.calls).toHaveLength(1);
    expect(models.researcher.calls).toHaveLength(0);
    expect(events.filter((e) => e.type === 'text_delta').length).toBeGreaterThan(1);
    expect(streamedText(events)).toBe('Hello! How can I help you today?');
    expect(finished(events)).toMatchObject({
      text: 'Hello! How can I help you today?',
      finishReason: 'stop',
      agentsUsed: ['supervisor'],
      iterations: 1,
    });
    expect(events.filter((e) => e.type === 'usage').map((e) => (e as any).usage.agent)).toEqual(['supervisor']);
  });

  it('runs independent delegations in parallel, then hands the material to the writer', async () => {
    const { orchestrator, models } = team(
      {
        supervisor: [
          {
            toolCalls: [
              { name: 'cortex__ask_researcher', input: { task: 'How long do solar panels last?' } },
              { name: 'cortex__ask_analyst', input: { task: 'Compute 25 * 365' } },
            ],
          },
          { toolCalls: [{ name: 'cortex__ask_writer', input: { task: 'Answer the lifetime question' } }] },
        ],
        researcher: [
          { toolCalls: [{ name: 'search_knowledge_base', input: { query: 'solar panel lifetime' } }] },
          { text: 'Panels last about 25 years [1].' },
        ],
        analyst: [{ text: '25 years is 9125 days.' }],
        writer: [{ text: 'Solar panels last about 25 years [1], roughly 9125 days.' }],
      },
      { delayMs: { researcher: 40, analyst: 40 } },
    );
    const events = await collect(
      orchestrator.run(input('How long do solar panels last, in days?'), new AbortController().signal),
    );
    const order = events
      .filter((e) => e.type === 'agent_started' || e.type === 'agent_finished')
      .map((e) => `${e.type === 'agent_started' ? 'start' : 'end'}:${(e as any).agent}`);
    expect(order.slice(0, 2).sort()).toEqual(['start:analyst', 'start:researcher']); // both started before either finished
    expect(order.slice(2, 4).sort()).toEqual(['end:analyst', 'end:researcher']);
    expect(order.slice(4)).toEqual(['start:writer', 'end:writer']);

    const done = finished(events);
    expect(done.text).toBe('Solar panels last about 25 years [1], roughly 9125 days.');
    expect(streamedText(events)).toBe(done.text);
    expect(done.agentsUsed).toEqual(['researcher', 'analyst', 'writer']);
    expect(done.sources).toEqual([
      { index: 1, title: 'Solar handbook', url: 'kb://solar#1', snippet: 'Panels last 25 years.' },
    ]);
    expect(done.iterations).toBe(2);
    // The writer saw the findings and the sources, not the raw conversation.
    const writerPrompt = JSON.stringify(models.writer.calls[0].prompt);
    expect(writerPrompt).toContain('Panels last about 25 years [1].');
    expect(writerPrompt).toContain('9125 days');
    expect(writerPrompt).toContain('kb://solar#1');
    // Researcher's tool call is on the event stream.
    expect(
      events.some((e) => e.type === 'tool_call' && e.toolName === 'search_knowledge_base' && e.agent === 'researcher'),
    ).toBe(true);
    const usageAgents = new Set(events.filter((e) => e.type === 'usage').map((e) => (e as any).usage.agent));
    expect(usageAgents).toEqual(new Set(['supervisor', 'researcher', 'analyst', 'writer']));
  });

  it('reports a failed agent to the supervisor as a failure, not an empty success', async () => {
    const { orchestrator, models } = team({
      supervisor: [
        { toolCalls: [{ name: 'cortex__ask_researcher', input: { task: 'Find X' } }] },
        { text: 'I could not find X: the research failed.' },
      ],
      researcher: [{ error: new Error('boom') }],
    });
    const events = await collect(orchestrator.run(input('Tell me about X'), new AbortController().signal));
    const agentEnd = events.find((e) => e.type === 'agent_finished') as Extract<RunEvent, { type: 'agent_finished' }>;
    expect(agentEnd).toMatchObject({ agent: 'researcher', ok: false });
    expect(agentEnd.error).toContain('boom');
    const secondPrompt = JSON.stringify(models.supervisor.calls[1].prompt);
    expect(secondPrompt).toContain('The researcher failed');
    expect(finished(events).text).toBe('I could not find X: the research failed.');
  });

  it("stops a specialist at its own time limit and goes on with the others' findings", async () => {
    const { orchestrator, models } = team(
      {
        supervisor: [
          {
            toolCalls: [
              { name: 'cortex__ask_researcher', input: { task: 'Find X' } },
              { name: 'cortex__ask_analyst', input: { task: 'Compute Y' } },
            ],
          },
          { toolCalls: [{ name: 'cortex__ask_writer', input: { task: 'Answer' } }] },
        ],
        researcher: [{ text: 'X, eventually.' }],
        analyst: [{ text: 'Y is 3.' }],
        writer: [{ text: 'Y is 3; X could not be found in time.' }],
      },
      { delayMs: { researcher: 400 }, timeoutSeconds: { researcher: 0.1 } },
    );
    const events = await collect(orchestrator.run(input('X and Y?'), new AbortController().signal));
    expect(events.filter((e) => e.type === 'agent_finished' && !e.ok)).toEqual([
      expect.objectContaining({ agent: 'researcher', error: 'it did not finish within its time limit of 0.1 s.' }),
    ]);
    expect(JSON.stringify(models.supervisor.calls[1].prompt)).toContain('The researcher failed');
    expect(JSON.stringify(models.writer.calls[0].prompt)).toContain('Y is 3.');
    expect(finished(events).text).toBe('Y is 3; X could not be found in time.');
  });

  /**
   * A researcher whose search never answers, until its time limit (0.1 s) stops it; a search that
   * `ignoresAbort` does not even stop then (a tool that never looks at its signal).
   */
  async function searchCutOff(ignoresAbort = false): Promise<RunEvent[]> {
    const hanging = {
      ...knowledgeTool,
      execute: (_: unknown, ctx: import('../../src/tools/types.ts').ToolContext) =>
        new Promise<string>((_resolve, reject) => {
          if (!ignoresAbort) ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        }),
    };
    const { orchestrator } = team(
      {
        supervisor: [
          { toolCalls: [{ name: 'cortex__ask_researcher', input: { task: 'Find X' } }] },
          { toolCalls: [{ name: 'cortex__ask_writer', input: { task: 'Answer' } }] },
        ],
        researcher: [{ toolCalls: [{ name: 'search_knowledge_base', input: { query: 'X' } }] }],
        writer: [{ text: 'X could not be found in time.' }],
      },
      { timeoutSeconds: { researcher: 0.1 }, tools: new ToolRegistry().register(hanging) },
    );
    return collect(orchestrator.run(input('X?'), new AbortController().signal));
  }

  it.each([
    ['that stops when told', false],
    ['that ignores the abort', true],
  ])(
    "ends the tool call a specialist's time limit cut off, %s, with a result saying so: none left running",
    async (_, ignoresAbort) => {
      const events = await searchCutOff(ignoresAbort);
      const call = events.find((e) => e.type === 'tool_call')!;
      expect(call).toMatchObject({ agent: 'researcher', toolName: 'search_knowledge_base', input: { query: 'X' } });
      const result = events.find((e) => e.type === 'tool_result');
      expect(result).toMatchObject({
        agent: 'researcher',
        toolCallId: (call as Extract<RunEvent, { type: 'tool_call' }>).toolCallId,
        isError: true,
        output: { error: 'The researcher was stopped by its time limit before the tool finished.' },
      });
      // The call ends before its agent does, and the run goes on to its answer.
      const agentEnd = events.findIndex((e) => e.type === 'agent_finished' && e.agent === 'researcher');
      expect(events.indexOf(result!)).toBeLessThan(agentEnd);
      expect(finished(events).text).toBe('X could not be found in time.');
    },
  );

  it("counts a specialist's model call when it ends, before its tools run: a tool cut off loses no tokens", async () => {
    const events = await searchCutOff();
    const usage = events.filter((e) => e.type === 'usage' && e.usage.agent === 'researcher');
    // The one upstream call the researcher made (it asked for the search) is in the run's usage...
    expect(usage).toEqual([expect.objectContaining({ usage: expect.objectContaining({ inputTokens: 10 }) })]);
    // ...stamped when it ended, so that the timeline draws it before the tool, not over it.
    expect(events.indexOf(usage[0])).toBeLessThan(events.findIndex((e) => e.type === 'tool_call'));
  });

  it('treats an empty report as a failure', async () => {
    const { orchestrator, models } = team({
      supervisor: [
        { toolCalls: [{ name: 'cortex__ask_analyst', input: { task: 'Analyse' } }] },
        { text: 'No analysis available.' },
      ],
      analyst: [{ text: '   ' }],
    });
    const events = await collect(orchestrator.run(input('Analyse this'), new AbortController().signal));
    expect(events.find((e) => e.type === 'agent_finished')).toMatchObject({
      agent: 'analyst',
      ok: false,
      error: expect.stringContaining('empty'),
    });
    expect(JSON.stringify(models.supervisor.calls[1].prompt)).toContain('The analyst failed');
  });

  it('ends every reasoning effort with the writer: the round cap stops delegation, not the hand-over', async () => {
    for (const reasoningEffort of ['none', 'minimal', 'low'] as const) {
      const { orchestrator, models } = team({
        supervisor: [{ toolCalls: [{ name: 'cortex__ask_researcher', input: { task: 'Find X' } }] }],
        researcher: [{ text: 'X is a letter.' }],
        writer: [{ text: 'X is a letter of the alphabet.' }],
      });
      const events = await collect(
        orchestrator.run(input('What is X?', { reasoningEffort }), new AbortController().signal),
      );
      expect(models.supervisor.calls[0].tools).toContain('cortex__ask_researcher');
      // One round at low effort: the findings go straight to the writer, no second planning turn.
      expect(models.supervisor.calls).toHaveLength(1);
      expect(JSON.stringify(models.writer.calls[0].prompt)).toContain('X is a letter.');
      expect(finished(events)).toMatchObject({
        text: 'X is a letter of the alphabet.',
        agentsUsed: ['researcher', 'writer'],
      });
    }
  });

  it('offers only the writer once the rounds are spent and nothing was found', async () => {
    const { orchestrator, models } = team({
      supervisor: [
        { toolCalls: [{ name: 'cortex__ask_researcher', input: { task: 'Find X' } }] },
        { text: 'Nothing was found about X.' },
      ],
      researcher: [{ error: new Error('search is down') }],
    });
    const events = await collect(
      orchestrator.run(input('What is X?', { reasoningEffort: 'low' }), new AbortController().signal),
    );
    const second = models.supervisor.calls[1].tools;
    expect(second).toContain('cortex__ask_writer');
    expect(second).not.toContain('cortex__ask_researcher');
    expect(finished(events).text).toBe('Nothing was found about X.');
  });

  it('lets the writer draft and refine once at high effort', async () => {
    const { orchestrator, models } = team({
      supervisor: [{ toolCalls: [{ name: 'cortex__ask_writer', input: { task: 'Write a haiku about rain' } }] }],
      writer: [{ text: 'Rain falls. Draft.' }, { text: 'Soft rain on the roof / ...' }],
    });
    const events = await collect(
      orchestrator.run(input('A haiku about rain', { reasoningEffort: 'high' }), new AbortController().signal),
    );
    expect(models.writer.calls).toHaveLength(2);
    expect(JSON.stringify(models.writer.calls[1].prompt)).toContain('Rain falls. Draft.');
    expect(finished(events).text).toBe('Soft rain on the roof / ...');
  });

  it("pauses the run for the client's own tool and reports the call", async () => {
    const { orchestrator } = team({ supervisor: [{ toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] }] });
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];
    const events = await collect(orchestrator.run(input('Weather in Paris?', { tools }), new AbortController().signal));
    const done = finished(events);
    expect(done.finishReason).toBe('tool_calls');
    expect(done.toolCalls).toEqual([{ id: expect.any(String), name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  });

  it('pauses a single agent for a client tool and resumes without redoing its own tool calls', async () => {
    const { orchestrator, models } = team({
      researcher: [
        {
          toolCalls: [
            { name: 'cortex__search_knowledge_base', input: { query: 'panels' } },
            { name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { text: 'Panels last 25 years [1]; it is sunny.' },
      ],
    });
    const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const messages = [{ role: 'user' as const, content: 'Panels and weather?' }];
    const first = await collect(
      orchestrator.run(input('', { model: 'cortex-flow-researcher', messages, tools }), new AbortController().signal),
    );
    const paused = finished(first);
    expect(paused.finishReason).toBe('tool_calls');
    expect(paused.toolCalls!.map((c) => c.name)).toEqual(['get_weather']);
    const second = await collect(
      orchestrator.run(
        input('', {
          model: 'cortex-flow-researcher',
          tools,
          messages: [
            ...messages,
            { role: 'assistant', content: '', toolCalls: paused.toolCalls },
            { role: 'tool', content: 'Sunny', toolCallId: paused.toolCalls![0].id },
          ],
          resume: JSON.parse(JSON.stringify(paused.checkpoint)),
        }),
        new AbortController().signal,
      ),
    );
    expect(finished(second)).toMatchObject({ text: 'Panels last 25 years [1]; it is sunny.', iterations: 2 });
    // The knowledge base was searched once, and its source kept its number across the pause.
    expect([...first, ...second].filter((e) => e.type === 'tool_call' && !e.client)).toHaveLength(1);
    // The client's call is the researcher's in the paused run's trace, its result in the resumed one's.
    const id = paused.toolCalls![0].id;
    expect(first.filter((e) => e.type === 'tool_call' && e.client)).toMatchObject([
      { agent: 'researcher', toolCallId: id, toolName: 'get_weather', input: { city: 'Paris' } },
    ]);
    expect(second.filter((e) => e.type === 'tool_result' && e.client)).toMatchObject([
      { agent: 'researcher', toolCallId: id, toolName: 'get_weather', output: 'Sunny', isError: false },
    ]);
    expect(finished(second).sources.map((s) => s.url)).toEqual(['kb://solar#1']);
    const resumedPrompt = JSON.stringify(models.researcher.calls[1].prompt);
    expect(resumedPrompt).toContain('Panels last 25 years.');
    expect(resumedPrompt).toContain('Sunny');
  });

  it('lets a client address one specialist directly', async () => {
    const { orchestrator, models } = team({
      researcher: [
        { toolCalls: [{ name: 'cortex__search_knowledge_base', input: { query: 'panels' } }] },
        { text: 'They last 25 years [1].' },
      ],
    });
    const events = await collect(
      orchestrator.run(
        input('How long do panels last?', { model: 'cortex-flow-researcher' }),
        new AbortController().signal,
      ),
    );
    expect(models.supervisor.calls).toHaveLength(0);
    expect(finished(events)).toMatchObject({ text: 'They last 25 years [1].', agentsUsed: ['researcher'] });
    // Alone with the client, its own tools are namespaced; the trace names them plainly.
    expect(models.researcher.calls[0].tools).toEqual(['cortex__search_knowledge_base']);
    expect(events.some((e) => e.type === 'tool_result' && e.toolName === 'search_knowledge_base')).toBe(true);
    expect(finished(events).sources.map((s) => s.url)).toEqual(['kb://solar#1']);
  });

  it('lists the team, the supervisor alone and each specialist as models', () => {
    const { orchestrator } = team({});
    expect(orchestrator.models().map((m) => m.id)).toEqual([
      'cortex-flow',
      'cortex-flow-supervisor',
      'cortex-flow-researcher',
      'cortex-flow-analyst',
      'cortex-flow-writer',
    ]);
  });
});
