// Test helpers: sample payloads and a fake backend on top of `@tauri-apps/api/mocks`.
// Imported by *.test.ts only; never by the app.
import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { AlertView } from './bindings/AlertView';
import type { DeviceDetail } from './bindings/DeviceDetail';
import type { DeviceRow } from './bindings/DeviceRow';
import type { HealthLevel } from './bindings/HealthLevel';
import type { ImportPreview } from './bindings/ImportPreview';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentList } from './bindings/IncidentList';
import type { IncidentRow } from './bindings/IncidentRow';
import type { IncidentView } from './bindings/IncidentView';
import type { ListenerView } from './bindings/ListenerView';
import type { MaintenanceView } from './bindings/MaintenanceView';
import type { RejectedView } from './bindings/RejectedView';
import type { SessionView } from './bindings/SessionView';
import type { UserView } from './bindings/UserView';
import type { WardTile } from './bindings/WardTile';
import type { WardsOverview } from './bindings/WardsOverview';
import { HEALTH_LEVELS, severityLabelOf } from './format';

export function alert(id: number, over: Partial<AlertView> = {}): AlertView {
  const severity = over.severity ?? 5;
  return {
    id,
    // One second per id, so a higher id is also a later arrival.
    receivedAt: new Date(Date.UTC(2026, 10, 28, 9, 0, id)).toISOString(),
    eventTime: null,
    sourceAddr: '10.20.0.7:514',
    listener: 'udp://127.0.0.1:5514',
    format: 'cef',
    severity,
    severityLabel: severityLabelOf(severity),
    vendor: 'Acme Medical',
    product: 'InfusionGate',
    eventClass: 'auth',
    name: `Alert ${id}`,
    message: `Message ${id}`,
    srcIp: null,
    dstIp: null,
    srcPort: null,
    dstPort: null,
    proto: null,
    parseMode: 'strict',
    deviations: [],
    srcMac: null,
    dstMac: null,
    dstHostname: null,
    action: null,
    category: null,
    fields: {},
    ...over,
  };
}

export function rejected(id: number, over: Partial<RejectedView> = {}): RejectedView {
  const raw = over.raw ?? `<999>1 - - - - - - bad ${id}`;
  return {
    id,
    receivedAt: new Date(Date.UTC(2026, 10, 28, 9, 0, id)).toISOString(),
    sourceAddr: '10.20.0.9:40000',
    listener: 'tcp://127.0.0.1:5514',
    format: 'rfc5424',
    error: 'rfc5424: priority is over 191 at byte 1',
    raw,
    rawEncoding: 'utf8',
    rawLen: raw.length,
    ...over,
  };
}

export function listener(over: Partial<ListenerView> = {}): ListenerView {
  return {
    url: 'udp://127.0.0.1:5514',
    boundAddr: '127.0.0.1:5514',
    state: 'listening',
    error: null,
    counters: { received: 0, parsed: 0, rejected: 0, oversize: 0, dropped: 0, context: 0, handshake_failed: 0, kernel_dropped: 0, unauthorized: 0, bad_requests: 0, connections: 0, refused: 0 },
    sources: [],
    rejectedByReason: [],
    ...over,
  };
}

/** The time the hospital samples are taken at; ages are counted from here. */
export const NOW = '2026-11-28T10:00:00Z';

/** `NOW` less `seconds`, as RFC 3339. */
export function ago(seconds: number): string {
  return new Date(Date.parse(NOW) - seconds * 1000).toISOString();
}

const HEALTH_LABEL: Record<HealthLevel, string> = {
  ok: 'OK',
  unknown: 'Unknown / not heard from',
  watch: 'Watch',
  at_risk: 'At risk',
  compromised_suspected: 'Compromise suspected',
};

export function incident(id: number, over: Partial<IncidentView> = {}): IncidentView {
  const severity = over.severity ?? 8;
  return {
    id,
    deviceId: 'pump-7',
    condition: 'Repeated failed logins',
    severity,
    severityLabel: severityLabelOf(severity),
    count: 3,
    firstSeen: ago(600),
    lastSeen: ago(180),
    ...over,
  };
}

