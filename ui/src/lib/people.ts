// People and what their roles let the window offer. The backend checks every
// command against its permission matrix; hiding here is for calm, not security.
import type { Role } from './bindings/Role';
import type { UserView } from './bindings/UserView';

export const ROLES: readonly Role[] = ['nurse', 'clinician', 'security_officer', 'admin', 'auditor'];

const ROLE_WORD: Record<Role, string> = {
  nurse: 'nurse',
  clinician: 'clinician',
  security_officer: 'security officer',
  admin: 'administrator',
  auditor: 'auditor',
};

/** The role in plain words: `security officer`. */
export function roleWord(role: Role): string {
  return ROLE_WORD[role] ?? String(role);
}

/** The roles as the backend words them, else as this UI does: `security officer, auditor`. */
export function rolesLine(user: UserView): string {
  const words = user.roleLabels.length === user.roles.length ? user.roleLabels : user.roles.map(roleWord);
  return words.join(', ');
}

/** `Nina Patel · nurse`: who is at the window, always in view. */
export function whoLine(user: UserView): string {
  return `${user.displayName || user.username} · ${rolesLine(user)}`;
}

const has = (user: UserView, ...roles: Role[]) => user.roles.some((r) => roles.includes(r));

/** The Alerts screen: every role but a nurse alone. */
export function mayViewAlerts(user: UserView): boolean {
  return user.roles.some((r) => r !== 'nurse');
}

/** Importing the inventory: a security officer or an administrator. */
export function mayImport(user: UserView): boolean {
  return has(user, 'security_officer', 'admin');
}

/** The Users screen: an administrator. */
export function mayManageUsers(user: UserView): boolean {
  return has(user, 'admin');
}

/** The shortest password the backend takes. */
export const MIN_PASSWORD = 12;

/** Whether `pin` is 4 to 8 digits. */
export function isPin(pin: string): boolean {
  return /^[0-9]{4,8}$/.test(pin);
}

/** `icu, ed` typed by a person, as ward ids: trimmed, blanks and repeats dropped. */
export function parseWards(text: string): string[] {
  return [...new Set(text.split(',').map((w) => w.trim()).filter(Boolean))];
}
