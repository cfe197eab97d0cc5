import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { DeviceRow } from './bindings/DeviceRow';
import type { StagedQueue as Queue } from './bindings/StagedQueue';
import StagedQueue from './StagedQueue.svelte';
import { ago, deviceRow, fakeBackend, NOW } from './testing';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

const unknownUse = { state: 'unknown', label: 'Unknown (treated as in use)', source: 'no evidence yet', since: null, countsAsInUse: true } as const;

function staged(id: string, over: Partial<DeviceRow> = {}): DeviceRow {
  return deviceRow(id, {
    kind: 'other',
    kindLabel: 'Unknown device',
    manufacturer: null,
    model: null,
    ward: null,
    room: null,
    bed: null,
    tier: 'non_clinical',
    tierLabel: 'Non-clinical',
    staged: true,
    clinicalUse: unknownUse,
    ...over,
  });
}

const queue: Queue = {
  devices: [
    staged('seen-ip-10.1.2.3', {
      identities: [
        { kind: 'ip', value: '10.1.2.3' },
        { kind: 'mac', value: '00:11:22:33:44:55' },
      ],
      lastSeen: ago(60),
      health: 'watch',
      reasons: [{ topic: 'incident', raisesTo: 'watch', text: 'medium incident open: Port scan (once, last 1 min ago)' }],
      openIncidents: 1,
    }),
    staged('seen-ip-10.1.2.4', { identities: [{ kind: 'ip', value: '10.1.2.4' }], lastSeen: null, health: 'unknown' }),
  ],
  wards: [
    { id: 'icu-1', name: 'ICU 1' },
    { id: 'mat-2', name: 'Maternity 2' },
  ],
};

function row(id: string): HTMLElement {
  const el = screen.getAllByTestId('staged-row').find((r) => r.dataset.device === id);
  if (!el) throw new Error(`no row for ${id}`);
  return el;
}

async function show(handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}, props = {}) {
  vi.spyOn(Date, 'now').mockReturnValue(Date.parse(NOW));
  const backend = fakeBackend({ staged_queue: () => queue, ...handlers });
  render(StagedQueue, props);
  await screen.findAllByTestId('staged-row');
  return backend;
}

