import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import LoginScreen from './LoginScreen.svelte';
import { fakeBackend, loggedOut, NURSE, PASSWORD, sessionAs } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

async function typeIn(username: string, password: string) {
  await fireEvent.input(screen.getByTestId('login-username'), { target: { value: username } });
  await fireEvent.input(screen.getByTestId('login-password'), { target: { value: password } });
}

describe('LoginScreen', () => {
  test('sends the typed user name and password and hands on the session', async () => {
    const backend = fakeBackend({}, { session: loggedOut(), people: [NURSE] });
    const onLoggedIn = vi.fn();
    render(LoginScreen, { onLoggedIn });
    expect(screen.getByTestId('login-screen')).toBeTruthy();
    await typeIn('  nina ', PASSWORD);
    await fireEvent.click(screen.getByTestId('login-submit'));
    await vi.waitFor(() => expect(onLoggedIn).toHaveBeenCalledWith(sessionAs(NURSE)));
    expect(backend.calls).toEqual([{ cmd: 'login', args: { username: 'nina', password: PASSWORD } }]);
  });

  test('nothing is sent without a user name and a password', async () => {
    const backend = fakeBackend({}, { session: loggedOut() });
    render(LoginScreen, {});
    const submit = screen.getByTestId('login-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await typeIn('nina', '');
    expect(submit.disabled).toBe(true);
    await fireEvent.submit(submit.closest('form') as HTMLFormElement);
    expect(backend.calls).toEqual([]);
  });

  test('a wrong password says so in words, and the password is cleared', async () => {
    fakeBackend({}, { session: loggedOut(), people: [NURSE] });
    const onLoggedIn = vi.fn();
    render(LoginScreen, { onLoggedIn });
    await typeIn('nina', 'not-the-password');
    await fireEvent.click(screen.getByTestId('login-submit'));
    const error = await screen.findByTestId('login-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(words(error)).toBe('✖ Not logged in: the user name or the password is wrong (auth.wrong)');
    expect((screen.getByTestId('login-password') as HTMLInputElement).value).toBe('');
    expect(onLoggedIn).not.toHaveBeenCalled();
  });

  test('a locked-out account shows until when, as the backend says it', async () => {
    fakeBackend(
      {
        login: () => {
          throw { code: 'auth.locked', message: 'too many wrong passwords: try again after 10:42' };
        },
      },
      { session: loggedOut() },
    );
    render(LoginScreen, {});
    await typeIn('nina', 'x');
    await fireEvent.click(screen.getByTestId('login-submit'));
    expect(words(await screen.findByTestId('login-error'))).toContain('try again after 10:42 (auth.locked)');
  });
});
