// calculator: arithmetic, units and common functions through mathjs, in a scope where nothing
// can define functions, import code or reach the host (the documented way to sandbox mathjs).
import { all, create } from 'mathjs';
import { z } from 'zod';
import type { AgentTool } from './types.ts';

const math = create(all);
const evaluate = math.evaluate.bind(math);
const refuse = (name: string) => () => {
  throw new Error(`Function ${name} is disabled`);
};
math.import(
  {
    import: refuse('import'),
    createUnit: refuse('createUnit'),
    evaluate: refuse('evaluate'),
    parse: refuse('parse'),
    simplify: refuse('simplify'),
    derivative: refuse('derivative'),
    compile: refuse('compile'),
    resolve: refuse('resolve'),
    reviver: refuse('reviver'),
  },
  { override: true },
);

export const MAX_EXPRESSION_CHARS = 500;

/** Whether a word names a unit the calculator knows ("km", "miles", "degF"). */
export const isUnitName = (word: string): boolean => math.Unit.isValuelessUnit(word);

export function calculate(expression: string): string {
  if (expression.length > MAX_EXPRESSION_CHARS)
    throw new Error(`The expression is longer than ${MAX_EXPRESSION_CHARS} characters`);
  // Assignments and function definitions are not arithmetic.
  if (/(^|[^=!<>])=(?!=)/.test(expression) || /[{}]|\bfunction\b/.test(expression))
    throw new Error('Only expressions are allowed, no assignments or definitions');
  const value = evaluate(expression, {});
  if (typeof value === 'function') throw new Error('The expression does not produce a value');
  // An exact integer is shown whole ("7006652", not "7.006652e+6"); other values keep 14 digits,
  // in plain notation up to 10^15 ("333333.33333333", not "3.3333333333333e+5").
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return math.format(value, { precision: 14, lowerExp: -9, upperExp: 15 });
}

export function calculatorTool(): AgentTool<{ expression: string }, { expression: string; result: string }> {
  return {
    name: 'calculator',
    description:
      'Evaluate a math expression exactly: arithmetic, percentages, powers, roots, logs, trigonometry, units (e.g. "12.5% * 2400", "sqrt(2)", "5 km to mile").',
    inputSchema: z.object({ expression: z.string().min(1).max(MAX_EXPRESSION_CHARS) }),
    async execute({ expression }) {
      return { expression, result: calculate(expression) };
    },
  };
}
