// Test helpers: sample payloads and a fake backend on top of `@tauri-apps/api/mocks`.
// Imported by *.test.ts only; never by the app.
import type { Channel } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { AlertView } from './bindings/AlertView';
import type { ListenerView } from './bindings/ListenerView';
import type { RejectedView } from './bindings/RejectedView';
import { severityLabelOf } from './format';

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

// What mockIPC installs on `window`; the package declares no global type for it.
function tauriInternals(): { runCallback(id: number, data: unknown): void } {
  return (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, data: unknown): void } })
    .__TAURI_INTERNALS__;
}

type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeBackend {
  /** Every command invoked, in order, with its arguments. */
  calls: { cmd: string; args: Record<string, unknown> }[];
  count(cmd: string): number;
  /** Sends an event down the channel given to `subscribe_alerts`, as the Rust side does. */
  push(event: AlertStreamEvent): void;
}

/**
 * Answers commands from `handlers`; a handler may throw to make the call reject.
 * `subscribe_alerts` is answered by default and its Channel is kept for `push`.
 * Unknown commands reject with `{ code: "test.unhandled" }`.
 */
export function fakeBackend(handlers: Record<string, Handler>): FakeBackend {
  const calls: FakeBackend['calls'] = [];
  let channel: Channel<AlertStreamEvent> | null = null;
  let index = 0;
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const handler = handlers[cmd];
    if (handler) return handler(args);
    if (cmd === 'subscribe_alerts') {
      channel = args.onEvent as Channel<AlertStreamEvent>;
      index = 0;
      return null;
    }
    throw { code: 'test.unhandled', message: `no handler for ${cmd}` };
  });
  return {
    calls,
    count: (cmd) => calls.filter((c) => c.cmd === cmd).length,
    push(event) {
      if (!channel) throw new Error('subscribe_alerts was not called');
      // Tauri delivers channel messages as callbacks carrying `{ index, message }`.
      tauriInternals().runCallback(channel.id, { index: index++, message: event });
    },
  };
}