describe('StagedQueue', () => {
  test('says in plain words what the queue is, and lists each device with identity, last seen and health', async () => {
    await show();
    const view = screen.getByTestId('staged-queue');
    expect(words(view)).toContain(
      'Seen on the network but not in the inventory. Nothing is put in a ward without a person confirming it.',
    );
    expect(words(screen.getByRole('heading', { level: 2 }))).toBe('Staged devices (2)');

    const first = row('seen-ip-10.1.2.3');
    expect(words(within(first).getByTestId('staged-identities'))).toBe('IP address 10.1.2.3 · MAC address 00:11:22:33:44:55');
    expect(words(within(first).getByTestId('staged-seen'))).toBe('Last seen 60 s ago 1 open incident');
    expect(words(within(first).getByTestId('health'))).toBe('◔ Watch');
    expect(words(first)).toContain('medium incident open: Port scan');

    const second = row('seen-ip-10.1.2.4');
    expect(words(within(second).getByTestId('staged-seen'))).toBe('Not heard from');
    expect(words(within(second).getByTestId('health'))).toBe('? Not heard from');
    const options = within(second).getByTestId('assign-ward').querySelectorAll('option');
    expect(Array.from(options).map((o) => [o.value, o.textContent])).toEqual([
      ['', 'Choose a ward…'],
      ['icu-1', 'ICU 1'],
      ['mat-2', 'Maternity 2'],
    ]);
  });

  test('assigning sends ward, room, bed and reason, and the row leaves the queue', async () => {
    const assigned = deviceRow('seen-ip-10.1.2.3', { ward: 'mat-2', room: '4', bed: null, staged: false });
    const backend = await show({ assign_device: () => assigned });
    const r = row('seen-ip-10.1.2.3');
    await fireEvent.change(within(r).getByTestId('assign-ward'), { target: { value: 'mat-2' } });
    await fireEvent.input(within(r).getByTestId('assign-room'), { target: { value: ' 4 ' } });
    await fireEvent.input(within(r).getByTestId('assign-reason'), { target: { value: ' asset tag read on the device ' } });
    await fireEvent.click(within(r).getByTestId('assign-submit'));

    expect(words(await screen.findByTestId('staged-assigned'))).toBe('✔ seen-ip-10.1.2.3 is now in Maternity 2.');
    expect(backend.calls.filter((c) => c.cmd === 'assign_device')).toEqual([
      {
        cmd: 'assign_device',
        args: { device: 'seen-ip-10.1.2.3', ward: 'mat-2', room: '4', bed: null, reason: 'asset tag read on the device' },
      },
    ]);
    expect(screen.getAllByTestId('staged-row').map((e) => e.dataset.device)).toEqual(['seen-ip-10.1.2.4']);
    expect(words(screen.getByRole('heading', { level: 2 }))).toBe('Staged devices (1)');
  });

  test('without a ward or a reason nothing is sent', async () => {
    const backend = await show({ assign_device: () => queue.devices[0] });
    const r = row('seen-ip-10.1.2.4');
    await fireEvent.click(within(r).getByTestId('assign-submit'));
    expect(words(within(r).getByTestId('assign-error'))).toBe(
      '✖ Choose a ward and give a reason: nothing is put in a ward without both.',
    );
    await fireEvent.change(within(r).getByTestId('assign-ward'), { target: { value: 'icu-1' } });
    await fireEvent.click(within(r).getByTestId('assign-submit'));
    expect(words(within(r).getByTestId('assign-error'))).toBe('✖ Give a reason: nothing is put in a ward without both.');
    expect(within(r).getByTestId('assign-reason').getAttribute('aria-invalid')).toBe('true');
    expect(backend.count('assign_device')).toBe(0);
  });

  test('a refused assignment shows the error and keeps the row', async () => {
    await show({
      assign_device: () => {
        throw { code: 'hospital.unknown_ward', message: 'there is no ward mat-2' };
      },
    });
    const r = row('seen-ip-10.1.2.4');
    await fireEvent.change(within(r).getByTestId('assign-ward'), { target: { value: 'mat-2' } });
    await fireEvent.input(within(r).getByTestId('assign-reason'), { target: { value: 'label on the device' } });
    await fireEvent.click(within(r).getByTestId('assign-submit'));
    expect(words(await within(r).findByTestId('assign-error'))).toBe(
      '✖ Not assigned: there is no ward mat-2 (hospital.unknown_ward)',
    );
    expect(screen.getAllByTestId('staged-row')).toHaveLength(2);
    expect(screen.queryByTestId('staged-assigned')).toBeNull();
  });

  test('Details opens the device; Back returns to the wards', async () => {
    const onOpenDevice = vi.fn();
    const onBack = vi.fn();
    await show({}, { onOpenDevice, onBack });
    await fireEvent.click(within(row('seen-ip-10.1.2.4')).getByTestId('staged-open'));
    expect(onOpenDevice).toHaveBeenCalledWith('seen-ip-10.1.2.4');
    await fireEvent.click(screen.getByTestId('back-to-wards'));
    expect(onBack).toHaveBeenCalledOnce();
  });

  test('an empty queue says so', async () => {
    fakeBackend({ staged_queue: () => ({ devices: [], wards: [] }) });
    render(StagedQueue, {});
    expect(words(await screen.findByTestId('staged-empty'))).toBe(
      'No device is waiting: everything seen on the network is in the inventory.',
    );
  });

  test('a failed load shows and reports the error', async () => {
    fakeBackend({
      staged_queue: () => {
        throw { code: 'console.unavailable', message: 'the console is starting' };
      },
    });
    const report = vi.fn();
    render(StagedQueue, { report });
    expect(words(await screen.findByTestId('staged-unknown'))).toBe('? Could not load the staged devices: the console is starting');
    expect(report).toHaveBeenLastCalledWith({
      doing: 'load the staged devices',
      error: { code: 'console.unavailable', message: 'the console is starting' },
    });
  });

  test('refreshes every 3 seconds, keeps an assigned device out, and stops when removed', async () => {
    vi.useFakeTimers();
    const backend = fakeBackend({
      staged_queue: () => queue,
      assign_device: () => deviceRow('seen-ip-10.1.2.4', { ward: 'icu-1' }),
    });
    const { unmount } = render(StagedQueue, {});
    await vi.advanceTimersByTimeAsync(0);
    const r = row('seen-ip-10.1.2.4');
    await fireEvent.change(within(r).getByTestId('assign-ward'), { target: { value: 'icu-1' } });
    await fireEvent.input(within(r).getByTestId('assign-reason'), { target: { value: 'checked' } });
    await fireEvent.click(within(r).getByTestId('assign-submit'));
    await vi.advanceTimersByTimeAsync(0);
    // The backend still lists it (a refresh taken before the assignment): it stays out.
    await vi.advanceTimersByTimeAsync(3000);
    expect(backend.count('staged_queue')).toBe(2);
    expect(screen.getAllByTestId('staged-row').map((e) => e.dataset.device)).toEqual(['seen-ip-10.1.2.3']);
    unmount();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(backend.count('staged_queue')).toBe(2);
  });
});
