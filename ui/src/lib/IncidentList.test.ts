import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { IncidentRow } from './bindings/IncidentRow';
import IncidentList from './IncidentList.svelte';
import { ago, fakeBackend, incidentList, incidentRow, maintenance, NOW } from './testing';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const rowIds = () => screen.getAllByTestId(/^incident-row-/).map((r) => r.dataset.incident);

function backendWith(rows: IncidentRow[]) {
  vi.spyOn(Date, 'now').mockReturnValue(Date.parse(NOW));
  return fakeBackend({ list_incidents: () => incidentList(rows) });
}

describe('IncidentList', () => {
  test('rows in the order the backend gives them, each with priority, title, device, ward, count, state and notice', async () => {
    backendWith([
      incidentRow(7, { priority: 'high', title: 'Firmware changed' }),
      incidentRow(3, {
        priority: 'low',
        title: 'Port scan',
        subjectKind: 'address',
        subject: '10.9.9.9',
        deviceId: null,
        deviceLabel: null,
        ward: null,
        wardName: null,
        count: 1,
        notice: { kind: 'suppressed', at: null, text: 'suppressed: below high priority' },
      }),
      incidentRow(5, { priority: 'medium', title: 'Telnet open', count: 12_400, lastSeen: ago(90) }),
    ]);
    render(IncidentList, {});
    await screen.findByTestId('incident-row-7');
    expect(rowIds()).toEqual(['7', '3', '5']);

    const first = screen.getByTestId('incident-row-7');
    expect(first.tagName).toBe('BUTTON');
    expect(words(within(first).getByTestId('priority-badge'))).toBe('*** High');
    expect(words(within(first).getByTestId('incident-title'))).toBe('Firmware changed');
    expect(words(within(first).getByTestId('incident-subject'))).toBe('Infusion pump pump-7');
    expect(words(within(first).getByTestId('incident-ward'))).toBe('· ICU 1');
    expect(words(within(first).getByTestId('incident-alerts'))).toBe('3 alerts');
    expect(words(within(first).getByTestId('incident-state'))).toBe('● Open');
    expect(words(within(first).getByTestId('incident-sources'))).toBe('Seen by cef · Acme Medical InfusionGate');
    expect(words(within(first).getByTestId('incident-notice'))).toBe('✉ notified at 09:50 to security officer');
    expect(words(first)).toContain('last 3 min ago');

    const scan = screen.getByTestId('incident-row-3');
    expect(words(within(scan).getByTestId('priority-badge'))).toBe('* Low');
    expect(words(within(scan).getByTestId('incident-subject'))).toBe('Address 10.9.9.9');
    expect(within(scan).queryByTestId('incident-ward')).toBeNull();
    expect(words(within(scan).getByTestId('incident-alerts'))).toBe('1 alert');
    expect(within(scan).getByTestId('incident-notice').dataset.notice).toBe('suppressed');

    const telnet = screen.getByTestId('incident-row-5');
    expect(words(within(telnet).getByTestId('incident-alerts'))).toBe('12,400 alerts');
    expect(words(telnet)).toContain('last 90 s ago');
  });

  test('storm, mute, silence and maintenance are marked in words', async () => {
    backendWith([
      incidentRow(1, {
        storm: true,
        muted: { until: '2026-11-28T14:00:00Z', reason: 'vendor patching tonight', by: 'it.officer' },
        silencedUntil: '2026-11-28T10:05:00Z',
        maintenance: maintenance(2),
      }),
      incidentRow(2),
    ]);
    render(IncidentList, {});
    const row = await screen.findByTestId('incident-row-1');
    expect(words(within(row).getByTestId('incident-storm'))).toBe('≋ storm');
    expect(words(within(row).getByTestId('incident-muted'))).toMatch(/^🔕 Muted until \d\d:\d\d:\d\d: vendor patching tonight$/);
    expect(words(within(row).getByTestId('incident-silenced'))).toMatch(/^⏸ Silenced until \d\d:\d\d:\d\d$/);
    expect(words(within(row).getByTestId('incident-maintenance'))).toMatch(/^⚙ In maintenance until \d\d:\d\d:\d\d: Infusion pump pump-7$/);

    const plain = screen.getByTestId('incident-row-2');
    for (const id of ['incident-storm', 'incident-muted', 'incident-silenced', 'incident-maintenance']) {
      expect(within(plain).queryByTestId(id)).toBeNull();
    }
  });

  test('the counts: high, medium and low of the unresolved, and by state', async () => {
    backendWith([
      incidentRow(1, { priority: 'high' }),
      incidentRow(2, { priority: 'high', state: 'acknowledged' }),
      incidentRow(3, { priority: 'medium', state: 'resolved' }),
      incidentRow(4, { priority: 'low' }),
    ]);
    render(IncidentList, {});
    const counts = await screen.findAllByTestId('incident-count');
    expect(counts.map(words)).toEqual(['*** High 2', '** Medium 0', '* Low 1', 'Open 2', 'Acknowledged 1', 'Resolved 1']);
    expect(counts.map((c) => c.dataset.kind)).toEqual(['high', 'medium', 'low', 'open', 'acknowledged', 'resolved']);
  });

  test('asks for the unresolved incidents first; each filter asks again with it', async () => {
    const backend = backendWith([incidentRow(1, { ward: 'icu-1', wardName: 'ICU 1' }), incidentRow(2, { ward: 'mat-2', wardName: 'Maternity 2' })]);
    render(IncidentList, { wards: [{ id: 'er', name: 'Emergency' }] });
    await screen.findByTestId('incident-row-1');
    const filters = () => backend.calls.filter((c) => c.cmd === 'list_incidents').map((c) => c.args.filter);
    expect(filters()).toEqual([{ ward: null, priority: null, state: null, openOnly: true }]);

    const ward = screen.getByTestId('incident-filter-ward') as HTMLSelectElement;
    expect(Array.from(ward.options).map((o) => o.textContent)).toEqual(['All wards', 'Emergency', 'ICU 1', 'Maternity 2']);
    await fireEvent.change(ward, { target: { value: 'mat-2' } });
    await fireEvent.change(screen.getByTestId('incident-filter-priority'), { target: { value: 'high' } });
    await fireEvent.change(screen.getByTestId('incident-filter-state'), { target: { value: 'resolved' } });
    await vi.waitFor(() => expect(filters().at(-1)).toEqual({ ward: 'mat-2', priority: 'high', state: 'resolved', openOnly: false }));
    expect(filters()).toContainEqual({ ward: 'mat-2', priority: null, state: null, openOnly: true });

    await fireEvent.change(screen.getByTestId('incident-filter-state'), { target: { value: 'all' } });
    await vi.waitFor(() => expect(filters().at(-1)).toEqual({ ward: 'mat-2', priority: 'high', state: null, openOnly: false }));

    await fireEvent.click(screen.getByTestId('incident-filter-clear'));
    await vi.waitFor(() => expect(filters().at(-1)).toEqual({ ward: null, priority: null, state: null, openOnly: true }));
  });

  test('a click on a row selects its incident; the selected row is marked', async () => {
    backendWith([incidentRow(1), incidentRow(2)]);
    const onselect = vi.fn();
    render(IncidentList, { onselect, selected: 2 });
    await fireEvent.click(await screen.findByTestId('incident-row-1'));
    expect(onselect).toHaveBeenCalledWith(1);
    expect(screen.getByTestId('incident-row-2').getAttribute('aria-current')).toBe('true');
    expect(screen.getByTestId('incident-row-1').getAttribute('aria-current')).toBeNull();
  });

  test('no incident: plain words, different when filtered', async () => {
    backendWith([]);
    render(IncidentList, {});
    expect(words(await screen.findByTestId('incidents-empty'))).toBe('No open incidents.');
    await fireEvent.change(screen.getByTestId('incident-filter-priority'), { target: { value: 'low' } });
    await vi.waitFor(() => expect(words(screen.getByTestId('incidents-empty'))).toBe('No incidents match these filters.'));
  });

  test('refreshes every 3 seconds and stops when removed', async () => {
    vi.useFakeTimers();
    let n = 0;
    const backend = fakeBackend({ list_incidents: () => incidentList([incidentRow(1, { count: ++n })]) });
    const { unmount } = render(IncidentList, {});
    await vi.advanceTimersByTimeAsync(0);
    expect(backend.count('list_incidents')).toBe(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(backend.count('list_incidents')).toBe(2);
    expect(words(screen.getByTestId('incident-alerts'))).toBe('2 alerts');
    unmount();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(backend.count('list_incidents')).toBe(2);
  });

  test('a failure is reported, and a first failure claims nothing', async () => {
    fakeBackend({
      list_incidents: () => {
        throw { code: 'store.failed', message: 'database is locked' };
      },
    });
    const report = vi.fn();
    render(IncidentList, { report });
    await vi.waitFor(() =>
      expect(report).toHaveBeenLastCalledWith({ doing: 'load the incidents', error: { code: 'store.failed', message: 'database is locked' } }),
    );
    expect(words(screen.getByTestId('incidents-unknown'))).toBe('? Not known: the console did not answer.');
    expect(screen.queryByTestId('incidents-empty')).toBeNull();
  });
});
