// The causes of answers missed because the document says them in another form than the question
// (another word form, another language's units, the date in a heading, a related word of a
// follow-up), found on an evaluation set of everyday documents: each test holds one of them fixed,
// next to a question the same text does not answer, which must still find nothing.
import { describe, expect, it } from 'vitest';
import { stem } from '../../src/offline/text.ts';
import { passage, quoted } from '../support/offline-passages.ts';

describe('word forms', () => {
  it('meet a noun of action and its verb ("authenticate", "Authentication")', () => {
    expect(stem('authentication')).toBe(stem('authenticate'));
    expect(stem('rotations')).toBe(stem('rotated'));
    expect(stem('station')).not.toBe(stem('state'));
    const api = passage(
      1,
      'Skyline API — Authentication',
      'Every request must carry an API key in the `X-Api-Key` header. Keys are created in the dashboard.',
    );
    expect(quoted('How do I authenticate with the Skyline API?', [api])).toEqual([
      'Every request must carry an API key in the `X-Api-Key` header.',
    ]);
  });

  it('meet the forms of an Italian, Spanish or Portuguese word ("costa", "costo")', () => {
    expect(stem('costa')).toBe(stem('costo'));
    const course = passage(
      2,
      'Corso di ceramica',
      'Il corso si tiene ogni giovedì dalle 18 alle 20. Il costo è di 90 euro per otto lezioni.',
    );
    expect(quoted('Quanto costa il corso?', [course])).toEqual(['Il costo è di 90 euro per otto lezioni.']);
    // "Quanto" asks for a figure: a sentence without one is no answer to it.
    expect(quoted('Quanto costa il materiale?', [course])).toEqual([]);
  });
});

describe('the shape of an answer in other words than the question', () => {
  it('is a duration in the units of the language asked in ("combien de temps", "cinq à sept jours")', () => {
    const levain = passage(
      3,
      'Préparer le levain',
      "Pour démarrer un levain, on mélange de la farine et de l'eau tiède. " +
        'Au bout de cinq à sept jours, le mélange fait des bulles.',
    );
    expect(quoted('Combien de temps faut-il pour préparer un levain ?', [levain])).toEqual([
      'Au bout de cinq à sept jours, le mélange fait des bulles.',
    ]);
    const game = passage(4, 'Caravela', 'Caravela é um jogo de cartas. Uma partida dura cerca de 30 minutos.');
    expect(quoted('Quanto tempo dura uma partida de Caravela?', [game])).toEqual([
      'Uma partida dura cerca de 30 minutos.',
    ]);
  });

  it('is a duration written as one word with its figure ("two-year")', () => {
    const manual = passage(
      5,
      'Kettle manual — Warranty',
      'The kettle comes with a two-year warranty from the date of purchase. The warranty does not cover limescale.',
    );
    expect(quoted("How long is the kettle's warranty?", [manual])).toEqual([
      'The kettle comes with a two-year warranty from the date of purchase.',
    ]);
  });

  it('is a date or a time of day for "when did it close" ("closed at 21:15")', () => {
    const minutes = passage(
      6,
      'Minutes of the committee meeting',
      'The committee agreed to raise the rent. The meeting closed at 21:15.',
    );
    expect(quoted('When did the meeting close?', [minutes])).toEqual(['The meeting closed at 21:15.']);
    expect(quoted('When did the meeting start?', [minutes])).toEqual([]);
  });

  it('is the date in the heading of the version asked about ("## 2.3.0 — 2026-02-10")', () => {
    const changelog = passage(
      7,
      'Skyline API — Changelog',
      '## Changelog\n\n### 2.3.0 — 2026-02-10\n\n- Added the `lang` parameter.\n\n' +
        '### 2.2.0 — 2025-11-04\n\n- Added the `/alerts` endpoint.',
    );
    expect(quoted('When was Skyline 2.3.0 released?', [changelog])).toEqual([
      '2.3.0 — 2026-02-10: Added the `lang` parameter.',
    ]);
    // A version the changelog does not have is not dated by another's heading.
    expect(quoted('When was Skyline 2.4.0 released?', [changelog])).toEqual([]);
  });
});

describe("a short follow-up's word", () => {
  const spec = passage(
    8,
    'The Lantern Heartbeat Protocol — Interval',
    'The default heartbeat interval is 30 seconds. An implementation MAY allow the interval to be configured. ' +
      'Heartbeat messages are not authenticated, so an attacker on the path can forge them.',
  );
  it('is found said by a related word ("changed" by "configured", "secure" by "authenticated")', () => {
    expect(quoted('Can it be changed?', [spec])).toEqual([
      'An implementation MAY allow the interval to be configured.',
    ]);
    expect(quoted('Is it secure?', [spec])).toEqual([
      'Heartbeat messages are not authenticated, so an attacker on the path can forge them.',
    ]);
    expect(quoted('Is it fast?', [spec])).toEqual([]);
  });

  it('"end" is said by "last", with a date', () => {
    const league = passage(
      9,
      'The Hanseatic League — Decline',
      'From the fifteenth century onward the league lost ground. The last Hanseatic Diet met in 1669, and only a few towns attended.',
    );
    expect(quoted('And when did it end?', [league])).toEqual([
      'The last Hanseatic Diet met in 1669, and only a few towns attended.',
    ]);
  });

  it('is what the question asks, not "what happens"', () => {
    const manual = passage(
      10,
      'Kettle manual — Safety',
      'Do not fill the kettle above the MAX mark: boiling water may spill out of the spout. Never immerse the base in water.',
    );
    expect(quoted('What happens if I fill it?', [manual])).toEqual([
      'Do not fill the kettle above the MAX mark: boiling water may spill out of the spout.',
    ]);
    expect(quoted('What happens if I drop it?', [manual])).toEqual([]);
  });
});
