import { Channel } from '@tauri-apps/api/core';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { IntegrityView } from './bindings/IntegrityView';
import { integrityStatus, isIpcError, listAlerts, listenerStatus, subscribeAlerts, toIpcError } from './ipc';
import { alert, fakeBackend } from './testing';

afterEach(() => clearMocks());

describe('isIpcError', () => {
  const check = (value: unknown, expected: boolean) => expect(isIpcError(value)).toBe(expected);

  test('accepts the backend error shape', () => {
    check({ code: 'store.locked', message: 'database is locked' }, true);
    check({ code: 'a', message: '', extra: 1 }, true);
  });

  test('rejects anything else', () => {
    check(null, false);
    check(undefined, false);
    check('store.locked', false);
    check({ code: 'store.locked' }, false);
    check({ message: 'x' }, false);
    check({ code: 1, message: 'x' }, false);
    check(new Error('boom'), false);
  });
});

test('toIpcError keeps backend errors and wraps the rest as ipc.unknown', () => {
  expect(toIpcError({ code: 'c', message: 'm', extra: true })).toEqual({ code: 'c', message: 'm' });
  expect(toIpcError(new TypeError('no backend'))).toEqual({ code: 'ipc.unknown', message: 'no backend' });
  expect(toIpcError('plain text')).toEqual({ code: 'ipc.unknown', message: 'plain text' });
});

describe('calls', () => {
  test('list_alerts is sent with the limit and returns the alerts', async () => {
    const backend = fakeBackend({ list_alerts: () => [alert(2), alert(1)] });
    const got = await listAlerts(200);
    expect(got.map((a) => a.id)).toEqual([2, 1]);
    expect(backend.calls).toEqual([{ cmd: 'list_alerts', args: { limit: 200 } }]);
  });

  test('integrity_status is sent without arguments and returns the store and audit status', async () => {
    const view: IntegrityView = {
      store: { writing: true, since: '2026-11-28T10:00:00Z', error: null, pending: 0, stored: 3 },
      audit: {
        state: 'verified',
        verifiedFrom: 1,
        verifiedThrough: 3,
        archivedThrough: 0,
        checkpoints: 0,
        keyFingerprint: 'ed25519:00',
        damage: null,
        error: null,
      },
    };
    const backend = fakeBackend({ integrity_status: () => view });
    expect(await integrityStatus()).toEqual(view);
    expect(backend.calls).toEqual([{ cmd: 'integrity_status', args: {} }]);
  });

  test('a backend IpcError reaches the caller unchanged', async () => {
    mockIPC(() => Promise.reject({ code: 'store.locked', message: 'database is locked' }));
    await expect(listAlerts(10)).rejects.toEqual({ code: 'store.locked', message: 'database is locked' });
  });

  test('any other failure becomes ipc.unknown', async () => {
    mockIPC(() => Promise.reject('socket closed'));
    await expect(listenerStatus()).rejects.toEqual({ code: 'ipc.unknown', message: 'socket closed' });
  });

  test('with no backend at all the error is still typed', async () => {
    clearMocks();
    const err = await listenerStatus().catch((e: unknown) => e);
    expect(isIpcError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'ipc.unknown' });
  });
});

describe('subscribeAlerts', () => {
  test('passes a Channel as onEvent and delivers what the backend sends', async () => {
    const backend = fakeBackend({});
    const seen: AlertStreamEvent[] = [];
    await subscribeAlerts((e) => seen.push(e));

    expect(backend.calls[0]?.cmd).toBe('subscribe_alerts');
    expect(backend.calls[0]?.args.onEvent).toBeInstanceOf(Channel);

    backend.push({ kind: 'alert', data: alert(7) });
    backend.push({ kind: 'lagged', data: { missed: 3 } });
    expect(seen).toEqual([
      { kind: 'alert', data: alert(7) },
      { kind: 'lagged', data: { missed: 3 } },
    ]);
  });

  test('stop() ends delivery', async () => {
    const backend = fakeBackend({});
    const onEvent = vi.fn();
    const sub = await subscribeAlerts(onEvent);
    sub.stop();
    backend.push({ kind: 'alert', data: alert(1) });
    expect(onEvent).not.toHaveBeenCalled();
  });

  test('a refused subscription rejects with the IpcError', async () => {
    fakeBackend({
      subscribe_alerts: () => {
        throw { code: 'access.denied', message: 'not allowed' };
      },
    });
    await expect(subscribeAlerts(() => {})).rejects.toEqual({ code: 'access.denied', message: 'not allowed' });
  });
});
