// The embedded default engine: no neural model, deterministic, honest about being extractive. A
// rule-based supervisor recognises what a message asks for before any search (intents.ts); the
// researcher searches the knowledge base and keeps only the sentences that answer the question
// (relevance.ts); the analyst computes with the calculator; the writer composes the answer with
// gap-free citations, or summarises text from the conversation. When nothing answers, it says so.
import { randomUUID } from 'node:crypto';
import type { RunEvent } from '../orchestrator/events.ts';
import type { ChatMessage, ModelInfo, Orchestrator, RunInput, RunRefusal, RunRequest } from '../orchestrator/types.ts';
import type { KnowledgeResult } from '../tools/knowledge-search.ts';
import { SourceCollector, type ToolContext, type ToolRegistry } from '../tools/types.ts';
import { Citations } from './citations.ts';
import { documentOf, earlierAnswers, followUpOf, QUOTED_INTRO, type Point } from './earlier-answers.ts';
import { classify, type Intent } from './intents.ts';
import { statedName, userTurns } from './memory.ts';
import { neighbours, selectQuotes, type Quote } from './relevance.ts';
import { AnswerLimiter } from '../agents/answer-limits.ts';
import { capabilities, clip, CONFIGURE_MODEL, FOOTER, greeting, needsModel, nothingFound } from './replies.ts';
import { paced } from './stream.ts';
import { MAX_SENTENCES, rankSentences, sentencesOf, summaryLength, textRank } from './summarize.ts';

export const OFFLINE_ENGINE = 'offline-extractive';

type Role = 'team' | 'researcher' | 'analyst' | 'writer';
type Agent = 'supervisor' | 'researcher' | 'analyst' | 'writer';

interface Answer {
  text: string;
  citations: Citations;
}

/** Each step of a run, as events emitted when it starts and when it ends. */
type Step<T> = AsyncGenerator<RunEvent, T>;

export const TOOLS_NEED_A_MODEL =
  'Tool calling needs a configured language model: ' +
  'the offline extractive engine answered without calling the tools in the request.';

export class OfflineOrchestrator implements Orchestrator {
  readonly engine = OFFLINE_ENGINE;
  private readonly modelName: string;
  private readonly tools: ToolRegistry;
  private readonly pauseMs: number;

  constructor(modelName: string, tools: ToolRegistry, opts: { pauseMs?: number } = {}) {
    this.modelName = modelName;
    this.tools = tools;
    this.pauseMs = opts.pauseMs ?? 1;
  }

  models(): ModelInfo[] {
    const n = this.modelName;
    return [
      {
        id: n,
        description: 'The offline team: a rule-based supervisor routes each message to the agent that can answer it.',
      },
      { id: `${n}-supervisor`, description: 'The offline supervisor: routes like the team.' },
      { id: `${n}-researcher`, description: 'The offline researcher alone: searches the knowledge base and quotes.' },
      { id: `${n}-analyst`, description: 'The offline analyst alone: computes and compares with the calculator.' },
      { id: `${n}-writer`, description: "The offline writer alone: summarises and reformats the conversation's text." },
    ];
  }

  refuse(request: RunRequest): RunRefusal | undefined {
    // It can only quote and compute: JSON in the shape {answer, sources}, never a schema of the client's.
    if (request.generation.responseFormat?.type === 'json_schema')
      return {
        message:
          'This server runs its offline extractive engine, which cannot write an answer to a JSON schema; use ' +
          `'response_format': {"type": "json_object"} (the answer as {"answer", "sources"}). ${CONFIGURE_MODEL}`,
        param: 'response_format',
        code: 'json_schema_needs_a_model',
      };
    const withMedia = request.messages.findIndex((m) => m.role === 'user' && m.images?.length);
    if (withMedia >= 0)
      return {
        message: `The offline extractive engine cannot read images or files. ${CONFIGURE_MODEL}`,
        param: `messages[${withMedia}].content`,
        code: 'model_lacks_vision',
      };
    const choice = request.toolChoice;
    if (!request.tools?.length || choice === undefined || choice === 'none' || choice === 'auto') return undefined;
    const what = choice === 'required' ? '"tool_choice": "required"' : `a call to the tool "${choice.name}"`;
    return {
      message:
        `This request asks for ${what}, but tool calling needs a configured language model ` +
        `and this server runs its offline extractive engine. ${CONFIGURE_MODEL}`,
      param: 'tool_choice',
      code: 'tool_calling_needs_a_model',
    };
  }

