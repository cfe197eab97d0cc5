import { describe, expect, test } from 'vitest';
import type { HealthLevel } from './bindings/HealthLevel';
import type { RowOutcomeKind } from './bindings/RowOutcomeKind';
import type { SeverityLabel } from './bindings/SeverityLabel';
import type { UseStateView } from './bindings/UseStateView';
import {
  auditStateDisplay,
  countOf,
  formatAge,
  formatClock,
  formatCount,
  formatFullTimestamp,
  HEALTH_LEVELS,
  healthDisplay,
  healthRank,
  identityKindLabel,
  importOutcomeDisplay,
  isLifeCritical,
  isSeverityLabel,
  listenerStateDisplay,
  productLine,
  severityDisplay,
  severityLabelOf,
  storeStateDisplay,
  tierDisplay,
  USE_STATES,
  useStateDisplay,
} from './format';

describe('severityLabelOf', () => {
  const check = (severity: number, expected: SeverityLabel) =>
    test(`${severity} -> ${expected}`, () => expect(severityLabelOf(severity)).toBe(expected));
  check(0, 'low');
  check(3, 'low');
  check(4, 'medium');
  check(6, 'medium');
  check(7, 'high');
  check(8, 'high');
  check(9, 'critical');
  check(10, 'critical');
  check(-1, 'low');
  check(11, 'critical');
});

describe('severityDisplay', () => {
  test('each level has its own shape and a word', () => {
    const levels: SeverityLabel[] = ['low', 'medium', 'high', 'critical'];
    const shown = levels.map(severityDisplay);
    expect(shown.map((d) => d.icon)).toEqual(['○', '●', '◆', '▲']);
    expect(shown.map((d) => d.text)).toEqual(['Low', 'Medium', 'High', 'Critical']);
  });

  test('isSeverityLabel accepts only the four levels', () => {
    expect(isSeverityLabel('high')).toBe(true);
    expect(isSeverityLabel('High')).toBe(false);
    expect(isSeverityLabel('toString')).toBe(false);
    expect(isSeverityLabel(7)).toBe(false);
  });
});

describe('time formatting', () => {
  // Built from local fields so the expectation holds in any time zone.
  const local = new Date(2026, 10, 28, 9, 5, 7).toISOString();

  test('formatClock gives local HH:MM:SS with leading zeros', () => {
    expect(formatClock(local)).toBe('09:05:07');
  });

  test('formatFullTimestamp gives the local date, time and offset', () => {
    expect(formatFullTimestamp(local)).toMatch(/^2026-11-28 09:05:07 UTC[+-]\d\d:\d\d$/);
  });

  test('unreadable or missing times are shown as they are, or as a dash', () => {
    expect(formatClock('yesterday')).toBe('yesterday');
    expect(formatClock(null)).toBe('—');
    expect(formatFullTimestamp('')).toBe('—');
  });
});

describe('other display helpers', () => {
  test('listener states have an icon and a word', () => {
    expect(listenerStateDisplay('failed')).toEqual({ icon: '✖', text: 'Failed' });
    expect(listenerStateDisplay('listening').text).toBe('Listening');
  });

  test('productLine joins what is known', () => {
    expect(productLine('Acme', 'Pump')).toBe('Acme · Pump');
    expect(productLine(null, 'Pump')).toBe('Pump');
    expect(productLine(null, null)).toBe('');
  });

  test('formatCount groups thousands', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
  });

  test('countOf picks singular or plural', () => {
    expect(countOf(0, 'record')).toBe('0 records');
    expect(countOf(1, 'record')).toBe('1 record');
    expect(countOf(1200, 'message')).toBe('1,200 messages');
    expect(countOf(2, 'entry', 'entries')).toBe('2 entries');
  });

  test('store and audit states each have their own shape and words', () => {
    expect(storeStateDisplay(true)).toEqual({ icon: '✔', text: 'Storing' });
    expect(storeStateDisplay(false)).toEqual({ icon: '✖', text: 'Not storing' });
    const states = (['verifying', 'verified', 'damaged', 'failed'] as const).map(auditStateDisplay);
    expect(new Set(states.map((d) => d.icon)).size).toBe(4);
    expect(states.map((d) => d.text)).toEqual([
      'Checking the audit log',
      'Intact',
      'Audit log damaged',
      'Could not check the audit log',
    ]);
  });
});

