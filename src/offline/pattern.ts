// Readable regular expressions: a long pattern written as named parts on lines of their own.

/** A pattern from its parts (written with String.raw), joined as they are. */
export const pattern = (flags: string, ...parts: string[]): RegExp => new RegExp(parts.join(''), flags);

/** A group matching any of some alternatives (themselves patterns), e.g. anyOf('hi', 'hello'). */
export const anyOf = (...alternatives: string[]): string => `(?:${alternatives.join('|')})`;
