import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { UserView } from './bindings/UserView';
import { ADMIN, fakeBackend, NURSE, OFFICER, person, sessionAs } from './testing';
import UserAdmin from './UserAdmin.svelte';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

async function fill(username: string, name: string, wards: string, password: string) {
  await fireEvent.input(screen.getByTestId('add-user-username'), { target: { value: username } });
  await fireEvent.input(screen.getByTestId('add-user-name'), { target: { value: name } });
  await fireEvent.input(screen.getByTestId('add-user-wards'), { target: { value: wards } });
  await fireEvent.input(screen.getByTestId('add-user-password'), { target: { value: password } });
}

describe('UserAdmin', () => {
  test('lists each person with name, roles in words and wards', async () => {
    fakeBackend({ list_users: () => [ADMIN, OFFICER, NURSE] }, { session: sessionAs(ADMIN) });
    render(UserAdmin, {});
    const nina = await screen.findByTestId('user-row-nina');
    expect(words(nina)).toContain('Nina Patel');
    expect(words(within(nina).getByTestId('user-roles'))).toBe('nurse');
    expect(words(within(nina).getByTestId('user-wards'))).toBe('ed');
    expect(words(within(screen.getByTestId('user-row-olu')).getByTestId('user-roles'))).toBe('security officer');
    expect(words(within(screen.getByTestId('user-row-olu')).getByTestId('user-wards'))).toBe('all wards');
  });

  test('adds a person with the typed values, then lists them', async () => {
    let people: UserView[] = [ADMIN];
    const added = person('kim', { displayName: 'Kim Lee', roles: ['nurse', 'clinician'], roleLabels: ['nurse', 'clinician'], wards: ['icu', 'ed'] });
    const backend = fakeBackend(
      {
        list_users: () => people,
        add_user: () => {
          people = [...people, added];
          return added;
        },
      },
      { session: sessionAs(ADMIN) },
    );
    render(UserAdmin, {});
    await screen.findByTestId('user-row-ada');
    await fill(' kim ', ' Kim Lee ', 'icu, ed', 'kim-password-12');
    await fireEvent.click(screen.getByTestId('add-user-role-clinician'));
    await fireEvent.click(screen.getByTestId('add-user-role-nurse'));
    await fireEvent.click(screen.getByTestId('add-user-submit'));
    await screen.findByTestId('user-row-kim');
    expect(backend.calls.find((c) => c.cmd === 'add_user')?.args).toEqual({
      username: 'kim',
      displayName: 'Kim Lee',
      roles: ['nurse', 'clinician'],
      wards: ['icu', 'ed'],
      password: 'kim-password-12',
    });
    expect(words(screen.getByTestId('add-user-done'))).toBe('✔ Kim Lee added as nurse, clinician (recorded in the audit log).');
    expect((screen.getByTestId('add-user-username') as HTMLInputElement).value).toBe('');
  });

  test('a nurse without a ward, or no role, cannot be sent', async () => {
    const backend = fakeBackend({ list_users: () => [ADMIN] }, { session: sessionAs(ADMIN) });
    render(UserAdmin, {});
    await screen.findByTestId('user-row-ada');
    await fill('kim', 'Kim Lee', '', 'kim-password-12');
    const submit = screen.getByTestId('add-user-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await fireEvent.click(screen.getByTestId('add-user-role-nurse'));
    expect(submit.disabled).toBe(true);
    expect(words(screen.getByTestId('add-user-needs-ward'))).toBe('A nurse sees only her wards: give at least one.');
    await fireEvent.submit(submit.closest('form') as HTMLFormElement);
    expect(backend.count('add_user')).toBe(0);
  });

  test("shows the backend's refusal in its words", async () => {
    fakeBackend(
      {
        list_users: () => [ADMIN],
        add_user: () => {
          throw { code: 'hospital.unknown_ward', message: 'there is no ward "icu-9"' };
        },
      },
      { session: sessionAs(ADMIN) },
    );
    render(UserAdmin, {});
    await screen.findByTestId('user-row-ada');
    await fill('kim', 'Kim Lee', 'icu-9', 'kim-password-12');
    await fireEvent.click(screen.getByTestId('add-user-role-nurse'));
    await fireEvent.click(screen.getByTestId('add-user-submit'));
    const error = await screen.findByTestId('add-user-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(words(error)).toBe('✖ Not added: there is no ward "icu-9" (hospital.unknown_ward)');
  });

  test('a refused list is reported', async () => {
    fakeBackend({
      list_users: () => {
        throw { code: 'access.refused', message: 'Your role (security officer) may not manage people: ask an administrator.' };
      },
    });
    const report = vi.fn();
    render(UserAdmin, { report });
    await vi.waitFor(() =>
      expect(report).toHaveBeenLastCalledWith({
        doing: 'load the people',
        error: { code: 'access.refused', message: 'Your role (security officer) may not manage people: ask an administrator.' },
      }),
    );
    expect(screen.getByTestId('users-unknown')).toBeTruthy();
  });

  describe('changing a person', () => {
    const KIM = person('kim', { displayName: 'Kim Lee', roles: ['nurse'], roleLabels: ['nurse'], wards: ['icu-1'] });

    async function edit(username: string) {
      await fireEvent.click(await screen.findByTestId(`edit-user-${username}`));
      return screen.getByTestId('edit-user-form');
    }

    test('the form starts from the person as they are; saving sends roles, wards and disabled, and the list shows them', async () => {
      const backend = fakeBackend({}, { session: sessionAs(ADMIN), people: [KIM, OFFICER] });
      render(UserAdmin, {});
      const form = await edit('kim');
      expect((within(form).getByTestId('edit-user-role-nurse') as HTMLInputElement).checked).toBe(true);
      expect((within(form).getByTestId('edit-user-role-clinician') as HTMLInputElement).checked).toBe(false);
      expect((within(form).getByTestId('edit-user-wards') as HTMLInputElement).value).toBe('icu-1');
      expect((within(form).getByTestId('edit-user-disabled') as HTMLInputElement).checked).toBe(false);

      await fireEvent.click(within(form).getByTestId('edit-user-role-clinician'));
      await fireEvent.input(within(form).getByTestId('edit-user-wards'), { target: { value: 'icu-1, ed' } });
      await fireEvent.click(within(form).getByTestId('edit-user-disabled'));
      await fireEvent.click(within(form).getByTestId('edit-user-save'));

      await vi.waitFor(() => expect(screen.queryByTestId('edit-user-form')).toBeNull());
      expect(backend.calls.find((c) => c.cmd === 'update_user')?.args).toEqual({
        username: 'kim',
        roles: ['nurse', 'clinician'],
        wards: ['icu-1', 'ed'],
        disabled: true,
      });
      const kim = screen.getByTestId('user-row-kim');
      expect(words(within(kim).getByTestId('user-roles'))).toBe('nurse, clinician');
      expect(words(within(kim).getByTestId('user-wards'))).toBe('icu-1, ed');
      expect(words(within(kim).getByTestId('user-status'))).toBe('⊘ Disabled');
      expect(words(within(screen.getByTestId('user-row-olu')).getByTestId('user-status'))).toBe('Active');
      expect(words(screen.getByTestId('edit-user-done'))).toBe(
        '✔ Kim Lee saved: nurse, clinician, wards icu-1, ed, disabled (recorded in the audit log).',
      );
    });

    test('enabling a disabled account again', async () => {
      const backend = fakeBackend({}, { session: sessionAs(ADMIN), people: [{ ...KIM, disabled: true }] });
      render(UserAdmin, {});
      expect(words(within(await screen.findByTestId('user-row-kim')).getByTestId('user-status'))).toBe('⊘ Disabled');
      const form = await edit('kim');
      expect((within(form).getByTestId('edit-user-disabled') as HTMLInputElement).checked).toBe(true);
      await fireEvent.click(within(form).getByTestId('edit-user-disabled'));
      await fireEvent.click(within(form).getByTestId('edit-user-save'));
      await vi.waitFor(() => expect(words(within(screen.getByTestId('user-row-kim')).getByTestId('user-status'))).toBe('Active'));
      expect(backend.calls.find((c) => c.cmd === 'update_user')?.args).toMatchObject({ disabled: false });
    });

    test('no role, or a nurse without a ward, cannot be saved', async () => {
      const backend = fakeBackend({}, { session: sessionAs(ADMIN), people: [KIM] });
      render(UserAdmin, {});
      const form = await edit('kim');
      const save = within(form).getByTestId('edit-user-save') as HTMLButtonElement;
      await fireEvent.input(within(form).getByTestId('edit-user-wards'), { target: { value: ' ' } });
      expect(save.disabled).toBe(true);
      expect(words(within(form).getByTestId('edit-user-needs-ward'))).toBe('A nurse sees only her wards: give at least one.');
      await fireEvent.click(within(form).getByTestId('edit-user-role-nurse'));
      expect(save.disabled).toBe(true);
      await fireEvent.submit(form);
      expect(backend.count('update_user')).toBe(0);
    });

    test("the backend's refusal shows in its words and the form stays: the last administrator", async () => {
      fakeBackend({}, { session: sessionAs(ADMIN), people: [KIM] });
      render(UserAdmin, {});
      const form = await edit('ada');
      await fireEvent.click(within(form).getByTestId('edit-user-disabled'));
      await fireEvent.click(within(form).getByTestId('edit-user-save'));
      const error = await screen.findByTestId('edit-user-error');
      expect(error.getAttribute('role')).toBe('alert');
      expect(words(error)).toBe(
        '✖ Not saved: the last administrator keeps the role: add another administrator first (person.last_admin)',
      );
      expect(screen.getByTestId('edit-user-form')).toBeTruthy();
      expect(words(within(screen.getByTestId('user-row-ada')).getByTestId('user-status'))).toBe('Active');
    });

    test('Cancel closes the form without sending', async () => {
      const backend = fakeBackend({}, { session: sessionAs(ADMIN), people: [KIM] });
      render(UserAdmin, {});
      await edit('kim');
      await fireEvent.click(screen.getByTestId('edit-user-cancel'));
      expect(screen.queryByTestId('edit-user-form')).toBeNull();
      expect(backend.count('update_user')).toBe(0);
    });
  });
});
