// A tool's input schema as the AI SDK reads it, converted once per schema for the process. Given a
// zod schema, the SDK builds a fresh wrapper on every call and converts it to JSON Schema again:
// about 8% of the CPU of a one-call request went to re-converting the same few schemas.
// A schema that is already JSON Schema (an MCP server's tool, through `jsonSchema()`) passes as is.
import { zodSchema, type FlexibleSchema, type Schema } from 'ai';
import { z } from 'zod';

const converted = new WeakMap<z.ZodType, Schema>();

export function toolSchema<T>(schema: FlexibleSchema<T>): FlexibleSchema<T> {
  if (!(schema instanceof z.ZodType)) return schema;
  let known = converted.get(schema);
  if (!known) {
    known = zodSchema(schema as never);
    void known.jsonSchema; // the wrapper keeps the JSON Schema once it has computed it
    converted.set(schema, known);
  }
  return known as Schema<T>;
}
