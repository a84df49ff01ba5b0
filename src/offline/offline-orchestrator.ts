// The embedded default engine: no neural model, deterministic. A rule-based supervisor routes the
// request; the researcher retrieves passages from the knowledge base and the conversation; the
// analyst ranks sentences and pulls out key terms and figures; the writer composes Markdown that
// quotes its sources with numbered citations. When nothing relevant is found, it says so.
import { randomUUID } from 'node:crypto';
import type { RunEvent } from '../orchestrator/events.ts';
import type { ChatMessage, ModelInfo, Orchestrator, RunInput } from '../orchestrator/types.ts';
import { SourceCollector, type ToolContext, type ToolRegistry } from '../tools/types.ts';
import type { KnowledgeResult } from '../tools/knowledge-search.ts';
import { asksAboutConversation, asksForName, recall, statedName } from './memory.ts';
import { figures, keyTerms, sentences, stems } from './text.ts';

export const OFFLINE_ENGINE = 'offline-extractive';

const GREETING =
  /^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|thanks|thank you|how are you)\b[\s\w,!?.']{0,40}$/i;
const ARITHMETIC = /(?:^|[^\w.])((?:\(?\s*-?\d[\d.,]*\s*\)?\s*(?:[-+*/^×÷x%]|\*\*)\s*)+\(?\s*-?\d[\d.,]*\s*\)?\s*%?)/;
const SWITCH_HINT =
  'Set `CORTEX_MODEL` (for example `openai:gpt-4.1-mini` with `OPENAI_API_KEY`) for written answers from a language model.';

interface Ranked {
  text: string;
  source: number;
  score: number;
}

export class OfflineOrchestrator implements Orchestrator {
  readonly engine = OFFLINE_ENGINE;
  private readonly modelName: string;
  private readonly tools: ToolRegistry;

  constructor(modelName: string, tools: ToolRegistry) {
    this.modelName = modelName;
    this.tools = tools;
  }

  models(): ModelInfo[] {
    const n = this.modelName;
    return [
      { id: n, description: 'The offline team: rule-based supervisor, extractive researcher, analyst and writer.' },
      { id: `${n}-supervisor`, description: 'The offline supervisor (same pipeline).' },
      { id: `${n}-researcher`, description: 'The offline researcher (same pipeline).' },
      { id: `${n}-analyst`, description: 'The offline analyst (same pipeline).' },
      { id: `${n}-writer`, description: 'The offline writer (same pipeline).' },
    ];
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    const at = () => Date.now();
    const sources = new SourceCollector();
    const ctx: ToolContext = {
      signal,
      conversationId: input.conversationId,
      messages: input.messages,
      owner: input.owner,
      sources,
    };
    const question = lastUser(input.messages);
    const history = input.messages.slice(
      0,
      input.messages.lastIndexOf(input.messages.findLast((m) => m.role === 'user')!),
    );
    const agentsUsed: string[] = [];
    const events: RunEvent[] = [];
    const emit = (e: RunEvent) => events.push(e);
    const agent = async <T>(name: string, task: string, work: () => Promise<T>): Promise<T> => {
      const callId = `${name}_${randomUUID().slice(0, 8)}`;
      agentsUsed.push(name);
      emit({ type: 'agent_started', agent: name, callId, task, at: at() });
      emit({ type: 'progress', agent: name, text: `${name}: ${task}`, at: at() });
      const result = await work();
      emit({
        type: 'agent_finished',
        agent: name,
        callId,
        ok: true,
        output: typeof result === 'string' ? result : JSON.stringify(result).slice(0, 2000),
        at: at(),
      });
      return result;
    };
    const callTool = async (name: string, by: string, toolInput: unknown): Promise<unknown> => {
      const tool = this.tools.get(name);
      if (!tool) return undefined;
      const toolCallId = `call_${randomUUID().slice(0, 12)}`;
      emit({ type: 'tool_call', agent: by, toolCallId, toolName: name, input: toolInput, at: at() });
      try {
        const output = await tool.execute(toolInput, ctx);
        emit({ type: 'tool_result', agent: by, toolCallId, toolName: name, output, isError: false, at: at() });
        return output;
      } catch (err) {
        emit({
          type: 'tool_result',
          agent: by,
          toolCallId,
          toolName: name,
          output: { error: (err as Error).message },
          isError: true,
          at: at(),
        });
        return undefined;
      }
    };

    yield { type: 'run_started', runId: input.runId, model: input.model, at: at() };
    let answer: string;
    const name = statedName(input.messages);
    if (asksForName(question)) {
      answer = await agent('researcher', 'Find the name the user gave in this conversation', async () =>
        name
          ? `Your name is **${name}**: you told me so earlier in this conversation.`
          : "You haven't told me your name in this conversation, so I don't know it.",
      );
    } else if (GREETING.test(question)) {
      agentsUsed.push('supervisor');
      answer = `Hello${name ? `, ${name}` : ''}! I'm Cortex Flow, running on its offline extractive engine: I answer from the local knowledge base and from this conversation, quoting my sources. ${SWITCH_HINT}`;
    } else if (ARITHMETIC.test(question)) {
      const expression = ARITHMETIC.exec(question)![1]
        .replace(/×|x(?=\s*\d)/g, '*')
        .replace(/÷/g, '/')
        .replace(/,(?=\d{3}\b)/g, '')
        .trim();
      const result = (await agent('analyst', `Compute ${expression}`, () =>
        callTool('calculator', 'analyst', { expression }),
      )) as { result: string } | undefined;
      answer = result ? `${expression} = **${result.result}**` : `I could not compute \`${expression}\`.`;
    } else {
      answer = await this.research(question, history, asksAboutConversation(question), { agent, callTool });
    }
    for (const e of events) yield e;
    events.length = 0;
    if (signal.aborted) return;
    // The answer streams line by line, as the client would see a model write it.
    for (const piece of answer.match(/[^\n]*\n*|[^\n]+$/g)!.filter(Boolean))
      yield { type: 'text_delta', text: piece, at: at() };
    yield {
      type: 'run_finished',
      finishReason: 'stop',
      text: answer,
      agentsUsed,
      iterations: 1,
      sources: sources.citedIn(answer),
      at: at(),
    };
  }

  private async research(
    question: string,
    history: ChatMessage[],
    aboutConversation: boolean,
    h: {
      agent: <T>(name: string, task: string, work: () => Promise<T>) => Promise<T>;
      callTool: (name: string, by: string, input: unknown) => Promise<unknown>;
    },
  ): Promise<string> {
    const wanted = new Set(stems(question));
    const { passages, remembered } = await h.agent('researcher', `Find passages about: ${question}`, async () => ({
      passages: aboutConversation
        ? []
        : (((await h.callTool('search_knowledge_base', 'researcher', { query: question, limit: 8 })) as
            KnowledgeResult[] | undefined) ?? []),
      remembered: recall(history, question),
    }));
    const ranked = await h.agent('analyst', 'Rank the sentences that answer the question', async () =>
      rankSentences(passages, wanted, question),
    );
    return h.agent('writer', 'Compose the answer with citations', async () =>
      compose(question, ranked, remembered, passages, wanted),
    );
  }
}

function lastUser(messages: ChatMessage[]): string {
  return messages.findLast((m) => m.role === 'user')?.content ?? '';
}

/** The kind of answer a question asks for, recognised by its shape ("how long" wants a duration). */
const ANSWER_SHAPES: [RegExp, RegExp][] = [
  [
    /\b(how long|how many (years|months|days|hours)|lifetime|lifespan|last)\b/i,
    /\b\d[\d.,]*\s*(years?|months?|weeks?|days?|hours?|minutes?|seconds?)\b/i,
  ],
  [
    /\b(how (much|many)|what (percent|percentage|share|fraction)|efficien|rate)\b/i,
    /\d[\d.,]*\s*(%|percent|watts?|kilowatt|kwh|kg|km|°)/i,
  ],
  [/\bwhen\b/i, /\b(1[5-9]\d\d|20\d\d)\b/],
];

/** Sentences that share enough words with the question, best first, at most two per passage. */
function rankSentences(passages: KnowledgeResult[], wanted: Set<string>, question: string): Ranked[] {
  if (!wanted.size) return [];
  const shapes = ANSWER_SHAPES.filter(([asks]) => asks.test(question)).map(([, answers]) => answers);
  const candidates = passages.flatMap((p, rank) =>
    sentences(p.text).map((text, i) => ({
      text,
      p,
      rank,
      i,
      words: new Set(stems(text).filter((w) => wanted.has(w))),
    })),
  );
  // Words of the question that few candidate sentences contain say more about relevance.
  const df = new Map<string, number>();
  for (const c of candidates) for (const w of c.words) df.set(w, (df.get(w) ?? 0) + 1);
  const weight = (w: string) => Math.log(1 + candidates.length / (1 + (df.get(w) ?? 0)));
  // Enough of what the question asks about (by weight, among the words the sources contain at all).
  const need = 0.34 * [...df.keys()].reduce((n, w) => n + weight(w), 0);
  const scored = candidates
    .map((c) => {
      const shaped = shapes.some((re) => re.test(c.text));
      const inHeading = [...wanted].filter((w) => stems(c.p.title).includes(w)).length;
      const relevance = [...c.words].reduce((n, w) => n + weight(w), 0);
      return {
        text: c.text,
        source: c.p.source,
        ok: c.words.size > 0 && (relevance >= need || shaped),
        score: relevance + (shaped ? 2 : 0) + inHeading * 0.3 - c.rank * 0.05 - c.i * 0.01,
      };
    })
    .filter((c) => c.ok)
    .sort((a, b) => b.score - a.score);
  const perSource = new Map<number, number>();
  const out: Ranked[] = [];
  for (const c of scored) {
    if ((perSource.get(c.source) ?? 0) >= 2) continue;
    perSource.set(c.source, (perSource.get(c.source) ?? 0) + 1);
    out.push(c);
    if (out.length === 4) break;
  }
  return out;
}

function compose(
  question: string,
  ranked: Ranked[],
  remembered: string[],
  passages: KnowledgeResult[],
  wanted: Set<string>,
): string {
  const lines: string[] = [];
  if (ranked.length) {
    lines.push('From the knowledge base:', '');
    for (const r of ranked) lines.push(`- ${r.text} [${r.source}]`);
    const terms = keyTerms(
      ranked.map((r) => r.text),
      wanted,
    );
    const nums = figures(ranked.map((r) => r.text));
    if (terms.length || nums.length) lines.push('');
    if (terms.length) lines.push(`**Key terms:** ${terms.join(', ')}`);
    if (nums.length) lines.push(`**Figures:** ${nums.join(', ')}`);
  }
  if (remembered.length) {
    if (lines.length) lines.push('');
    lines.push('Earlier in this conversation you said:', '');
    for (const r of remembered) lines.push(`> ${r}`);
  }
  if (!lines.length) {
    return `I found nothing about "${question.trim()}" in the knowledge base or in this conversation, so I cannot answer it without guessing. Add documents with \`cortex-flow ingest <folder>\`, or ${SWITCH_HINT.charAt(0).toLowerCase()}${SWITCH_HINT.slice(1)}`;
  }
  const cited = new Set(ranked.map((r) => r.source));
  const used = passages.filter((p) => cited.has(p.source));
  if (used.length) {
    lines.push('', '**Sources:**');
    for (const p of used
      .filter((p, i) => used.findIndex((q) => q.source === p.source) === i)
      .sort((a, b) => a.source - b.source))
      lines.push(`[${p.source}] ${p.title} (${p.url})`);
  }
  lines.push(
    '',
    `*Offline extractive engine: sentences quoted from your documents, not a generated answer. ${SWITCH_HINT}*`,
  );
  return lines.join('\n');
}