export function deviceRow(id: string, over: Partial<DeviceRow> = {}): DeviceRow {
  const health = over.health ?? 'ok';
  return {
    id,
    kind: 'infusion_pump',
    kindLabel: 'Infusion pump',
    manufacturer: 'Acme Medical',
    model: 'InfuseOne 3',
    ward: 'icu-1',
    room: '12',
    bed: '1',
    tier: 'life_sustaining',
    tierLabel: 'Life-sustaining',
    clinicalUse: {
      state: 'in_use',
      label: 'In use with a patient',
      source: 'HL7 ORU^R01 with a patient',
      since: ago(180),
      countsAsInUse: true,
    },
    health,
    healthLabel: HEALTH_LABEL[health],
    reasons: [],
    openIncidents: 0,
    staged: false,
    identities: [{ kind: 'ip', value: '10.1.2.7' }],
    lastSeen: ago(30),
    ...over,
  };
}

export function wardTile(id: string, over: Partial<WardTile> = {}): WardTile {
  const worst = over.worst ?? 'ok';
  return {
    id,
    name: `Ward ${id}`,
    site: 'Main',
    kind: 'icu',
    kindLabel: 'Intensive care',
    devices: 4,
    inUse: 2,
    byHealth: [...HEALTH_LEVELS].reverse().map((health) => ({
      health,
      label: HEALTH_LABEL[health],
      count: health === worst ? 4 : 0,
    })),
    worst,
    worstLabel: HEALTH_LABEL[worst],
    worstIncident: null,
    ...over,
  };
}

export function overview(wards: WardTile[], over: Partial<WardsOverview> = {}): WardsOverview {
  return {
    generatedAt: NOW,
    simulated: null,
    wards,
    devices: wards.reduce((n, w) => n + w.devices, 0),
    staged: 0,
    ...over,
  };
}

export function deviceDetail(row: DeviceRow, over: Partial<DeviceDetail> = {}): DeviceDetail {
  return {
    device: row,
    wardName: row.ward ? `Ward ${row.ward}` : null,
    firmware: '3.2.1',
    criticalityExplained:
      'function 10 (life support), physical risk 5 (patient death), maintenance 3 (average); equipment-management number 18',
    factors: { function: 10, physicalRisk: 5, maintenance: 3, emNumber: 18 },
    patching: 'manufacturer',
    patchingLabel: 'patched only by the manufacturer',
    vulnerabilities: [],
    identityHistory: row.identities.map((i) => ({ ...i, from: ago(86_400 * 10), to: null })),
    incidents: [],
    alerts: [],
    ...over,
  };
}

export function importPreview(over: Partial<ImportPreview> = {}): ImportPreview {
  return {
    format: 'csv',
    rows: [],
    counts: { new: 0, changed: 0, unchanged: 0, conflicting: 0, invalid: 0 },
    newWards: [],
    adopted: [],
    ignoredColumns: [],
    untouched: 0,
    report: '',
    ...over,
  };
}

/** An incident of the new incident list: a high one on pump-7 in ICU 1, open, notified. */
export function incidentRow(id: number, over: Partial<IncidentRow> = {}): IncidentRow {
  return {
    id,
    key: `device:pump-7:failed_login:${id}`,
    subjectKind: 'device',
    subject: 'pump-7',
    deviceId: 'pump-7',
    deviceLabel: 'Infusion pump pump-7',
    ward: 'icu-1',
    wardName: 'ICU 1',
    condition: 'failed_login',
    title: 'Repeated failed logins',
    storm: false,
    priority: 'high',
    priorityLabel: 'High',
    score: 0.82,
    reasons: [
      { factor: 'severity', text: 'Severity 8 of 10 (high)' },
      { factor: 'criticality', text: 'The device is life-sustaining' },
    ],
    count: 3,
    firstSeen: ago(600),
    lastSeen: ago(180),
    sources: ['cef · Acme Medical InfusionGate'],
    state: 'open',
    stateLabel: 'Open',
    owner: null,
    assignee: null,
    muted: null,
    silencedUntil: null,
    maintenance: null,
    notice: { kind: 'notified', at: ago(590), text: 'notified at 09:50 to security officer' },
    reopened: 0,
    outcome: null,
    ...over,
  };
}