  async *run(input: RunInput, signal: AbortSignal): AsyncIterable<RunEvent> {
    yield { type: 'run_started', runId: input.runId, model: input.model, at: Date.now() };
    const last = input.messages.findLastIndex((m) => m.role === 'user');
    const question = last >= 0 ? input.messages[last].content : '';
    const history = input.messages.slice(0, Math.max(0, last));
    const team = new Team(this.tools, {
      signal,
      conversationId: input.conversationId,
      messages: input.messages,
      owner: input.owner,
      // The search tool numbers every passage it returns; answers renumber the ones they quote.
      sources: new SourceCollector(),
    });
    const intent = classify(question, history);
    const answer = yield* this.answer(this.roleOf(input.model), intent, question, history, team);
    if (signal.aborted) return;
    if (input.generation.responseFormat?.type === 'json_object')
      answer.text = JSON.stringify({ answer: answer.text, sources: answer.citations.list() });
    // The client's max_tokens and stop bound this answer as they would a model's.
    const limiter = new AnswerLimiter({ stop: input.generation.stop, maxTokens: input.generation.maxTokens });
    const text = limiter.push(answer.text) + limiter.flush();
    for await (const piece of paced(text, signal, this.pauseMs))
      yield { type: 'text_delta', text: piece, at: Date.now() };
    if (signal.aborted) return;
    const toolsIgnored = input.tools?.length && input.toolChoice !== 'none';
    yield {
      type: 'run_finished',
      finishReason: limiter.reached ?? 'stop',
      text,
      agentsUsed: team.agentsUsed,
      iterations: 1,
      sources: answer.citations.list(),
      ...(toolsIgnored ? { notes: [`${TOOLS_NEED_A_MODEL} ${CONFIGURE_MODEL}`] } : {}),
      at: Date.now(),
    };
  }

  private roleOf(model: string): Role {
    const agent = model.slice(this.modelName.length + 1);
    return agent === 'researcher' || agent === 'analyst' || agent === 'writer' ? agent : 'team';
  }

  /** Routes the message: the team by intent; an agent model does its own job and nothing else. */
  private async *answer(
    role: Role,
    intent: Intent,
    question: string,
    history: ChatMessage[],
    team: Team,
  ): Step<Answer> {
    if (role === 'researcher')
      return intent.kind === 'more'
        ? yield* this.more(history, team, 'researcher')
        : yield* this.research(question, history, team, 'researcher');
    if (role === 'analyst') {
      if (intent.kind === 'calculate' || intent.kind === 'compare') return yield* this.analyse(intent, team);
      return yield* team.say(
        'analyst',
        'Find something to compute',
        'The analyst computes and compares numbers and units, and found no calculation in your message ' +
          `(try "17% of 2,340" or "5 km to miles"). Ask the \`${this.modelName}\` model for anything else.`,
      );
    }
    if (role === 'writer') {
      if (intent.kind === 'summarize-text' || intent.kind === 'key-findings' || intent.kind === 'point')
        return yield* this.write(intent, history, team);
      if (intent.kind === 'ask-text') return yield* this.askText(intent, team);
      return yield* team.say(
        'writer',
        'Find material in the conversation to rewrite',
        'The writer summarises and reformats text that is already in this conversation: ' +
          'paste a text after "Summarise:", or ask for "the key findings" once another model has answered. ' +
          `It does not search or compute; ask the \`${this.modelName}\` model for that.`,
      );
    }
    const name = statedName(history);
    switch (intent.kind) {
      case 'greeting':
        return yield* team.say('supervisor', 'Answer a greeting', greeting(name, intent.thanks));
      case 'capabilities':
        return yield* team.say('supervisor', 'Say what this engine can do', capabilities());
      case 'introduction': {
        const hello = intent.name ? `Nice to meet you, ${intent.name}!` : 'Noted!';
        const facts = intent.facts.length ? ` You told me: ${intent.facts.map((f) => `"${f}"`).join(', ')}.` : '';
        return yield* team.say(
          'supervisor',
          'Remember what the user says about themselves',
          `${hello}${facts} I'll remember it for the rest of this conversation.`,
        );
      }
      case 'ask-name':
        return yield* team.say(
          'supervisor',
          'Find the name the user gave in this conversation',
          name
            ? `Your name is **${name}**: you told me so earlier in this conversation.`
            : "You haven't told me your name in this conversation, so I don't know it.",
        );
      case 'about-user':
        return yield* team.say(
          'supervisor',
          'Recall what the user said about themselves',
          `Earlier in this conversation you told me: ${intent.statements.map((s) => `"${s}"`).join('; ')}.`,
        );
      case 'conversation':
        return yield* team.say(
          'supervisor',
          'Look back over this conversation',
          recallQuestions(intent.which, history),
        );
      case 'needs-model':
        return yield* team.say('supervisor', 'Check whether this needs a language model', needsModel(intent.task));
      case 'calculate':
      case 'compare':
        return yield* this.analyse(intent, team);
      case 'summarize-text':
      case 'key-findings':
      case 'point':
        return yield* this.write(intent, history, team);
      case 'ask-text':
        return yield* this.askText(intent, team);
      case 'more':
        return yield* this.more(history, team, 'writer');
      case 'research':
        return yield* this.research(question, history, team, 'writer');
    }
  }

