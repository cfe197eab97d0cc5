import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import MuteDialog from './MuteDialog.svelte';
import { fakeBackend, incidentRow, NOW } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const clock = () => Date.parse(NOW);

describe('MuteDialog', () => {
  test('explains what muting does and offers bounded expiries only', () => {
    fakeBackend({});
    render(MuteDialog, { incident: 4, clock });
    expect(words(screen.getByTestId('mute-dialog'))).toContain(
      'Muting stops notifications for this incident until the expiry. It stays in the list.',
    );
    const expiry = screen.getByTestId('mute-expiry') as HTMLSelectElement;
    expect(Array.from(expiry.options).map((o) => o.textContent)).toEqual(['1 hour', '4 hours', '8 hours', '24 hours', '3 days', '7 days']);
  });

  test('refuses to mute without a reason', async () => {
    const backend = fakeBackend({ incident_act: () => incidentRow(4) });
    render(MuteDialog, { incident: 4, clock });
    const confirm = screen.getByTestId('mute-confirm') as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('mute-reason'), { target: { value: '   ' } });
    expect(confirm.disabled).toBe(true);
    await fireEvent.submit(confirm.closest('form') as HTMLFormElement);
    expect(backend.count('incident_act')).toBe(0);
  });

  test('sends the mute with the reason and the exact expiry from the clock', async () => {
    const row = incidentRow(4, { muted: { until: '2026-12-01T10:00:00.000Z', reason: 'vendor patching', by: 'nurse.a' } });
    const backend = fakeBackend({ incident_act: () => row });
    const onMuted = vi.fn();
    render(MuteDialog, { incident: 4, clock, onMuted });
    await fireEvent.change(screen.getByTestId('mute-expiry'), { target: { value: '72' } });
    await fireEvent.input(screen.getByTestId('mute-reason'), { target: { value: '  vendor patching ' } });
    await fireEvent.click(screen.getByTestId('mute-confirm'));
    await vi.waitFor(() => expect(onMuted).toHaveBeenCalledWith(row));
    expect(backend.calls).toEqual([
      { cmd: 'incident_act', args: { id: 4, action: { action: 'mute', until: '2026-12-01T10:00:00.000Z', reason: 'vendor patching' } } },
    ]);
  });

  test("shows the backend's refusal and stays open", async () => {
    fakeBackend({
      incident_act: () => {
        throw { code: 'incident.mute_expiry', message: 'a mute ends in the future: give an expiry after now' };
      },
    });
    const onMuted = vi.fn();
    render(MuteDialog, { incident: 4, clock, onMuted });
    await fireEvent.input(screen.getByTestId('mute-reason'), { target: { value: 'x' } });
    await fireEvent.click(screen.getByTestId('mute-confirm'));
    expect(words(await screen.findByTestId('mute-error'))).toBe(
      '✖ Not muted: a mute ends in the future: give an expiry after now (incident.mute_expiry)',
    );
    expect(screen.getByTestId('mute-error').getAttribute('role')).toBe('alert');
    expect(onMuted).not.toHaveBeenCalled();
  });

  test('Cancel closes without sending', async () => {
    const backend = fakeBackend({});
    const onClose = vi.fn();
    render(MuteDialog, { incident: 4, clock, onClose });
    await fireEvent.click(screen.getByTestId('mute-cancel'));
    expect(onClose).toHaveBeenCalledOnce();
    expect(backend.calls).toEqual([]);
  });
});
