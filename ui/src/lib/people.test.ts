import { describe, expect, test } from 'vitest';
import type { Role } from './bindings/Role';
import { isPin, mayImport, mayManageUsers, mayViewAlerts, parseWards, roleWord, rolesLine, whoLine } from './people';
import { person } from './testing';

const as = (...roles: Role[]) => person('p', { roles, roleLabels: roles.map(roleWord) });

describe('people', () => {
  test('who is at the window, in words', () => {
    expect(whoLine(person('nina', { displayName: 'Nina Patel', roles: ['nurse'], roleLabels: ['nurse'] }))).toBe('Nina Patel · nurse');
    expect(whoLine(person('x', { displayName: '', roles: ['admin', 'auditor'], roleLabels: [] }))).toBe('x · administrator, auditor');
    expect(rolesLine(person('o', { roles: ['security_officer'], roleLabels: ['security officer'] }))).toBe('security officer');
  });

  test('what the roles let the window offer', () => {
    const check = (roles: Role[], alerts: boolean, imports: boolean, users: boolean) =>
      expect([mayViewAlerts(as(...roles)), mayImport(as(...roles)), mayManageUsers(as(...roles))]).toEqual([alerts, imports, users]);
    check(['nurse'], false, false, false);
    check(['nurse', 'clinician'], true, false, false);
    check(['clinician'], true, false, false);
    check(['security_officer'], true, true, false);
    check(['admin'], true, true, true);
    check(['auditor'], true, false, false);
  });

  test('a PIN is 4 to 8 digits', () => {
    const check = (pin: string, ok: boolean) => expect(isPin(pin)).toBe(ok);
    check('1234', true);
    check('12345678', true);
    check('123', false);
    check('123456789', false);
    check('12a4', false);
    check(' 1234', false);
  });

  test('wards typed with commas', () => {
    expect(parseWards(' icu, ed ,,icu ')).toEqual(['icu', 'ed']);
    expect(parseWards('')).toEqual([]);
  });
});
