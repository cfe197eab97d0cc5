import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import RejectedList from './RejectedList.svelte';
import { fakeBackend, rejected } from './testing';

afterEach(() => {
  clearMocks();
});

async function openList() {
  await fireEvent.click(screen.getByText('Messages not understood'));
}

describe('RejectedList', () => {
  test('loads nothing until opened, then shows each message raw with its reason', async () => {
    const backend = fakeBackend({
      list_rejected: () => [
        rejected(2, { raw: 'ff00', rawEncoding: 'hex', rawLen: 2 }),
        rejected(1, { raw: 'bad\u0001line' }),
      ],
    });
    render(RejectedList, { rejectedCount: 2 });
    expect(screen.getByTestId('rejected-count').textContent).toContain('2 this run');
    expect(screen.getByTestId('rejected-count').textContent).toContain('⚠');
    expect(backend.count('list_rejected')).toBe(0);

    await openList();
    const rows = await screen.findAllByTestId('rejected-row');
    expect(rows.map((r) => r.dataset.rejectedId)).toEqual(['2', '1']);
    expect(rows[0]!.querySelector('[data-testid=rejected-raw]')?.textContent).toBe('ff 00');
    expect(rows[0]!.querySelector('[data-testid=rejected-raw]')?.getAttribute('title')).toContain('shown as hex');
    expect(rows[1]!.querySelector('[data-testid=rejected-raw]')?.textContent).toBe('bad\\x01line');
    expect(rows[1]!.querySelector('[data-testid=rejected-reason]')?.textContent).toContain('priority is over 191');
    expect(rows[1]!.textContent).toContain('from 10.20.0.9:40000 via tcp://127.0.0.1:5514');
    expect(backend.calls.find((c) => c.cmd === 'list_rejected')?.args).toEqual({ limit: 50 });
  });

  test('says so when every message could be read', async () => {
    fakeBackend({ list_rejected: () => [] });
    render(RejectedList, { rejectedCount: 0 });
    expect(screen.getByTestId('rejected-count').textContent).not.toContain('⚠');
    await openList();
    expect((await screen.findByTestId('rejected-empty')).textContent).toContain('could be read');
  });

  test('reloads when the listeners count a new rejection', async () => {
    let n = 1;
    const backend = fakeBackend({ list_rejected: () => Array.from({ length: n }, (_, i) => rejected(n - i)) });
    const { rerender } = render(RejectedList, { rejectedCount: 1 });
    await openList();
    expect(await screen.findAllByTestId('rejected-row')).toHaveLength(1);
    n = 3;
    await rerender({ rejectedCount: 3 });
    await vi.waitFor(() => expect(screen.getAllByTestId('rejected-row')).toHaveLength(3));
    expect(backend.count('list_rejected')).toBe(2);
  });

  test('reports a failure to load', async () => {
    fakeBackend({
      list_rejected: () => {
        throw { code: 'console.unavailable', message: 'store is closed' };
      },
    });
    const report = vi.fn();
    render(RejectedList, { rejectedCount: 1, report });
    await openList();
    await vi.waitFor(() =>
      expect(report).toHaveBeenLastCalledWith({
        doing: 'load the messages that could not be read',
        error: { code: 'console.unavailable', message: 'store is closed' },
      }),
    );
  });
});
