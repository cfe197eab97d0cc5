import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import LockScreen from './LockScreen.svelte';
import { fakeBackend, incident, lockedAs, NOW, NURSE, OFFICER, overview, PASSWORD, PIN, sessionAs, wardTile } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const clock = () => Date.parse(NOW);

describe('LockScreen', () => {
  test('names whose console is locked, since when', () => {
    fakeBackend({}, { session: lockedAs(NURSE) });
    render(LockScreen, { user: NURSE, clock });
    expect(words(screen.getByTestId('lock-title'))).toBe('■ Locked — Nina Patel');
    const since = screen.getByTestId('lock-since').querySelector('time');
    expect(since?.getAttribute('datetime')).toBe('2026-11-28T10:00:00.000Z');
  });

  test('a person with a PIN unlocks with it', async () => {
    const backend = fakeBackend({}, { session: lockedAs(NURSE) });
    const onUnlocked = vi.fn();
    render(LockScreen, { user: NURSE, clock, onUnlocked });
    expect(screen.queryByTestId('unlock-password')).toBeNull();
    await fireEvent.input(screen.getByTestId('unlock-pin'), { target: { value: PIN } });
    await fireEvent.click(screen.getByTestId('unlock-pin-submit'));
    await vi.waitFor(() => expect(onUnlocked).toHaveBeenCalledWith(sessionAs(NURSE)));
    expect(backend.calls).toEqual([{ cmd: 'login_pin', args: { username: 'nina', pin: PIN } }]);
  });

  test('a wrong PIN says so and stays locked', async () => {
    fakeBackend({}, { session: lockedAs(NURSE) });
    const onUnlocked = vi.fn();
    render(LockScreen, { user: NURSE, clock, onUnlocked });
    await fireEvent.input(screen.getByTestId('unlock-pin'), { target: { value: '0000' } });
    await fireEvent.click(screen.getByTestId('unlock-pin-submit'));
    const error = await screen.findByTestId('unlock-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(words(error)).toBe('✖ Still locked: the user name or the PIN is wrong (auth.wrong)');
    expect(onUnlocked).not.toHaveBeenCalled();
  });

  test('when the backend wants the password, the PIN gives way to it', async () => {
    const backend = fakeBackend(
      {
        login_pin: () => {
          throw { code: 'auth.needs_full_login', message: 'enter your password: the last one was over 12 hours ago' };
        },
      },
      { session: lockedAs(NURSE) },
    );
    render(LockScreen, { user: NURSE, clock });
    await fireEvent.input(screen.getByTestId('unlock-pin'), { target: { value: PIN } });
    await fireEvent.click(screen.getByTestId('unlock-pin-submit'));
    await screen.findByTestId('unlock-password');
    expect(words(screen.getByTestId('unlock-error'))).toContain('enter your password');
    await fireEvent.input(screen.getByTestId('unlock-password'), { target: { value: PASSWORD } });
    await fireEvent.click(screen.getByTestId('unlock-submit'));
    await vi.waitFor(() => expect(backend.count('login')).toBe(1));
    expect(backend.calls.at(-1)).toEqual({ cmd: 'login', args: { username: 'nina', password: PASSWORD } });
  });

  test('without a PIN, the password unlocks', async () => {
    const backend = fakeBackend({}, { session: lockedAs(OFFICER) });
    const onUnlocked = vi.fn();
    render(LockScreen, { user: OFFICER, clock, onUnlocked });
    expect(screen.queryByTestId('unlock-pin')).toBeNull();
    await fireEvent.input(screen.getByTestId('unlock-password'), { target: { value: PASSWORD } });
    await fireEvent.click(screen.getByTestId('unlock-submit'));
    await vi.waitFor(() => expect(onUnlocked).toHaveBeenCalledWith(sessionAs(OFFICER)));
    expect(backend.calls).toEqual([{ cmd: 'login', args: { username: 'olu', password: PASSWORD } }]);
  });

  test('Switch user hands on, without a call of its own', async () => {
    const backend = fakeBackend({}, { session: lockedAs(NURSE) });
    const onSwitchUser = vi.fn();
    render(LockScreen, { user: NURSE, clock, onSwitchUser });
    await fireEvent.click(screen.getByTestId('switch-user'));
    expect(onSwitchUser).toHaveBeenCalledOnce();
    expect(backend.calls).toEqual([]);
  });

  test('the ward overview without details: health in shape and word, counts, no incident, no device', async () => {
    const icu = wardTile('icu', {
      name: 'Intensive care',
      worst: 'compromised_suspected',
      byHealth: [
        { health: 'compromised_suspected', label: 'Compromise suspected', count: 1 },
        { health: 'at_risk', label: 'At risk', count: 0 },
        { health: 'watch', label: 'Watch', count: 0 },
        { health: 'unknown', label: 'Unknown / not heard from', count: 0 },
        { health: 'ok', label: 'OK', count: 3 },
      ],
      // Even if the backend sent one, the lock screen does not show it.
      worstIncident: incident(5, { condition: 'Exploit attempt', deviceId: 'ICU-PUMP-01' }),
    });
    const backend = fakeBackend({ locked_overview: () => overview([icu, wardTile('ed', { name: 'Emergency' })]) }, { session: lockedAs(NURSE, { lockedOverview: true }) });
    render(LockScreen, { user: NURSE, clock, showOverview: true });
    const tile = await screen.findByTestId('locked-ward-icu');
    expect(tile.dataset.health).toBe('compromised_suspected');
    expect(words(within(tile).getByTestId('locked-ward-status'))).toBe('✖ Compromise suspected');
    expect(within(tile).getAllByTestId('locked-ward-count').map(words)).toEqual(['✖ Compromise suspected 1', '✔ OK 3']);
    expect(words(tile)).toContain('Intensive care');
    expect(screen.getByTestId('locked-ward-ed')).toBeTruthy();
    const all = words(screen.getByTestId('locked-overview')) ?? '';
    expect(all).not.toContain('Exploit attempt');
    expect(all).not.toContain('ICU-PUMP-01');
    expect(backend.count('wards_overview')).toBe(0);
  });

  test('no overview unless the session allows it', () => {
    const backend = fakeBackend({}, { session: lockedAs(NURSE) });
    render(LockScreen, { user: NURSE, clock });
    expect(screen.queryByTestId('locked-overview')).toBeNull();
    expect(backend.count('locked_overview')).toBe(0);
  });
});
