// Test helpers: sample payloads and a fake backend on top of `@tauri-apps/api/mocks`.
// Imported by *.test.ts only; never by the app.
import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { AlertView } from './bindings/AlertView';
import type { ChecklistItemView } from './bindings/ChecklistItemView';
import type { DeviceDetail } from './bindings/DeviceDetail';
import type { DeviceRow } from './bindings/DeviceRow';
import type { GateView } from './bindings/GateView';
import type { GradedView } from './bindings/GradedView';
import type { GradeView } from './bindings/GradeView';
import type { HealthLevel } from './bindings/HealthLevel';
import type { ImportPreview } from './bindings/ImportPreview';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentList } from './bindings/IncidentList';
import type { IncidentRow } from './bindings/IncidentRow';
import type { IncidentView } from './bindings/IncidentView';
import type { ListenerView } from './bindings/ListenerView';
import type { MaintenanceView } from './bindings/MaintenanceView';
import type { NotOfferedView } from './bindings/NotOfferedView';
import type { PlaybookView } from './bindings/PlaybookView';
import type { PlayView } from './bindings/PlayView';
import type { RejectedView } from './bindings/RejectedView';
import type { RequestStateView } from './bindings/RequestStateView';
import type { ResponseDetailView } from './bindings/ResponseDetailView';
import type { ResponseEventView } from './bindings/ResponseEventView';
import type { ResponseRequestView } from './bindings/ResponseRequestView';
import type { ResponseStep } from './bindings/ResponseStep';
import type { Role } from './bindings/Role';
import type { SessionView } from './bindings/SessionView';
import type { SignView } from './bindings/SignView';
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
    disabled: false,
    ...over,
  };
}

export const OFFICER = person('olu', { displayName: 'Olu Officer' });
export const NURSE = person('nina', { displayName: 'Nina Patel', roles: ['nurse'], roleLabels: ['nurse'], wards: ['ed'], hasPin: true });
export const ADMIN = person('ada', { displayName: 'Ada Admin', roles: ['admin'], roleLabels: ['administrator'] });
/** A clinician: signs off and breaks the glass, on any ward. */
export const CLINICIAN = person('cal', { displayName: 'Dr Cal Reyes', roles: ['clinician'], roleLabels: ['clinician'] });
/** A nurse of ICU 1, the ward of `pump-7` in the response samples. */
export const ICU_NURSE = person('nora', { displayName: 'Nora Quinn', roles: ['nurse'], roleLabels: ['nurse'], wards: ['icu-1'], hasPin: true });

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

const ROLE_ORDER: readonly Role[] = ['nurse', 'clinician', 'security_officer', 'admin', 'auditor'];
const ROLE_LABEL: Record<Role, string> = {
  nurse: 'nurse',
  clinician: 'clinician',
  security_officer: 'security officer',
  admin: 'administrator',
  auditor: 'auditor',
};

function mayManagePeople(user: UserView | null) {
  if (!user?.roles.includes('admin')) {
    throw { code: 'access.refused', message: `Your role (${user?.roleLabels.join(', ') ?? 'none'}) may not manage people: ask an administrator` };
  }
}

/** The commands answered whoever holds the seat; every other one needs a person logged in and unlocked. */
const OPEN_COMMANDS = new Set(['session_status', 'login', 'login_pin', 'lock', 'logout', 'create_first_admin', 'locked_overview']);

/** What a handler knows besides its arguments: who holds the seat (a person, for every command but the seat's own). */
export interface HandlerContext {
  readonly session: SessionView;
  readonly user: UserView | null;
}