  /** The researcher searches and keeps what answers; the writer (or the researcher alone) quotes it. */
  private async *research(question: string, history: ChatMessage[], team: Team, composer: Agent): Step<Answer> {
    // A follow-up ("And when did it end?") is searched with its topic, in the documents quoted for it.
    const follows = followUpOf(question, history);
    const query = follows ? `${question.trim()} ${follows.topic.trim()}` : question.trim();
    const call = yield* team.start('researcher', `Search the knowledge base for: ${query}`);
    const found = yield* team.search('researcher', query);
    const passages = follows ? found.filter((p) => follows.documents.has(documentOf(p.url))) : found;
    const { terms, quotes } = selectQuotes(question, passages);
    yield team.finish(call, `${quotes.length} sentences of ${passages.length} passages answer the question`);
    if (!quotes.length)
      return { text: nothingFound(question, terms, passages.length, follows?.topic), citations: new Citations() };
    return yield* this.quote(composer, quotes, QUOTED_INTRO, team);
  }

  /**
   * A question about the text the message brings: answered from that text's sentences alone, as a
   * knowledge-base question is from its passages; the knowledge base is not searched, since its
   * documents are not the text asked about.
   */
  private async *askText(intent: Extract<Intent, { kind: 'ask-text' }>, team: Team): Step<Answer> {
    const call = yield* team.start('writer', `Find what the text in the message says: ${intent.question}`);
    const passage = { source: 0, title: '', url: '', text: intent.text };
    const { terms, quotes } = selectQuotes(withoutTextReferences(intent.question), [passage]);
    const text = quotes.length
      ? [
          'From the text you sent:',
          '',
          ...quotes.map((q) => `- ${q.text}`),
          '',
          '*Quoted from your text by the offline extractive engine: no language model wrote this answer.*',
        ].join('\n')
      : `Your text says nothing I could quote that answers "${clip(intent.question)}"` +
        (terms.length ? ` (no sentence of it is about ${terms.map((t) => `"${t}"`).join(', ')}).` : '.') +
        ` The offline extractive engine only quotes what a text says. ${CONFIGURE_MODEL}`;
    yield team.finish(call, text);
    return { text, citations: new Citations() };
  }

  private async *quote(by: Agent, quotes: Quote[], intro: string, team: Team): Step<Answer> {
    const citations = new Citations();
    const call = by === 'researcher' ? undefined : yield* team.start(by, 'Quote the answer with numbered citations');
    const lines = quotes.map((q) => {
      const { title, url, text } = q.passage;
      return `- ${asQuoted(q.text)} [${citations.cite({ title, url, snippet: text.slice(0, 240) })}]`;
    });
    const text = [intro, '', ...lines, ...citations.block(), '', FOOTER].join('\n');
    if (call) yield team.finish(call, text);
    return { text, citations };
  }

  /** "Tell me more": the rest of the paragraphs the last answer quoted, then other answering passages. */
  private async *more(history: ChatMessage[], team: Team, composer: Agent): Step<Answer> {
    const answers = earlierAnswers(history);
    const previous = answers.findLast((a) => a.topic && a.points.length);
    if (!previous)
      return yield* team.say(
        'researcher',
        'Find what to say more about',
        'There is no earlier answer in this conversation to say more about: ask me a question first.',
      );
    const topic = previous.topic!.trim();
    const call = yield* team.start('researcher', `Search again for: ${topic}`);
    const passages = yield* team.search('researcher', topic);
    const said = new Set(answers.flatMap((a) => a.points.map((p) => p.text)));
    const { quotes } = selectQuotes(topic, passages, { max: 10 });
    const more: Quote[] = [];
    for (const q of quotes) {
      for (const [i, text] of neighbours(q.passage, q.paragraph).entries())
        if (!said.has(text) && !more.some((m) => m.text === text)) more.push({ ...q, text, sentence: i });
    }
    for (const q of quotes) if (!said.has(q.text) && !more.some((m) => m.text === q.text)) more.push(q);
    yield team.finish(call, `${more.length} more sentences`);
    if (!more.length)
      return {
        text: `That is all my documents say about "${topic}": I have nothing to add to my last answer.`,
        citations: new Citations(),
      };
    return yield* this.quote(composer, more.slice(0, 4), `More on "${topic}":`, team);
  }

