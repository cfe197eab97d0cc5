import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { HealthLevel } from './bindings/HealthLevel';
import { HEALTH_LEVELS } from './format';
import { fakeBackend, incident, NOW, overview, wardTile } from './testing';
import WardsOverview from './WardsOverview.svelte';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

function tile(ward: string): HTMLElement {
  const el = screen.getAllByTestId('ward-tile').find((t) => t.dataset.ward === ward);
  if (!el) throw new Error(`no tile for ${ward}`);
  return el;
}

describe('WardsOverview', () => {
  test('one tile per ward with name, kind, counts and the worst health as its status', async () => {
    const icu = wardTile('icu-1', {
      name: 'ICU 1',
      kindLabel: 'Intensive care',
      site: 'North',
      devices: 12,
      inUse: 7,
      worst: 'at_risk',
      worstLabel: 'At risk',
      byHealth: [
        { health: 'compromised_suspected', label: 'Compromise suspected', count: 0 },
        { health: 'at_risk', label: 'At risk', count: 1 },
        { health: 'watch', label: 'Watch', count: 2 },
        { health: 'unknown', label: 'Unknown / not heard from', count: 0 },
        { health: 'ok', label: 'OK', count: 9 },
      ],
    });
    fakeBackend({ wards_overview: () => overview([icu, wardTile('mat-2', { name: 'Maternity 2' })]) });
    render(WardsOverview, {});
    expect(await screen.findAllByTestId('ward-tile')).toHaveLength(2);

    const t = tile('icu-1');
    expect(t.tagName).toBe('BUTTON');
    expect(t.dataset.health).toBe('at_risk');
    expect(words(t)).toContain('ICU 1');
    expect(words(t)).toContain('Intensive care · North');
    expect(words(within(t).getByTestId('ward-devices'))).toBe('12 devices · 7 in use with a patient');
    const status = within(t).getByTestId('ward-status');
    expect(words(status)).toBe('▲ At risk');

    const counts = within(t).getAllByTestId('ward-health-count');
    expect(counts.map(words)).toEqual(['✖ Compromise suspected 0', '▲ At risk 1', '◔ Watch 2', '? Not heard from 0', '✔ OK 9']);
    expect(counts.map((c) => c.classList.contains('zero'))).toEqual([true, false, false, true, false]);
    expect(words(within(t).getByText('No open incident'))).toBe('No open incident');
  });

  test.each(HEALTH_LEVELS.map((h) => [h]))('a ward whose worst is %s shows its shape and word', async (worst: HealthLevel) => {
    const expected: Record<HealthLevel, string> = {
      ok: '✔ OK',
      unknown: '? Not heard from',
      watch: '◔ Watch',
      at_risk: '▲ At risk',
      compromised_suspected: '✖ Compromise suspected',
    };
    fakeBackend({ wards_overview: () => overview([wardTile('w', { worst })]) });
    render(WardsOverview, {});
    const status = await screen.findByTestId('ward-status');
    expect(status.dataset.health).toBe(worst);
    expect(words(status)).toBe(expected[worst]);
  });

  test('the worst open incident: severity badge, condition, device and age', async () => {
    const w = wardTile('icu-1', {
      worst: 'compromised_suspected',
      worstIncident: incident(5, { severity: 9, condition: 'Firmware changed', deviceId: 'vent-2', lastSeen: '2026-11-28T09:57:00Z' }),
    });
    fakeBackend({ wards_overview: () => overview([w], { generatedAt: NOW }) });
    render(WardsOverview, {});
    const inc = await screen.findByTestId('ward-incident');
    expect(words(within(inc).getByTestId('alert-severity'))).toBe('▲ Critical');
    expect(words(inc)).toBe('▲ Critical Firmware changed vent-2 · 3 min ago');
  });

  test('a tile opens its ward; the staged link opens the queue', async () => {
    fakeBackend({ wards_overview: () => overview([wardTile('icu-1'), wardTile('mat-2')], { staged: 3 }) });
    const onOpenWard = vi.fn();
    const onOpenStaged = vi.fn();
    render(WardsOverview, { onOpenWard, onOpenStaged });
    await screen.findAllByTestId('ward-tile');
    await fireEvent.click(tile('mat-2'));
    expect(onOpenWard).toHaveBeenCalledWith('mat-2');

    const link = screen.getByTestId('staged-link');
    expect(words(link)).toContain('Staged devices (3)');
    await fireEvent.click(link);
    expect(onOpenStaged).toHaveBeenCalledOnce();
  });

  test('no staged link when nothing is staged', async () => {
    fakeBackend({ wards_overview: () => overview([wardTile('icu-1')], { staged: 0 }) });
    render(WardsOverview, {});
    await screen.findAllByTestId('ward-tile');
    expect(screen.queryByTestId('staged-link')).toBeNull();
  });

  test('with no ward it explains how to get some', async () => {
    fakeBackend({ wards_overview: () => overview([]) });
    render(WardsOverview, {});
    const empty = await screen.findByTestId('wards-empty');
    expect(words(empty)).toContain('No wards yet.');
    expect(words(empty)).toContain("Import the hospital's device inventory (Import inventory, at the top)");
    expect(words(empty)).toContain('run the simulated hospital (wardwatch serve --simulate)');
  });

  test('refreshes every 3 seconds and stops when removed', async () => {
    vi.useFakeTimers();
    let devices = 0;
    const backend = fakeBackend({ wards_overview: () => overview([wardTile('icu-1', { devices: ++devices })]) });
    const { unmount } = render(WardsOverview, {});
    await vi.advanceTimersByTimeAsync(0);
    expect(backend.count('wards_overview')).toBe(1);

    await vi.advanceTimersByTimeAsync(3000);
    expect(backend.count('wards_overview')).toBe(2);
    expect(words(screen.getByTestId('ward-devices'))).toBe('2 devices · 2 in use with a patient');

    unmount();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(backend.count('wards_overview')).toBe(2);
  });

  test('a failure is reported, and a first failure claims nothing', async () => {
    fakeBackend({
      wards_overview: () => {
        throw { code: 'store.failed', message: 'database is locked' };
      },
    });
    const report = vi.fn();
    render(WardsOverview, { report });
    await vi.waitFor(() =>
      expect(report).toHaveBeenLastCalledWith({ doing: 'load the wards', error: { code: 'store.failed', message: 'database is locked' } }),
    );
    expect(words(screen.getByTestId('wards-unknown'))).toBe('? Not known: the console did not answer.');
    expect(screen.queryByTestId('ward-tile')).toBeNull();
  });
});
