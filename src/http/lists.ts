// OpenAI's list conventions, shared by every listing route: the query (`limit`, `after`, `order`)
// validated into a 400 naming the parameter, and the `{object: "list", data, first_id, last_id,
// has_more}` page.
import { z } from 'zod';
import { invalidRequest } from './errors.ts';
import { ID_PATTERN } from './resource-ids.ts';

/** The paging fields of a list query; `after` is an id of the previous page. */
export const pageQueryShape = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(ID_PATTERN, 'expected an id').optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
};

export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = String(issue.path[0] ?? 'query');
  throw invalidRequest(`Invalid '${param}': ${issue.message}.`, param, 'invalid_value');
}

export function listObject<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

/** Seconds since the epoch, as OpenAI's objects carry their times. */
export const unixSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