  private async *analyse(intent: Extract<Intent, { kind: 'calculate' | 'compare' }>, team: Team): Step<Answer> {
    const citations = new Citations();
    if (intent.kind === 'calculate') {
      const { asked, expression } = intent.calculation;
      const call = yield* team.start('analyst', `Compute ${expression}`);
      const result = yield* team.calculate(expression);
      const text = result
        ? `${asked} = **${result}**` +
          (asked === expression ? '' : `\n\n(computed as \`${expression}\` with the calculator)`)
        : `I could not compute \`${expression}\`: the calculator did not accept it.`;
      yield team.finish(call, text);
      return { text, citations };
    }
    const { left, right } = intent;
    const call = yield* team.start('analyst', `Compare ${left.expression} with ${right.expression}`);
    const a = yield* team.calculate(left.expression);
    const b = yield* team.calculate(right.expression);
    const difference = a && b ? yield* team.calculate(`(${left.expression}) - (${right.expression})`) : undefined;
    let text: string;
    if (!a || !b || !difference)
      text = `I could not compare ${left.asked} with ${right.asked}: the calculator did not accept them.`;
    else if (/^0(\s|$)/.test(difference)) text = `${left.asked} = ${a} and ${right.asked} = ${b}: they are **equal**.`;
    else {
      const sides = [
        { asked: left.asked, value: a },
        { asked: right.asked, value: b },
      ];
      const [big, small] = difference.startsWith('-') ? sides.reverse() : sides;
      const gap = difference.replace(/^-/, '');
      // The answer names first, in bold, the side that was asked for: the larger or the smaller.
      text =
        intent.asks === 'larger'
          ? `**${big.asked}** (= ${big.value}) is larger than ${small.asked} (= ${small.value}), by ${gap}.`
          : `**${small.asked}** (= ${small.value}) is smaller than ${big.asked} (= ${big.value}), by ${gap}.`;
    }
    yield team.finish(call, text);
    return { text, citations };
  }

  /** The writer works only on text already in the conversation: a pasted text or earlier answers. */
  private async *write(
    intent: Extract<Intent, { kind: 'summarize-text' | 'key-findings' | 'point' }>,
    history: ChatMessage[],
    team: Team,
  ): Step<Answer> {
    const citations = new Citations();
    if (intent.kind === 'summarize-text') {
      const call = yield* team.start('writer', 'Summarise the text in the message (TextRank over its sentences)');
      const total = countSentences(intent.text);
      const kept = textRank(intent.text, summaryLength(total));
      const of = total > MAX_SENTENCES ? `its first ${MAX_SENTENCES} sentences` : `its ${total} sentences`;
      const text = !kept.length
        ? 'The text you sent has no complete sentences to summarise.'
        : intent.style === 'shorter'
          ? `Shortened to ${kept.length} of ${of}:\n\n${kept.join(' ')}`
          : `The key points of your text (${kept.length} of ${of}, quoted):\n\n${kept.map((s) => `- ${s}`).join('\n')}`;
      yield team.finish(call, text);
      return { text, citations };
    }
    const answers = earlierAnswers(history);
    const call = yield* team.start(
      'writer',
      intent.kind === 'point'
        ? `Find point ${intent.n} of the last answer`
        : 'Summarise the findings of this conversation',
    );
    const cite = (p: Point) => (p.source ? ` [${citations.cite({ title: p.source.title, url: p.source.url })}]` : '');
    let text: string;
    if (intent.kind === 'point') {
      const points = answers.findLast((a) => a.points.length)?.points ?? [];
      const point = intent.n === -1 ? points.at(-1) : points[intent.n - 1];
      text = point
        ? `Point ${intent.n === -1 ? points.length : intent.n} of my last answer:\n\n- ${point.text}${cite(point)}`
        : points.length
          ? `My last answer had only ${points.length} point${points.length === 1 ? '' : 's'}.`
          : 'My earlier answers in this conversation have no numbered points.';
    } else {
      const points = dedupe(answers.flatMap((a) => a.points));
      const kept = new Set(
        // The newest points, as many as a text's summary ranks: a long history must not stall the loop.
        rankSentences(
          points.slice(-MAX_SENTENCES).map((p) => p.text),
          5,
        ),
      );
      const chosen = points.filter((p) => kept.has(p.text));
      text = chosen.length
        ? [
            `The key findings so far in this conversation (${chosen.length} of ${points.length}, ` +
              'quoted from my earlier answers):',
            '',
            ...chosen.map((p) => `- ${p.text}${cite(p)}`),
          ].join('\n')
        : 'There are no findings in this conversation yet to summarise: ask me a question about your documents first.';
    }
    text = [text, ...citations.block()].join('\n');
    yield team.finish(call, text);
    return { text, citations };
  }
}

