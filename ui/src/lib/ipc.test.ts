import { Channel } from '@tauri-apps/api/core';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { AlertStreamEvent } from './bindings/AlertStreamEvent';
import type { IntegrityView } from './bindings/IntegrityView';
import {
  addUser,
  createFirstAdmin,
  listUsers,
  lock,
  lockedOverview,
  login,
  loginPin,
  logout,
  onSessionLost,
  sessionStatus,
  setPin,
  actOnIncident,
  addMaintenance,
  assignDevice,
  endMaintenance,
  incidentDetail,
  deviceDetail,
  integrityStatus,
  inventoryImport,
  inventoryPreview,
  isIpcError,
  listAlerts,
  listenerStatus,
  listIncidents,
  listMaintenance,
  onOpenIncident,
  setClinicalUse,
  stagedQueue,
  subscribeAlerts,
  toIpcError,
  wardDetail,
  wardsOverview,
  incidentPlaybook,
  openResponses,
  requestResponse,
  responseDetail,
  responseStep,
  tickResponse,
  updateUser,
} from './ipc';
import {
  ADMIN,
  lockedAs,
  loggedOut,
  NURSE,
  OFFICER,
  PASSWORD,
  PIN,
  sessionAs,
  alert,
  deviceDetail as detailOf,
  deviceRow,
  fakeBackend,
  importPreview,
  incidentDetail as incidentDetailOf,
  incidentList,
  incidentRow,
  maintenance,
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

describe('incident calls', () => {
  test('list_incidents is sent with the filter', async () => {
    const list = incidentList([incidentRow(2), incidentRow(1)]);
    const backend = fakeBackend({ list_incidents: () => list });
    const filter = { ward: 'icu-1', priority: 'high' as const, state: null, openOnly: true };
    expect(await listIncidents(filter)).toEqual(list);
    expect(backend.calls).toEqual([{ cmd: 'list_incidents', args: { filter } }]);
  });

  test('incident_detail is sent with the id', async () => {
    const detail = incidentDetailOf(incidentRow(4));
    const backend = fakeBackend({ incident_detail: () => detail });
    expect(await incidentDetail(4)).toEqual(detail);
    expect(backend.calls).toEqual([{ cmd: 'incident_detail', args: { id: 4 } }]);
  });

  test('incident_act is sent with the id and the tagged action, and returns the row', async () => {
    const row = incidentRow(4, { state: 'resolved', outcome: 'false_positive' });
    const backend = fakeBackend({ incident_act: () => row });
    const action = { action: 'resolve' as const, outcome: 'false_positive' as const, reason: 'our scanner' };
    expect(await actOnIncident(4, action)).toEqual(row);
    expect(backend.calls).toEqual([{ cmd: 'incident_act', args: { id: 4, action } }]);
  });

  test('maintenance: list without arguments, add with scope, target, start, end and reason, end with id and reason', async () => {
    const w = maintenance(3);
    const backend = fakeBackend({ list_maintenance: () => [w], add_maintenance: () => w, end_maintenance: () => ({ ...w, active: false }) });
    expect(await listMaintenance()).toEqual([w]);
    await addMaintenance('ward', 'icu-1', '2026-11-28T10:00:00Z', '2026-11-28T12:00:00Z', 'cleaning');
    await endMaintenance(3, 'done early');
    expect(backend.calls).toEqual([
      { cmd: 'list_maintenance', args: {} },
      { cmd: 'add_maintenance', args: { scope: 'ward', target: 'icu-1', start: '2026-11-28T10:00:00Z', end: '2026-11-28T12:00:00Z', reason: 'cleaning' } },
      { cmd: 'end_maintenance', args: { id: 3, reason: 'done early' } },
    ]);
  });

  test('a refusal reaches the caller as the IpcError', async () => {
    fakeBackend({
      incident_act: () => {
        throw { code: 'incident.mute_expiry', message: 'a mute lasts at most 7 days: no mute is indefinite' };
      },
    });
    await expect(actOnIncident(1, { action: 'mute', until: '2027-01-01T00:00:00Z', reason: 'x' })).rejects.toEqual({
      code: 'incident.mute_expiry',
      message: 'a mute lasts at most 7 days: no mute is indefinite',
    });
  });
});

describe('onOpenIncident', () => {
  test('hands over the incident id of each open-incident event until stopped', async () => {
    const backend = fakeBackend({});
    const seen: number[] = [];
    const stop = await onOpenIncident((id) => seen.push(id));
    await backend.emit('open-incident', 12);
    await backend.emit('open-incident', 3);
    await backend.emit('other-event', 99);
    expect(seen).toEqual([12, 3]);
    stop();
    await backend.emit('open-incident', 5);
    expect(seen).toEqual([12, 3]);
  });

  test('ignores a payload that is no id', async () => {
    const backend = fakeBackend({});
    const handler = vi.fn();
    await onOpenIncident(handler);
    await backend.emit('open-incident', 'twelve');
    expect(handler).not.toHaveBeenCalled();
  });
});

describe('people and the seat', () => {
  test('each command is sent with its arguments', async () => {
    const backend = fakeBackend(
      {
        list_users: () => [ADMIN, NURSE],
        add_user: () => NURSE,
        locked_overview: () => overview([wardTile('ed')]),
      },
      { session: loggedOut(), people: [OFFICER, NURSE] },
    );
    expect(await sessionStatus()).toEqual(loggedOut());
    expect(await login('olu', PASSWORD)).toEqual(sessionAs(OFFICER));
    expect(await lock()).toEqual(lockedAs(OFFICER));
    expect((await lockedOverview()).wards.map((w) => w.id)).toEqual(['ed']);
    expect(await logout()).toEqual(loggedOut());
    expect(await loginPin('nina', PIN)).toEqual(sessionAs(NURSE));
    expect((await setPin('1234')).hasPin).toBe(true);
    expect(await listUsers()).toEqual([ADMIN, NURSE]);
    expect(await addUser('nina', 'Nina Patel', ['nurse'], ['ed'], 'nina-password-1')).toEqual(NURSE);
    expect(backend.calls).toEqual([
      { cmd: 'session_status', args: {} },
      { cmd: 'login', args: { username: 'olu', password: PASSWORD } },
      { cmd: 'lock', args: {} },
      { cmd: 'locked_overview', args: {} },
      { cmd: 'logout', args: {} },
      { cmd: 'login_pin', args: { username: 'nina', pin: PIN } },
      { cmd: 'set_pin', args: { pin: '1234' } },
      { cmd: 'list_users', args: {} },
      { cmd: 'add_user', args: { username: 'nina', displayName: 'Nina Patel', roles: ['nurse'], wards: ['ed'], password: 'nina-password-1' } },
    ]);
  });

  test('create_first_admin is sent with the name as people see it', async () => {
    const backend = fakeBackend({}, { session: loggedOut({ needsFirstAdmin: true }) });
    const session = await createFirstAdmin('ada', 'Ada Admin', 'ada-password-e2e-1');
    expect(session.user?.roles).toEqual(['admin']);
    expect(backend.calls).toEqual([
      { cmd: 'create_first_admin', args: { username: 'ada', displayName: 'Ada Admin', password: 'ada-password-e2e-1' } },
    ]);
  });

  test('a command refused for want of a person tells the session handlers, and still rejects', async () => {
    fakeBackend({ wards_overview: () => overview([]) }, { session: lockedAs(OFFICER) });
    const seen = vi.fn();
    const stop = onSessionLost(seen);
    await expect(wardsOverview()).rejects.toEqual({ code: 'auth.session_locked', message: 'The console is locked: unlock it first.' });
    expect(seen).toHaveBeenCalledWith({ code: 'auth.session_locked', message: 'The console is locked: unlock it first.' });
    stop();
    await expect(wardsOverview()).rejects.toMatchObject({ code: 'auth.session_locked' });
    expect(seen).toHaveBeenCalledOnce();
  });

  test('other failures, access.refused among them, do not', async () => {
    fakeBackend({
      wards_overview: () => {
        throw { code: 'access.refused', message: 'Your role (nurse) may not see the alerts: ask a security officer.' };
      },
    });
    const seen = vi.fn();
    const stop = onSessionLost(seen);
    await expect(wardsOverview()).rejects.toMatchObject({ code: 'access.refused' });
    stop();
    expect(seen).not.toHaveBeenCalled();
  });
});

describe('care-safe response and people: argument names as Tauri maps them', () => {
  test.each([
    ['incident_playbook', () => incidentPlaybook(4), { id: 4 }],
    ['request_response', () => requestResponse(4, 'quarantine', 'beacon'), { incidentId: 4, action: 'quarantine', reason: 'beacon' }],
    ['response_step', () => responseStep(7, 'sign_off', 'stable'), { id: 7, step: 'sign_off', reason: 'stable' }],
    ['open_responses', () => openResponses(), {}],
    ['response_detail', () => responseDetail(7), { id: 7 }],
    ['tick_response', () => tickResponse(7, 1), { id: 7, index: 1 }],
    ['update_user', () => updateUser('kim', ['nurse'], ['icu-1'], true), { username: 'kim', roles: ['nurse'], wards: ['icu-1'], disabled: true }],
  ] as const)('%s', async (cmd, send, args) => {
    const backend = fakeBackend({ [cmd]: () => ({ answered: cmd }) });
    expect(await send()).toEqual({ answered: cmd });
    expect(backend.calls).toEqual([{ cmd, args }]);
  });

  test('a refusal reaches the caller as the IpcError', async () => {
    fakeBackend({
      response_step: () => {
        throw { code: 'response.two_person_rule', message: 'you made this request: another person must sign off (two-person rule)' };
      },
    });
    await expect(responseStep(1, 'sign_off', 'x')).rejects.toEqual({
      code: 'response.two_person_rule',
      message: 'you made this request: another person must sign off (two-person rule)',
    });
  });
});
