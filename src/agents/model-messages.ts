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

export function toAgentPrompt(instructions: string, conversation: ChatMessage[]): AgentPrompt {
  const system = withClientInstructions(instructions, conversation);
  const toolNames = new Map<string, string>();
  const messages: ModelMessage[] = [];
  for (const m of conversation) {
    switch (m.role) {
      case 'system':
        break;
      case 'user':
        messages.push(userMessage(m));
        break;
      case 'assistant':
        if (!m.toolCalls?.length) {
          messages.push({ role: 'assistant', content: m.content });
          break;
        }
        for (const c of m.toolCalls) toolNames.set(c.id, c.name);
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
        break;
      case 'tool': {
        const toolCallId = m.toolCallId ?? '';
        messages.push({
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId,
              toolName: toolNames.get(toolCallId) ?? m.name ?? 'tool',
              output: { type: 'text', value: m.content },
            },
          ],
        });
        break;
      }
    }
  }
  return { system, messages };
}

/**
 * A user message in the AI SDK's format: its images and files as parts, which each provider writes
 * in its own format (OpenAI's `image_url` / `file`, Anthropic's `image` / `document`). A remote
 * image stays a URL: the provider passes it on, the server never fetches it.
 */
export function userMessage(m: ChatMessage): ModelMessage {
  if (!m.images?.length) return { role: 'user', content: m.content };
  return {
    role: 'user',
    content: [
      ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
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
 * A resumed run's request, split: the conversation before the paused turn (the agent's own record
 * of that turn is in the checkpoint) and the client's results for the calls the run waits for.
 */
export function splitPausedTurn(
  conversation: ChatMessage[],
  pendingIds: string[],
): { before: ChatMessage[]; results: Map<string, ChatMessage> } {
  const pending = new Set(pendingIds);
  const results = new Map<string, ChatMessage>();
  const before: ChatMessage[] = [];
  for (const m of conversation) {
    if (m.role === 'tool' && m.toolCallId && pending.has(m.toolCallId)) results.set(m.toolCallId, m);
    else if (m.role === 'assistant' && m.toolCalls?.some((c) => pending.has(c.id))) continue;
    else before.push(m);
  }
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
