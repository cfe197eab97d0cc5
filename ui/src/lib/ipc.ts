// The one door to the Rust backend: every `invoke` of the UI lives here.
// Each call resolves to a typed value or rejects with an `IpcError`.
import { Channel, invoke, type InvokeArgs } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { AlertView } from './bindings/AlertView';
import type { ConsoleInfo } from './bindings/ConsoleInfo';
import type { DeviceDetail } from './bindings/DeviceDetail';
import type { DeviceRow } from './bindings/DeviceRow';
import type { ImportPreview } from './bindings/ImportPreview';
import type { ImportResult } from './bindings/ImportResult';
import type { IncidentAction } from './bindings/IncidentAction';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentFilter } from './bindings/IncidentFilter';
import type { IncidentList } from './bindings/IncidentList';
import type { IncidentRow } from './bindings/IncidentRow';
import type { IntegrityView } from './bindings/IntegrityView';
import type { IpcError } from './bindings/IpcError';
import type { ListenerView } from './bindings/ListenerView';
import type { MaintenanceScope } from './bindings/MaintenanceScope';
import type { MaintenanceView } from './bindings/MaintenanceView';
import type { PlaybookView } from './bindings/PlaybookView';
import type { RejectedView } from './bindings/RejectedView';
import type { ResponseDetailView } from './bindings/ResponseDetailView';
import type { ResponseRequestView } from './bindings/ResponseRequestView';
import type { ResponseStep } from './bindings/ResponseStep';
import type { Role } from './bindings/Role';
import type { SessionView } from './bindings/SessionView';
import type { StagedQueue } from './bindings/StagedQueue';
import type { UserView } from './bindings/UserView';
import type { UseStateView } from './bindings/UseStateView';
import type { WardDetail } from './bindings/WardDetail';
import type { WardsOverview } from './bindings/WardsOverview';
import type { InventoryFormat } from './hospital';

export type { IpcError };

/** Code given to failures that did not come from the backend as an `IpcError`. */
export const UNKNOWN_ERROR_CODE = 'ipc.unknown';

export function isIpcError(e: unknown): e is IpcError {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  return typeof o.code === 'string' && typeof o.message === 'string';
}

/** Any thrown value as an `IpcError`: backend errors pass through, the rest become `ipc.unknown`. */
export function toIpcError(e: unknown): IpcError {
  if (isIpcError(e)) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: UNKNOWN_ERROR_CODE, message: e.message };
  return { code: UNKNOWN_ERROR_CODE, message: String(e) };
}

/** The codes with which any command says the seat is empty or locked: the window must ask who is there. */
export const SESSION_LOST_CODES: readonly string[] = ['auth.required', 'auth.session_locked'];

export function isSessionLost(e: unknown): boolean {
  return isIpcError(e) && SESSION_LOST_CODES.includes(e.code);
}

const sessionLostHandlers = new Set<(error: IpcError) => void>();

/**
 * Calls `handler` each time a command fails because nobody is logged in or
 * the seat is locked (`auth.required`, `auth.session_locked`), whichever part
 * of the window sent it; resolves to the function that stops listening. The
 * failing call still rejects, so its part shows the failure too.
 */
export function onSessionLost(handler: (error: IpcError) => void): () => void {
  sessionLostHandlers.add(handler);
  return () => {
    sessionLostHandlers.delete(handler);
  };
}

async function call<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const error = toIpcError(e);
    if (SESSION_LOST_CODES.includes(error.code)) {
      for (const handler of [...sessionLostHandlers]) handler(error);
    }
    throw error;
  }
}

// ---- People and the seat ----

/**
 * Who holds the window's seat. Does not count as activity for the idle lock,
 * so it can be polled to notice a lock done by the backend.
 */
export function sessionStatus(): Promise<SessionView> {
  return call<SessionView>('session_status');
}

/** Logs in with a password. Rejects with `auth.wrong`, `auth.locked` (the message says until when), `auth.disabled`. */
export function login(username: string, password: string): Promise<SessionView> {
  return call<SessionView>('login', { username, password });
}

/** Unlocks with a PIN. Rejects with `auth.wrong`, or `auth.needs_full_login` when the password is due. */
export function loginPin(username: string, pin: string): Promise<SessionView> {
  return call<SessionView>('login_pin', { username, pin });
}

/** Locks the seat: the person stays logged in, and unlocks with a PIN or the password. */
export function lock(): Promise<SessionView> {
  return call<SessionView>('lock');
}

/** Ends the person's session: the next person starts clean. */
export function logout(): Promise<SessionView> {
  return call<SessionView>('logout');
}

/** Creates the first administrator, while there is none, and logs them in. */
export function createFirstAdmin(username: string, displayName: string, password: string): Promise<SessionView> {
  return call<SessionView>('create_first_admin', { username, displayName, password });
}

