// The one door to the Rust backend: every `invoke` of the UI lives here.
// Each call resolves to a typed value or rejects with an `IpcError`.
import { Channel, invoke, type InvokeArgs } from '@tauri-apps/api/core';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { AlertView } from './bindings/AlertView';
import type { ConsoleInfo } from './bindings/ConsoleInfo';
import type { IntegrityView } from './bindings/IntegrityView';
import type { IpcError } from './bindings/IpcError';
import type { ListenerView } from './bindings/ListenerView';
import type { RejectedView } from './bindings/RejectedView';

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

async function call<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toIpcError(e);
  }
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
