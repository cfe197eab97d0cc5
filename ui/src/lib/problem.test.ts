import { expect, test } from 'vitest';
import { describeProblem } from './problem';

test('describeProblem makes one plain sentence', () => {
  const check = (message: string, expected: string) =>
    expect(describeProblem({ doing: 'load the recent alerts', error: { code: 'store.locked', message } })).toBe(expected);
  check('database is locked', 'Could not load the recent alerts: database is locked.');
  check('database is locked. ', 'Could not load the recent alerts: database is locked.');
  check('', 'Could not load the recent alerts.');
});
