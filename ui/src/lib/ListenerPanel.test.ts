import { clearMocks } from '@tauri-apps/api/mocks';
import { render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import ListenerPanel from './ListenerPanel.svelte';
import { fakeBackend, listener } from './testing';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const counter = (row: Element, key: string) =>
  row.querySelector(`[data-counter=${key}] dd`)?.textContent;

describe('ListenerPanel', () => {
  test('shows each listener with its state and counters', async () => {
    fakeBackend({
      listener_status: () => [
        listener({
          counters: { received: 1200, parsed: 1190, rejected: 7, oversize: 3, dropped: 0, context: 0, handshake_failed: 0, kernel_dropped: 0, unauthorized: 0, bad_requests: 0, connections: 2, refused: 4 },
        }),
        listener({ url: 'tcp://127.0.0.1:6514', boundAddr: null, state: 'failed', error: 'address already in use' }),
      ],
    });
    render(ListenerPanel, {});
    const rows = await screen.findAllByTestId('listener-row');
    expect(rows).toHaveLength(2);

    const [udp, tcp] = rows;
    expect(udp!.textContent).toContain('udp://127.0.0.1:5514');
    expect(udp!.textContent).toContain('Bound to 127.0.0.1:5514');
    expect(udp!.querySelector('[data-testid=listener-state]')?.textContent?.replace(/\s+/g, ' ').trim()).toBe('● Listening');
    expect(counter(udp!, 'received')).toBe('1,200');
    expect(counter(udp!, 'parsed')).toBe('1,190');
    expect(counter(udp!, 'rejected')).toBe('7');
    expect(counter(udp!, 'oversize')).toBe('3');
    expect(counter(udp!, 'dropped')).toBe('0');
    expect(counter(udp!, 'refused')).toBe('4');
    expect(udp!.querySelector('[data-counter=refused]')?.classList.contains('loss')).toBe(true);
    expect(udp!.querySelector('[data-counter=rejected]')?.classList.contains('loss')).toBe(true);
    expect(udp!.querySelector('[data-counter=dropped]')?.classList.contains('loss')).toBe(false);

    expect(tcp!.textContent).toContain('✖');
    expect(tcp!.textContent).toContain('Failed');
    expect(tcp!.textContent).toContain('address already in use');
    expect(tcp!.textContent).toContain('Bound to —');
  });

  test('breaks the counts down by sender and the rejections by reason', async () => {
    fakeBackend({
      listener_status: () => [
        listener({
          sources: [
            { source: '10.20.4.7', overflow: false, received: 900, parsed: 899, rejected: 1, oversize: 0, dropped: 0 },
            { source: '10.20.4.8', overflow: false, received: 300, parsed: 300, rejected: 0, oversize: 0, dropped: 0 },
            { source: null, overflow: true, received: 5, parsed: 2, rejected: 0, oversize: 3, dropped: 0 },
          ],
          rejectedByReason: [{ reason: 'rfc5424: priority is over 191', count: 1 }],
        }),
        listener({ url: 'tcp://127.0.0.1:5514' }),
        listener({ url: 'tls://127.0.0.1:6514', counters: { ...listener().counters, handshake_failed: 2 } }),
        listener({
          url: 'eve:///var/log/suricata/eve.json',
          boundAddr: null,
          counters: { ...listener().counters, received: 10, parsed: 10, context: 8 },
          sources: [{ source: null, overflow: false, received: 10, parsed: 10, rejected: 0, oversize: 0, dropped: 0 }],
        }),
      ],
    });
    render(ListenerPanel, {});
    const [udp, tcp, tls, eve] = await screen.findAllByTestId('listener-row');
    expect(counter(tls!, 'handshake_failed')).toBe('2');
    expect(tls!.querySelector('[data-counter=handshake_failed]')?.classList.contains('loss')).toBe(true);
    expect(eve!.textContent).toContain('Following the file /var/log/suricata/eve.json');
    expect(counter(eve!, 'context')).toBe('8');
    expect(counter(udp!, 'context')).toBeUndefined();
    expect(counter(udp!, 'handshake_failed')).toBeUndefined();
    expect(eve!.querySelector('[data-testid=source-row] td')?.textContent).toBe('File (no network sender)');
    const rows = [...udp!.querySelectorAll('[data-testid=source-row]')].map((r) =>
      [...r.querySelectorAll('td')].map((td) => td.textContent?.trim()),
    );
    expect(rows).toEqual([
      ['10.20.4.7', '900', '899', '1'],
      ['10.20.4.8', '300', '300', '0'],
      ['All other senders', '5', '2', '3'],
    ]);
    expect(udp!.querySelector('[data-testid=listener-sources] summary')?.textContent).toBe('By sender (3)');
    expect(udp!.querySelectorAll('[data-testid=source-row] td.loss')).toHaveLength(2);
    expect(udp!.querySelector('[data-testid=reason-row]')?.textContent?.replace(/\s+/g, ' ').trim()).toBe(
      '1 × rfc5424: priority is over 191',
    );
    // Nothing received, nothing to break down.
    expect(tcp!.querySelector('[data-testid=listener-sources]')).toBeNull();
    expect(tcp!.querySelector('[data-testid=listener-reasons]')).toBeNull();
  });

  test('refreshes every 2 seconds and stops when removed', async () => {
    vi.useFakeTimers();
    let received = 0;
    const backend = fakeBackend({ listener_status: () => [listener({ counters: { ...listener().counters, received: ++received } })] });
    const { unmount } = render(ListenerPanel, {});
    await vi.advanceTimersByTimeAsync(0);
    expect(backend.count('listener_status')).toBe(1);

    await vi.advanceTimersByTimeAsync(2000);
    expect(backend.count('listener_status')).toBe(2);
    expect(counter(screen.getByTestId('listener-row'), 'received')).toBe('2');

    unmount();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.count('listener_status')).toBe(2);
  });

  test('reports a failure, and clears it when a later refresh works', async () => {
    vi.useFakeTimers();
    let fail = true;
    fakeBackend({
      listener_status: () => {
        if (fail) throw { code: 'ingest.unavailable', message: 'listeners are restarting' };
        return [listener()];
      },
    });
    const report = vi.fn();
    render(ListenerPanel, { report });
    await vi.advanceTimersByTimeAsync(0);
    expect(report).toHaveBeenLastCalledWith({
      doing: 'read the listener status',
      error: { code: 'ingest.unavailable', message: 'listeners are restarting' },
    });

    fail = false;
    await vi.advanceTimersByTimeAsync(2000);
    expect(report).toHaveBeenLastCalledWith(null);
  });
});
