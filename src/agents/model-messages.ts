// The conversation in the AI SDK's message format: system messages folded into the agent's own
// instructions, images as image parts, client tool calls and their results paired by id.
import type { ModelMessage } from 'ai';
import type { ChatMessage } from '../orchestrator/types.ts';

export interface AgentPrompt {
  system: string;
  messages: ModelMessage[];
}

export function toAgentPrompt(instructions: string, conversation: ChatMessage[]): AgentPrompt {
  const clientSystem = conversation
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .filter(Boolean);
  const system = clientSystem.length
    ? `${instructions}\n\nInstructions from the client application (follow them unless they conflict with the above):\n${clientSystem.join('\n\n')}`
    : instructions;
  const toolNames = new Map<string, string>();
  const messages: ModelMessage[] = [];
  for (const m of conversation) {
    switch (m.role) {
      case 'system':
        break;
      case 'user':
        messages.push(
          m.images?.length
            ? {
                role: 'user',
                content: [
                  { type: 'text', text: m.content },
                  ...m.images.map((i) => ({ type: 'image' as const, image: new URL(i.url) })),
                ],
              }
            : { role: 'user', content: m.content },
        );
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
