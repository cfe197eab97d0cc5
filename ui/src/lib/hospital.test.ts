import { describe, expect, test } from 'vitest';
import type { HealthReasonView } from './bindings/HealthReasonView';
import { formatFromName, groupByRoom, identityLine, parseMapping, placeLine, topReason } from './hospital';
import { deviceRow } from './testing';

describe('groupByRoom', () => {
  test('one group per room in the order given, devices kept in order', () => {
    const devices = [
      deviceRow('a', { room: '2', bed: '1' }),
      deviceRow('b', { room: '2', bed: '2' }),
      deviceRow('c', { room: '10', bed: '1' }),
      deviceRow('d', { room: null, bed: null }),
      deviceRow('e', { room: ' ', bed: null }),
    ];
    const groups = groupByRoom(devices);
    expect(groups.map((g) => [g.room, g.devices.map((d) => d.id)])).toEqual([
      ['2', ['a', 'b']],
      ['10', ['c']],
      [null, ['d', 'e']],
    ]);
  });

  test('no devices, no groups', () => {
    expect(groupByRoom([])).toEqual([]);
  });
});

describe('topReason', () => {
  const r = (text: string, raisesTo: HealthReasonView['raisesTo']): HealthReasonView => ({ topic: 'incident', raisesTo, text });

  test('the reason raising the health most, the first of equals', () => {
    expect(topReason([r('a', 'watch'), r('b', 'at_risk'), r('c', 'at_risk'), r('d', null)])?.text).toBe('b');
  });

  test('reasons that only explain: the first', () => {
    expect(topReason([r('x', null), r('y', null)])?.text).toBe('x');
    expect(topReason([])).toBeNull();
  });
});

test('identityLine and placeLine say what is known', () => {
  expect(
    identityLine([
      { kind: 'ip', value: '10.1.2.3' },
      { kind: 'mac', value: '00:11:22:33:44:55' },
    ]),
  ).toBe('IP address 10.1.2.3 · MAC address 00:11:22:33:44:55');
  expect(identityLine([])).toBe('');
  expect(placeLine('12', '3')).toBe('Room 12 · Bed 3');
  expect(placeLine(null, '3')).toBe('Bed 3');
  expect(placeLine(null, null)).toBe('');
});

describe('formatFromName', () => {
  const check = (name: string, expected: string) => test(`${name} -> ${expected}`, () => expect(formatFromName(name)).toBe(expected));
  check('inventory.json', 'json');
  check('INVENTORY.JSON', 'json');
  check('inventory.csv', 'csv');
  check('export.txt', 'csv');
  check('json', 'csv');
});

describe('parseMapping', () => {
  test('one field=Column per line, trimmed, blanks and comments skipped', () => {
    expect(parseMapping('asset_id = Asset Tag\n\n# the ward column\nward=Unit\r\n  ip=IP Address  ')).toEqual({
      mapping: ['asset_id=Asset Tag', 'ward=Unit', 'ip=IP Address'],
      problems: [],
    });
    expect(parseMapping('')).toEqual({ mapping: [], problems: [] });
  });

  test('a column name may hold "="', () => {
    expect(parseMapping('serial=S/N = serial').mapping).toEqual(['serial=S/N = serial']);
  });

  test('lines that cannot be read are named with their number', () => {
    expect(parseMapping('asset_id=Tag\nAsset Tag\n=Unit\nward=\ncolour=Colour').problems).toEqual([
      'Line 2: write it as field=Column Name, e.g. asset_id=Asset Tag.',
      'Line 3: write it as field=Column Name, e.g. asset_id=Asset Tag.',
      'Line 4: write it as field=Column Name, e.g. asset_id=Asset Tag.',
      'Line 5: "colour" is not a field of the inventory.',
    ]);
  });
});
