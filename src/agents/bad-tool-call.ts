// The client's words for a tool call the upstream model got wrong. Named as the trace names it: an
// internal tool's prefix never reaches a client, even in an error; and each message says what was
// wrong with the call, the arguments or the name.
import { NoSuchToolError } from 'ai';
import { BadToolCallError } from '../llm/upstream-error.ts';
import { INTERNAL_PREFIX, internalName, isInternalName, plainName } from './tool-names.ts';

export function badToolCall(toolName: string, error: unknown): BadToolCallError {
  const name = plainName(toolName);
  if (!NoSuchToolError.isInstance(error))
    return new BadToolCallError(
      `The upstream model called the tool ${name} with arguments that could not be read (${describe(error)}).`,
    );
  const offered = (error.availableTools ?? []).map(plainName).join(', ') || 'none';
  // A model that drops the prefix calls a name the list shows as offered, once the prefix is hidden:
  // without saying so, "not offered ... offered: fetch_url" would contradict itself.
  if (!isInternalName(toolName) && error.availableTools?.includes(internalName(toolName)))
    return new BadToolCallError(
      `The upstream model called the server's tool ${name} by its plain name, not by the internal name it was offered under (tools offered: ${offered}).`,
    );
  return new BadToolCallError(
    `The upstream model called the tool ${name}, which was not offered to it (tools offered: ${offered}).`,
  );
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .split('\n')
    .at(-1)!
    .replace(/^Error message: /, '')
    .replaceAll(INTERNAL_PREFIX, '')
    .slice(0, 200);
}