/** A question's words that point at the text it is asked about ("the following text"), not at its subject. */
const withoutTextReferences = (question: string): string =>
  question.replace(
    /\b(?:following|above|below|text|passage|paragraph|document|article|e-?mail|letter|message|note|notice)\b/gi,
    ' ',
  );

function dedupe(points: Point[]): Point[] {
  return points.filter((p, i) => points.findIndex((q) => q.text === p.text) === i);
}

const countSentences = (text: string) => sentencesOf(text).length;

function recallQuestions(which: 'first' | 'previous' | 'all', history: ChatMessage[]): string {
  const asked = userTurns(history);
  if (!asked.length) return 'This is the first thing you have said in this conversation.';
  if (which === 'first') return `Your first message in this conversation was: "${clip(asked[0])}"`;
  if (which === 'previous') return `Just before this, you said: "${clip(asked.at(-1)!)}"`;
  return [`So far in this conversation you said:`, '', ...asked.map((q, i) => `${i + 1}. ${clip(q)}`)].join('\n');
}

/** The agents of one run: their start and end events, the tools they call, who worked. */
class Team {
  readonly agentsUsed: Agent[] = [];
  private readonly tools: ToolRegistry;
  private readonly ctx: ToolContext;

  constructor(tools: ToolRegistry, ctx: ToolContext) {
    this.tools = tools;
    this.ctx = ctx;
  }

  /** Announces an agent's step before it works, so progress shows while it happens. */
  async *start(agent: Agent, task: string): Step<{ agent: Agent; callId: string }> {
    const callId = `${agent}_${randomUUID().slice(0, 8)}`;
    if (!this.agentsUsed.includes(agent)) this.agentsUsed.push(agent);
    yield { type: 'agent_started', agent, callId, task, at: Date.now() };
    yield { type: 'progress', agent, text: `${agent}: ${task}`, at: Date.now() };
    return { agent, callId };
  }

  finish(call: { agent: Agent; callId: string }, output: string): RunEvent {
    return {
      type: 'agent_finished',
      agent: call.agent,
      callId: call.callId,
      ok: true,
      output: output.slice(0, 2000),
      at: Date.now(),
    };
  }

  /** A one-step answer that needs no tool. */
  async *say(agent: Agent, task: string, text: string): Step<Answer> {
    const call = yield* this.start(agent, task);
    yield this.finish(call, text);
    return { text, citations: new Citations() };
  }

  async *search(agent: Agent, query: string): Step<KnowledgeResult[]> {
    return (
      ((yield* this.tool(agent, 'search_knowledge_base', { query, limit: 8 })) as KnowledgeResult[] | undefined) ?? []
    );
  }

  async *calculate(expression: string): Step<string | undefined> {
    const out = (yield* this.tool('analyst', 'calculator', { expression })) as { result: string } | undefined;
    return out?.result;
  }

  private async *tool(agent: Agent, name: string, input: unknown): Step<unknown> {
    const tool = this.tools.get(name);
    if (!tool) return undefined;
    const toolCallId = `call_${randomUUID().slice(0, 12)}`;
    yield { type: 'tool_call', agent, toolCallId, toolName: name, input, at: Date.now() };
    try {
      const output = await tool.execute(input, this.ctx);
      yield { type: 'tool_result', agent, toolCallId, toolName: name, output, isError: false, at: Date.now() };
      return output;
    } catch (err) {
      const output = { error: (err as Error).message };
      yield { type: 'tool_result', agent, toolCallId, toolName: name, output, isError: true, at: Date.now() };
      return undefined;
    }
  }
}

/**
 * A document's sentence as the answer quotes it: its own bracketed numbers ("as shown in [2]") are
 * escaped, so that they are neither read as this answer's citations nor made into annotations.
 */
const asQuoted = (sentence: string): string => sentence.replace(/\[(\d+)\]/g, '\\[$1\\]');
