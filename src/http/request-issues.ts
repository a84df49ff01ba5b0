// A zod issue of a request body as OpenAI words it: the parameter's path as OpenAI writes it
// (`messages[0].content`), a missing parameter as 422 `missing_required_parameter`, a wrong type,
// range or value as 400 naming what was expected. Shared by the Chat Completions and Responses parsers.
import type { z } from 'zod';
import { type ApiError, invalidRequest, missingParameter, validationError } from './errors.ts';

/** OpenAI writes parameter paths as `messages[0].content`. */
export function paramPath(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}

const typeName = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

/**
 * The first issue of a value that failed its schema, as the ApiError OpenAI would answer. `at` is
 * where that value sits in the request when it is not the whole body (`['tools', 2]`).
 */
export function issueToError(issue: z.core.$ZodIssue, body: unknown, at: readonly PropertyKey[] = []): ApiError {
  const param = paramPath([...at, ...issue.path]);
  const shown = param ?? 'body';
  const value = issue.path.reduce<unknown>(
    (v, k) => (v != null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    body,
  );
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return missingParameter(shown);
      return invalidRequest(
        `Invalid type for '${shown}': expected ${issue.expected}, but got ${typeName(value)}.`,
        param,
        'invalid_type',
      );
    case 'too_small':
      if (issue.origin === 'array' && Number(issue.minimum) === 1 && Array.isArray(value) && value.length === 0)
        return validationError(
          `Invalid '${shown}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
          param,
          'empty_array',
        );
      if (issue.origin === 'string')
        return invalidRequest(
          `Invalid '${shown}': string too short. Expected a string with minimum length ${issue.minimum}.`,
          param,
          'string_too_short',
        );
      return invalidRequest(
        `Invalid '${shown}': ${JSON.stringify(value)} is lower than the minimum of ${issue.minimum}.`,
        param,
        'decimal_below_min_value',
      );
    case 'too_big':
      if (issue.origin === 'array')
        return invalidRequest(
          `Invalid '${shown}': array too long. Expected an array with maximum length ${issue.maximum}.`,
          param,
          'array_above_max_length',
        );
      if (issue.origin === 'string')
        return invalidRequest(
          `Invalid '${shown}': string too long. Expected a string with maximum length ${issue.maximum}.`,
          param,
          'string_above_max_length',
        );
      return invalidRequest(
        `Invalid '${shown}': ${JSON.stringify(value)} is greater than the maximum of ${issue.maximum}.`,
        param,
        'decimal_above_max_value',
      );
    case 'invalid_union':
      // A discriminated union reports an unknown discriminator (role, type) here.
      if ((issue as { note?: string }).note === 'No matching discriminator') {
        return validationError(
          `Invalid value for '${shown}': ${JSON.stringify(value)} is not supported here.`,
          param,
          'invalid_value',
        );
      }
      // A union (a message's content, say) that is absent is missing, like any other parameter.
      if (value === undefined) return missingParameter(shown);
      // A value of none of the union's types (a number where text or a list goes) says which.
      if (unionTypes(issue))
        return invalidRequest(
          `Invalid type for '${shown}': expected ${unionTypes(issue)}, but got ${typeName(value)}.`,
          param,
          'invalid_type',
        );
      return invalidRequest(
        `Invalid value for '${shown}': ${JSON.stringify(value)?.slice(0, 80)} does not match any allowed form.`,
        param,
        'invalid_value',
      );
    case 'invalid_value':
      return invalidRequest(
        `Invalid value for '${shown}': ${JSON.stringify(value)?.slice(0, 80)}. Supported values are: ${issue.values.map((v) => `'${String(v)}'`).join(', ')}.`,
        param,
        'invalid_value',
      );
    case 'custom':
      return validationError(`Invalid '${shown}': ${issue.message}.`, param, 'invalid_value');
    default:
      return invalidRequest(`Invalid '${shown}': ${issue.message}.`, param, 'invalid_value');
  }
}

/**
 * The types a union accepts, when the value failed each of its branches on its type alone (`a string
 * or an array`); undefined when some branch got further (the value is of a right type, but wrong).
 */
function unionTypes(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || !issue.errors.length) return undefined;
  const expected: string[] = [];
  for (const branch of issue.errors) {
    const [first] = branch;
    if (branch.length !== 1 || first.code !== 'invalid_type' || first.path.length) return undefined;
    const name =
      first.expected === 'array' || first.expected === 'object' ? `an ${first.expected}` : `a ${first.expected}`;
    if (!expected.includes(name)) expected.push(name);
  }
  return expected.length > 1 ? `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}` : expected[0];
}