describe('health', () => {
  const check = (level: HealthLevel, icon: string, text: string, tone: string) =>
    test(`${level} -> ${icon} ${text}`, () => expect(healthDisplay(level)).toEqual({ icon, text, tone }));
  check('ok', '✔', 'OK', 'tone-ok');
  check('unknown', '?', 'Not heard from', 'tone-unknown');
  check('watch', '◔', 'Watch', 'tone-watch');
  check('at_risk', '▲', 'At risk', 'tone-at-risk');
  check('compromised_suspected', '✖', 'Compromise suspected', 'tone-compromised');

  test('every level has its own shape and its own colour class', () => {
    const shown = HEALTH_LEVELS.map(healthDisplay);
    expect(new Set(shown.map((d) => d.icon)).size).toBe(HEALTH_LEVELS.length);
    expect(new Set(shown.map((d) => d.tone)).size).toBe(HEALTH_LEVELS.length);
  });

  test('a level this UI does not know still shows a shape and its name', () => {
    expect(healthDisplay('quarantined' as HealthLevel)).toEqual({ icon: '?', text: 'quarantined', tone: 'tone-unknown' });
  });

  test('healthRank orders best to worst, nothing below all', () => {
    expect(HEALTH_LEVELS.map(healthRank)).toEqual([0, 1, 2, 3, 4]);
    expect(healthRank(null)).toBe(-1);
  });
});

describe('clinical use', () => {
  const check = (state: UseStateView, icon: string, text: string) =>
    test(`${state} -> ${icon} ${text}`, () => {
      const d = useStateDisplay(state);
      expect([d.icon, d.text]).toEqual([icon, text]);
    });
  check('in_use', '●', 'In use with a patient');
  check('idle', '○', 'Idle');
  check('maintenance', '⚙', 'In maintenance');
  check('unknown', '◍', 'Unknown — treated as in use');

  test('each state has its own shape', () => {
    expect(new Set(USE_STATES.map((s) => useStateDisplay(s).icon)).size).toBe(4);
  });
});

describe('criticality tiers', () => {
  const check = (tier: string, icon: string, text: string) =>
    test(`${tier} -> ${icon} ${text}`, () => expect(tierDisplay(tier)).toEqual({ icon, text }));
  check('life_sustaining', '●●●●', 'Life-sustaining');
  check('life_supporting', '●●●○', 'Life-supporting');
  check('therapeutic', '●●○○', 'Therapeutic');
  check('diagnostic', '●○○○', 'Diagnostic');
  check('non_clinical', '○○○○', 'Non-clinical');

  test("the backend's label is the word shown", () => {
    expect(tierDisplay('life_sustaining', 'Life sustaining (ventilation)')).toEqual({
      icon: '●●●●',
      text: 'Life sustaining (ventilation)',
    });
    expect(tierDisplay('toString')).toEqual({ icon: '○○○○', text: 'toString' });
  });

  test('life-critical tiers', () => {
    expect(['life_sustaining', 'life_supporting', 'therapeutic', 'diagnostic', 'non_clinical'].map(isLifeCritical)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('import outcomes and identities', () => {
  test('each outcome has its own shape and a word', () => {
    const outcomes: RowOutcomeKind[] = ['new', 'changed', 'unchanged', 'conflict', 'invalid'];
    const shown = outcomes.map(importOutcomeDisplay);
    expect(shown.map((d) => d.text)).toEqual(['New', 'Changed', 'Unchanged', 'Conflict', 'Invalid']);
    expect(new Set(shown.map((d) => d.icon)).size).toBe(5);
  });

  test('identity kinds in words, unknown ones as they are', () => {
    expect(['ip', 'mac', 'hostname', 'eui64', 'serial', 'imei'].map(identityKindLabel)).toEqual([
      'IP address',
      'MAC address',
      'Host name',
      'EUI-64',
      'Serial number',
      'imei',
    ]);
  });
});

describe('formatAge', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');
  const check = (secondsAgo: number, expected: string) =>
    test(`${secondsAgo} s -> ${expected}`, () =>
      expect(formatAge(new Date(now - secondsAgo * 1000).toISOString(), now)).toBe(expected));
  check(0, '0 s ago');
  check(12, '12 s ago');
  check(119, '119 s ago');
  check(120, '2 min ago');
  check(180, '3 min ago');
  check(7199, '119 min ago');
  check(7200, '2 h ago');
  check(172_799, '47 h ago');
  check(172_800, '2 d ago');
  check(86_400 * 30, '30 d ago');
  check(-5, 'in the future');

  test('takes a Date for now, and shows unreadable or missing times as they are', () => {
    expect(formatAge('2026-11-28T09:57:00Z', new Date(now))).toBe('3 min ago');
    expect(formatAge('yesterday', now)).toBe('yesterday');
    expect(formatAge(null, now)).toBe('—');
  });
});
