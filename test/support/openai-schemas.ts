// OpenAI's published schemas (a subset of its OpenAPI description, in test/fixtures) compiled
// with ajv, to check that responses, stream chunks and errors are what OpenAI clients expect.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

const document = withNullableWithoutType(
  JSON.parse(readFileSync(new URL('../fixtures/openai-chat-schemas.json', import.meta.url), 'utf8')),
);

/** OpenAPI 3.0 allows `nullable` beside `$ref`/`allOf` without `type`; ajv needs it spelled out. */
function withNullableWithoutType(node: any): any {
  if (Array.isArray(node)) return node.map(withNullableWithoutType);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = withNullableWithoutType(v);
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (out.nullable === true && out.type === undefined) {
    const { nullable: _n, description, ...rest } = out;
    return { description, anyOf: [rest, { type: 'null' }] };
  }
  return out;
}
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
ajv.addSchema({ $id: 'openai', components: document.components });

type SchemaName =
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'ErrorResponse'
  | 'ListModelsResponse'
  | 'Model';

/** Asserts that `value` matches OpenAI's schema. The `metadata` extension is the known exception. */
export function expectOpenAiShape(name: SchemaName, value: unknown): void {
  const validate = ajv.getSchema(`openai#/components/schemas/${name}`)!;
  const { metadata: _m, ...rest } = value as Record<string, unknown>;
  const ok = validate(rest);
  expect(ok, `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
}