/** Every person with an account (an administrator's). */
export function listUsers(): Promise<UserView[]> {
  return call<UserView[]>('list_users');
}

/**
 * Adds a person (an administrator's), recorded in the audit log. Rejects with
 * `person.exists`, `person.nurse_without_ward`, `person.no_role`,
 * `access.password_too_short`, `hospital.unknown_ward`, `access.refused`.
 */
export function addUser(
  username: string,
  displayName: string,
  roles: Role[],
  wards: string[],
  password: string,
): Promise<UserView> {
  return call<UserView>('add_user', { username, displayName, roles, wards, password });
}

/**
 * Changes a person's roles, wards and whether the account is disabled (an
 * administrator's), recorded in the audit log with before and after.
 * Rejects with `person.no_role`, `person.nurse_without_ward`,
 * `person.last_admin` (the last administrator keeps the role),
 * `hospital.unknown_ward`, `access.refused`.
 */
export function updateUser(username: string, roles: Role[], wards: string[], disabled: boolean): Promise<UserView> {
  return call<UserView>('update_user', { username, roles, wards, disabled });
}

/** Sets the PIN (4 to 8 digits) of the person logged in. Rejects with `access.bad_pin`. */
export function setPin(pin: string): Promise<UserView> {
  return call<UserView>('set_pin', { pin });
}

/** Each ward's health and counts without details, for the lock screen. */
export function lockedOverview(): Promise<WardsOverview> {
  return call<WardsOverview>('locked_overview');
}

export function consoleInfo(): Promise<ConsoleInfo> {
  return call<ConsoleInfo>('console_info');
}

/** The newest `limit` stored alerts, newest first. */
export function listAlerts(limit: number): Promise<AlertView[]> {
  return call<AlertView[]>('list_alerts', { limit });
}

/** The newest `limit` messages that could not be read, newest first, kept as they arrived. */
export function listRejected(limit: number): Promise<RejectedView[]> {
  return call<RejectedView[]>('list_rejected', { limit });
}

export function listenerStatus(): Promise<ListenerView[]> {
  return call<ListenerView[]>('listener_status');
}

/** Whether the store is writing, and what the check of the audit log at start found. */
export function integrityStatus(): Promise<IntegrityView> {
  return call<IntegrityView>('integrity_status');
}

export interface AlertSubscription {
  /** Stops delivering events to the handler. The backend has no unsubscribe command. */
  stop(): void;
}

/** Streams each new alert (or a lag notice) to `onEvent` until `stop()` is called. */
export async function subscribeAlerts(
  onEvent: (event: AlertStreamEvent) => void,
): Promise<AlertSubscription> {
  let active = true;
  const channel = new Channel<AlertStreamEvent>((event) => {
    if (active) onEvent(event);
  });
  const stop = () => {
    active = false;
    channel.onmessage = () => {};
  };
  try {
    await call<null>('subscribe_alerts', { onEvent: channel });
  } catch (e) {
    stop();
    throw e;
  }
  return { stop };
}

// ---- The hospital ----

/** Every ward at a glance, and how many devices wait in the staged queue. */
export function wardsOverview(): Promise<WardsOverview> {
  return call<WardsOverview>('wards_overview');
}

/** One ward and its devices, sorted by room, then bed. Rejects with `hospital.unknown_ward`. */
export function wardDetail(ward: string): Promise<WardDetail> {
  return call<WardDetail>('ward_detail', { ward });
}

/** Everything about one device. Rejects with `hospital.unknown_device`. */
export function deviceDetail(device: string): Promise<DeviceDetail> {
  return call<DeviceDetail>('device_detail', { device });
}

/** Devices seen on the network but not in the inventory, and the wards they can go to. */
export function stagedQueue(): Promise<StagedQueue> {
  return call<StagedQueue>('staged_queue');
}

export interface Assignment {
  device: string;
  ward: string;
  /** Blank or `null` when not known. */
  room: string | null;
  bed: string | null;
  /** Required: it goes into the audit log with who made the change. */
  reason: string;
}

/**
 * Confirms a staged device and puts it in a ward; resolves to the device as it
 * is now. Rejects with `hospital.reason_required` when the reason is blank.
 */
export function assignDevice(a: Assignment): Promise<DeviceRow> {
  return call<DeviceRow>('assign_device', { device: a.device, ward: a.ward, room: a.room, bed: a.bed, reason: a.reason });
}

/**
 * Sets a device's clinical-use state by hand, with the reason recorded in
 * the audit log; resolves to the device as it is now.
 */
export function setClinicalUse(device: string, useState: UseStateView, reason: string): Promise<DeviceRow> {
  return call<DeviceRow>('set_clinical_use', { device, useState, reason });
}

/**
 * What importing an inventory file would change, without writing anything
 * (a dry run). `mapping` holds `field=Column Name` overrides.
 */
export function inventoryPreview(text: string, format: InventoryFormat, mapping: string[]): Promise<ImportPreview> {
  return call<ImportPreview>('inventory_preview', { text, format, mapping });
}

