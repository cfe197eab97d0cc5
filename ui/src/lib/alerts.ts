// The live list's rules: newest first, one row per alert id, bounded length.
import type { AlertView } from './bindings/AlertView';

/** Most rows the live list keeps; older ones stay in the store. */
export const MAX_ROWS = 500;

function receivedMs(a: AlertView): number {
  const t = Date.parse(a.receivedAt);
  return Number.isNaN(t) ? -Infinity : t;
}

/** Newest first: by time received, then by id (ids grow in the order alerts are stored). */
export function newestFirst(a: AlertView, b: AlertView): number {
  return receivedMs(b) - receivedMs(a) || b.id - a.id;
}

/**
 * Adds `incoming` to `current`: an id already shown keeps its row, the result is
 * sorted newest first and cut to `max` rows. Neither input is changed.
 */
export function mergeAlerts(
  current: readonly AlertView[],
  incoming: readonly AlertView[],
  max: number = MAX_ROWS,
): AlertView[] {
  const seen = new Set(current.map((a) => a.id));
  const added: AlertView[] = [];
  for (const a of incoming) {
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    added.push(a);
  }
  if (added.length === 0 && current.length <= max) return current as AlertView[];
  return [...added, ...current].sort(newestFirst).slice(0, max);
}
