// Polling the backend for a panel: one call now, then one every interval,
// never two at once, and nothing delivered after the panel is gone.

export interface PollHandlers<T> {
  /** A fresh answer. */
  ok(value: T): void;
  /** The call failed. */
  failed(error: unknown): void;
}

/**
 * Calls `load` now and every `intervalMs` (skipping a tick while a call is
 * still out), handing each outcome to `on` until the returned function is
 * called. Made for `$effect(() => poll(...))`, whose cleanup it is.
 */
export function poll<T>(load: () => Promise<T>, on: PollHandlers<T>, intervalMs: number): () => void {
  let stopped = false;
  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const value = await load();
      if (!stopped) on.ok(value);
    } catch (e) {
      if (!stopped) on.failed(e);
    } finally {
      busy = false;
    }
  }
  void refresh();
  const timer = setInterval(refresh, intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
