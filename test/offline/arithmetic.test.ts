// Calculations as people type them, rewritten for the calculator; and its integers shown whole.
import { describe, expect, it } from 'vitest';
import { calculationOf } from '../../src/offline/arithmetic.ts';
import { calculate } from '../../src/tools/calculator.ts';

const result = (q: string) => {
  const c = calculationOf(q);
  return c && calculate(c.expression);
};

describe('calculations as typed', () => {
  it.each([
    ['What is 17% of 2,340?', '397.8'],
    ['what is 12 times 7?', '84'],
    ['sqrt(144)', '12'],
    ['What is the square root of 81?', '9'],
    ['2^10', '1024'],
    ['2 to the power of 16', '65536'],
    ['1234 * 5678', '7006652'],
    ['12 x 3', '36'],
    ['100 ÷ 8', '12.5'],
    ['Convert 5 km to miles', '3.1068559611867 miles'],
    ['100 F in C', '37.777777777778 degC'],
    ['-40 celsius to fahrenheit', '-40 degF'],
    ['How many feet in a mile?', '5280 feet'],
    ['60 mph in km/h', '96.56064 km / h'],
    ['What is 1,000,000 divided by 3?', '333333.33333333'],
  ])('%s = %s', (q, expected) => {
    expect(result(q)).toBe(expected);
  });

  it('leaves questions that are not calculations alone', () => {
    for (const q of [
      'What is 2024?',
      'How long do solar panels last?',
      'Who won the 1987 chess olympiad?',
      'Is 25 years a long time?',
      'What is 3 apples plus 2 apples?',
      'and the 2nd point?',
    ])
      expect(calculationOf(q), q).toBeUndefined();
  });

  it('shows exact integers whole, and keeps 14 digits otherwise', () => {
    expect(calculate('1234 * 5678')).toBe('7006652');
    expect(calculate('2^53 - 1')).toBe('9007199254740991');
    expect(calculate('2^64')).toBe('1.844674407371e+19');
    expect(calculate('1/3')).toBe('0.33333333333333');
  });
});
