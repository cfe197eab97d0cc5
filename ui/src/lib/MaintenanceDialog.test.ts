import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { toLocalInput } from './incidents';
import MaintenanceDialog from './MaintenanceDialog.svelte';
import { fakeBackend, maintenance, NOW } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const clock = () => Date.parse(NOW);
const at = (hours: number) => toLocalInput(Date.parse(NOW) + hours * 3_600_000);

describe('MaintenanceDialog', () => {
  test('starts now; refuses without target, end and reason, and an end over 7 days', async () => {
    const backend = fakeBackend({ list_maintenance: () => [] });
    render(MaintenanceDialog, { clock });
    expect((screen.getByTestId('maintenance-start') as HTMLInputElement).value).toBe(at(0));
    await fireEvent.click(screen.getByTestId('maintenance-confirm'));
    expect(words(screen.getByTestId('maintenance-error'))).toBe('✖ Choose what is in maintenance, give an end, give a reason.');
    await fireEvent.input(screen.getByTestId('maintenance-target'), { target: { value: 'pump-7' } });
    await fireEvent.input(screen.getByTestId('maintenance-end'), { target: { value: at(24 * 7 + 1) } });
    await fireEvent.input(screen.getByTestId('maintenance-reason'), { target: { value: 'vendor update' } });
    await fireEvent.click(screen.getByTestId('maintenance-confirm'));
    expect(words(screen.getByTestId('maintenance-error'))).toBe('✖ End at most 7 days after the start.');
    expect(backend.count('add_maintenance')).toBe(0);
  });

  test('sends scope, target, start, end and reason, then lists the windows again', async () => {
    const w = maintenance(5, { scope: 'ward', target: 'icu-1', targetLabel: 'ICU 1' });
    const backend = fakeBackend({ list_maintenance: () => (backend.count('add_maintenance') > 0 ? [w] : []), add_maintenance: () => w });
    render(MaintenanceDialog, { clock, targets: [{ scope: 'ward', id: 'icu-1', label: 'ICU 1' }] });
    expect(await screen.findByTestId('maintenance-empty')).toBeTruthy();
    await fireEvent.change(screen.getByTestId('maintenance-scope'), { target: { value: 'ward' } });
    await fireEvent.input(screen.getByTestId('maintenance-target'), { target: { value: 'icu-1' } });
    await fireEvent.input(screen.getByTestId('maintenance-end'), { target: { value: at(2) } });
    await fireEvent.input(screen.getByTestId('maintenance-reason'), { target: { value: ' deep cleaning ' } });
    await fireEvent.click(screen.getByTestId('maintenance-confirm'));
    expect(words(await screen.findByTestId('maintenance-added'))).toBe('✔ Maintenance set for ICU 1.');
    expect(backend.calls.find((c) => c.cmd === 'add_maintenance')?.args).toEqual({
      scope: 'ward',
      target: 'icu-1',
      start: new Date(Date.parse(NOW)).toISOString(),
      end: new Date(Date.parse(NOW) + 2 * 3_600_000).toISOString(),
      reason: 'deep cleaning',
    });
    expect(await screen.findByTestId('maintenance-row-5')).toBeTruthy();
  });

  test('End now asks for a reason and ends the window', async () => {
    const w = maintenance(3);
    const backend = fakeBackend({ list_maintenance: () => [w], end_maintenance: () => ({ ...w, active: false }) });
    render(MaintenanceDialog, { clock });
    const row = await screen.findByTestId('maintenance-row-3');
    await fireEvent.click(within(row).getByTestId('maintenance-end-now'));
    const confirm = screen.getByTestId('maintenance-end-confirm') as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('maintenance-end-reason'), { target: { value: 'done early' } });
    await fireEvent.click(confirm);
    await vi.waitFor(() => expect(backend.calls.find((c) => c.cmd === 'end_maintenance')?.args).toEqual({ id: 3, reason: 'done early' }));
  });
});
