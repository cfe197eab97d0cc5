import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { DeviceRow } from './bindings/DeviceRow';
import type { WardDetail } from './bindings/WardDetail';
import { ago, deviceRow, fakeBackend, NOW, wardTile } from './testing';
import WardView from './WardView.svelte';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

function row(id: string): HTMLElement {
  const el = screen.getAllByTestId('device-row').find((r) => r.dataset.device === id);
  if (!el) throw new Error(`no row for ${id}`);
  return el;
}

const devices: DeviceRow[] = [
  deviceRow('pump-7', {
    room: '2',
    bed: '1',
    health: 'at_risk',
    reasons: [
      { topic: 'criticality', raisesTo: null, text: 'function 10 (life support)' },
      { topic: 'incident', raisesTo: 'at_risk', text: 'high incident open: Repeated failed logins (3 times, last 3 min ago)' },
    ],
  }),
  deviceRow('mon-3', {
    kind: 'patient_monitor',
    kindLabel: 'Patient monitor',
    manufacturer: 'Vitalis',
    model: 'VM-9',
    room: '2',
    bed: '2',
    tier: 'diagnostic',
    tierLabel: 'Diagnostic',
    health: 'ok',
    clinicalUse: { state: 'idle', label: 'Idle', source: 'set by nurse.a: discharged', since: ago(7200), countsAsInUse: false },
  }),
  deviceRow('vent-2', {
    kind: 'ventilator',
    kindLabel: 'Ventilator',
    room: '10',
    bed: null,
    health: 'compromised_suspected',
    clinicalUse: { state: 'maintenance', label: 'In maintenance', source: 'set by tech.b: service', since: ago(60), countsAsInUse: false },
  }),
  deviceRow('gw-1', {
    kind: 'gateway',
    kindLabel: 'Gateway',
    manufacturer: null,
    model: null,
    room: null,
    bed: null,
    tier: 'non_clinical',
    tierLabel: 'Non-clinical',
    health: 'unknown',
    clinicalUse: { state: 'unknown', label: 'Unknown (treated as in use)', source: 'no evidence yet', since: null, countsAsInUse: true },
  }),
  deviceRow('pump-9', { room: null, bed: null, health: 'watch', tier: 'therapeutic', tierLabel: 'Therapeutic' }),
];

function detail(over: Partial<WardDetail> = {}): WardDetail {
  return {
    ward: wardTile('icu-1', {
      name: 'ICU 1',
      devices: 5,
      inUse: 2,
      worst: 'compromised_suspected',
      byHealth: [
        { health: 'compromised_suspected', label: 'Compromise suspected', count: 1 },
        { health: 'at_risk', label: 'At risk', count: 1 },
        { health: 'watch', label: 'Watch', count: 1 },
        { health: 'unknown', label: 'Unknown / not heard from', count: 1 },
        { health: 'ok', label: 'OK', count: 1 },
      ],
    }),
    devices,
    ...over,
  };
}

async function show(props: Record<string, unknown> = {}) {
  vi.spyOn(Date, 'now').mockReturnValue(Date.parse(NOW));
  const backend = fakeBackend({ ward_detail: () => detail() });
  const result = render(WardView, { ward: 'icu-1', ...props });
  await screen.findAllByTestId('device-row');
  return { backend, ...result };
}

