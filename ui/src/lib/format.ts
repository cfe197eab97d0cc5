// Pure display helpers: times, severities, listener, store and audit states, counts,
// and the hospital's states (health, clinical use, criticality, import outcomes).
import type { AuditCheckState } from './bindings/AuditCheckState';
import type { HealthLevel } from './bindings/HealthLevel';
import type { ListenerState } from './bindings/ListenerState';
import type { RowOutcomeKind } from './bindings/RowOutcomeKind';
import type { SeverityLabel } from './bindings/SeverityLabel';
import type { UseStateView } from './bindings/UseStateView';

export const NO_VALUE = '—';

export interface Display {
  /** A shape that differs per level, so the meaning never rests on colour alone. */
  icon: string;
  /** Plain-language word shown beside the icon. */
  text: string;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local wall-clock time `HH:MM:SS`; the raw text when it cannot be read, `—` when absent. */
export function formatClock(iso: string | null | undefined): string {
  const d = parseTime(iso);
  if (!d) return iso || NO_VALUE;
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Local date and time with the UTC offset, e.g. `2026-11-28 09:05:07 UTC+01:00`. */
export function formatFullTimestamp(iso: string | null | undefined): string {
  const d = parseTime(iso);
  if (!d) return iso || NO_VALUE;
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ` +
    `UTC${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
  );
}

/** Severity 0..10 to its level: low 0-3, medium 4-6, high 7-8, critical 9-10. */
export function severityLabelOf(severity: number): SeverityLabel {
  if (severity >= 9) return 'critical';
  if (severity >= 7) return 'high';
  if (severity >= 4) return 'medium';
  return 'low';
}

const SEVERITY: Record<SeverityLabel, Display> = {
  critical: { icon: '▲', text: 'Critical' },
  high: { icon: '◆', text: 'High' },
  medium: { icon: '●', text: 'Medium' },
  low: { icon: '○', text: 'Low' },
};

export function isSeverityLabel(v: unknown): v is SeverityLabel {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(SEVERITY, v);
}

export function severityDisplay(label: SeverityLabel): Display {
  return SEVERITY[label];
}

const LISTENER_STATE: Record<ListenerState, Display> = {
  listening: { icon: '●', text: 'Listening' },
  starting: { icon: '◌', text: 'Starting' },
  failed: { icon: '✖', text: 'Failed' },
  stopped: { icon: '■', text: 'Stopped' },
};

export function listenerStateDisplay(state: ListenerState): Display {
  return LISTENER_STATE[state] ?? { icon: '?', text: String(state) };
}

const STORE_STATE: Record<'writing' | 'failing', Display> = {
  writing: { icon: '✔', text: 'Storing' },
  failing: { icon: '✖', text: 'Not storing' },
};

export function storeStateDisplay(writing: boolean): Display {
  return STORE_STATE[writing ? 'writing' : 'failing'];
}

const AUDIT_STATE: Record<AuditCheckState, Display> = {
  verifying: { icon: '◌', text: 'Checking the audit log' },
  verified: { icon: '✔', text: 'Intact' },
  damaged: { icon: '▲', text: 'Audit log damaged' },
  failed: { icon: '✖', text: 'Could not check the audit log' },
};

export function auditStateDisplay(state: AuditCheckState): Display {
  return AUDIT_STATE[state] ?? { icon: '?', text: `Audit log: ${String(state)}` };
}

const countFormat = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return countFormat.format(n);
}

/** `1 record`, `2 records`, `1,200 records`: the count with the word in singular or plural. */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** `vendor · product`, or whichever is known, or an empty string. */
export function productLine(vendor: string | null, product: string | null): string {
  return [vendor, product].filter((s): s is string => !!s).join(' · ');
}

// ---- The hospital: health, clinical use, criticality, ages ----

/** A display with a CSS class that sets its colours (`--tone`, `--tone-bg`, `--tone-band`, see app.css). */
export interface Toned extends Display {
  tone: string;
}

const HEALTH: Record<HealthLevel, Toned> = {
  ok: { icon: '✔', text: 'OK', tone: 'tone-ok' },
  unknown: { icon: '?', text: 'Not heard from', tone: 'tone-unknown' },
  watch: { icon: '◔', text: 'Watch', tone: 'tone-watch' },
  at_risk: { icon: '▲', text: 'At risk', tone: 'tone-at-risk' },
  compromised_suspected: { icon: '✖', text: 'Compromise suspected', tone: 'tone-compromised' },
};

/** Best first, as the backend orders them ("worst last"). */
export const HEALTH_LEVELS: readonly HealthLevel[] = ['ok', 'unknown', 'watch', 'at_risk', 'compromised_suspected'];

export function healthDisplay(level: HealthLevel): Toned {
  return HEALTH[level] ?? { icon: '?', text: String(level), tone: 'tone-unknown' };
}

/** 0 for OK up to 4 for a suspected compromise; -1 for anything unknown to this UI. */
export function healthRank(level: HealthLevel | null | undefined): number {
  return level ? HEALTH_LEVELS.indexOf(level) : -1;
}

const USE_STATE: Record<UseStateView, Toned> = {
  in_use: { icon: '●', text: 'In use with a patient', tone: 'use-in-use' },
  idle: { icon: '○', text: 'Idle', tone: 'use-idle' },
  maintenance: { icon: '⚙', text: 'In maintenance', tone: 'use-maintenance' },
  unknown: { icon: '◍', text: 'Unknown — treated as in use', tone: 'use-unknown' },
};

export const USE_STATES: readonly UseStateView[] = ['in_use', 'idle', 'maintenance', 'unknown'];

export function useStateDisplay(state: UseStateView): Toned {
  return USE_STATE[state] ?? { icon: '◍', text: `${String(state)} — treated as in use`, tone: 'use-unknown' };
}

// Filled bars count up with how much a patient depends on the device.
const TIER: Record<string, Display> = {
  life_sustaining: { icon: '●●●●', text: 'Life-sustaining' },
  life_supporting: { icon: '●●●○', text: 'Life-supporting' },
  therapeutic: { icon: '●●○○', text: 'Therapeutic' },
  diagnostic: { icon: '●○○○', text: 'Diagnostic' },
  non_clinical: { icon: '○○○○', text: 'Non-clinical' },
};

/** A criticality tier; the backend's `tierLabel`, when given, is the word shown. */
export function tierDisplay(tier: string, label?: string | null): Display {
  const known = Object.prototype.hasOwnProperty.call(TIER, tier) ? TIER[tier] : undefined;
  return { icon: known?.icon ?? '○○○○', text: label || known?.text || tier };
}

/** Whether the tier is one a patient's life depends on. */
export function isLifeCritical(tier: string): boolean {
  return tier === 'life_sustaining' || tier === 'life_supporting';
}

const IMPORT_OUTCOME: Record<RowOutcomeKind, Display> = {
  new: { icon: '✚', text: 'New' },
  changed: { icon: '✎', text: 'Changed' },
  unchanged: { icon: '=', text: 'Unchanged' },
  conflict: { icon: '▲', text: 'Conflict' },
  invalid: { icon: '✖', text: 'Invalid' },
};

export function importOutcomeDisplay(outcome: RowOutcomeKind): Display {
  return IMPORT_OUTCOME[outcome] ?? { icon: '?', text: String(outcome) };
}

const IDENTITY_KIND: Record<string, string> = {
  ip: 'IP address',
  mac: 'MAC address',
  hostname: 'Host name',
  eui64: 'EUI-64',
  serial: 'Serial number',
};

export function identityKindLabel(kind: string): string {
  return Object.prototype.hasOwnProperty.call(IDENTITY_KIND, kind) ? (IDENTITY_KIND[kind] as string) : kind;
}

/**
 * How long ago `iso` was at `now`, as the backend writes it: `12 s ago`,
 * `3 min ago`, `2 h ago`, `4 d ago`; `in the future` for clock skew, the raw
 * text when it cannot be read, `—` when absent.
 */
export function formatAge(iso: string | null | undefined, now: Date | number): string {
  const d = parseTime(iso);
  if (!d) return iso || NO_VALUE;
  const s = Math.floor((+now - d.getTime()) / 1000);
  if (s < 0) return 'in the future';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}
