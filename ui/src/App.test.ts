import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import App from './App.svelte';
import {
  ADMIN,
  alert,
  CLINICIAN,
  ICU_NURSE,
  responseWorld,
  deviceDetail,
  deviceRow,
  fakeBackend,
  incidentDetail,
  incidentList,
  incidentRow,
  listener,
  lockedAs,
  loggedOut,
  needsFirstAdmin,
  NURSE,
  OFFICER,
  overview,
  PASSWORD,
  PIN,
  sessionAs,
  wardTile,
} from './lib/testing';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const info = { version: '0.1.0', dataDir: '/var/lib/wardwatch', simulated: true, scenario: 'night-shift' };
const integrity = {
  store: { writing: true, since: '2026-11-28T10:00:00Z', error: null, pending: 0, stored: 0 },
  audit: { state: 'verified', verifiedFrom: 1, verifiedThrough: 1, archivedThrough: 0, checkpoints: 0, keyFingerprint: 'ed25519:00', damage: null, error: null },
};
const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

function hospital(over: Handlers = {}): Handlers {
  const pump = deviceRow('pump-7', { ward: 'icu-1' });
  const staged = deviceRow('seen-ip-10.1.2.3', { ward: null, room: null, bed: null, staged: true });
  return {
    console_info: () => info,
    integrity_status: () => integrity,
    list_alerts: () => [alert(1)],
    listener_status: () => [listener()],
    wards_overview: () => overview([wardTile('icu-1', { name: 'ICU 1' })], { staged: 1 }),
    ward_detail: () => ({ ward: wardTile('icu-1', { name: 'ICU 1' }), devices: [pump] }),
    device_detail: ({ device }) => deviceDetail(device === pump.id ? pump : staged),
    staged_queue: () => ({ devices: [staged], wards: [{ id: 'icu-1', name: 'ICU 1' }] }),
    ...over,
  };
}

/** Renders the app and waits for the console of the person logged in (a security officer by default). */
async function renderApp() {
  const rendered = render(App);
  await screen.findByTestId('current-user');
  return rendered;
}

async function openAlerts() {
  await fireEvent.click(screen.getByTestId('nav-alerts'));
}

