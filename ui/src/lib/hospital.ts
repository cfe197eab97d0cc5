// Pure helpers for the hospital views: grouping a ward's devices, the reason
// that matters most, and reading what a person typed for an inventory import.
import type { DeviceRow } from './bindings/DeviceRow';
import type { HealthReasonView } from './bindings/HealthReasonView';
import type { IdentityView } from './bindings/IdentityView';
import { healthRank, identityKindLabel } from './format';

export interface RoomGroup {
  /** `null` for devices with no room recorded. */
  room: string | null;
  devices: DeviceRow[];
}

/**
 * The devices by room, keeping the order they came in (the backend sorts by
 * room, then bed): one group per room, in order of first appearance.
 */
export function groupByRoom(devices: readonly DeviceRow[]): RoomGroup[] {
  const groups: RoomGroup[] = [];
  const byRoom = new Map<string | null, RoomGroup>();
  for (const d of devices) {
    const room = d.room?.trim() || null;
    let g = byRoom.get(room);
    if (!g) {
      g = { room, devices: [] };
      byRoom.set(room, g);
      groups.push(g);
    }
    g.devices.push(d);
  }
  return groups;
}

/** The reason that raises the health most (the first such), or else the first reason. */
export function topReason(reasons: readonly HealthReasonView[]): HealthReasonView | null {
  let best: HealthReasonView | null = null;
  for (const r of reasons) {
    if (!best || healthRank(r.raisesTo) > healthRank(best.raisesTo)) best = r;
  }
  return best;
}

/** `IP address 10.1.2.3 · MAC address 00:11:22:33:44:55`. */
export function identityLine(ids: readonly IdentityView[]): string {
  return ids.map((i) => `${identityKindLabel(i.kind)} ${i.value}`).join(' · ');
}

/** `Room 12 · Bed 3`, or whichever is known, or an empty string. */
export function placeLine(room: string | null, bed: string | null): string {
  return [room && `Room ${room}`, bed && `Bed ${bed}`].filter(Boolean).join(' · ');
}

export type InventoryFormat = 'csv' | 'json';

/** The format a file name says: `.json` is JSON, anything else is read as CSV. */
export function formatFromName(name: string): InventoryFormat {
  return /\.json$/i.test(name.trim()) ? 'json' : 'csv';
}

/** The inventory fields a column can be mapped to. */
export const MAPPING_FIELDS = [
  'asset_id',
  'kind',
  'manufacturer',
  'model',
  'firmware',
  'site',
  'ward',
  'ward_name',
  'ward_kind',
  'room',
  'bed',
  'ip',
  'mac',
  'hostname',
  'eui64',
  'serial',
  'tier',
  'function',
  'physical_risk',
  'maintenance',
  'patching',
  'vulnerabilities',
] as const;

export interface ParsedMapping {
  /** `field=Column Name` entries, as the backend takes them. */
  mapping: string[];
  /** One sentence per line that could not be read, with its line number. */
  problems: string[];
}

/**
 * Reads one `field=Column Name` per line; blank lines and lines starting
 * with `#` are skipped. Spaces around the field and the column are trimmed.
 */
export function parseMapping(text: string): ParsedMapping {
  const mapping: string[] = [];
  const problems: string[] = [];
  const known: readonly string[] = MAPPING_FIELDS;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const field = eq < 0 ? '' : line.slice(0, eq).trim();
    const column = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (eq < 0 || !field || !column) {
      problems.push(`Line ${i + 1}: write it as field=Column Name, e.g. asset_id=Asset Tag.`);
    } else if (!known.includes(field)) {
      problems.push(`Line ${i + 1}: "${field}" is not a field of the inventory.`);
    } else {
      mapping.push(`${field}=${column}`);
    }
  });
  return { mapping, problems };
}