describe('WardView', () => {
  test('asks for its ward and shows it with its worst health', async () => {
    const { backend } = await show();
    expect(backend.calls[0]).toEqual({ cmd: 'ward_detail', args: { ward: 'icu-1' } });
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('ICU 1');
    expect(words(screen.getByTestId('ward-health'))).toBe('✖ Compromise suspected');
  });

  test('devices are grouped by room, in the order given, then bed', async () => {
    await show();
    const rooms = screen.getAllByTestId('room');
    expect(rooms.map((r) => within(r).getByRole('heading').textContent)).toEqual(['Room 2', 'Room 10', 'No room recorded']);
    expect(rooms.map((r) => within(r).getAllByTestId('device-row').map((d) => d.dataset.device))).toEqual([
      ['pump-7', 'mon-3'],
      ['vent-2'],
      ['gw-1', 'pump-9'],
    ]);
    expect(words(row('pump-7'))).toMatch(/^Bed 1 Infusion pump Acme Medical · InfuseOne 3 pump-7/);
    expect(words(row('vent-2'))).toMatch(/^No bed Ventilator/);
  });

  test('each health shows its shape and word, with the reason that matters most', async () => {
    await show();
    const health = (id: string) => words(within(row(id)).getByTestId('health'));
    expect(health('pump-7')).toBe('▲ At risk');
    expect(health('mon-3')).toBe('✔ OK');
    expect(health('vent-2')).toBe('✖ Compromise suspected');
    expect(health('gw-1')).toBe('? Not heard from');
    expect(health('pump-9')).toBe('◔ Watch');
    expect(words(within(row('pump-7')).getByTestId('device-reason'))).toBe(
      'high incident open: Repeated failed logins (3 times, last 3 min ago)',
    );
    expect(within(row('mon-3')).queryByTestId('device-reason')).toBeNull();
  });

  test('each clinical-use state shows its shape and words, its source and age', async () => {
    await show();
    const use = (id: string) => words(within(row(id)).getByTestId('use-state'));
    const source = (id: string) => words(within(row(id)).getByTestId('use-source'));
    expect(use('pump-7')).toBe('● In use with a patient');
    expect(source('pump-7')).toBe('HL7 ORU^R01 with a patient · 3 min ago');
    expect(use('mon-3')).toBe('○ Idle');
    expect(source('mon-3')).toBe('set by nurse.a: discharged · 2 h ago');
    expect(use('vent-2')).toBe('⚙ In maintenance');
    expect(use('gw-1')).toBe('◍ Unknown — treated as in use');
    expect(source('gw-1')).toBe('no evidence yet');
  });

  test('criticality shows as bars and the word', async () => {
    await show();
    const tier = (id: string) => words(within(row(id)).getByTestId('device-tier'));
    expect(tier('pump-7')).toBe('●●●● Life-sustaining');
    expect(tier('pump-9')).toBe('●●○○ Therapeutic');
    expect(tier('mon-3')).toBe('●○○○ Diagnostic');
    expect(tier('gw-1')).toBe('○○○○ Non-clinical');
  });

  test('a row opens its device; Back returns to the wards', async () => {
    const onOpenDevice = vi.fn();
    const onBack = vi.fn();
    await show({ onOpenDevice, onBack });
    await fireEvent.click(row('vent-2'));
    expect(onOpenDevice).toHaveBeenCalledWith('vent-2');
    await fireEvent.click(screen.getByTestId('back-to-wards'));
    expect(onBack).toHaveBeenCalledOnce();
  });

  test('the health filter shows only the devices in one health, and all again', async () => {
    await show();
    const filter = screen.getByTestId('health-filter');
    const buttons = within(filter).getAllByRole('button');
    expect(buttons.map(words)).toEqual([
      'All (5)',
      '✖ Compromise suspected (1)',
      '▲ At risk (1)',
      '◔ Watch (1)',
      '? Not heard from (1)',
      '✔ OK (1)',
    ]);
    await fireEvent.click(buttons[2] as HTMLElement);
    expect(screen.getAllByTestId('device-row').map((r) => r.dataset.device)).toEqual(['pump-7']);
    expect(buttons[2]?.getAttribute('aria-pressed')).toBe('true');
    await fireEvent.click(buttons[0] as HTMLElement);
    expect(screen.getAllByTestId('device-row')).toHaveLength(5);
  });

  test('an empty ward says so', async () => {
    fakeBackend({ ward_detail: () => detail({ devices: [] }) });
    render(WardView, { ward: 'icu-1' });
    expect(words(await screen.findByTestId('ward-empty'))).toBe('No devices in this ward yet.');
  });

  test('an unknown ward shows the error and reports it', async () => {
    fakeBackend({
      ward_detail: () => {
        throw { code: 'hospital.unknown_ward', message: 'there is no ward icu-9' };
      },
    });
    const report = vi.fn();
    render(WardView, { ward: 'icu-9', report });
    expect(words(await screen.findByTestId('ward-unknown'))).toBe('? Could not load this ward: there is no ward icu-9');
    expect(report).toHaveBeenLastCalledWith({
      doing: 'load the ward',
      error: { code: 'hospital.unknown_ward', message: 'there is no ward icu-9' },
    });
  });

  test('refreshes every 3 seconds and stops when removed', async () => {
    vi.useFakeTimers();
    const backend = fakeBackend({ ward_detail: () => detail() });
    const { unmount } = render(WardView, { ward: 'icu-1' });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(backend.count('ward_detail')).toBe(2);
    unmount();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(backend.count('ward_detail')).toBe(2);
  });
});
