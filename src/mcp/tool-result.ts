// What an MCP tool's result gives the model: its text, its structured content and the text of the
// resources it returns (a binary part is named, not inlined), cut to a size limit so that one
// server cannot flood a model's context. An error result becomes a thrown error: the agent sees a
// failed tool call, and the run goes on.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export class McpToolError extends Error {}

export interface McpToolOutput {
  content: string;
  structured?: unknown;
  truncated?: true;
}

export function toolOutput(result: CallToolResult, maxChars: number): McpToolOutput {
  const text = (result.content ?? []).map(partText).filter(Boolean).join('\n');
  if (result.isError) throw new McpToolError(limit(text || 'the tool reported an error', maxChars).text);
  const structured = result.structuredContent;
  const structuredText = structured === undefined ? '' : JSON.stringify(structured);
  // The structured content usually repeats the text: it is kept only if both fit.
  if (structured !== undefined && text.length + structuredText.length <= maxChars) return { content: text, structured };
  const cut = limit(text || structuredText, maxChars);
  return cut.truncated ? { content: cut.text, truncated: true } : { content: cut.text };
}

function partText(part: CallToolResult['content'][number]): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'resource':
      return 'text' in part.resource
        ? `[resource ${part.resource.uri}]\n${part.resource.text}`
        : `[resource ${part.resource.uri}: ${part.resource.mimeType ?? 'binary'} content not shown]`;
    case 'resource_link':
      return `[resource link ${part.uri}${part.description ? `: ${part.description}` : ''}]`;
    case 'image':
    case 'audio':
      return `[${part.type}: ${part.mimeType}, ${Math.round((part.data.length * 3) / 4)} bytes, not shown]`;
    default:
      return '';
  }
}

function limit(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  return { text: `${text.slice(0, maxChars)}\n[truncated: the result had ${text.length} characters]`, truncated: true };
}
