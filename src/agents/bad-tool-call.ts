// The client's words for a tool call the upstream model got wrong. Named as the trace names it: an
// internal tool's prefix never reaches a client, even in an error; and each message says what was
// wrong with the call, the arguments or the name.
import { InvalidToolInputError, JSONParseError, NoSuchToolError } from 'ai';
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

/**
 * What was wrong with a specialist's call, after `<agent> called`: the tool (by its plain name) and
 * what was wrong with it, for its trace, its progress and, when it fails the task, the supervisor.
 */
export function badCallWhat(toolName: string, error: unknown): string {
  const name = plainName(toolName);
  if (NoSuchToolError.isInstance(error)) {
    const tools = (error.availableTools ?? []).map(plainName).join(', ') || 'none';
    return `${name}, a tool it does not have (its tools: ${tools})`;
  }
  const notJson = InvalidToolInputError.isInstance(error) && JSONParseError.isInstance(error.cause);
  return `${name} with arguments that ${notJson ? 'are not valid JSON' : 'do not fit the tool'} (${describe(error)})`;
}

/**
 * What was wrong with the arguments, in one line: the first schema issue (`task: expected string`)
 * when a schema refused them, else the parser's last line (a schema error's last line is its `]`).
 */
function describe(error: unknown): string {
  const issue = firstIssue(error);
  const message = issue
    ? `${issue.path?.length ? issue.path.join('.') : 'the arguments'}: ${issue.message}`
    : (error instanceof Error ? error.message : String(error))
        .split('\n')
        .at(-1)!
        .replace(/^Error message: /, '');
  return message.replaceAll(INTERNAL_PREFIX, '').slice(0, 200);
}

interface Issue {
  path?: PropertyKey[];
  message: string;
}

/** The first issue of a schema validation error somewhere along `error`'s causes. */
function firstIssue(error: unknown): Issue | undefined {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const issues = (e as { issues?: unknown }).issues;
    if (Array.isArray(issues) && issues.length && typeof issues[0]?.message === 'string') return issues[0] as Issue;
  }
  return undefined;
}
