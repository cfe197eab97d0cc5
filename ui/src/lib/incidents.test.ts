import { describe, expect, test } from 'vitest';
import {
  alertCount,
  fromLocalInput,
  maintenanceProblems,
  maintenanceTargets,
  muteUntil,
  outcomeLabel,
  OUTCOMES,
  priorityDisplay,
  stateDisplay,
  subjectLine,
  toFilter,
  toLocalInput,
  wardChoices,
} from './incidents';
import { incidentRow } from './testing';

describe('priority and state', () => {
  test('priorities carry the alarm markers and words', () => {
    expect(priorityDisplay('high')).toEqual({ icon: '***', text: 'High', tone: 'priority-high' });
    expect(priorityDisplay('medium')).toEqual({ icon: '**', text: 'Medium', tone: 'priority-medium' });
    expect(priorityDisplay('low')).toEqual({ icon: '*', text: 'Low', tone: 'priority-low' });
  });

  test("states: the backend's label wins, else the word of this UI", () => {
    expect(stateDisplay('acknowledged', 'Acknowledged by nurse.a')).toEqual({ icon: '◐', text: 'Acknowledged by nurse.a' });
    expect(stateDisplay('open', '')).toEqual({ icon: '●', text: 'Open' });
    expect(stateDisplay('resolved', null)).toEqual({ icon: '✔', text: 'Resolved' });
  });

  test('every outcome has a label, as the backend words them', () => {
    expect(OUTCOMES.map(outcomeLabel)).toEqual(['Fixed', 'False positive', 'Benign', 'Risk accepted', 'Duplicate']);
  });
});

test.each([
  [0, '0 alerts'],
  [1, '1 alert'],
  [2, '2 alerts'],
  [12_400, '12,400 alerts'],
])('alertCount(%i) is %s', (n, text) => expect(alertCount(n)).toBe(text));

describe('subjectLine', () => {
  const check = (over: Parameters<typeof incidentRow>[1], expected: string) => expect(subjectLine(incidentRow(1, over))).toBe(expected);
  test('a device by its label, else its id', () => {
    check({}, 'Infusion pump pump-7');
    check({ deviceLabel: null }, 'pump-7');
  });
  test('an address or a signature in words', () => {
    check({ subjectKind: 'address', subject: '10.9.9.9', deviceId: null, deviceLabel: null }, 'Address 10.9.9.9');
    check({ subjectKind: 'signature', subject: 'ET SCAN Nmap', deviceId: null, deviceLabel: null }, 'From many sources: ET SCAN Nmap');
  });
});

describe('toFilter', () => {
  test('the default is every unresolved incident', () => {
    expect(toFilter('', '', 'unresolved')).toEqual({ ward: null, priority: null, state: null, openOnly: true });
  });
  test('a ward, a priority and a state', () => {
    expect(toFilter('icu-1', 'high', 'acknowledged')).toEqual({ ward: 'icu-1', priority: 'high', state: 'acknowledged', openOnly: false });
    expect(toFilter('', 'low', 'resolved')).toEqual({ ward: null, priority: 'low', state: 'resolved', openOnly: false });
  });
  test('all is no state and not open only', () => {
    expect(toFilter('', '', 'all')).toEqual({ ward: null, priority: null, state: null, openOnly: false });
  });
});

test('wardChoices: the given wards first, then those of the incidents, each once', () => {
  const rows = [
    incidentRow(1, { ward: 'icu-1', wardName: 'ICU 1' }),
    incidentRow(2, { ward: 'mat-2', wardName: null }),
    incidentRow(3, { ward: null, wardName: null }),
    incidentRow(4, { ward: 'icu-1', wardName: 'ICU 1' }),
  ];
  expect(wardChoices(rows, [{ id: 'er', name: 'Emergency' }])).toEqual([
    { id: 'er', name: 'Emergency' },
    { id: 'icu-1', name: 'ICU 1' },
    { id: 'mat-2', name: 'mat-2' },
  ]);
});

test('maintenanceTargets: devices, then wards, each once', () => {
  const rows = [incidentRow(1), incidentRow(2), incidentRow(3, { subjectKind: 'address', deviceId: null, deviceLabel: null, ward: null })];
  expect(maintenanceTargets(rows)).toEqual([
    { scope: 'device', id: 'pump-7', label: 'Infusion pump pump-7' },
    { scope: 'ward', id: 'icu-1', label: 'ICU 1' },
  ]);
});

describe('muteUntil', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');
  test('now plus the hours chosen, in RFC 3339 UTC', () => {
    expect(muteUntil(now, 1)).toBe('2026-11-28T11:00:00.000Z');
    expect(muteUntil(now, 72)).toBe('2026-12-01T10:00:00.000Z');
    expect(muteUntil(new Date(now), 168)).toBe('2026-12-05T10:00:00.000Z');
  });
  test('never longer than 7 days, never shorter than an hour', () => {
    expect(muteUntil(now, 1000)).toBe('2026-12-05T10:00:00.000Z');
    expect(muteUntil(now, 0)).toBe('2026-11-28T11:00:00.000Z');
  });
});

describe('local date-time inputs', () => {
  test('a time round-trips to the minute', () => {
    const t = new Date(2026, 10, 28, 9, 5, 0);
    expect(toLocalInput(t)).toBe('2026-11-28T09:05');
    expect(fromLocalInput('2026-11-28T09:05')?.getTime()).toBe(t.getTime());
  });
  test('blank or unreadable is null', () => {
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('tomorrow')).toBeNull();
  });
});

describe('maintenanceProblems', () => {
  const start = new Date('2026-11-28T10:00:00Z');
  const hours = (h: number) => new Date(+start + h * 3_600_000);
  const check = (target: string, s: Date | null, e: Date | null, reason: string, expected: string[]) =>
    expect(maintenanceProblems(target, s, e, reason)).toEqual(expected);

  test('a complete window within 7 days is fine', () => check('pump-7', start, hours(4), 'vendor update', []));
  test('everything missing', () => check(' ', null, null, '', ['choose what is in maintenance', 'give a start', 'give an end', 'give a reason']));
  test('the end after the start', () => check('pump-7', start, start, 'x', ['end after the start']));
  test('at most 7 days', () => {
    check('pump-7', start, hours(168), 'x', []);
    check('pump-7', start, hours(169), 'x', ['end at most 7 days after the start']);
  });
  test('a reason of at most 500 characters', () => check('pump-7', start, hours(1), 'x'.repeat(501), ['keep the reason to 500 characters']));
});
