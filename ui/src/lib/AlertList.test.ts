import { clearMocks } from '@tauri-apps/api/mocks';
import { render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import AlertList from './AlertList.svelte';
import { alert, fakeBackend } from './testing';

afterEach(() => clearMocks());

const rowIds = () => screen.queryAllByTestId('alert-row').map((r) => Number(r.dataset.alertId));
const text = (el: Element) => el.textContent?.replace(/\s+/g, ' ').trim();

/** Renders the list against a backend holding `stored`, and waits until it subscribed. */
async function renderWith(stored: ReturnType<typeof alert>[], props = {}) {
  const backend = fakeBackend({ list_alerts: () => stored });
  const report = vi.fn();
  render(AlertList, { report, ...props });
  await waitFor(() => expect(backend.count('subscribe_alerts')).toBe(1));
  return { backend, report };
}

describe('AlertList', () => {
  test('subscribes first, then loads 200 stored alerts, so none falls in between', async () => {
    const { backend, report } = await renderWith([]);
    await waitFor(() => expect(backend.count('list_alerts')).toBe(1));
    expect(backend.calls.map((c) => c.cmd)).toEqual(['subscribe_alerts', 'list_alerts']);
    expect(backend.calls[1]?.args).toEqual({ limit: 200 });
    await waitFor(() => expect(report).toHaveBeenLastCalledWith(null));
  });

  test('shows stored alerts newest first, with icon and word for severity', async () => {
    await renderWith([
      alert(3, { severity: 9, name: 'Pump firmware tampering', sourceAddr: null }),
      alert(2, { severity: 7 }),
      alert(1, { severity: 2, vendor: null, product: 'Monitor X' }),
    ]);
    await waitFor(() => expect(rowIds()).toEqual([3, 2, 1]));

    const [first, second, third] = screen.getAllByTestId('alert-row');
    expect(text(first!.querySelector('[data-testid=alert-severity]')!)).toBe('▲ Critical');
    expect(text(second!.querySelector('[data-testid=alert-severity]')!)).toBe('◆ High');
    expect(text(third!.querySelector('[data-testid=alert-severity]')!)).toBe('○ Low');
    expect(text(first!.querySelector('[data-testid=alert-name]')!)).toBe('Pump firmware tampering');
    expect(first!.textContent).toContain('—');
    expect(first!.textContent).toContain('Acme Medical · InfusionGate');
    expect(third!.textContent).toContain('Monitor X');
  });

  test('marks an alert read leniently, with every deviation in its title', async () => {
    await renderWith([
      alert(2, { parseMode: 'lenient', deviations: ['2 spaces after the version', 'no structured-data field'] }),
      alert(1),
    ]);
    await waitFor(() => expect(rowIds()).toEqual([2, 1]));
    const [lenient, strict] = screen.getAllByTestId('alert-row');
    const mark = lenient!.querySelector('[data-testid=alert-lenient]')!;
    expect(text(mark)).toBe('≈ Read leniently: 2 spaces after the version (+1 more)');
    expect(mark.getAttribute('title')).toBe('2 spaces after the version\nno structured-data field');
    expect(strict!.querySelector('[data-testid=alert-lenient]')).toBeNull();
  });

  test("shows the sender's category and action when it gave them", async () => {
    await renderWith([alert(2, { category: '/Authentication/Default', action: 'blocked' }), alert(1)]);
    await waitFor(() => expect(rowIds()).toEqual([2, 1]));
    const [withBoth, without] = screen.getAllByTestId('alert-row');
    expect(text(withBoth!.querySelector('[data-testid=alert-category]')!)).toBe(
      "Category: /Authentication/Default · Sender's action: blocked",
    );
    expect(without!.querySelector('[data-testid=alert-category]')).toBeNull();
  });

  test('shows the local time, with the full timestamp in the title', async () => {
    const receivedAt = new Date(2026, 10, 28, 14, 3, 9).toISOString();
    await renderWith([alert(1, { receivedAt })]);
    const time = await screen.findByText('14:03:09');
    expect(time.getAttribute('title')).toMatch(/^Received 2026-11-28 14:03:09 UTC/);
  });

  test('puts a streamed alert at the top', async () => {
    const { backend } = await renderWith([alert(2), alert(1)]);
    await waitFor(() => expect(rowIds()).toEqual([2, 1]));

    backend.push({ kind: 'alert', data: alert(3, { name: 'New login on ventilator' }) });
    await waitFor(() => expect(rowIds()).toEqual([3, 2, 1]));
    expect(text(screen.getAllByTestId('alert-name')[0]!)).toBe('New login on ventilator');
  });

  test('does not show an alert twice', async () => {
    const { backend } = await renderWith([alert(2), alert(1)]);
    await waitFor(() => expect(rowIds()).toEqual([2, 1]));

    backend.push({ kind: 'alert', data: alert(2) });
    backend.push({ kind: 'alert', data: alert(3) });
    backend.push({ kind: 'alert', data: alert(3) });
    await waitFor(() => expect(rowIds()).toEqual([3, 2, 1]));
  });

  test('after a lag notice it says so and reloads the stored alerts', async () => {
    let stored = [alert(1)];
    const backend = fakeBackend({ list_alerts: () => stored });
    render(AlertList, {});
    await waitFor(() => expect(backend.count('subscribe_alerts')).toBe(1));

    stored = [alert(4), alert(3), alert(2), alert(1)];
    backend.push({ kind: 'lagged', data: { missed: 3 } });
    await waitFor(() => expect(rowIds()).toEqual([4, 3, 2, 1]));
    expect(screen.getByRole('status').textContent).toContain('3 were skipped');
    expect(backend.count('list_alerts')).toBe(2);
  });

  test('says plainly when there is nothing yet, and where it listens', async () => {
    await renderWith([], { listeningOn: ['udp://127.0.0.1:5514'] });
    const empty = await screen.findByTestId('alert-empty');
    await waitFor(() => expect(text(empty)).toBe('No alerts yet. Listening on udp://127.0.0.1:5514.'));
  });

  test('still subscribes when loading the stored alerts fails, and reports it', async () => {
    const backend = fakeBackend({
      list_alerts: () => {
        throw { code: 'store.locked', message: 'database is locked' };
      },
    });
    const report = vi.fn();
    render(AlertList, { report });
    await waitFor(() => expect(report).toHaveBeenCalled());
    expect(report).toHaveBeenLastCalledWith({
      doing: 'load the recent alerts',
      error: { code: 'store.locked', message: 'database is locked' },
    });
    expect(backend.count('subscribe_alerts')).toBe(1);
    backend.push({ kind: 'alert', data: alert(1) });
    await waitFor(() => expect(rowIds()).toEqual([1]));
  });
});