/**
 * Imports an inventory file (recorded in the audit log with its file name).
 * Only after a person has seen `inventoryPreview` of the same text.
 */
export function inventoryImport(
  text: string,
  format: InventoryFormat,
  mapping: string[],
  fileName: string,
): Promise<ImportResult> {
  return call<ImportResult>('inventory_import', { text, format, mapping, fileName });
}

// ---- Incidents ----

/** The incidents the filter lets through, high priority first, then the latest; with the counts. */
export function listIncidents(filter: IncidentFilter): Promise<IncidentList> {
  return call<IncidentList>('list_incidents', { filter });
}

/** One incident with its alerts (newest first, at most 200) and its history. Rejects with `incident.unknown`. */
export function incidentDetail(id: number): Promise<IncidentDetail> {
  return call<IncidentDetail>('incident_detail', { id });
}

/**
 * Acknowledges, assigns, comments, silences, mutes, unmutes, resolves or
 * reopens an incident, recorded in the audit log with who did it; resolves to
 * the incident as it is now. Rejects with `incident.reason_required`,
 * `incident.mute_expiry`, `incident.wrong_state`, ...
 */
export function actOnIncident(id: number, action: IncidentAction): Promise<IncidentRow> {
  return call<IncidentRow>('incident_act', { id, action });
}

/** Every maintenance window, the active ones and those ended or past. */
export function listMaintenance(): Promise<MaintenanceView[]> {
  return call<MaintenanceView[]>('list_maintenance');
}

/**
 * Sets a maintenance window on a device or a ward (RFC 3339 start and end,
 * at most 7 days apart), with the reason recorded in the audit log.
 */
export function addMaintenance(
  scope: MaintenanceScope,
  target: string,
  start: string,
  end: string,
  reason: string,
): Promise<MaintenanceView> {
  return call<MaintenanceView>('add_maintenance', { scope, target, start, end, reason });
}

/** Ends a maintenance window now, with the reason recorded in the audit log. */
export function endMaintenance(id: number, reason: string): Promise<MaintenanceView> {
  return call<MaintenanceView>('end_maintenance', { id, reason });
}

// ---- Care-safe response ----

/**
 * An incident's playbook: every action graded on its device as it is now
 * (safest first), the actions not offered and why, and the requests made.
 * Rejects with `response.unknown`.
 */
export function incidentPlaybook(id: number): Promise<PlaybookView> {
  return call<PlaybookView>('incident_playbook', { id });
}

/**
 * A security officer asks for `action` on an incident, with why (required):
 * approved at once when it is safe now, else waiting for its gate. Rejects
 * with `response.reason_required`, `response.refused`, `access.refused`.
 */
export function requestResponse(incidentId: number, action: string, reason: string): Promise<ResponseRequestView> {
  return call<ResponseRequestView>('request_response', { incidentId, action, reason });
}

/**
 * A person's step on a request's gate; the backend checks who may, against
 * the gate the device's state calls for now. Rejects with
 * `response.two_person_rule`, `response.reason_required`,
 * `response.not_permitted`, `response.not_awaiting`, `response.not_needed`,
 * `access.refused`.
 */
export function responseStep(id: number, step: ResponseStep, reason: string): Promise<ResponseRequestView> {
  return call<ResponseRequestView>('response_step', { id, step, reason });
}

/** Requests not finished, oldest first (a nurse gets only her wards'). */
export function openResponses(): Promise<ResponseRequestView[]> {
  return call<ResponseRequestView[]>('open_responses');
}

/** One request with its history. Rejects with `response.unknown`. */
export function responseDetail(id: number): Promise<ResponseDetailView> {
  return call<ResponseDetailView>('response_detail', { id });
}

/**
 * A security officer ticks off step `index` (from 0) of a request's manual
 * checklist; the last one makes it done. Rejects with `response.wrong_state`,
 * `response.not_needed`, `response.unknown`.
 */
export function tickResponse(id: number, index: number): Promise<ResponseRequestView> {
  return call<ResponseRequestView>('tick_response', { id, index });
}

/** The backend event sent when a person clicks a desktop notification; its payload is the incident id. */
export const OPEN_INCIDENT_EVENT = 'open-incident';

/**
 * Calls `handler` with the incident id each time a desktop notification is
 * clicked; resolves to the function that stops listening.
 */
export async function onOpenIncident(handler: (id: number) => void): Promise<() => void> {
  const unlisten = await listen<number>(OPEN_INCIDENT_EVENT, (event) => {
    if (typeof event.payload === 'number') handler(event.payload);
  });
  // Unlistening once the backend is gone (the window closing) fails, harmlessly.
  return () => {
    try {
      const done: unknown = unlisten();
      if (done instanceof Promise) done.catch(() => {});
    } catch {
      // Nothing left to unregister from.
    }
  };
}
