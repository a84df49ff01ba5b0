/**
 * A name as one field of a line of output: a file name may hold a newline or a tab (any byte but
 * `/` and NUL), and so may a key's `--name`; either would split a line of `kb list`, `keys list` or
 * `Skipped:` in two and break the tab-separated columns a script reads. Such a name is printed
 * quoted, its control characters escaped as in JSON.
 */
export const shown = (name: string) => (/[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name);
