// Conversation memory over the store: the stored transcript is the source of truth. prepare()
// merges the request into it and assembles the context (system prompt kept, oldest turns dropped
// to fit OPENAI_COMPAT_MAX_CONTEXT_TOKENS, reading only as much history as the window needs);
// record() appends the turn and its run in one transaction.
import type { ChatMessage } from '../orchestrator/types.ts';
import type { Store } from '../store/types.ts';
import type { TokenCounter } from '../tokens.ts';
import { fitToBudget, overlapLength } from './merge.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import type { ConversationMemory, PreparedTurn, PrepareTurnInput, TurnRecord } from './types.ts';

/** The conversation exists but belongs to someone else: answered as "not found". */
export class ConversationNotFoundError extends Error {}

const PRIMING_TOKENS = 3;

export class StoredMemory implements ConversationMemory {
  private readonly store: Store;
  private readonly tokens: TokenCounter;
  private readonly maxContextTokens: number;
  private readonly locks = new KeyedMutex();

  constructor(store: Store, tokens: TokenCounter, maxContextTokens: number) {
    this.store = store;
    this.tokens = tokens;
    this.maxContextTokens = maxContextTokens;
  }

  async prepare(input: PrepareTurnInput): Promise<PreparedTurn> {
    // Turns of one conversation are served one after the other in this process.
    const release = await this.locks.lock(input.conversationId);
    try {
      const owner = input.owner ?? '';
      const conversation = await this.store.getConversation(input.conversationId, owner);
      if (!conversation && (await this.store.getConversationOwner(input.conversationId)) !== undefined) {
        throw new ConversationNotFoundError(input.conversationId); // another key's conversation
      }
      const systems = input.messages.filter((m) => m.role === 'system');
      const rest = input.messages.filter((m) => m.role !== 'system');
      const newSystem = systems.length ? systems.map((m) => m.content).join('\n\n') : undefined;
      const systemText = newSystem ?? conversation?.systemPrompt ?? undefined;

      const tail = conversation ? await this.store.tailMessages(input.conversationId, rest.length) : [];
      const newMessages = rest.slice(overlapLength(tail, rest));
      const system: ChatMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];
      const budget = this.maxContextTokens - PRIMING_TOKENS - (system[0] ? this.tokens.countMessage(system[0]) : 0);

      const fresh = newMessages.map((m) => ({ m, cost: this.tokens.countMessage(m) }));
      const freshCost = fresh.reduce((n, f) => n + f.cost, 0);
      const history =
        conversation && freshCost < budget
          ? await this.store.recentMessages(input.conversationId, budget - freshCost)
          : [];
      const candidates = [...history.map((m) => ({ m: strip(m), cost: m.tokenCount })), ...fresh];
      let window = fitToBudget(candidates, budget);
      // Whatever the budget, the agents must see the message they are answering.
      if (!window.length && newMessages.length) window = [newMessages[newMessages.length - 1]];

      const recordedNew =
        newSystem !== undefined && newSystem !== conversation?.systemPrompt
          ? [{ role: 'system' as const, content: newSystem }, ...newMessages]
          : newMessages;
      return {
        conversationId: input.conversationId,
        context: [...system, ...window],
        newMessages: recordedNew,
        release,
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  async record(turn: TurnRecord): Promise<void> {
    const owner = turn.owner ?? '';
    const systemPrompt = turn.newMessages.find((m) => m.role === 'system')?.content;
    const messages = [
      ...turn.newMessages.filter((m) => m.role !== 'system'),
      ...(turn.answer ? [{ ...turn.answer, runId: turn.runId }] : []),
    ];
    const firstUser = turn.newMessages.find((m) => m.role === 'user')?.content ?? 'New conversation';
    await this.store.appendTurn({
      conversationId: turn.conversationId,
      owner,
      title: firstUser.replace(/\s+/g, ' ').trim().slice(0, 80) || 'New conversation',
      systemPrompt,
      messages: messages.map((m) => ({ ...m, tokenCount: this.tokens.countMessage(m) })),
      run: {
        id: turn.runId,
        conversationId: turn.conversationId,
        owner,
        model: turn.model,
        status: turn.status,
        error: turn.error ?? null,
        agentsUsed: turn.agentsUsed,
        events: turn.events,
        usage: turn.usage,
        promptTokens: turn.promptTokens,
        completionTokens: turn.completionTokens,
        startedAt: turn.startedAt.toISOString(),
        finishedAt: turn.finishedAt.toISOString(),
      },
    });
  }
}

/** A stored message as the agents see it (no bookkeeping fields). */
function strip(
  m: ChatMessage & { seq?: number; tokenCount?: number; runId?: string | null; createdAt?: string },
): ChatMessage {
  const { seq: _s, tokenCount: _t, runId: _r, createdAt: _c, ...message } = m;
  return message;
}
