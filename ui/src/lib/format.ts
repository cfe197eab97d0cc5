// Pure display helpers: times, severities, listener, store and audit states, counts.
import type { AuditCheckState } from './bindings/AuditCheckState';
import type { ListenerState } from './bindings/ListenerState';
import type { SeverityLabel } from './bindings/SeverityLabel';

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
