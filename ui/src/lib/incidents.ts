// Pure helpers for the incident screens: priorities as alarm markers and
// words, states, outcomes, counts, the list's filters, what an incident is
// about, mute expiries and maintenance windows.
import type { IncidentFilter } from './bindings/IncidentFilter';
import type { IncidentRow } from './bindings/IncidentRow';
import type { IncidentStateView } from './bindings/IncidentStateView';
import type { MaintenanceScope } from './bindings/MaintenanceScope';
import type { NoticeKind } from './bindings/NoticeKind';
import type { Outcome } from './bindings/Outcome';
import type { Priority } from './bindings/Priority';
import type { WardChoice } from './bindings/WardChoice';
import { countOf, type Display, type Toned } from './format';

// ---- Priority: IEC 60601-1-8 markers (*** high, ** medium, * low) ----

const PRIORITY: Record<Priority, Toned> = {
  high: { icon: '***', text: 'High', tone: 'priority-high' },
  medium: { icon: '**', text: 'Medium', tone: 'priority-medium' },
  low: { icon: '*', text: 'Low', tone: 'priority-low' },
};

/** Highest first, as the backend sorts them. */
export const PRIORITIES: readonly Priority[] = ['high', 'medium', 'low'];

export function isPriority(v: unknown): v is Priority {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(PRIORITY, v);
}

/** The alarm marker, the word and the colour class of a priority. */
export function priorityDisplay(p: Priority): Toned {
  return PRIORITY[p] ?? { icon: '?', text: String(p), tone: 'priority-unknown' };
}

// ---- States and outcomes ----

const STATE: Record<IncidentStateView, Display> = {
  open: { icon: '●', text: 'Open' },
  acknowledged: { icon: '◐', text: 'Acknowledged' },
  resolved: { icon: '✔', text: 'Resolved' },
};

export const INCIDENT_STATES: readonly IncidentStateView[] = ['open', 'acknowledged', 'resolved'];

/** A state's shape and word; the backend's label, when given, is the word shown. */
export function stateDisplay(state: IncidentStateView, label?: string | null): Display {
  const known = STATE[state];
  return { icon: known?.icon ?? '?', text: label?.trim() || known?.text || String(state) };
}

const OUTCOME: Record<Outcome, string> = {
  fixed: 'Fixed',
  false_positive: 'False positive',
  benign: 'Benign',
  accepted_risk: 'Risk accepted',
  duplicate: 'Duplicate',
};

export const OUTCOMES: readonly Outcome[] = ['fixed', 'false_positive', 'benign', 'accepted_risk', 'duplicate'];

export function outcomeLabel(o: Outcome): string {
  return OUTCOME[o] ?? String(o);
}

const NOTICE_ICON: Record<NoticeKind, string> = {
  notified: '✉',
  summarised: '≡',
  suppressed: '⊘',
  none: '—',
};

/** A shape for the notification decision; its words come from the backend. */
export function noticeIcon(kind: NoticeKind): string {
  return NOTICE_ICON[kind] ?? '?';
}

/** `1 alert`, `12,400 alerts`. */
export function alertCount(n: number): string {
  return countOf(n, 'alert');
}

/** What the incident is about, in words: the device, the address, or the signature seen from many sources. */
export function subjectLine(row: Pick<IncidentRow, 'subjectKind' | 'subject' | 'deviceId' | 'deviceLabel'>): string {
  switch (row.subjectKind) {
    case 'device':
      return row.deviceLabel || row.deviceId || row.subject;
    case 'address':
      return `Address ${row.subject}`;
    case 'signature':
      return `From many sources: ${row.subject}`;
    default:
      return row.subject;
  }
}

// ---- The list's filters ----

/** The state choices of the list; `unresolved` (open or acknowledged) is the default. */
export type StateChoice = 'unresolved' | IncidentStateView | 'all';

export const STATE_CHOICES: readonly { value: StateChoice; label: string }[] = [
  { value: 'unresolved', label: 'Open (not resolved)' },
  { value: 'open', label: 'Open, not acknowledged' },
  { value: 'acknowledged', label: 'Acknowledged' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'all', label: 'All' },
];

