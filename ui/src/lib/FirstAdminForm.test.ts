import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import FirstAdminForm from './FirstAdminForm.svelte';
import { fakeBackend, needsFirstAdmin } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

async function fill(username: string, name: string, password: string, again: string) {
  await fireEvent.input(screen.getByTestId('first-admin-username'), { target: { value: username } });
  await fireEvent.input(screen.getByTestId('first-admin-name'), { target: { value: name } });
  await fireEvent.input(screen.getByTestId('first-admin-password'), { target: { value: password } });
  await fireEvent.input(screen.getByTestId('first-admin-password2'), { target: { value: again } });
}

describe('FirstAdminForm', () => {
  test('says what it is for and how long the password must be', () => {
    fakeBackend({}, { session: needsFirstAdmin() });
    render(FirstAdminForm, {});
    const form = screen.getByTestId('first-admin-form');
    expect(words(form)).toContain('Create the first administrator');
    expect(words(form)).toContain('Password (at least 12 characters)');
  });

  test('refuses two passwords that differ, and sends nothing', async () => {
    const backend = fakeBackend({}, { session: needsFirstAdmin() });
    render(FirstAdminForm, {});
    await fill('ada', 'Ada Admin', 'a-long-password-1', 'a-long-password-2');
    expect(words(screen.getByTestId('first-admin-mismatch'))).toBe('✖ The two passwords are not the same.');
    const submit = screen.getByTestId('first-admin-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await fireEvent.submit(submit.closest('form') as HTMLFormElement);
    expect(backend.calls).toEqual([]);
  });

  test('refuses a password under 12 characters', async () => {
    const backend = fakeBackend({}, { session: needsFirstAdmin() });
    render(FirstAdminForm, {});
    await fill('ada', 'Ada Admin', 'short-pw', 'short-pw');
    expect(words(screen.getByTestId('first-admin-short'))).toBe('The password needs at least 12 characters.');
    await fireEvent.submit(screen.getByTestId('first-admin-submit').closest('form') as HTMLFormElement);
    expect(backend.calls).toEqual([]);
  });

  test('creates the administrator with the typed values and hands on the session', async () => {
    const backend = fakeBackend({}, { session: needsFirstAdmin() });
    const onCreated = vi.fn();
    render(FirstAdminForm, { onCreated });
    await fill(' ada ', ' Ada Admin ', 'ada-password-e2e-1', 'ada-password-e2e-1');
    await fireEvent.click(screen.getByTestId('first-admin-submit'));
    await vi.waitFor(() => expect(onCreated).toHaveBeenCalledOnce());
    expect(backend.calls).toEqual([
      { cmd: 'create_first_admin', args: { username: 'ada', displayName: 'Ada Admin', password: 'ada-password-e2e-1' } },
    ]);
    expect(onCreated.mock.calls[0]?.[0].user.roles).toEqual(['admin']);
  });
});
