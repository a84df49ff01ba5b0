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

/** How a message names the type of a value a client sent: `a number`, `an array`, `null`. */
export const typeName = (v: unknown) =>
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
      if (typeof value === 'number' && !Number.isFinite(value))
        // JSON's 1e400 parses as Infinity: a number, but none zod accepts
        return invalidRequest(
          `Invalid '${shown}': expected a finite number, but got one too large to represent.`,
          param,
          'invalid_type',
        );
      // An integer parameter given a fraction (`seed: 1.5`), worded as OpenAI words it.
      if (issue.expected === 'int' && typeof value === 'number')
        return invalidRequest(
          `Invalid type for '${shown}': expected an integer, but got a decimal number instead.`,
          param,
          'invalid_type',
        );
      return invalidRequest(
        `Invalid type for '${shown}': expected ${issue.expected}, but got ${typeName(value)}.`,
        param,
        'invalid_type',
      );
    case 'too_small':
      // An empty list of messages (or of a message's parts) is a request missing what it needs (422);
      // any other empty list, `tools: []`, a wrong value (400), as in the union case below.
      if (issue.origin === 'array' && Number(issue.minimum) === 1 && Array.isArray(value) && value.length === 0)
        return (shown.startsWith('messages') ? validationError : invalidRequest)(
          `Invalid '${shown}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
          param,
          'empty_array',
        );
      return outOfBounds(issue, shown, param, value);
    case 'too_big':
      return outOfBounds(issue, shown, param, value);
    case 'invalid_union':
      // A discriminated union reports an unknown discriminator (role, type) here: a message of an
      // unknown role is a malformed message (422), any other unknown kind a wrong value (400).
      if ((issue as { note?: string }).note === 'No matching discriminator') {
        const refuse = shown.startsWith('messages[') ? validationError : invalidRequest;
        return refuse(
          `Invalid value for '${shown}': ${JSON.stringify(value)} is not supported here.`,
          param,
          'invalid_value',
        );
      }
      // A union (a message's content, say) that is absent is missing, like any other parameter.
      if (value === undefined) return missingParameter(shown);
      // A value of none of the union's types (a number where text or a list goes) says which.
      const expected = unionTypes(issue);
      if (expected)
        return invalidRequest(
          `Invalid type for '${shown}': expected ${expected}, but got ${typeName(value)}.`,
          param,
          'invalid_type',
        );
      // A value of one branch's type, wrong inside (five stop sequences, a number among them): that
      // branch's own issue, as OpenAI names it (`array_above_max_length`, `stop[1]`).
      const branch = onlyBranchOfItsType(issue);
      if (branch) return issueToError({ ...branch, path: [...issue.path, ...branch.path] }, body, at);
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
    case 'invalid_key': {
      // A record's key (metadata's): the key's own issue (too long), naming the key.
      const key = issue.issues[0];
      const why = key?.code === 'too_big' ? `keys are at most ${String(key.maximum)} characters` : key?.message;
      return invalidRequest(`Invalid key in '${shown}': ${why}.`, param, 'invalid_value');
    }
    case 'custom':
      return validationError(`Invalid '${shown}': ${issue.message}.`, param, 'invalid_value');
    default:
      return invalidRequest(`Invalid '${shown}': ${issue.message}.`, param, 'invalid_value');
  }
}

/** A length past its bound, as OpenAI words it: what is wrong, what was expected, the code. */
const LENGTH_BOUNDS: Record<'too_small' | 'too_big', Partial<Record<string, readonly [string, string, string]>>> = {
  too_small: { string: ['string too short', 'a string with minimum length', 'string_too_short'] },
  too_big: {
    string: ['string too long', 'a string with maximum length', 'string_above_max_length'],
    array: ['array too long', 'an array with maximum length', 'array_above_max_length'],
  },
};
/** A number past its bound: how it compares, the code. */
const VALUE_BOUNDS = {
  too_small: ['lower than the minimum', 'decimal_below_min_value'],
  too_big: ['greater than the maximum', 'decimal_above_max_value'],
} as const;

/** A length or a number outside its range (a string too long, a temperature of 3). */
function outOfBounds(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  shown: string,
  param: string | null,
  value: unknown,
): ApiError {
  const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const length = LENGTH_BOUNDS[issue.code][issue.origin];
  if (length) {
    const [wrong, expected, code] = length;
    return invalidRequest(`Invalid '${shown}': ${wrong}. Expected ${expected} ${bound}.`, param, code);
  }
  const [comparison, code] = VALUE_BOUNDS[issue.code];
  return invalidRequest(`Invalid '${shown}': ${JSON.stringify(value)} is ${comparison} of ${bound}.`, param, code);
}

/** A branch that failed on its type alone: the value is not of the type the branch takes. */
const wrongType = (branch: readonly z.core.$ZodIssue[]) =>
  branch.length === 1 && branch[0].code === 'invalid_type' && branch[0].path.length === 0;

/** The first issue of the one branch of a union the value's type matched, when exactly one did. */
function onlyBranchOfItsType(issue: z.core.$ZodIssue): z.core.$ZodIssue | undefined {
  if (issue.code !== 'invalid_union' || !('errors' in issue)) return undefined;
  const matched = issue.errors.filter((branch) => !wrongType(branch));
  return matched.length === 1 ? matched[0][0] : undefined;
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