export function incidentList(rows: IncidentRow[], over: Partial<IncidentList> = {}): IncidentList {
  const unresolved = rows.filter((r) => r.state !== 'resolved');
  return {
    incidents: rows,
    counts: {
      open: rows.filter((r) => r.state === 'open').length,
      acknowledged: rows.filter((r) => r.state === 'acknowledged').length,
      resolved: rows.filter((r) => r.state === 'resolved').length,
      high: unresolved.filter((r) => r.priority === 'high').length,
      medium: unresolved.filter((r) => r.priority === 'medium').length,
      low: unresolved.filter((r) => r.priority === 'low').length,
    },
    ...over,
  };
}

export function incidentDetail(row: IncidentRow, over: Partial<IncidentDetail> = {}): IncidentDetail {
  return {
    incident: row,
    alerts: [],
    history: [],
    clinicalUse: {
      state: 'in_use',
      label: 'In use with a patient',
      source: 'HL7 ORU^R01 with a patient',
      since: ago(900),
      countsAsInUse: true,
    },
    kindLabel: 'Infusion pump',
    tierLabel: 'Life-sustaining',
    room: '12',
    bed: '1',
    ...over,
  };
}

export function maintenance(id: number, over: Partial<MaintenanceView> = {}): MaintenanceView {
  return {
    id,
    scope: 'device',
    target: 'pump-7',
    targetLabel: 'Infusion pump pump-7',
    start: ago(3600),
    end: new Date(Date.parse(NOW) + 3600_000).toISOString(),
    reason: 'firmware update by the vendor',
    createdBy: 'it.officer',
    active: true,
    ended: null,
    ...over,
  };
}

// What mockIPC installs on `window`; the package declares no global type for it.
function tauriInternals(): { runCallback(id: number, data: unknown): void } {
  return (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, data: unknown): void } })
    .__TAURI_INTERNALS__;
}

// ---- People and the seat ----

/** A person with an account: a security officer unless `over` says otherwise. */
export function person(username: string, over: Partial<UserView> = {}): UserView {
  return {
    username,
    displayName: `Person ${username}`,
    roles: ['security_officer'],
    roleLabels: ['security officer'],
    wards: [],
    hasPin: false,
    ...over,
  };
}

export const OFFICER = person('olu', { displayName: 'Olu Officer' });
export const NURSE = person('nina', { displayName: 'Nina Patel', roles: ['nurse'], roleLabels: ['nurse'], wards: ['ed'], hasPin: true });
export const ADMIN = person('ada', { displayName: 'Ada Admin', roles: ['admin'], roleLabels: ['administrator'] });

/** The password and the PIN the fake backend takes for every person it knows. */
export const PASSWORD = 'correct-horse-battery';
export const PIN = '2468';

const IDLE_LOCK_SECS = 600;

/** `user` logged in and working. */
export function sessionAs(user: UserView, over: Partial<SessionView> = {}): SessionView {
  return { user, locked: false, needsFirstAdmin: false, lockedOverview: false, idleLockSecs: IDLE_LOCK_SECS, ...over };
}

/** `user`'s seat, locked. */
export function lockedAs(user: UserView, over: Partial<SessionView> = {}): SessionView {
  return sessionAs(user, { locked: true, ...over });
}

/** Nobody logged in. */
export function loggedOut(over: Partial<SessionView> = {}): SessionView {
  return { user: null, locked: false, needsFirstAdmin: false, lockedOverview: false, idleLockSecs: IDLE_LOCK_SECS, ...over };
}

/** No administrator yet. */
export function needsFirstAdmin(): SessionView {
  return loggedOut({ needsFirstAdmin: true });
}

/** The commands answered whoever holds the seat; every other one needs a person logged in and unlocked. */
const OPEN_COMMANDS = new Set(['session_status', 'login', 'login_pin', 'lock', 'logout', 'create_first_admin', 'locked_overview']);

type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeBackendOptions {
  /** The seat at the start: a security officer (`OFFICER`) logged in unless given. */
  session?: SessionView;
  /** The people `login` and `login_pin` know (with `PASSWORD` and `PIN`); the session's person is added. */
  people?: UserView[];
}

