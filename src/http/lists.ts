// OpenAI's list conventions, shared by every listing route: the query (`limit`, `after`, `before`,
// `order`) validated into a 400 naming the parameter, the page read by either cursor, and the
// `{object: "list", data, first_id, last_id, has_more}` page.
import { z } from 'zod';
import type { ListOptions, Page } from '../store/types.ts';
import { invalidRequest } from './errors.ts';
import { ID_PATTERN } from './resource-ids.ts';

/**
 * The paging fields of a list query: `after` is an id of the previous page (its `last_id`), `before`
 * one of the next page (its `first_id`, to page back).
 */
export const pageQueryShape = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(ID_PATTERN, 'expected an id').optional(),
  before: z.string().regex(ID_PATTERN, 'expected an id').optional(),
  order: z.enum(['asc', 'desc']).default('desc'),
};

export interface PageQuery {
  limit: number;
  after?: string;
  before?: string;
  order: 'asc' | 'desc';
}

/**
 * One page of a list: the `limit` items after `after` in `order`, or the `limit` items just before
 * `before` (still in `order`; `has_more` then says whether more come before them), read by `read`,
 * which pages only forwards. A cursor that names no item of the list is a 400 naming it: an empty
 * page instead told a client paging on that the list had ended (a cursor deleted meanwhile, or one
 * of another list or key).
 */
export async function readPage<T>(
  query: PageQuery,
  read: (options: ListOptions) => Promise<Page<T>>,
  isItem: (id: string) => Promise<boolean>,
): Promise<Page<T>> {
  const { limit, after, before, order } = query;
  if (after !== undefined && before !== undefined)
    throw invalidRequest("Pass either 'after' or 'before', not both.", 'before', 'invalid_value');
  const cursor = before ?? after;
  const page = before
    ? await read({ limit, after: before, order: order === 'asc' ? 'desc' : 'asc' }).then((p) => ({
        data: p.data.reverse(),
        hasMore: p.hasMore,
      }))
    : await read({ limit, after, order });
  if (cursor !== undefined && !page.data.length && !(await isItem(cursor))) {
    const param = before ? 'before' : 'after';
    throw invalidRequest(`Invalid '${param}': no item with id '${cursor}' in this list.`, param, 'invalid_value');
  }
  return page;
}

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
