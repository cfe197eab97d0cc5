import { clearMocks } from '@tauri-apps/api/mocks';
import { render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { AuditView } from './bindings/AuditView';
import type { IntegrityView } from './bindings/IntegrityView';
import type { StoreHealthView } from './bindings/StoreHealthView';
import { formatClock } from './format';
import IntegrityPanel from './IntegrityPanel.svelte';
import { fakeBackend } from './testing';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const KEY = 'ed25519:0123456789abcdef0123456789abcdef';
const SINCE = '2026-11-28T10:02:07Z';

function integrity(store: Partial<StoreHealthView> = {}, audit: Partial<AuditView> = {}): IntegrityView {
  return {
    store: { writing: true, since: SINCE, error: null, pending: 0, stored: 1234, ...store },
    audit: {
      state: 'verified',
      verifiedFrom: 1,
      verifiedThrough: 1200,
      archivedThrough: 0,
      checkpoints: 2,
      keyFingerprint: KEY,
      damage: null,
      error: null,
      ...audit,
    },
  };
}

/** Renders the panel against a backend answering `view`, and waits for the first answer. */
async function show(view: IntegrityView, props: Record<string, unknown> = {}) {
  fakeBackend({ integrity_status: () => view });
  render(IntegrityPanel, props);
  return screen.findByTestId('audit-state');
}

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

describe('IntegrityPanel', () => {
  test('while the audit log is being checked it says so, and the store is writing', async () => {
    const audit = await show(integrity({}, { state: 'verifying', verifiedFrom: 0, verifiedThrough: 0, checkpoints: 0 }));
    expect(audit.dataset.state).toBe('verifying');
    expect(words(audit)).toBe('◌ Checking the audit log…');

    const store = screen.getByTestId('store-state');
    expect(store.dataset.state).toBe('writing');
    expect(words(store)).toBe('✔ Storing: what arrives is written to disk.');
    expect(words(screen.getByTestId('store-stored'))).toBe('1,234 records stored since the console started');
    expect(screen.queryByTestId('audit-damage')).toBeNull();
  });

  test('a log checked from record 1 is intact with its range and checkpoints', async () => {
    const audit = await show(integrity());
    expect(audit.dataset.state).toBe('verified');
    expect(words(audit)).toBe('✔ Intact: records 1–1,200 checked at start, 2 signed checkpoints valid.');
    const key = screen.getByTestId('audit-key');
    expect(key.textContent).toContain(KEY);
    expect(key.getAttribute('title')).toMatch(/Reviewers compare it with the key an exported archive was signed with/);
  });

  test('an incremental check names the records this start checked and says the earlier ones were checked before', async () => {
    const audit = await show(integrity({}, { verifiedFrom: 1201, verifiedThrough: 1250, checkpoints: 1 }));
    expect(audit.dataset.state).toBe('verified');
    expect(words(audit)).toBe(
      '✔ Intact: records 1,201–1,250 checked at this start, earlier ones at an earlier start; 1 signed checkpoint valid.',
    );
  });

  test('records moved to archives are named, and the check starts after them', async () => {
    const audit = await show(integrity({}, { archivedThrough: 10000, verifiedFrom: 10001, verifiedThrough: 10250, checkpoints: 1 }));
    expect(words(audit)).toBe(
      '✔ Intact: records 10,001–10,250 checked at start, 1 signed checkpoint valid; records 1–10,000 were moved to archives.',
    );
  });

  test('a damaged log is shown like an alarm, with the record, the kind of damage and the detail', async () => {
    const audit = await show(
      integrity(
        {},
        {
          state: 'damaged',
          verifiedThrough: 41,
          damage: { seq: 42, kind: 'modified', detail: 'the contents no longer match the hash' },
        },
      ),
      { dataDir: '/var/lib/wardwatch' },
    );
    expect(audit.dataset.state).toBe('damaged');
    expect(words(audit)).toBe('▲ Audit log damaged at record 42: modified — the contents no longer match the hash');

    const damage = screen.getByTestId('audit-damage');
    expect(damage.getAttribute('role')).toBe('alert');
    expect(damage.contains(audit)).toBe(true);
    expect(words(damage)).toContain('Run wardwatch audit verify --data-dir /var/lib/wardwatch for the full report');
    expect(words(damage)).toContain('Do not rely on the history until this is reviewed.');
    // The key is still there for the reviewer.
    expect(screen.getByTestId('audit-key').textContent).toContain(KEY);
  });

  test('a check that could not run says why', async () => {
    const audit = await show(
      integrity({}, { state: 'failed', verifiedFrom: 0, verifiedThrough: 0, checkpoints: 0, error: 'audit anchor: permission denied' }),
    );
    expect(audit.dataset.state).toBe('failed');
    expect(words(audit)).toBe('✖ Could not check the audit log: audit anchor: permission denied');
    expect(screen.queryByTestId('audit-damage')).toBeNull();
  });

  test('a store that cannot write says since when, why and how much waits, and that it resumes by itself', async () => {
    await show(
      integrity({
        writing: false,
        error: 'disk full: no space left on the device holding /data (SQLite: database or disk is full)',
        pending: 12,
        stored: 1200,
      }),
    );
    const store = screen.getByTestId('store-state');
    expect(store.dataset.state).toBe('failing');
    expect(words(store)).toBe(
      `✖ Not storing since ${formatClock(SINCE)} — disk full: no space left on the device holding /data ` +
        '(SQLite: database or disk is full) · 12 messages waiting.',
    );
    expect(store.querySelector('time')?.getAttribute('datetime')).toBe(SINCE);
    expect(words(screen.getByTestId('store-hint'))).toContain('held and stored by the console itself when space returns');
    expect(words(screen.getByTestId('store-stored'))).toBe('1,200 records stored since the console started');
  });

  test('refreshes every 2 seconds and stops when removed', async () => {
    vi.useFakeTimers();
    let stored = 0;
    const backend = fakeBackend({ integrity_status: () => integrity({ stored: ++stored }) });
    const { unmount } = render(IntegrityPanel, {});
    await vi.advanceTimersByTimeAsync(0);
    expect(backend.count('integrity_status')).toBe(1);

    await vi.advanceTimersByTimeAsync(2000);
    expect(backend.count('integrity_status')).toBe(2);
    expect(words(screen.getByTestId('store-stored'))).toBe('2 records stored since the console started');

    unmount();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.count('integrity_status')).toBe(2);
  });

  test('reports a failure, marks what is shown as old, and clears both when a later refresh works', async () => {
    vi.useFakeTimers();
    let fail = false;
    fakeBackend({
      integrity_status: () => {
        if (fail) throw { code: 'store.locked', message: 'database is locked' };
        return integrity();
      },
    });
    const report = vi.fn();
    render(IntegrityPanel, { report });
    await vi.advanceTimersByTimeAsync(0);
    expect(report).toHaveBeenLastCalledWith(null);
    expect(screen.queryByTestId('integrity-stale')).toBeNull();

    fail = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(report).toHaveBeenLastCalledWith({
      doing: 'check whether records are kept safely',
      error: { code: 'store.locked', message: 'database is locked' },
    });
    expect(words(screen.getByTestId('integrity-stale'))).toMatch(/^⚠ Not updated since \d\d:\d\d:\d\d: the console is not answering\.$/);

    fail = false;
    await vi.advanceTimersByTimeAsync(2000);
    expect(report).toHaveBeenLastCalledWith(null);
    expect(screen.queryByTestId('integrity-stale')).toBeNull();
  });

  test('a first call that fails reports the problem and claims nothing', async () => {
    fakeBackend({
      integrity_status: () => {
        throw { code: 'ipc.unknown', message: 'no backend' };
      },
    });
    const report = vi.fn();
    render(IntegrityPanel, { report });
    await vi.waitFor(() =>
      expect(report).toHaveBeenLastCalledWith({
        doing: 'check whether records are kept safely',
        error: { code: 'ipc.unknown', message: 'no backend' },
      }),
    );
    expect(screen.queryByTestId('store-state')).toBeNull();
    expect(screen.queryByTestId('audit-state')).toBeNull();
    expect(words(screen.getByTestId('integrity-unknown'))).toBe(
      '? Not known: the console did not answer whether records are kept.',
    );
  });
});
