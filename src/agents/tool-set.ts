// Tool sets are keyed by names that clients and upstream models choose. A plain object would answer
// `toString`, `constructor` or `hasOwnProperty` from Object.prototype (a model calling `toString`
// would find a tool nobody offered), and assigning `__proto__` would replace its prototype instead
// of adding a tool. So a set has no prototype, and a name is a tool only as an own key. The AI SDK
// looks tools up by plain indexing too (`tools[toolName]`), which a prototype-less set makes safe.
import type { Tool, ToolSet } from 'ai';

export const newToolSet = (): ToolSet => Object.create(null) as ToolSet;

export const hasTool = (set: ToolSet, name: string): boolean => Object.hasOwn(set, name);

export const toolNamed = (set: ToolSet, name: string): Tool | undefined => (hasTool(set, name) ? set[name] : undefined);