export type Handler = (args: Record<string, unknown>, ctx: HandlerContext) => unknown;

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
      if (who.disabled) throw { code: 'auth.disabled', message: 'this account is disabled' };
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
    list_users: (_args, { user }) => {
      mayManagePeople(user);
      return [...people.values()].map((p) => structuredClone(p));
    },
    update_user: ({ username, roles, wards, disabled }, { user }) => {
      mayManagePeople(user);
      const before = people.get(String(username));
      if (!before) throw { code: 'person.unknown', message: `there is no person named ${String(username)}` };
      const newRoles = ROLE_ORDER.filter((r) => (roles as Role[]).includes(r));
      const newWards = [...new Set((wards as string[]).map((w) => w.trim()).filter(Boolean))];
      if (newRoles.length === 0) throw { code: 'person.no_role', message: 'a person needs at least one role' };
      if (newRoles.includes('nurse') && newWards.length === 0) throw { code: 'person.nurse_without_ward', message: 'a nurse covers at least one ward (--ward)' };
      const stillAdmin = newRoles.includes('admin') && !disabled;
      const otherAdmin = [...people.values()].some((p) => p.username !== before.username && p.roles.includes('admin') && !p.disabled);
      if (before.roles.includes('admin') && !stillAdmin && !otherAdmin) {
        throw { code: 'person.last_admin', message: 'the last administrator keeps the role: add another administrator first' };
      }
      const after: UserView = { ...before, roles: newRoles, roleLabels: newRoles.map((r) => ROLE_LABEL[r]), wards: newWards, disabled: Boolean(disabled) };
      people.set(after.username, after);
      if (session.user?.username === after.username) session = { ...session, user: after };
      return structuredClone(after);
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
    if (handler) return handler(args, { session, user: session.user });
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

// ---- Care-safe response: a small model of the backend ----
//
// The shipped catalogue, the grading rules, the playbook's order, the gates
// and who may open them (the two-person rule included), as the Rust side
// has them in `src/response/` and `src/store/responses.rs`, so UI tests go
// through real flows. Devices, incidents and requests live in memory.

/** A device as grading reads it. */
export interface FakeDevice {
  id: string;
  kind: string;
  kindLabel: string;
  tier: 'life_sustaining' | 'life_supporting' | 'therapeutic' | 'diagnostic' | 'non_clinical';
  ward: string | null;
  room: string | null;
  bed: string | null;
  use: 'in_use' | 'idle' | 'unknown' | 'maintenance';
}

export interface FakeIncident {
  id: number;
  /** The incident's condition key: the threat the playbook contains. */
  condition: string;
  /** A device of `devices`, or `null` when the incident names none of the inventory. */
  device: string | null;
  ward: string | null;
}

type Affects = 'none' | 'non_clinical' | 'clinical_data' | 'clinical_function';

interface FakeAction {
  id: string;
  title: string;
  ask: string;
  does: string;
  affects: Affects;
  brief?: boolean;
  handsOver?: boolean;
  target: 'device' | 'network';
  protects: string;
  steps: string[];
  contains: Record<string, number>;
}

/** The shipped response catalogue (`src/response/catalogue.toml`). */
export const FAKE_CATALOGUE: readonly FakeAction[] = [
  {
    id: 'observe',
    title: 'Watch more closely',
    ask: "watch {device}'s traffic more closely",
    does: "Captures the device's traffic and raises logging at the sensors; nothing reaches the device.",
    affects: 'none',
    target: 'network',
    protects: 'Gathers evidence for the next step; contains nothing by itself.',
    steps: ["Turn on full packet capture for the device's addresses at the sensor.", 'Review the capture within the hour.'],
    contains: { '*': 0 },
  },
  {
    id: 'notify_biomed',
    title: 'Tell clinical engineering (biomed)',
    ask: 'ask clinical engineering to check {device}',
    does: 'Tells clinical engineering about the incident, so they can check the device and plan a swap.',
    affects: 'none',
    target: 'device',
    protects: 'Brings the people who know the device and hold the spares.',
    steps: ['Call or page clinical engineering with the incident number.', 'Agree who checks the device and when.'],
    contains: { '*': 0 },
  },
  {
    id: 'open_ticket',
    title: 'Open a ticket',
    ask: 'open a ticket about {device}',
    does: "Opens a ticket in the service desk with the incident's details.",
    affects: 'none',
    target: 'network',
    protects: 'Keeps the follow-up (vendor contact, patch planning) from being lost.',
    steps: ['Open a ticket with the incident number and the device.', 'Note the ticket number on the incident.'],
    contains: { '*': 0 },
  },
  {
    id: 'block_destination',
    title: 'Block the outside address at the firewall',
    ask: 'block the outside address {device} talks to',
    does: "Blocks the external address the device talks to at the gateway or firewall; the device's clinical flows stay inside the hospital and are untouched.",
    affects: 'non_clinical',
    target: 'network',
    protects: 'Cuts command-and-control traffic and data leaving for the outside address.',
    steps: ['Add a deny rule for the external address at the perimeter firewall.', "Check the device's clinical flows are still up at the central station."],
    contains: { 'c2-beacon': 3, 'unknown-cloud': 3, malware: 1, exploit: 1, '*': 0 },
  },
  {
    id: 'rate_limit',
    title: 'Rate-limit the device',
    ask: 'rate-limit {device}',
    does: "Limits the device's non-clinical traffic at the switch; clinical flows are on the allow-list and not limited.",
    affects: 'non_clinical',
    target: 'device',
    protects: 'Slows scanning, password guessing and spreading from the device.',
    steps: ["Apply the rate-limit policy to the device's switch port.", 'Confirm clinical flows are exempt.'],
    contains: { scan: 1, 'brute-force': 1, malware: 1, 'c2-beacon': 1, storm: 1, '*': 0 },
  },
  {
    id: 'restrict_segment',
    title: 'Move to the restricted segment',
    ask: 'move {device} to the restricted network segment',
    does: 'Moves the device to a restricted network segment that keeps its clinical flows (central station, EMR, PACS) open and blocks everything else.',
    affects: 'clinical_data',
    brief: true,
    target: 'device',
    protects: 'Contains the device while care goes on: it can reach only what care needs.',
    steps: ['Move the device to the restricted VLAN (NAC policy).', 'Ask the ward to check the device shows at the central station again.'],
    contains: { '*': 2 },
  },
  {
    id: 'quarantine',
    title: 'Full network quarantine',
    ask: 'cut {device} off the network',
    does: 'Cuts the device off the network entirely, clinical flows included: remote alarms, charting and images stop.',
    affects: 'clinical_data',
    target: 'device',
    protects: 'Stops any threat reaching or leaving the device over the network.',
    steps: ["Quarantine the device's port or address at the NAC.", 'Make sure someone watches the patient at the bedside until it is back.'],
    contains: { '*': 3 },
  },
  {
    id: 'disable_wireless',
    title: 'Turn off its wireless',
    ask: "turn off {device}'s wireless",
    does: "Turns off the device's wireless connection; on a wireless device this cuts all of its network, clinical flows included.",
    affects: 'clinical_data',
    target: 'device',
    protects: 'Stops any threat reaching or leaving the device over wireless.',
    steps: ["Turn off the device's wireless at the controller (or on the device).", 'Make sure someone watches the patient at the bedside until it is back.'],
    contains: { '*': 3 },
  },
  {
    id: 'reboot',
    title: 'Restart the device',
    ask: 'restart {device}',
    does: 'Restarts the device: its therapy or monitoring stops until it is back and set up again.',
    affects: 'clinical_function',
    target: 'device',
    protects: "Clears a threat that lives only in the device's memory.",
    steps: ['Agree the moment with the ward.', 'Restart the device and set it up again.', 'Check it reports to the central station.'],
    contains: { exploit: 1, malware: 1, '*': 0 },
  },
  {
    id: 'patch_firmware',
    title: 'Apply a firmware patch',
    ask: "update {device}'s firmware",
    does: "Installs the manufacturer's validated firmware: the device is out of use while it updates and restarts.",
    affects: 'clinical_function',
    target: 'device',
    protects: 'Closes the vulnerability the threat uses.',
    steps: ['Check the firmware is validated by the manufacturer.', 'Take the device out of use.', 'Install, test and return it to service.'],
    contains: { exploit: 3, malware: 1, '*': 0 },
  },
  {
    id: 'swap_and_remove',
    title: 'Swap for a spare and remove',
    ask: 'swap {device} for a spare and take it away',
    does: 'The ward replaces the device with a spare at the bedside; the device leaves service for investigation.',
    affects: 'clinical_function',
    handsOver: true,
    target: 'device',
    protects: 'Takes the device away from the patient and the network, with care going on on the spare.',
    steps: ['Bring a checked spare to the bedside.', 'Move the patient to the spare (a clinician at the bedside).', 'Remove the device and hand it to clinical engineering.'],
    contains: { '*': 3 },
  },
  {
    id: 'decommission',
    title: 'Decommission',
    ask: 'decommission {device}',
    does: 'Takes the device out of service for good and wipes it.',
    affects: 'clinical_function',
    target: 'device',
    protects: 'Removes a device that cannot be made safe.',
    steps: ['Take the device out of use.', 'Wipe it and remove it from the inventory.'],
    contains: { '*': 3 },
  },
];

const REMOTE_ALARM_KINDS = ['patient_monitor', 'ventilator', 'anaesthesia_machine', 'infusion_pump', 'syringe_pump', 'insulin_pump', 'glucose_monitor', 'nurse_call', 'gateway', 'other'];
const LIFE_SUSTAINING_KINDS = ['ventilator', 'anaesthesia_machine'];
const TIER_LABEL: Record<FakeDevice['tier'], string> = {
  life_sustaining: 'Life-sustaining',
  life_supporting: 'Life-supporting',
  therapeutic: 'Therapeutic',
  diagnostic: 'Diagnostic',
  non_clinical: 'Non-clinical',
};
const GRADE_RANK: Record<GradeView, number> = { safe_now: 0, coordinate: 1, clinician_signoff: 2, not_while_in_use: 3 };
const GRADE_LABEL: Record<GradeView, string> = {
  safe_now: 'Safe now',
  coordinate: 'Coordinate with the ward',
  clinician_signoff: 'Clinician sign-off',
  not_while_in_use: 'Not while in use',
};
const GRADE_MARKER: Record<GradeView, string> = { safe_now: '✓', coordinate: '◐', clinician_signoff: '✋', not_while_in_use: '⛔' };
const GRADE_GATE: Record<GradeView, GateView> = { safe_now: 'none', coordinate: 'ward_ack', clinician_signoff: 'clinician_signoff', not_while_in_use: 'out_of_use' };
const GATE_TEXT: Record<GateView, string> = {
  none: 'none: carried out when requested',
  ward_ack: 'the ward confirms they are covering (a nurse of the ward, or a clinician)',
  clinician_signoff: 'a clinician other than the requester signs off, with a reason',
  out_of_use: 'blocked until the device is taken out of use (swapped for a spare), or a clinician breaks the glass',
};

/** `pump-7`: an infusion pump of ICU 1, life-sustaining, in use with a patient in room 12, bed 1. */
export function fakeDevice(id = 'pump-7', over: Partial<FakeDevice> = {}): FakeDevice {
  return { id, kind: 'infusion_pump', kindLabel: 'Infusion pump', tier: 'life_sustaining', ward: 'icu-1', room: '12', bed: '1', use: 'in_use', ...over };
}

function functionOf(kind: string): string {
  if (['infusion_pump', 'syringe_pump', 'insulin_pump'].includes(kind)) return 'the infusion';
  if (['patient_monitor', 'glucose_monitor'].includes(kind)) return 'the monitoring';
  return (
    { ventilator: 'the ventilation', anaesthesia_machine: 'the anaesthesia', imaging_modality: 'the imaging', lab_analyser: 'the lab results', nurse_call: 'the nurse calls' }[kind] ??
    "the device's work"
  );
}

/** The device and where it is: "infusion pump pump-7 in room 12, bed 1". */
export function fakeDeviceWords(d: FakeDevice): string {
  const where = d.room && d.bed ? ` in room ${d.room}, bed ${d.bed}` : d.bed ? ` in bed ${d.bed}` : d.room ? ` in room ${d.room}` : '';
  return `${d.kindLabel.toLowerCase()} ${d.id}${where}`;
}

function onDevice(a: FakeAction, d: FakeDevice): [GradeView, string[]] {
  const kind = d.kindLabel.toLowerCase();
  const reasons: string[] = [];
  const inUse = d.use === 'in_use' || d.use === 'unknown';
  reasons.push(
    {
      in_use: `The ${kind} is in use with a patient.`,
      unknown: `Nobody knows whether the ${kind} is in use: treated as in use.`,
      idle: `The ${kind} is idle.`,
      maintenance: `The ${kind} is in maintenance.`,
    }[d.use],
  );
  let tier = d.tier;
  if (LIFE_SUSTAINING_KINDS.includes(d.kind) && tier !== 'life_sustaining') {
    reasons.push(`A ${kind} counts as life-sustaining whatever its inventory tier (${TIER_LABEL[tier].toLowerCase()}).`);
    tier = 'life_sustaining';
  }
  const alarms = REMOTE_ALARM_KINDS.includes(d.kind);
  const lifeCritical = tier === 'life_sustaining' || tier === 'life_supporting';
  const say = (g: GradeView, ...text: string[]): [GradeView, string[]] => [g, [...reasons, ...text]];
  if (a.affects === 'clinical_data') {
    if (!inUse) return say('safe_now', "It stops the device's clinical data flows, but no patient relies on them now.");
    if (a.brief) {
      return say('coordinate', 'Its clinical flows stay open but drop for a moment while it moves: the central station may show a communication alarm. The ward must know.');
    }
    if (alarms && lifeCritical) {
      return say(
        'clinician_signoff',
        `Its alarms stop reaching the central station while a ${TIER_LABEL[tier].toLowerCase()} device is in use: a clinician must agree, and someone must watch the patient at the bedside.`,
      );
    }
    if (alarms) return say('coordinate', 'Its remote alarms and charting stop: the ward must watch the patient at the bedside.');
    return say('coordinate', 'Its clinical data (charting, images, results) stops flowing: the ward must know and work around it.');
  }
  if (!inUse) return say('safe_now', `It interrupts ${functionOf(d.kind)}, but no patient is using the ${kind} now.`);
  if (a.handsOver && tier === 'life_sustaining') {
    return say('clinician_signoff', 'The patient moves to a spare at the bedside: for a life-sustaining device a clinician must be there and agree.');
  }
  if (a.handsOver) return say('coordinate', 'The ward swaps it for a spare at the bedside, so care goes on on the spare; the ward confirms the swap.');
  if (tier === 'life_sustaining') {
    return say(
      'not_while_in_use',
      `It would stop a life-sustaining ${kind} while a patient depends on it.`,
      'Blocked: swap it for a spare first (then this is safe), or break glass in an emergency.',
    );
  }
  if (tier === 'non_clinical') return say('coordinate', `The ${kind} has no clinical function, but the ward is using it: agree the moment with them.`);
  return say('clinician_signoff', `It stops ${functionOf(d.kind)} a patient may rely on: a clinician must agree.`);
}

const UNIDENTIFIED: FakeDevice = fakeDevice('unidentified', { kind: 'other', kindLabel: 'Unknown device', tier: 'life_supporting', ward: null, room: null, bed: null, use: 'unknown' });

/** `a` graded on `d` as it is now, as `src/response/grade.rs` does. */
export function fakeGrade(a: FakeAction, d: FakeDevice | null): GradedView {
  let grade: GradeView;
  let reasons: string[];
  if (a.affects === 'none') [grade, reasons] = ['safe_now', ['It does not touch the device or its traffic.']];
  else if (a.affects === 'non_clinical') [grade, reasons] = ['safe_now', ['It affects only non-clinical connectivity: alarms, charting and images keep flowing.']];
  else if (d) [grade, reasons] = onDevice(a, d);
  else if (a.target === 'network') [grade, reasons] = ['safe_now', ["No device of the inventory is involved, so no patient's care goes through it."]];
  else {
    [grade, reasons] = onDevice(a, UNIDENTIFIED);
    reasons.unshift('No device of the inventory is named: treated as an unidentified device, life-supporting and in use.');
  }
  const gate = GRADE_GATE[grade];
  return { action: a.id, title: a.title, affects: a.affects, grade, gradeLabel: GRADE_LABEL[grade], marker: GRADE_MARKER[grade], gate, gateText: GATE_TEXT[gate], reasons };
}

function strength(a: FakeAction, threat: string): number {
  return a.contains[threat] ?? a.contains['*'] ?? 0;
}

function fakeAsk(a: FakeAction, device: string, gate: GateView): string {
  const what = a.ask.replace('{device}', device);
  const then =
    gate === 'none'
      ? 'Nothing is needed from the ward.'
      : gate === 'ward_ack' && a.affects === 'clinical_function'
        ? 'Please swap it for a spare at the bedside, then confirm the ward is covering.'
        : gate === 'ward_ack'
          ? 'Please confirm the ward is covering (watch the patient at the bedside while it happens).'
          : gate === 'clinician_signoff'
            ? 'A clinician must sign off first; someone must watch the patient at the bedside while it happens.'
            : 'It is in use and must not stop: please swap it for a spare first, then confirm it is out of use.';
  return `IT wants to ${what}. ${then}`;
}

function stateLabelOf(state: RequestStateView, gate: GateView): string {
  if (state === 'awaiting_gate') {
    return { ward_ack: 'Waiting for the ward', clinician_signoff: "Waiting for a clinician's sign-off", out_of_use: 'Blocked until the device is out of use', none: 'Waiting' }[gate];
  }
  return {
    approved: 'Approved: being carried out',
    dispatching: 'Being carried out',
    retry_wait: 'Failed: trying again',
    checklist: 'Checklist with people',
    done: 'Done',
    failed: 'Failed',
    timed_out: 'No answer: check whether it happened',
    refused: 'Refused',
    withdrawn: 'Withdrawn',
  }[state];
}

interface FakeRequest {
  id: number;
  incidentId: number;
  device: string | null;
  ward: string | null;
  action: string;
  title: string;
  grade: GradeView;
  gate: GateView;
  reasons: string[];
  requestedBy: string;
  requestedAt: string;
  reason: string;
  state: RequestStateView;
  wardAck: SignView | null;
  signoff: SignView | null;
  breakGlass: SignView | null;
  outOfUse: SignView | null;
  adapter: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastResult: string | null;
  checklist: ChecklistItemView[];
  updatedAt: string;
  events: ResponseEventView[];
}

const OPEN_STATES: readonly RequestStateView[] = ['awaiting_gate', 'approved', 'dispatching', 'retry_wait', 'checklist'];
const FINAL_STATES: readonly RequestStateView[] = ['done', 'failed', 'timed_out', 'refused', 'withdrawn'];

type Operation = 'view_incidents' | 'request_response' | 'confirm_coverage' | 'sign_off_response';
const MATRIX: Record<Role, readonly Operation[]> = {
  nurse: ['view_incidents', 'confirm_coverage'],
  clinician: ['view_incidents', 'confirm_coverage', 'sign_off_response'],
  security_officer: ['view_incidents', 'request_response'],
  admin: ['view_incidents'],
  auditor: ['view_incidents'],
};
const OPERATION_WORDS: Record<Operation, [string, string]> = {
  view_incidents: ['see the incidents', 'a security officer'],
  request_response: ['request response actions', 'a security officer'],
  confirm_coverage: ['confirm ward coverage for a response', 'a nurse of the ward or a clinician'],
  sign_off_response: ['sign off care-disruptive actions', 'a clinician'],
};
const WARD_SCOPED: readonly Operation[] = ['view_incidents', 'confirm_coverage'];

const refusal = (code: string, message: string) => ({ code, message });

/**
 * The permission matrix as `src/access` has it: refused with `access.refused`;
 * a nurse (and no other role that permits it) only on her wards (`ward`
 * `undefined`: no ward check). Returns whether the person is limited to her wards.
 */
function authorize(user: UserView | null, op: Operation, ward?: string | null): boolean {
  if (!user) throw refusal('auth.required', 'Log in first.');
  if (!user.roles.some((r) => MATRIX[r]?.includes(op))) {
    const [what, who] = OPERATION_WORDS[op];
    throw refusal('access.refused', `Your role (${user.roleLabels.join(', ')}) may not ${what}: ask ${who}`);
  }
  const scoped = WARD_SCOPED.includes(op) && !user.roles.some((r) => r !== 'nurse' && MATRIX[r]?.includes(op));
  if (scoped && ward !== undefined && (ward === null || !user.wards.includes(ward))) {
    throw refusal('access.refused', `Ward ${ward ?? 'outside any ward'} is not one of your wards`);
  }
  return scoped;
}

export type DispatchOutcome = 'checklist' | 'done' | 'failed' | 'retry' | 'timed_out';

export interface ResponseWorldOptions {
  /** The devices; `pump-7` (see `fakeDevice`) unless given. */
  devices?: FakeDevice[];
  /** The incidents; incident 4, a beacon to an outside address from `pump-7` in ICU 1, unless given. */
  incidents?: FakeIncident[];
  /** Ward names by id; ICU 1 and the emergency department unless given. */
  wardNames?: Record<string, string>;
}

export interface ResponseWorld {
  /** The response commands, to spread into `fakeBackend`'s handlers. */
  handlers: Record<string, Handler>;
  /** Every request as the backend would send it now, oldest first. */
  readonly requests: ResponseRequestView[];
  device(id: string): FakeDevice;
  /** Changes a device's clinical use, as a bedside feed or a person does. */
  setUse(id: string, use: FakeDevice['use']): void;
  /** A request made by `by` (an officer's user name), past the matrix: for a test's starting point. */
  request(incidentId: number, action: string, reason: string, by?: string): ResponseRequestView;
  /** A step taken by `user`, past the matrix but through the gate rules. */
  step(id: number, step: ResponseStep, reason: string, user: UserView): ResponseRequestView;
  /**
   * The dispatcher's attempt on an approved request (or one due for a retry):
   * a manual checklist (the default), done, failed for good, failed with a
   * retry, or no answer. A request whose gate the device's state shut again
   * waits again instead.
   */
  dispatch(id: number, outcome?: DispatchOutcome): ResponseRequestView;
}

/** A fresh model of the backend's response side. */
export function responseWorld(options: ResponseWorldOptions = {}): ResponseWorld {
  const devices = new Map((options.devices ?? [fakeDevice()]).map((d) => [d.id, { ...d }]));
  const incidents = new Map(
    (options.incidents ?? [{ id: 4, condition: 'c2-beacon', device: 'pump-7', ward: 'icu-1' }]).map((i) => [i.id, i]),
  );
  const wardNames = options.wardNames ?? { 'icu-1': 'ICU 1', ed: 'Emergency department' };
  const requests: FakeRequest[] = [];
  let clock = Date.parse(NOW);
  /** One minute later at each use, so times differ and keep their order. */
  const stamp = () => new Date((clock += 60_000)).toISOString();

  const deviceOf = (id: string | null) => (id ? (devices.get(id) ?? null) : null);
  const actionOf = (id: string) => FAKE_CATALOGUE.find((a) => a.id === id) ?? null;
  const incidentOf = (id: number) => {
    const i = incidents.get(id);
    if (!i) throw refusal('response.unknown', `there is no incident ${id}`);
    return i;
  };
  const requestOf = (id: number) => {
    const r = requests.find((x) => x.id === id);
    if (!r) throw refusal('response.unknown', `there is no response request ${id}`);
    return r;
  };
  const gradedNow = (r: FakeRequest): GradedView => {
    const a = actionOf(r.action);
    if (!a) return { action: r.action, title: r.title, affects: 'clinical_function', grade: r.grade, gradeLabel: GRADE_LABEL[r.grade], marker: GRADE_MARKER[r.grade], gate: r.gate, gateText: GATE_TEXT[r.gate], reasons: r.reasons };
    return fakeGrade(a, deviceOf(r.device));
  };
  const opens = (gate: GateView, r: FakeRequest) =>
    gate === 'none' ||
    !!r.breakGlass ||
    (gate === 'ward_ack' && (!!r.wardAck || !!r.signoff)) ||
    (gate === 'clinician_signoff' && !!r.signoff);
  const settle = (gate: GateView, r: FakeRequest): RequestStateView => (opens(gate, r) ? 'approved' : 'awaiting_gate');
  const event = (r: FakeRequest, at: string, actor: string, kind: string, text: string, reason: string | null = null) => {
    r.events.push({ at, actor, kind, text, reason });
    r.updatedAt = at;
  };

  function view(r: FakeRequest): ResponseRequestView {
    const d = deviceOf(r.device);
    const a = actionOf(r.action);
    const now = gradedNow(r);
    const words = d ? fakeDeviceWords(d) : null;
    const { events: _events, grade, gate, reasons: _reasons, ...rest } = r;
    return structuredClone({
      ...rest,
      deviceWords: words,
      wardName: r.ward ? (wardNames[r.ward] ?? null) : null,
      requestedGrade: grade,
      requestedGate: gate,
      now,
      ask: a ? fakeAsk(a, words ?? 'the device', now.gate) : `IT wants: ${r.title}.`,
      stateLabel: stateLabelOf(r.state, now.gate),
    });
  }

  function playbook(incident: FakeIncident): PlaybookView {
    const d = deviceOf(incident.device);
    const threat = incident.condition;
    const notOffered: NotOfferedView[] = [];
    const graded: { index: number; a: FakeAction; g: GradedView }[] = [];
    FAKE_CATALOGUE.forEach((a, index) => {
      if (a.target === 'device' && !d) {
        notOffered.push({ action: a.id, title: a.title, reason: 'The incident names no device of the inventory to act on.' });
      } else {
        graded.push({ index, a, g: fakeGrade(a, d) });
      }
    });
    graded.sort((x, y) => {
      const [sx, sy] = [strength(x.a, threat), strength(y.a, threat)];
      return GRADE_RANK[x.g.grade] - GRADE_RANK[y.g.grade] || Number(sx === 0) - Number(sy === 0) || sy - sx || x.index - y.index;
    });
    const safer = graded.filter((p) => p.g.grade !== 'not_while_in_use' && strength(p.a, threat) > 0).map((p) => p.a.id);
    const swap = graded.some((p) => p.a.id === 'swap_and_remove' && p.g.grade !== 'not_while_in_use');
    const plays: PlayView[] = graded.map((p, n) => {
      const blocked = p.g.grade === 'not_while_in_use';
      return { order: n + 1, graded: p.g, does: p.a.does, protects: p.a.protects, contains: strength(p.a, threat), instead: blocked ? safer : [], swapFirst: blocked && swap };
    });
    const mine = requests.filter((r) => r.incidentId === incident.id).sort((x, y) => y.id - x.id);
    return { incidentId: incident.id, threat, deviceWords: d ? fakeDeviceWords(d) : null, plays, notOffered, requests: mine.map(view) };
  }

  function create(incidentId: number, action: string, reason: string, by: string): ResponseRequestView {
    const a = actionOf(action);
    if (!a) throw refusal('response.refused', `"${action}" is not an action of the response catalogue`);
    const incident = incidentOf(incidentId);
    const d = deviceOf(incident.device);
    if (a.target === 'device' && !d) throw refusal('response.refused', `${a.title} needs a device, and incident ${incidentId} names none of the inventory`);
    const why = reason.trim();
    if (!why) throw refusal('response.reason_required', 'a reason is required to request an action');
    const g = fakeGrade(a, d);
    const at = stamp();
    const r: FakeRequest = {
      id: requests.reduce((n, x) => Math.max(n, x.id), 0) + 1,
      incidentId,
      device: d?.id ?? null,
      ward: d?.ward ?? incident.ward,
      action: a.id,
      title: a.title,
      grade: g.grade,
      gate: g.gate,
      reasons: g.reasons,
      requestedBy: by,
      requestedAt: at,
      reason: why,
      state: 'awaiting_gate',
      wardAck: null,
      signoff: null,
      breakGlass: null,
      outOfUse: null,
      adapter: 'manual',
      attempts: 0,
      nextAttemptAt: null,
      lastResult: null,
      checklist: [],
      updatedAt: at,
      events: [],
    };
    r.state = settle(g.gate, r);
    event(r, at, by, 'requested', `${a.title} requested: ${g.gradeLabel} (${g.gateText})`, why);
    requests.push(r);
    return view(r);
  }

  /** The gate rules of `src/response/gate.rs`: who may take `step`, checked against the gate now. */
  function check(r: FakeRequest, gate: GateView, step: ResponseStep, user: UserView, reason: string) {
    const ward = r.ward ?? "the device's ward";
    const mine = user.username === r.requestedBy;
    const hasReason = reason.trim() !== '';
    const is = (role: Role) => user.roles.includes(role);
    const speaksFor = is('clinician') || (is('nurse') && r.ward !== null && user.wards.includes(r.ward));
    const notAwaiting = () => refusal('response.not_awaiting', `the request is ${r.state.replace(/_/g, ' ')}, not waiting for anyone`);
    if (step === 'withdraw') {
      if (FINAL_STATES.includes(r.state) || r.state === 'dispatching') throw notAwaiting();
      if (!(mine || is('security_officer'))) throw refusal('response.not_permitted', 'only a security officer may withdraw a request');
      return;
    }
    if (r.state !== 'awaiting_gate') throw notAwaiting();
    if (step === 'acknowledge_ward' || step === 'record_out_of_use') {
      const what = step === 'acknowledge_ward' ? 'confirm the ward is covering' : 'record it out of use';
      if (mine) throw refusal('response.two_person_rule', `you made this request: another person must ${what} (two-person rule)`);
      if (!speaksFor) throw refusal('response.not_permitted', `only a nurse of ${ward} or a clinician may ${what}`);
      if (step === 'acknowledge_ward' && r.wardAck) throw refusal('response.not_needed', 'the ward has already confirmed');
      return;
    }
    if (step === 'sign_off' || step === 'break_glass') {
      const what = step === 'sign_off' ? 'sign off' : 'break the glass';
      if (!is('clinician')) throw refusal('response.not_permitted', `only a clinician may ${what}`);
      if (mine) throw refusal('response.two_person_rule', `you made this request: another person must ${what} (two-person rule)`);
      if (!hasReason) throw refusal('response.reason_required', `a reason is required to ${what}`);
      if (step === 'sign_off' && gate === 'out_of_use') {
        throw refusal('response.not_needed', 'a sign-off cannot open this gate: take the device out of use first, or break the glass');
      }
      return;
    }
    // refuse
    if (!hasReason) throw refusal('response.reason_required', 'a reason is required to refuse');
    const may = gate === 'none' || gate === 'ward_ack' ? speaksFor : is('clinician');
    if (!may) {
      throw gate === 'none' || gate === 'ward_ack'
        ? refusal('response.not_permitted', `only a nurse of ${ward} or a clinician may refuse it`)
        : refusal('response.not_permitted', 'only a clinician may refuse it');
    }
  }

  function step(id: number, s: ResponseStep, reason: string, user: UserView): ResponseRequestView {
    const r = requestOf(id);
    const gate = gradedNow(r).gate;
    check(r, gate, s, user, reason);
    const why = reason.trim();
    const at = stamp();
    const sign: SignView = { by: user.username, reason: why, at };
    if (s === 'record_out_of_use') {
      if (!why) throw refusal('response.reason_required', 'a reason is required to record it out of use');
      const d = deviceOf(r.device);
      if (!d) throw refusal('response.not_needed', 'the request names no device');
      d.use = 'maintenance';
      r.outOfUse = sign;
      event(r, at, user.username, 'out_of_use', `${d.id} taken out of use by ${user.username}`, why);
      // Graded again on the device now out of use.
      const now = gradedNow(r);
      const state = settle(now.gate, r);
      if (state !== r.state) {
        r.state = state;
        const text = `the device was taken out of use; the action is now ${now.gradeLabel.toLowerCase()}`;
        event(r, at, 'console', state === 'approved' ? 'approved' : 'waiting again', `${state === 'approved' ? 'approved' : 'waiting again'}: ${text}`);
      }
      return view(r);
    }
    const words: Record<Exclude<ResponseStep, 'record_out_of_use'>, [string, string]> = {
      acknowledge_ward: ['acknowledged', 'ward covering'],
      sign_off: ['signed_off', 'signed off'],
      break_glass: ['break_glass', 'BREAK-GLASS: approved as an emergency'],
      refuse: ['refused', 'refused'],
      withdraw: ['withdrawn', 'withdrawn'],
    };
    const [kind, verb] = words[s];
    if (s === 'acknowledge_ward') r.wardAck = sign;
    if (s === 'sign_off') r.signoff = sign;
    if (s === 'break_glass') r.breakGlass = sign;
    r.state = s === 'refuse' ? 'refused' : s === 'withdraw' ? 'withdrawn' : settle(gate, r);
    event(r, at, user.username, kind, `${verb} by ${user.username}${r.state === 'approved' ? '; approved' : ''}`, why || null);
    return view(r);
  }

  function dispatch(id: number, outcome: DispatchOutcome = 'checklist'): ResponseRequestView {
    const r = requestOf(id);
    if (r.state !== 'approved' && r.state !== 'retry_wait') throw new Error(`request ${id} is ${r.state}: nothing to dispatch`);
    const at = stamp();
    if (!opens(gradedNow(r).gate, r)) {
      r.state = 'awaiting_gate';
      event(r, at, 'console', 'waiting again', "waiting again: the device's state changed");
      return view(r);
    }
    r.attempts += 1;
    const a = actionOf(r.action);
    if (outcome === 'checklist') {
      r.state = 'checklist';
      r.checklist = (a?.steps.length ? a.steps : [`Carry out: ${r.title}`]).map((text) => ({ text, doneBy: null, doneAt: null }));
      r.lastResult = 'checklist handed to people';
    } else if (outcome === 'done') {
      r.state = 'done';
      r.lastResult = 'done: rule added at the firewall';
    } else if (outcome === 'retry') {
      r.state = 'retry_wait';
      r.nextAttemptAt = new Date(clock + 30_000).toISOString();
      r.lastResult = `attempt ${r.attempts} failed: connection refused; next at ${r.nextAttemptAt.slice(11, 19)} UTC`;
    } else if (outcome === 'failed') {
      r.state = 'failed';
      r.lastResult = `failed after ${r.attempts} attempt(s): the firewall refused the rule`;
    } else {
      r.state = 'timed_out';
      r.lastResult = 'no answer within 10000 ms: it may have happened; check before asking again';
    }
    event(r, at, 'console', r.state, r.lastResult);
    return view(r);
  }

  function tick(id: number, index: number, actor: string): ResponseRequestView {
    const r = requestOf(id);
    if (r.state !== 'checklist') throw refusal('response.wrong_state', `request ${id} is ${r.state}: it has no checklist open`);
    const item = r.checklist[index];
    if (!item) throw refusal('response.unknown', `the checklist of request ${id} has no step ${index + 1}`);
    if (item.doneBy) throw refusal('response.not_needed', 'that step is already ticked off');
    const at = stamp();
    item.doneBy = actor;
    item.doneAt = at;
    event(r, at, actor, 'ticked', `step ${index + 1} ticked off: ${item.text}`);
    if (r.checklist.every((c) => c.doneBy)) {
      r.state = 'done';
      event(r, at, actor, 'done', 'done: every step ticked off');
    }
    return view(r);
  }

  const wardOfRequest = (id: number) => requestOf(id).ward;
  const STEP_OPERATION: Record<ResponseStep, Operation> = {
    acknowledge_ward: 'confirm_coverage',
    record_out_of_use: 'confirm_coverage',
    refuse: 'confirm_coverage',
    sign_off: 'sign_off_response',
    break_glass: 'sign_off_response',
    withdraw: 'request_response',
  };

  const handlers: Record<string, Handler> = {
    incident_playbook: ({ id }, { user }) => {
      const incident = incidentOf(Number(id));
      authorize(user, 'view_incidents', incident.ward);
      return playbook(incident);
    },
    request_response: ({ incidentId, action, reason }, { user }) => {
      authorize(user, 'request_response');
      return create(Number(incidentId), String(action), String(reason ?? ''), (user as UserView).username);
    },
    response_step: ({ id, step: s, reason }, { user }) => {
      const which = s as ResponseStep;
      if (!(which in STEP_OPERATION)) throw refusal('ipc.bad_args', `unknown variant \`${String(s)}\``);
      authorize(user, STEP_OPERATION[which], wardOfRequest(Number(id)));
      return step(Number(id), which, String(reason ?? ''), user as UserView);
    },
    open_responses: (_args, { user }) => {
      const scoped = authorize(user, 'view_incidents');
      return requests
        .filter((r) => OPEN_STATES.includes(r.state))
        .filter((r) => !scoped || (r.ward !== null && (user as UserView).wards.includes(r.ward)))
        .sort((x, y) => x.id - y.id)
        .map(view);
    },
    response_detail: ({ id }, { user }) => {
      const r = requestOf(Number(id));
      authorize(user, 'view_incidents', r.ward);
      return { request: view(r), events: structuredClone(r.events) } satisfies ResponseDetailView;
    },
    tick_response: ({ id, index }, { user }) => {
      authorize(user, 'request_response');
      return tick(Number(id), Number(index), (user as UserView).username);
    },
  };

  return {
    handlers,
    get requests() {
      return [...requests].sort((x, y) => x.id - y.id).map(view);
    },
    device(id) {
      const d = devices.get(id);
      if (!d) throw new Error(`no device ${id}`);
      return d;
    },
    setUse(id, use) {
      this.device(id).use = use;
    },
    request: (incidentId, action, reason, by = OFFICER.username) => create(incidentId, action, reason, by),
    step,
    dispatch,
  };
}