/** The filter sent to `list_incidents`; blank ward and priority mean any. */
export function toFilter(ward: string, priority: Priority | '', state: StateChoice): IncidentFilter {
  return {
    ward: ward || null,
    priority: priority || null,
    state: state === 'unresolved' || state === 'all' ? null : state,
    openOnly: state === 'unresolved',
  };
}

/**
 * The wards to filter by: the ones given, then any other ward of the
 * incidents (named as the incidents name it), each once, in that order.
 */
export function wardChoices(rows: readonly IncidentRow[], given: readonly WardChoice[] = []): WardChoice[] {
  const out: WardChoice[] = [];
  const seen = new Set<string>();
  const add = (id: string | null, name: string | null) => {
    if (!id || seen.has(id)) return;
    seen.add(id);
    out.push({ id, name: name || id });
  };
  for (const w of given) add(w.id, w.name);
  for (const r of rows) add(r.ward, r.wardName);
  return out;
}

// ---- Mutes and maintenance: always bounded ----

/** The longest mute and maintenance window, in hours (7 days): none is indefinite. */
export const MAX_MUTE_HOURS = 24 * 7;
export const MAX_MAINTENANCE_HOURS = 24 * 7;
/** The longest reason the backend takes. */
export const MAX_REASON = 500;

export const MUTE_CHOICES: readonly { hours: number; label: string }[] = [
  { hours: 1, label: '1 hour' },
  { hours: 4, label: '4 hours' },
  { hours: 8, label: '8 hours' },
  { hours: 24, label: '24 hours' },
  { hours: 72, label: '3 days' },
  { hours: MAX_MUTE_HOURS, label: '7 days' },
];

/** When a mute chosen at `now` for `hours` ends, RFC 3339 UTC; `hours` is kept within 1 h..7 days. */
export function muteUntil(now: Date | number, hours: number): string {
  const h = Math.min(Math.max(hours, 1), MAX_MUTE_HOURS);
  return new Date(+now + h * 3_600_000).toISOString();
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A time as a `datetime-local` input shows it (local time, to the minute). */
export function toLocalInput(d: Date | number): string {
  const t = new Date(+d);
  return `${t.getFullYear()}-${pad2(t.getMonth() + 1)}-${pad2(t.getDate())}T${pad2(t.getHours())}:${pad2(t.getMinutes())}`;
}

/** What a `datetime-local` input holds, as a time; `null` when blank or unreadable. */
export function fromLocalInput(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, sec] = m.map(Number) as number[];
  const t = new Date(y as number, (mo as number) - 1, d, h, mi, sec || 0);
  return Number.isNaN(t.getTime()) ? null : t;
}

/** What is wrong with a maintenance window, one plain phrase each; empty when it can be set. */
export function maintenanceProblems(target: string, start: Date | null, end: Date | null, reason: string): string[] {
  const problems: string[] = [];
  if (!target.trim()) problems.push('choose what is in maintenance');
  if (!start) problems.push('give a start');
  if (!end) problems.push('give an end');
  else if (start && end <= start) problems.push('end after the start');
  else if (start && +end - +start > MAX_MAINTENANCE_HOURS * 3_600_000) problems.push('end at most 7 days after the start');
  if (!reason.trim()) problems.push('give a reason');
  else if (reason.trim().length > MAX_REASON) problems.push(`keep the reason to ${MAX_REASON} characters`);
  return problems;
}

/** A device or ward offered for a maintenance window. */
export interface MaintenanceTarget {
  scope: MaintenanceScope;
  id: string;
  label: string;
}

/** The devices and wards of the incidents, each once, devices first, for the maintenance form. */
export function maintenanceTargets(rows: readonly IncidentRow[]): MaintenanceTarget[] {
  const out: MaintenanceTarget[] = [];
  const seen = new Set<string>();
  const add = (scope: MaintenanceScope, id: string | null, label: string | null) => {
    if (!id || seen.has(`${scope}:${id}`)) return;
    seen.add(`${scope}:${id}`);
    out.push({ scope, id, label: label || id });
  };
  for (const r of rows) add('device', r.deviceId, r.deviceLabel);
  for (const r of rows) add('ward', r.ward, r.wardName);
  return out;
}
