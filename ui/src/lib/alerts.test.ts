import { describe, expect, test } from 'vitest';
import { mergeAlerts } from './alerts';
import { alert } from './testing';

const ids = (list: { id: number }[]) => list.map((a) => a.id);

describe('mergeAlerts', () => {
  test('puts a newer alert at the top', () => {
    expect(ids(mergeAlerts([alert(2), alert(1)], [alert(3)]))).toEqual([3, 2, 1]);
  });

  test('shows an id once, keeping the row already shown', () => {
    const shown = [alert(2, { name: 'first copy' }), alert(1)];
    const merged = mergeAlerts(shown, [alert(2, { name: 'second copy' }), alert(2)]);
    expect(ids(merged)).toEqual([2, 1]);
    expect(merged[0]?.name).toBe('first copy');
  });

  test('drops duplicates inside one batch', () => {
    expect(ids(mergeAlerts([], [alert(5), alert(5), alert(4)]))).toEqual([5, 4]);
  });

  test('orders by time received, then by id', () => {
    const t = '2026-11-28T09:00:00Z';
    const merged = mergeAlerts([alert(1, { receivedAt: t })], [alert(9, { receivedAt: '2026-11-28T08:00:00Z' }), alert(2, { receivedAt: t })]);
    expect(ids(merged)).toEqual([2, 1, 9]);
  });

  test('keeps at most `max` rows, dropping the oldest', () => {
    const many = Array.from({ length: 10 }, (_, i) => alert(i + 1));
    expect(ids(mergeAlerts(many, [alert(11)], 3))).toEqual([11, 10, 9]);
  });

  test('leaves its inputs unchanged', () => {
    const current = [alert(1)];
    const incoming = [alert(2)];
    mergeAlerts(current, incoming);
    expect(ids(current)).toEqual([1]);
    expect(ids(incoming)).toEqual([2]);
  });
});
