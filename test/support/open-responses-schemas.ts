// The Open Responses OpenAPI document (test/fixtures) compiled with ajv (JSON Schema 2020-12, as
// OpenAPI 3.1 uses it), to check that response objects and streamed events are what Responses API
// clients expect.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

const document = JSON.parse(readFileSync(new URL('../fixtures/open-responses-openapi.json', import.meta.url), 'utf8'));
const schemas = document.components.schemas;

// The one known defect of the document: `JsonSchemaResponseFormat.schema` is generated as
// `{"type":"null"}` although its description (and every client) has it carry the JSON Schema the
// output must follow; an echoed `text.format` would otherwise have to drop the schema it was given.
schemas.JsonSchemaResponseFormat.properties.schema = { type: 'object' };

const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: 'open-responses', components: document.components });

const validate = (name: string, value: unknown) => {
  const check = ajv.getSchema(`open-responses#/components/schemas/${name}`);
  if (!check) throw new Error(`no schema ${name}`);
  const ok = check(value);
  expect(ok, `${name}: ${JSON.stringify(check.errors?.slice(0, 3))}\n${JSON.stringify(value).slice(0, 600)}`).toBe(
    true,
  );
};

/** Asserts that `value` is a `response` object as the Open Responses document describes it. */
export const expectResponseShape = (value: unknown): void => validate('ResponseResource', value);

/** The document's schema of each streamed event type, by the name its schema gives it. */
const EVENT_SCHEMAS: Record<string, string> = Object.fromEntries(
  Object.entries(schemas as Record<string, any>)
    .filter(([name]) => name.endsWith('StreamingEvent'))
    .map(([name, s]) => [s.properties.type.enum[0], name]),
);

/** Asserts that a streamed event is one the document defines, in the shape it defines. */
export function expectEventShape(event: { type: string }): void {
  const name = EVENT_SCHEMAS[event.type];
  expect(name, `event type ${event.type} is not in the Open Responses document`).toBeDefined();
  validate(name, event);
}

/** An SSE body as (event name, data) pairs; checks that each `event:` line names its data's type. */
export function parseSse(body: string): { type: string; [k: string]: any }[] {
  const out: { type: string }[] = [];
  for (const frame of body.split('\n\n')) {
    if (!frame.trim() || frame.startsWith(':')) continue;
    const lines = frame.split('\n');
    const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = JSON.parse(
      lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n'),
    );
    expect(name, 'every frame names its event').toBe(data.type);
    out.push(data);
  }
  return out;
}