describe('App', () => {
  test('opens on the wards, with the simulation badge naming its scenario', async () => {
    fakeBackend(hospital());
    await renderApp();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Wardwatch');
    expect(await screen.findAllByTestId('ward-tile')).toHaveLength(1);
    expect(screen.getByTestId('nav-wards').getAttribute('aria-current')).toBe('page');
    expect(screen.getByTestId('nav-alerts').getAttribute('aria-current')).toBeNull();
    const badge = await screen.findByTestId('simulated-badge');
    expect(words(badge)).toBe('◇ Simulated hospital: night-shift');
    expect(screen.queryByTestId('alert-list')).toBeNull();
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  test('the Alerts screen shows alerts, listeners and record keeping', async () => {
    fakeBackend(hospital());
    await renderApp();
    await openAlerts();
    expect(screen.getByTestId('nav-alerts').getAttribute('aria-current')).toBe('page');
    expect(await screen.findAllByTestId('alert-row')).toHaveLength(1);
    expect(await screen.findAllByTestId('listener-row')).toHaveLength(1);
    expect((await screen.findByTestId('audit-state')).dataset.state).toBe('verified');
    expect(screen.getByTestId('store-state').dataset.state).toBe('writing');
    expect(screen.getByTestId('rejected-count')).toBeTruthy();
    expect(screen.queryByTestId('ward-tile')).toBeNull();
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  test('wards → ward → device → back to the ward → back to the wards', async () => {
    const backend = fakeBackend(hospital());
    await renderApp();
    await fireEvent.click((await screen.findAllByTestId('ward-tile'))[0] as HTMLElement);
    expect((await screen.findByTestId('ward-view')).dataset.ward).toBe('icu-1');
    expect(backend.calls.find((c) => c.cmd === 'ward_detail')?.args).toEqual({ ward: 'icu-1' });

    await fireEvent.click((await screen.findAllByTestId('device-row'))[0] as HTMLElement);
    expect((await screen.findByTestId('device-view')).dataset.device).toBe('pump-7');
    await screen.findByTestId('device-health');

    await fireEvent.click(screen.getByTestId('back-to-ward'));
    expect((await screen.findByTestId('ward-view')).dataset.ward).toBe('icu-1');
    await fireEvent.click(screen.getByTestId('back-to-wards'));
    expect(await screen.findAllByTestId('ward-tile')).toHaveLength(1);
  });

  test('staged devices: from the link to the queue, a device, and back to the queue', async () => {
    fakeBackend(hospital());
    await renderApp();
    await fireEvent.click(await screen.findByTestId('staged-link'));
    await screen.findByTestId('staged-queue');
    await fireEvent.click(await screen.findByTestId('staged-open'));
    expect((await screen.findByTestId('device-view')).dataset.device).toBe('seen-ip-10.1.2.3');
    const back = screen.getByTestId('back-to-ward');
    expect(words(back)).toBe('← Back to the staged devices');
    await fireEvent.click(back);
    await screen.findByTestId('staged-queue');
  });

  test('the Wards button returns to the wards from anywhere', async () => {
    fakeBackend(hospital());
    await renderApp();
    await fireEvent.click((await screen.findAllByTestId('ward-tile'))[0] as HTMLElement);
    await screen.findByTestId('ward-view');
    await fireEvent.click(screen.getByTestId('nav-wards'));
    expect(await screen.findAllByTestId('ward-tile')).toHaveLength(1);
    expect(screen.queryByTestId('ward-view')).toBeNull();
  });

  test('Import inventory opens the dialog and Cancel closes it', async () => {
    fakeBackend(hospital());
    await renderApp();
    await fireEvent.click(screen.getByTestId('open-import'));
    expect(screen.getByTestId('inventory-import')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('import-close'));
    expect(screen.queryByTestId('inventory-import')).toBeNull();
  });

  test('no badge on a real hospital', async () => {
    const backend = fakeBackend(hospital({ console_info: () => ({ ...info, simulated: false, scenario: null }) }));
    await renderApp();
    await waitFor(() => expect(backend.count('console_info')).toBe(1));
    await screen.findByText(/Wardwatch 0\.1\.0/);
    expect(screen.queryByTestId('simulated-badge')).toBeNull();
  });

  test('an IpcError from list_alerts shows the error banner in plain words', async () => {
    fakeBackend(
      hospital({
        list_alerts: () => {
          throw { code: 'store.locked', message: 'The alert store is busy' };
        },
      }),
    );
    await renderApp();
    await openAlerts();
    const banner = await screen.findByTestId('error-banner');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain('Could not load the recent alerts: The alert store is busy.');
    expect(banner.textContent).toContain('store.locked');
  });

  test('a failing hospital screen shows in the banner, and leaving it clears that', async () => {
    fakeBackend(
      hospital({
        wards_overview: () => {
          throw { code: 'console.unavailable', message: 'the console is starting' };
        },
      }),
    );
    await renderApp();
    const banner = await screen.findByTestId('error-banner');
    expect(banner.textContent).toContain('Could not load the wards: the console is starting.');
    await openAlerts();
    await screen.findAllByTestId('alert-row');
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  test('leaving the Alerts screen takes its problems off the banner', async () => {
    fakeBackend(
      hospital({
        list_alerts: () => {
          throw { code: 'store.locked', message: 'The alert store is busy' };
        },
      }),
    );
    await renderApp();
    await openAlerts();
    await screen.findByTestId('error-banner');
    await fireEvent.click(screen.getByTestId('nav-wards'));
    await screen.findAllByTestId('ward-tile');
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  test('the empty list names the listening addresses', async () => {
    fakeBackend(
      hospital({
        list_alerts: () => [],
        listener_status: () => [listener(), listener({ url: 'tcp://127.0.0.1:6514', state: 'failed' })],
      }),
    );
    await renderApp();
    await openAlerts();
    await waitFor(() =>
      expect(screen.getByTestId('alert-empty').textContent?.trim()).toBe('No alerts yet. Listening on udp://127.0.0.1:5514.'),
    );
  });

  test('Incidents: the count of high ones on the button, the list, and an incident beside it', async () => {
    const rows = [incidentRow(4), incidentRow(5, { priority: 'low', title: 'Port scan' })];
    fakeBackend(hospital({ list_incidents: () => incidentList(rows), incident_detail: ({ id }) => incidentDetail(rows.find((r) => r.id === id) ?? rows[0]!) }));
    await renderApp();
    expect(words(await screen.findByTestId('nav-incidents-high'))).toBe('*** 1 high');
    await fireEvent.click(screen.getByTestId('nav-incidents'));
    expect(screen.getByTestId('nav-incidents').getAttribute('aria-current')).toBe('page');
    expect(screen.getByTestId('nav-wards').getAttribute('aria-current')).toBeNull();
    await fireEvent.click(await screen.findByTestId('incident-row-5'));
    expect((await screen.findByTestId('incident-view')).dataset.incident).toBe('5');
    expect(words(await screen.findByTestId('incident-view-title'))).toBe('Port scan');
    expect(screen.getByTestId('incident-list')).toBeTruthy();
  });

  test('a click on a desktop notification opens its incident', async () => {
    const backend = fakeBackend(hospital({ list_incidents: () => incidentList([incidentRow(9)]), incident_detail: () => incidentDetail(incidentRow(9)) }));
    await renderApp();
    await screen.findAllByTestId('ward-tile');
    await waitFor(async () => {
      await backend.emit('open-incident', 9);
      expect(screen.getByTestId('incident-view').dataset.incident).toBe('9');
    });
    expect(screen.getByTestId('nav-incidents').getAttribute('aria-current')).toBe('page');
  });

  test('Maintenance opens from the incidents page and closes', async () => {
    fakeBackend(hospital({ list_incidents: () => incidentList([]), list_maintenance: () => [] }));
    await renderApp();
    await fireEvent.click(screen.getByTestId('nav-incidents'));
    await fireEvent.click(screen.getByTestId('open-maintenance'));
    expect(screen.getByTestId('maintenance-dialog')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('maintenance-close'));
    expect(screen.queryByTestId('maintenance-dialog')).toBeNull();
  });

  test('without incident commands the app still works and claims no count', async () => {
    fakeBackend(hospital());
    await renderApp();
    await screen.findAllByTestId('ward-tile');
    expect(screen.queryByTestId('nav-incidents-high')).toBeNull();
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });
});

describe('App: who is at the console', () => {
  async function logIn(username: string, password: string) {
    await fireEvent.input(screen.getByTestId('login-username'), { target: { value: username } });
    await fireEvent.input(screen.getByTestId('login-password'), { target: { value: password } });
    await fireEvent.click(screen.getByTestId('login-submit'));
  }

  /** Nothing of the hospital or the incidents is in the page. */
  function nothingShown() {
    for (const id of ['wards-overview', 'ward-tile', 'incident-view', 'incident-list', 'alert-list', 'current-user', 'nav-wards']) {
      expect(screen.queryByTestId(id), id).toBeNull();
    }
    expect(document.body.textContent).not.toContain('Repeated failed logins');
    expect(document.body.textContent).not.toContain('ICU 1');
  }

  test('logged out: only the login; logging in calls login with the typed values and shows the console', async () => {
    const backend = fakeBackend(hospital(), { session: loggedOut(), people: [OFFICER] });
    render(App);
    await screen.findByTestId('login-screen');
    nothingShown();
    expect(backend.count('wards_overview')).toBe(0);
    await logIn('olu', PASSWORD);
    expect(words(await screen.findByTestId('current-user'))).toBe('● Olu Officer · security officer');
    expect(await screen.findAllByTestId('ward-tile')).toHaveLength(1);
    expect(backend.calls.find((c) => c.cmd === 'login')?.args).toEqual({ username: 'olu', password: PASSWORD });
    expect(screen.queryByTestId('login-screen')).toBeNull();
  });

  test('a wrong password shows the message and nothing else', async () => {
    fakeBackend(hospital(), { session: loggedOut(), people: [OFFICER] });
    render(App);
    await screen.findByTestId('login-screen');
    await logIn('olu', 'wrong');
    expect(words(await screen.findByTestId('login-error'))).toBe('✖ Not logged in: the user name or the password is wrong (auth.wrong)');
    nothingShown();
  });

  test('no administrator yet: the first-administrator form instead of the login, and then the console', async () => {
    fakeBackend(hospital(), { session: needsFirstAdmin() });
    render(App);
    await screen.findByTestId('first-admin-form');
    expect(screen.queryByTestId('login-screen')).toBeNull();
    await fireEvent.input(screen.getByTestId('first-admin-username'), { target: { value: 'ada' } });
    await fireEvent.input(screen.getByTestId('first-admin-name'), { target: { value: 'Ada Admin' } });
    await fireEvent.input(screen.getByTestId('first-admin-password'), { target: { value: 'ada-password-e2e-1' } });
    await fireEvent.input(screen.getByTestId('first-admin-password2'), { target: { value: 'ada-password-e2e-1' } });
    await fireEvent.click(screen.getByTestId('first-admin-submit'));
    expect(words(await screen.findByTestId('current-user'))).toBe('● Ada Admin · administrator');
    expect(screen.getByTestId('nav-users')).toBeTruthy();
  });

  test('Lock shows the lock screen and takes the incident and the wards off the page', async () => {
    const rows = [incidentRow(4)];
    const backend = fakeBackend(hospital({ list_incidents: () => incidentList(rows), incident_detail: () => incidentDetail(rows[0]!) }));
    await renderApp();
    await fireEvent.click(screen.getByTestId('nav-incidents'));
    await fireEvent.click(await screen.findByTestId('incident-row-4'));
    expect(words(await screen.findByTestId('incident-view-title'))).toBe('Repeated failed logins');
    await fireEvent.click(screen.getByTestId('lock-button'));
    expect(words(await screen.findByTestId('lock-title'))).toBe('■ Locked — Olu Officer');
    expect(backend.count('lock')).toBe(1);
    nothingShown();
    expect(screen.getByTestId('unlock-password')).toBeTruthy();
  });

  test('Ctrl+L locks', async () => {
    const backend = fakeBackend(hospital());
    await renderApp();
    await fireEvent.keyDown(window, { key: 'l', ctrlKey: true });
    await screen.findByTestId('lock-screen');
    expect(backend.count('lock')).toBe(1);
  });

  test('a locked nurse unlocks with her PIN and is back, her role in the header', async () => {
    const backend = fakeBackend(hospital(), { session: lockedAs(NURSE) });
    render(App);
    await fireEvent.input(await screen.findByTestId('unlock-pin'), { target: { value: PIN } });
    await fireEvent.click(screen.getByTestId('unlock-pin-submit'));
    expect(words(await screen.findByTestId('current-user'))).toBe('● Nina Patel · nurse');
    expect(backend.calls.find((c) => c.cmd === 'login_pin')?.args).toEqual({ username: 'nina', pin: PIN });
  });

  test('Switch user on the lock screen logs the person out first; the next person logs in clean', async () => {
    const backend = fakeBackend(hospital(), { session: lockedAs(OFFICER), people: [NURSE] });
    render(App);
    await fireEvent.click(await screen.findByTestId('switch-user'));
    await screen.findByTestId('login-screen');
    expect(backend.count('logout')).toBe(1);
    expect(backend.session.user).toBeNull();
    await logIn('nina', PASSWORD);
    expect(words(await screen.findByTestId('current-user'))).toBe('● Nina Patel · nurse');
  });

  test('the user menu: Switch user logs out; Set PIN sets one', async () => {
    const backend = fakeBackend(hospital());
    await renderApp();
    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('menu-set-pin'));
    await fireEvent.input(screen.getByTestId('pin-input'), { target: { value: '1357' } });
    await fireEvent.click(screen.getByTestId('pin-confirm'));
    await waitFor(() => expect(screen.queryByTestId('pin-dialog')).toBeNull());
    expect(backend.calls.find((c) => c.cmd === 'set_pin')?.args).toEqual({ pin: '1357' });
    await fireEvent.click(screen.getByTestId('user-menu'));
    expect(words(screen.getByTestId('menu-set-pin'))).toBe('Change PIN…');
    await fireEvent.click(screen.getByTestId('menu-switch-user'));
    await screen.findByTestId('login-screen');
    expect(backend.count('logout')).toBe(1);
    nothingShown();
  });

  test.each([
    ['a nurse', NURSE, { alerts: false, users: false, importing: false }],
    ['a security officer', OFFICER, { alerts: true, users: false, importing: true }],
    ['an administrator', ADMIN, { alerts: true, users: true, importing: true }],
  ])('%s is offered only what the roles may do', async (_who, user, shown) => {
    fakeBackend(hospital(), { session: sessionAs(user) });
    await renderApp();
    expect(screen.getByTestId('nav-wards')).toBeTruthy();
    expect(screen.getByTestId('nav-incidents')).toBeTruthy();
    expect(screen.queryByTestId('nav-alerts') !== null).toBe(shown.alerts);
    expect(screen.queryByTestId('nav-users') !== null).toBe(shown.users);
    expect(screen.queryByTestId('open-import') !== null).toBe(shown.importing);
  });

  test('an administrator opens Users', async () => {
    fakeBackend(hospital({ list_users: () => [ADMIN, NURSE] }), { session: sessionAs(ADMIN) });
    await renderApp();
    await fireEvent.click(screen.getByTestId('nav-users'));
    await screen.findByTestId('user-row-nina');
    expect(screen.getByTestId('nav-users').getAttribute('aria-current')).toBe('page');
    expect(screen.queryByTestId('wards-overview')).toBeNull();
  });

  test('auth.session_locked from any call brings the lock screen at once', async () => {
    let locked = false;
    const backend = fakeBackend(
      hospital({
        list_incidents: () => {
          if (locked) {
            backend.setSession(lockedAs(OFFICER));
            throw { code: 'auth.session_locked', message: 'The console is locked: unlock it first.' };
          }
          return incidentList([]);
        },
      }),
    );
    render(App, { statusIntervalMs: 3_600_000 });
    await screen.findByTestId('current-user');
    const before = backend.count('session_status');
    locked = true;
    await fireEvent.click(screen.getByTestId('nav-incidents'));
    await screen.findByTestId('lock-screen');
    expect(backend.count('session_status')).toBe(before + 1);
    nothingShown();
  });

  test("the backend's idle lock is noticed by the 5 s check", async () => {
    vi.useFakeTimers();
    const backend = fakeBackend(hospital());
    render(App);
    await vi.advanceTimersByTimeAsync(0);
    expect(screen.getByTestId('current-user')).toBeTruthy();
    backend.setSession(lockedAs(OFFICER));
    await vi.advanceTimersByTimeAsync(5000);
    expect(screen.getByTestId('lock-screen')).toBeTruthy();
    expect(backend.count('lock')).toBe(0);
  });

  test('the window locks itself after the idle time without keyboard or mouse', async () => {
    vi.useFakeTimers();
    const backend = fakeBackend(hospital(), { session: sessionAs(OFFICER, { idleLockSecs: 60 }) });
    render(App);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(50_000);
    await fireEvent.keyDown(window, { key: 'a' });
    await vi.advanceTimersByTimeAsync(50_000);
    expect(screen.getByTestId('current-user')).toBeTruthy();
    expect(backend.count('lock')).toBe(0);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(backend.count('lock')).toBe(1);
    expect(screen.getByTestId('lock-screen')).toBeTruthy();
  });

  test("access.refused is shown where the action was: a nurse's mute", async () => {
    const row = incidentRow(4, { ward: 'ed', wardName: 'Emergency' });
    fakeBackend(
      hospital({
        list_incidents: () => incidentList([row]),
        incident_detail: () => incidentDetail(row),
        incident_act: () => {
          throw { code: 'access.refused', message: 'Your role (nurse) may not assign, mute or resolve incidents: ask a security officer.' };
        },
      }),
      { session: sessionAs(NURSE) },
    );
    await renderApp();
    await fireEvent.click(screen.getByTestId('nav-incidents'));
    await fireEvent.click(await screen.findByTestId('incident-row-4'));
    await fireEvent.click(await screen.findByTestId('incident-mute'));
    await fireEvent.input(screen.getByTestId('mute-reason'), { target: { value: 'vendor patching' } });
    await fireEvent.click(screen.getByTestId('mute-confirm'));
    expect(words(await screen.findByTestId('mute-error'))).toBe(
      '✖ Not muted: Your role (nurse) may not assign, mute or resolve incidents: ask a security officer. (access.refused)',
    );
    expect(screen.queryByTestId('lock-screen')).toBeNull();
  });
});

describe('App: care-safe response', () => {
  test('a nurse is told calmly on her wards screen that a request needs her, reads it and confirms', async () => {
    const world = responseWorld();
    world.request(4, 'restrict_segment', 'beacon to a known C2 address');
    world.request(4, 'block_destination', 'beacon to a known C2 address');
    const backend = fakeBackend({ ...hospital(), ...world.handlers }, { session: sessionAs(ICU_NURSE) });
    await renderApp();
    const notice = await screen.findByTestId('ward-requests-notice');
    expect(words(notice)).toBe('◔ 1 request from IT for your ward needs you Open the requests');
    expect(notice.getAttribute('role')).toBe('status');
    expect(words(screen.getByTestId('nav-requests'))).toBe('Requests (1)');
    expect(screen.getAllByTestId('ward-tile')).toHaveLength(1);

    await fireEvent.click(within(notice).getByTestId('ward-requests-open'));
    await screen.findByTestId('requests-page');
    expect(screen.getByTestId('nav-requests').getAttribute('aria-current')).toBe('page');
    expect(screen.queryByTestId('ward-requests-notice')).toBeNull();
    const mine = within(await screen.findByTestId('requests-mine')).getByTestId('request-card');
    expect(words(within(mine).getByTestId('request-ask'))).toBe(
      'IT wants to move infusion pump pump-7 in room 12, bed 1 to the restricted network segment. Please confirm the ward is covering (watch the patient at the bedside while it happens).',
    );
    await fireEvent.click(within(mine).getByTestId('step-acknowledge_ward'));
    await fireEvent.click(screen.getByTestId('step-submit'));
    await waitFor(() => expect(screen.queryByTestId('requests-mine')).toBeNull());
    expect(words(screen.getByTestId('nav-requests'))).toBe('Requests');
    expect(backend.calls.find((c) => c.cmd === 'response_step')?.args).toMatchObject({ id: 1, step: 'acknowledge_ward' });

    await fireEvent.click(screen.getByTestId('nav-wards'));
    await screen.findAllByTestId('ward-tile');
    expect(screen.queryByTestId('ward-requests-notice')).toBeNull();
  });

  test('no notice for a nurse with nothing waiting, nor for other roles', async () => {
    const world = responseWorld();
    world.request(4, 'quarantine', 'beacon');
    fakeBackend({ ...hospital(), ...world.handlers }, { session: sessionAs(CLINICIAN) });
    await renderApp();
    await waitFor(() => expect(words(screen.getByTestId('nav-requests'))).toBe('Requests (1)'));
    expect(screen.queryByTestId('ward-requests-notice')).toBeNull();
  });

  test('an officer counts the checklists waiting for an officer, and opens an incident with its Response section', async () => {
    const world = responseWorld();
    world.request(4, 'block_destination', 'beacon');
    world.dispatch(1);
    world.request(4, 'quarantine', 'beacon');
    const rows = [incidentRow(4)];
    fakeBackend({ ...hospital({ list_incidents: () => incidentList(rows), incident_detail: () => incidentDetail(rows[0]!) }), ...world.handlers });
    await renderApp();
    await waitFor(() => expect(words(screen.getByTestId('nav-requests'))).toBe('Requests (1)'));
    await fireEvent.click(screen.getByTestId('nav-incidents'));
    await fireEvent.click(await screen.findByTestId('incident-row-4'));
    const section = await screen.findByTestId('playbook');
    expect(await within(section).findByTestId('request-reboot')).toBeTruthy();
    await waitFor(() => expect(within(section).getAllByTestId('request-card')).toHaveLength(2));
    expect(within(section).getByTestId('tick-0')).toBeTruthy();
  });

  test('from a request card to its incident', async () => {
    const world = responseWorld();
    world.request(4, 'quarantine', 'beacon');
    const rows = [incidentRow(4)];
    fakeBackend({ ...hospital({ list_incidents: () => incidentList(rows), incident_detail: () => incidentDetail(rows[0]!) }), ...world.handlers });
    await renderApp();
    await fireEvent.click(screen.getByTestId('nav-requests'));
    await fireEvent.click(await screen.findByTestId('request-open-incident'));
    expect((await screen.findByTestId('incident-view')).dataset.incident).toBe('4');
  });
});
