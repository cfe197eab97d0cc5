import { afterEach, describe, expect, test, vi } from 'vitest';
import { poll } from './poll';

afterEach(() => {
  vi.useRealTimers();
});

describe('poll', () => {
  test('calls now and every interval, never twice at once, and delivers nothing once stopped', async () => {
    vi.useFakeTimers();
    const pending: ((n: number) => void)[] = [];
    const load = vi.fn(() => new Promise<number>((resolve) => pending.push(resolve)));
    const ok = vi.fn();
    const failed = vi.fn();
    const stop = poll(load, { ok, failed }, 1000);
    expect(load).toHaveBeenCalledTimes(1);
    // The first call is still out: the tick is skipped.
    await vi.advanceTimersByTimeAsync(1000);
    expect(load).toHaveBeenCalledTimes(1);
    pending.shift()?.(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(ok).toHaveBeenLastCalledWith(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(load).toHaveBeenCalledTimes(2);
    // Stopped while a call is out: its answer is dropped, and no more calls.
    stop();
    pending.shift()?.(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(load).toHaveBeenCalledTimes(2);
    expect(ok).toHaveBeenCalledTimes(1);
    expect(failed).not.toHaveBeenCalled();
  });

  test('a failed call is handed on and the next tick tries again', async () => {
    vi.useFakeTimers();
    const load = vi.fn().mockRejectedValueOnce(new Error('down')).mockResolvedValue('up');
    const ok = vi.fn();
    const failed = vi.fn();
    const stop = poll(load, { ok, failed }, 500);
    await vi.advanceTimersByTimeAsync(0);
    expect(failed).toHaveBeenCalledWith(new Error('down'));
    await vi.advanceTimersByTimeAsync(500);
    expect(ok).toHaveBeenCalledWith('up');
    stop();
  });
});
