// A `response_format` JSON Schema as a validator of the model's answer. The schema is the client's,
// and so are its `pattern`s: run by V8's backtracking engine, a pattern such as `^(a+)+$` takes
// exponential time on the event loop, and one request would freeze every other. Patterns are
// therefore compiled by RE2 (re2js, linear time in the answer's length); one RE2 cannot run (a
// backreference, a lookaround, as OpenAI's structured outputs refuse too) makes the schema unusable.
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { RE2JS } from 're2js';

/** ECMAScript's `\uXXXX` escape, which RE2 writes `\x{XXXX}` (unless its backslash is escaped). */
const UNICODE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})/g;

/** A pattern as RE2 runs it: ajv asks for an object with `test`, and RE2JS's compiled form is one. */
const linearRegExp = Object.assign(
  (pattern: string) => RE2JS.compile(pattern.replace(UNICODE_ESCAPE, '$1\\x{$2}')),
  { code: 'RE2JS.compile' }, // (ajv's name for it in standalone code, which is not used here)
);

// One compiler per dialect, for every schema (each is removed once compiled: the schemas are the
// clients', and ajv would keep them all). Unknown keywords and formats are ignored.
const options: Options = { strict: false, logger: false, code: { regExp: linearRegExp } };
const withFormats = <T extends Ajv>(ajv: T): T => {
  (addFormats as unknown as (a: Ajv, o: { mode: 'fast' }) => void)(ajv, { mode: 'fast' });
  return ajv;
};
const draft2020 = withFormats(new Ajv2020(options));
const draft07 = withFormats(new Ajv(options));
/** Schemas that declare an older draft (zod's and pydantic's say draft-07); the rest are read as 2020-12. */
const OLDER_DRAFT = /draft-0[4-7]\//;

/** The schema as a validator, or the reason it cannot be one (an unresolvable `$ref`, a pattern RE2 refuses). */
export function compileAnswerSchema(schema: Record<string, unknown>): { validate?: ValidateFunction; error?: string } {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  const ajv = OLDER_DRAFT.test(declared) ? draft07 : draft2020;
  // The dialect is chosen above; ajv itself would look the declared meta-schema up by its URI.
  const { $schema: _, ...rest } = schema;
  try {
    return { validate: ajv.compile(rest) };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    ajv.removeSchema(rest);
  }
}

/** Why `value` does not match the schema, or undefined when it does. */
export function schemaMismatch(validate: ValidateFunction, value: unknown): string | undefined {
  if (validate(value)) return undefined;
  const issue = validate.errors![0];
  const at = issue.instancePath ? issue.instancePath.slice(1).replaceAll('/', '.') : 'the top level';
  return `at ${at}, ${issue.message ?? 'the value is not allowed'}`;
}
