// The one rule for ids a client chooses or sends back (conversation ids, run ids, list cursors):
// letters, digits and `_ . : -`, 1 to 128 characters. Such an id is safe in a URL path, in a
// response header (Node refuses characters above U+00FF there) and in a log line, and it has one
// length limit wherever it arrives: body, header or URL.
import { invalidRequest } from './errors.ts';

export const ID_MAX_LENGTH = 128;
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** `.` and `..` are no ids: as a URL's path segment they would name another path. */
export const isValidId = (value: string): boolean => ID_PATTERN.test(value) && value !== '.' && value !== '..';

/** The id itself, or a 400 invalid_request_error naming `param`. */
export function checkId(value: string, param: string): string {
  if (isValidId(value)) return value;
  const why =
    value.length > ID_MAX_LENGTH
      ? `it is ${value.length} characters long, at most ${ID_MAX_LENGTH} are allowed`
      : value.length === 0
        ? 'it is empty'
        : value === '.' || value === '..'
          ? "'.' and '..' are no ids"
          : 'it may contain only letters, digits and the characters _ . : -';
  throw invalidRequest(`Invalid '${param}': ${why}.`, param, 'invalid_id');
}
