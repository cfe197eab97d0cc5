import { describe, expect, test } from 'vitest';
import type { SeverityLabel } from './bindings/SeverityLabel';
import {
  auditStateDisplay,
  countOf,
  formatClock,
  formatCount,
  formatFullTimestamp,
  isSeverityLabel,
  listenerStateDisplay,
  productLine,
  severityDisplay,
  severityLabelOf,
  storeStateDisplay,
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
