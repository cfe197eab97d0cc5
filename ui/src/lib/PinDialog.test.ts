import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import PinDialog from './PinDialog.svelte';
import { fakeBackend, OFFICER } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

describe('PinDialog', () => {
  test('only 4 to 8 digits can be sent', async () => {
    const backend = fakeBackend({});
    render(PinDialog, {});
    const confirm = screen.getByTestId('pin-confirm') as HTMLButtonElement;
    await fireEvent.input(screen.getByTestId('pin-input'), { target: { value: '12a' } });
    expect(confirm.disabled).toBe(true);
    expect(words(screen.getByTestId('pin-hint'))).toBe('A PIN is 4 to 8 digits, nothing else.');
    await fireEvent.submit(confirm.closest('form') as HTMLFormElement);
    expect(backend.calls).toEqual([]);
  });

  test('sets the PIN and hands on the account', async () => {
    const backend = fakeBackend({});
    const onDone = vi.fn();
    render(PinDialog, { onDone });
    await fireEvent.input(screen.getByTestId('pin-input'), { target: { value: '4321' } });
    await fireEvent.click(screen.getByTestId('pin-confirm'));
    await vi.waitFor(() => expect(onDone).toHaveBeenCalledWith({ ...OFFICER, hasPin: true }));
    expect(backend.calls).toEqual([{ cmd: 'set_pin', args: { pin: '4321' } }]);
  });

  test("shows the backend's refusal", async () => {
    fakeBackend({
      set_pin: () => {
        throw { code: 'access.bad_pin', message: 'a PIN is 4 to 8 digits' };
      },
    });
    render(PinDialog, {});
    await fireEvent.input(screen.getByTestId('pin-input'), { target: { value: '0000' } });
    await fireEvent.click(screen.getByTestId('pin-confirm'));
    expect(words(await screen.findByTestId('pin-error'))).toBe('✖ PIN not set: a PIN is 4 to 8 digits (access.bad_pin)');
  });
});
