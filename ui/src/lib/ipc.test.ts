import { Channel } from '@tauri-apps/api/core';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { IntegrityView } from './bindings/IntegrityView';
import {
  assignDevice,
  deviceDetail,
  integrityStatus,
  inventoryImport,
  inventoryPreview,
  isIpcError,
  listAlerts,
  listenerStatus,
  setClinicalUse,
  stagedQueue,
  subscribeAlerts,
  toIpcError,
  wardDetail,
  wardsOverview,
} from './ipc';
import {
  alert,
  deviceDetail as detailOf,
  deviceRow,
  fakeBackend,
  importPreview,
  overview,
  wardTile,
} from './testing';

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

describe('hospital calls', () => {
  test('wards_overview is sent without arguments', async () => {
    const view = overview([wardTile('icu-1')], { staged: 2 });
    const backend = fakeBackend({ wards_overview: () => view });
    expect(await wardsOverview()).toEqual(view);
    expect(backend.calls).toEqual([{ cmd: 'wards_overview', args: {} }]);
  });

  test('ward_detail is sent with the ward id', async () => {
    const view = { ward: wardTile('icu-1'), devices: [deviceRow('pump-7')] };
    const backend = fakeBackend({ ward_detail: () => view });
    expect(await wardDetail('icu-1')).toEqual(view);
    expect(backend.calls).toEqual([{ cmd: 'ward_detail', args: { ward: 'icu-1' } }]);
  });

  test('device_detail is sent with the device id', async () => {
    const view = detailOf(deviceRow('pump-7'));
    const backend = fakeBackend({ device_detail: () => view });
    expect(await deviceDetail('pump-7')).toEqual(view);
    expect(backend.calls).toEqual([{ cmd: 'device_detail', args: { device: 'pump-7' } }]);
  });

  test('staged_queue is sent without arguments', async () => {
    const queue = { devices: [deviceRow('seen-ip-10.1.2.3', { staged: true, ward: null })], wards: [{ id: 'icu-1', name: 'ICU' }] };
    const backend = fakeBackend({ staged_queue: () => queue });
    expect(await stagedQueue()).toEqual(queue);
    expect(backend.calls).toEqual([{ cmd: 'staged_queue', args: {} }]);
  });

  test('assign_device is sent with device, ward, room, bed and reason', async () => {
    const row = deviceRow('seen-ip-10.1.2.3', { ward: 'icu-1', room: null, bed: '4' });
    const backend = fakeBackend({ assign_device: () => row });
    const got = await assignDevice({ device: 'seen-ip-10.1.2.3', ward: 'icu-1', room: null, bed: '4', reason: 'asset tag checked' });
    expect(got).toEqual(row);
    expect(backend.calls).toEqual([
      { cmd: 'assign_device', args: { device: 'seen-ip-10.1.2.3', ward: 'icu-1', room: null, bed: '4', reason: 'asset tag checked' } },
    ]);
  });

  test('set_clinical_use is sent with useState in camelCase, as Tauri maps it to use_state', async () => {
    const row = deviceRow('pump-7');
    const backend = fakeBackend({ set_clinical_use: () => row });
    expect(await setClinicalUse('pump-7', 'maintenance', 'sent for cleaning')).toEqual(row);
    expect(backend.calls).toEqual([
      { cmd: 'set_clinical_use', args: { device: 'pump-7', useState: 'maintenance', reason: 'sent for cleaning' } },
    ]);
  });

  test('inventory_preview and inventory_import carry the text, format and mapping; the import its file name', async () => {
    const preview = importPreview({ counts: { new: 1, changed: 0, unchanged: 0, conflicting: 0, invalid: 0 } });
    const result = { wardsCreated: 1, devicesWritten: 1, adopted: 0, auditSeq: 42, skipped: 0 };
    const backend = fakeBackend({ inventory_preview: () => preview, inventory_import: () => result });
    expect(await inventoryPreview('a,b\n', 'csv', ['asset_id=Asset Tag'])).toEqual(preview);
    expect(await inventoryImport('a,b\n', 'csv', ['asset_id=Asset Tag'], 'inv.csv')).toEqual(result);
    expect(backend.calls).toEqual([
      { cmd: 'inventory_preview', args: { text: 'a,b\n', format: 'csv', mapping: ['asset_id=Asset Tag'] } },
      { cmd: 'inventory_import', args: { text: 'a,b\n', format: 'csv', mapping: ['asset_id=Asset Tag'], fileName: 'inv.csv' } },
    ]);
  });

  test('a refusal reaches the caller as the IpcError', async () => {
    fakeBackend({
      set_clinical_use: () => {
        throw { code: 'hospital.reason_required', message: 'say why: the reason goes into the audit log' };
      },
    });
    await expect(setClinicalUse('pump-7', 'idle', ' ')).rejects.toEqual({
      code: 'hospital.reason_required',
      message: 'say why: the reason goes into the audit log',
    });
  });
});
