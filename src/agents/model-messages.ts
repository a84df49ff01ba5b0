// The conversation in the AI SDK's message format: system messages folded into the agent's own
// instructions, images as image parts, client tool calls and their results paired by id.
import type { ModelMessage } from 'ai';
import type { ChatMessage } from '../orchestrator/types.ts';

export interface AgentPrompt {
  system: string;
  messages: ModelMessage[];
}

/** An agent's instructions followed by the client's own system and developer messages. */
export function withClientInstructions(instructions: string, conversation: ChatMessage[]): string {
  const clientSystem = conversation
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .filter(Boolean);
  return clientSystem.length
    ? `${instructions}\n\nInstructions from the client application (follow them unless they conflict with the above):\n${clientSystem.join('\n\n')}`
    : instructions;
}

/** What the model reads for a call of the client's that no result answers (the client moved on). */
export const NO_CLIENT_RESULT = 'The client sent no result for this call.';

/**
 * The conversation as the agent's prompt. Calls and results are paired as the providers demand
 * (the AI SDK refuses a call without a result before it even calls the model): a stored
 * conversation whose client moved on without answering a call reads that call as unanswered, and
 * a result that answers no call in front of it is left out. A stored conversation stays usable.
 */
export function toAgentPrompt(instructions: string, conversation: ChatMessage[]): AgentPrompt {
  const system = withClientInstructions(instructions, conversation);
  const messages: ModelMessage[] = [];
  /** The calls of the last assistant message that no result has answered yet, by id. */
  let waiting = new Map<string, string>();
  const closeTurn = () => {
    for (const [toolCallId, toolName] of waiting) messages.push(toolResult(toolCallId, toolName, NO_CLIENT_RESULT));
    waiting = new Map();
  };
  for (const m of conversation) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      const toolCallId = m.toolCallId ?? '';
      const toolName = waiting.get(toolCallId);
      if (toolName === undefined) continue; // answers no call in front of it (or one answered already)
      waiting.delete(toolCallId);
      messages.push(toolResult(toolCallId, toolName, m.content));
      continue;
    }
    closeTurn();
    if (m.role === 'user') {
      messages.push(userMessage(m));
    } else if (!m.toolCalls?.length) {
      messages.push({ role: 'assistant', content: m.content });
    } else {
      for (const c of m.toolCalls) waiting.set(c.id, c.name);
      messages.push({
        role: 'assistant',
        content: [
          ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
          ...m.toolCalls.map((c) => ({
            type: 'tool-call' as const,
            toolCallId: c.id,
            toolName: c.name,
            input: parseArguments(c.arguments),
          })),
        ],
      });
    }
  }
  closeTurn();
  return { system, messages };
}

function toolResult(toolCallId: string, toolName: string, text: string): ModelMessage {
  return {
    role: 'tool',
    content: [{ type: 'tool-result', toolCallId, toolName, output: { type: 'text', value: text } }],
  };
}

/**
 * A user message in the AI SDK's format: its images and files as parts, which each provider writes
 * in its own format (OpenAI's `image_url` / `file`, Anthropic's `image` / `document`). A remote
 * image stays a URL: the provider passes it on, the server never fetches it.
 */
export function userMessage(m: ChatMessage): ModelMessage {
  const text = spokenBy(m);
  if (!m.images?.length) return { role: 'user', content: text };
  return {
    role: 'user',
    content: [
      ...(text ? [{ type: 'text' as const, text }] : []),
      ...m.images.map((i) =>
        i.mediaType
          ? { type: 'file' as const, data: new URL(i.url), mediaType: i.mediaType, filename: i.filename }
          : {
              type: 'image' as const,
              image: new URL(i.url),
              ...(i.detail ? { providerOptions: { openai: { imageDetail: i.detail } } } : {}),
            },
      ),
    ],
  };
}

/**
 * A user message's text with its participant's `name` in front ("alice: ..."): the AI SDK's message
 * format has no name, and without it a conversation of several people reads as one person's.
 */
const spokenBy = (m: ChatMessage): string => (m.name && m.content ? `${m.name}: ${m.content}` : m.content);

/** The last user message itself (with its images and files), for an agent that answers it. */
export function lastUserChatMessage(conversation: ChatMessage[]): ChatMessage | undefined {
  return conversation.findLast((m) => m.role === 'user');
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

/** The last thing the user asked, which the writer answers. */
export function lastUserMessage(conversation: ChatMessage[]): string {
  for (let i = conversation.length - 1; i >= 0; i--)
    if (conversation[i].role === 'user') return conversation[i].content;
  return '';
}

/**
 * A resumed run's request, split: the conversation before the paused turn and the client's results
 * for the calls the run waits for. The paused turn (the calls and results after the last user
 * message) is the agent's own record in the checkpoint, not the transcript's: the transcript may
 * hold another choice's calls for that turn (n > 1) or none at all (the results sent alone).
 */
export function splitPausedTurn(
  conversation: ChatMessage[],
  pendingIds: string[],
): { before: ChatMessage[]; results: Map<string, ChatMessage> } {
  const pending = new Set(pendingIds);
  const results = new Map<string, ChatMessage>();
  for (const m of conversation)
    if (m.role === 'tool' && m.toolCallId && pending.has(m.toolCallId) && !results.has(m.toolCallId))
      results.set(m.toolCallId, m);
  const lastUser = conversation.findLastIndex((m) => m.role === 'user');
  const before = conversation.filter(
    (m, i) => !(i > lastUser && (m.role === 'tool' || (m.role === 'assistant' && m.toolCalls?.length))),
  );
  return { before, results };
}

/** The results of the client's tools in the current turn (after the last user message), as text. */
export function clientToolResults(conversation: ChatMessage[]): string {
  const calls = new Map<string, { name: string; arguments: string }>();
  let lastUser = -1;
  conversation.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
    for (const c of m.toolCalls ?? []) calls.set(c.id, c);
  });
  return conversation
    .slice(lastUser + 1)
    .filter((m) => m.role === 'tool')
    .map((m) => {
      const call = calls.get(m.toolCallId ?? '');
      const name = call ? `${call.name}(${call.arguments})` : (m.name ?? 'a tool');
      return `${name} returned:\n${m.content}`;
    })
    .join('\n\n');
}