export interface FakeBackend {
  /** Every command invoked, in order, with its arguments. */
  calls: { cmd: string; args: Record<string, unknown> }[];
  count(cmd: string): number;
  /** The seat as the fake backend holds it now. */
  readonly session: SessionView;
  /** Changes the seat, as the backend's idle lock does. */
  setSession(session: SessionView): void;
  /** Sends an event down the channel given to `subscribe_alerts`, as the Rust side does. */
  push(event: AlertStreamEvent): void;
  /** Emits a Tauri event (such as `open-incident`) to the page's listeners, as the Rust side does. */
  emit(event: string, payload: unknown): Promise<void>;
}

/**
 * Answers commands from `handlers`; a handler may throw to make the call reject.
 * `subscribe_alerts` is answered by default and its Channel is kept for `push`.
 * The seat is kept as the backend does (`options.session`, a security officer
 * by default): the session commands are answered by default, and every other
 * command rejects with `auth.required` or `auth.session_locked` while nobody
 * is logged in or the seat is locked, before its handler is asked.
 * Unknown commands reject with `{ code: "test.unhandled" }`. Event listening is
 * mocked too (not recorded in `calls`), for `emit`.
 */
export function fakeBackend(handlers: Record<string, Handler>, options: FakeBackendOptions = {}): FakeBackend {
  const calls: FakeBackend['calls'] = [];
  let channel: Channel<AlertStreamEvent> | null = null;
  let index = 0;
  let session: SessionView = options.session ?? sessionAs(OFFICER);
  const people = new Map<string, UserView>([...(options.people ?? []), ...(session.user ? [session.user] : [])].map((p) => [p.username, p]));
  const wrong = { code: 'auth.wrong', message: 'the user name or the password is wrong' };
  const seat: Record<string, Handler> = {
    // A fresh object on each answer, as from JSON over IPC.
    session_status: () => structuredClone(session),
    login: ({ username, password }) => {
      const who = people.get(String(username));
      if (!who || password !== PASSWORD) throw wrong;
      return (session = sessionAs(who, { lockedOverview: session.lockedOverview, idleLockSecs: session.idleLockSecs }));
    },
    login_pin: ({ username, pin }) => {
      const who = people.get(String(username));
      if (!who || !who.hasPin || pin !== PIN) throw { code: 'auth.wrong', message: 'the user name or the PIN is wrong' };
      return (session = sessionAs(who, { lockedOverview: session.lockedOverview, idleLockSecs: session.idleLockSecs }));
    },
    lock: () => (session = session.user ? { ...session, locked: true } : session),
    logout: () => (session = { ...session, user: null, locked: false }),
    create_first_admin: ({ username, displayName }) => {
      const admin = person(String(username), { displayName: String(displayName), roles: ['admin'], roleLabels: ['administrator'] });
      people.set(admin.username, admin);
      return (session = sessionAs(admin, { idleLockSecs: session.idleLockSecs }));
    },
    set_pin: () => {
      if (!session.user) throw { code: 'auth.required', message: 'Log in first.' };
      const me = { ...session.user, hasPin: true };
      people.set(me.username, me);
      session = { ...session, user: me };
      return me;
    },
  };
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (!OPEN_COMMANDS.has(cmd)) {
      if (!session.user) throw { code: 'auth.required', message: 'Log in first.' };
      if (session.locked) throw { code: 'auth.session_locked', message: 'The console is locked: unlock it first.' };
    }
    const handler = handlers[cmd] ?? seat[cmd];
    if (handler) return handler(args);
    if (cmd === 'subscribe_alerts') {
      channel = args.onEvent as Channel<AlertStreamEvent>;
      index = 0;
      return null;
    }
    throw { code: 'test.unhandled', message: `no handler for ${cmd}` };
  }, { shouldMockEvents: true });
  return {
    calls,
    count: (cmd) => calls.filter((c) => c.cmd === cmd).length,
    get session() {
      return session;
    },
    setSession(next) {
      session = next;
      if (next.user) people.set(next.user.username, next.user);
    },
    push(event) {
      if (!channel) throw new Error('subscribe_alerts was not called');
      // Tauri delivers channel messages as callbacks carrying `{ index, message }`.
      tauriInternals().runCallback(channel.id, { index: index++, message: event });
    },
    emit: (event, payload) => emit(event, payload),
  };
}
