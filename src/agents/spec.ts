// The team is declared, not hard-wired: each agent is a name, a description the supervisor reads,
// instructions, the tools it may use and optionally its own model. The built-in team can be changed
// or extended from a JSON file (CORTEX_AGENTS_FILE) without touching code.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type Config } from '../config.ts';

export interface AgentSpec {
  name: string;
  /** What the agent is good at; the supervisor chooses from these. */
  description: string;
  instructions: string;
  /** Names of tools from the tool registry. */
  tools: string[];
  /** `provider:model`; defaults to CORTEX_MODEL. */
  model?: string;
  /** Longest one task of this agent may take; defaults to CORTEX_AGENT_TIMEOUT_SECONDS. */
  timeoutSeconds?: number;
  /** Whether its model reads images and PDFs; defaults to CORTEX_VISION_MODELS and the model's name. */
  vision?: boolean;
}

export const SUPERVISOR = 'supervisor';
/** The agent whose text is the final answer when the supervisor hands over to it. */
export const WRITER = 'writer';

const BUILT_IN: AgentSpec[] = [
  {
    name: SUPERVISOR,
    description: 'Plans the work, delegates to specialists and makes sure the answer is complete.',
    instructions: [
      'You are the supervisor of a team of AI agents answering one user.',
      'Decide per request. Small talk, greetings and questions you can answer reliably from the conversation itself: answer directly and briefly, without delegating.',
      'Otherwise delegate tasks by calling the agent tools. Give each agent a precise task and only the context it needs (it does not see the conversation). Call several agents in the same turn when their tasks are independent; they run in parallel.',
      "When the material is ready, hand over to the writer with a task that says what the answer must contain; the writer's text is sent to the user as the final answer.",
      'When you delegate, call the tools without writing any text. If an agent fails, retry it once with a clearer task or answer with what you have, saying what is missing.',
    ].join('\n'),
    tools: ['search_knowledge_base', 'calculator'],
  },
  {
    name: 'researcher',
    description:
      'Finds facts and sources: searches the knowledge base and the web, reads pages. Returns findings with their source numbers.',
    instructions: [
      'You are the researcher of a team of AI agents.',
      'Find the facts the task asks for with your tools. Report concise findings, each followed by the number of its source in brackets, like [1].',
      'Say plainly what you could not find. Never invent facts or sources.',
    ].join('\n'),
    tools: ['search_knowledge_base', 'web_search', 'fetch_url'],
  },
  {
    name: 'analyst',
    description: 'Analyses material: compares, computes figures with a calculator, finds trends, checks claims.',
    instructions: [
      'You are the analyst of a team of AI agents.',
      'Analyse what the task gives you: compare, compute (use the calculator for any arithmetic), and draw conclusions that follow from the material. Keep source numbers like [1] attached to the claims they support.',
      'State your assumptions and your confidence.',
    ].join('\n'),
    tools: ['calculator'],
  },
  {
    name: WRITER,
    description: 'Writes the final answer to the user from the material of the other agents.',
    instructions: [
      'You are the writer of a team of AI agents. Write the final answer to the user.',
      "Use only the material you are given; keep its source numbers as citations like [1]. Answer the user's request directly, in clear Markdown, in the user's language.",
      'Do not mention the team or the agents.',
    ].join('\n'),
    tools: [],
  },
];

const agentFileEntry = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, - and _'),
  description: z.string().min(1).optional(),
  instructions: z.string().min(1).optional(),
  tools: z.array(z.string()).optional(),
  model: z.string().optional(),
  timeoutSeconds: z.number().positive().max(86400).optional(),
  vision: z.boolean().optional(),
  /** Drop a built-in agent from the team. */
  disabled: z.boolean().optional(),
});
const agentsFile = z.object({ agents: z.array(agentFileEntry) });

/** The built-in team, with per-agent models from the settings and the agents file applied. */
export function loadTeam(
  config: Pick<Config, 'agentsFile' | 'supervisorModel' | 'researcherModel' | 'analystModel' | 'writerModel'>,
): AgentSpec[] {
  const team = new Map(BUILT_IN.map((a) => [a.name, { ...a }]));
  const models: Record<string, string | undefined> = {
    supervisor: config.supervisorModel,
    researcher: config.researcherModel,
    analyst: config.analystModel,
    writer: config.writerModel,
  };
  for (const [name, model] of Object.entries(models)) if (model) team.get(name)!.model = model;
  if (config.agentsFile) {
    for (const entry of readAgentsFile(config.agentsFile)) {
      const known = team.get(entry.name);
      if (entry.disabled) {
        if (entry.name === SUPERVISOR) throw new ConfigError(`CORTEX_AGENTS_FILE: the supervisor cannot be disabled`);
        team.delete(entry.name);
        continue;
      }
      if (!known && (!entry.description || !entry.instructions)) {
        throw new ConfigError(`CORTEX_AGENTS_FILE: new agent '${entry.name}' needs a description and instructions`);
      }
      const { disabled: _, ...fields } = entry;
      team.set(entry.name, { tools: [], ...known, ...fields } as AgentSpec);
    }
  }
  return [...team.values()];
}

function readAgentsFile(path: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`CORTEX_AGENTS_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = agentsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`CORTEX_AGENTS_FILE: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return parsed.data.agents;
}
