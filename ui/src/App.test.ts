import { clearMocks } from '@tauri-apps/api/mocks';
import { render, screen, waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, test } from 'vitest';
import App from './App.svelte';
import { alert, fakeBackend, listener } from './lib/testing';

afterEach(() => clearMocks());

const info = { version: '0.1.0', dataDir: '/var/lib/wardwatch', simulated: true };
const integrity = {
  store: { writing: true, since: '2026-11-28T10:00:00Z', error: null, pending: 0, stored: 0 },
  audit: { state: 'verified', verifiedFrom: 1, verifiedThrough: 1, archivedThrough: 0, checkpoints: 0, keyFingerprint: 'ed25519:00', damage: null, error: null },
};

describe('App', () => {
  test('shows the title, the simulation badge, alerts and listeners', async () => {
    fakeBackend({
      console_info: () => info,
      integrity_status: () => integrity,
      list_alerts: () => [alert(1)],
      listener_status: () => [listener()],
    });
    render(App);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Wardwatch');
    expect((await screen.findByTestId('simulated-badge')).textContent).toContain('Simulated hospital');
    expect(await screen.findAllByTestId('alert-row')).toHaveLength(1);
    expect(await screen.findAllByTestId('listener-row')).toHaveLength(1);
    expect((await screen.findByTestId('audit-state')).dataset.state).toBe('verified');
    expect(screen.getByTestId('store-state').dataset.state).toBe('writing');
    expect(screen.queryByTestId('error-banner')).toBeNull();
  });

  test('no badge on a real hospital', async () => {
    const backend = fakeBackend({
      console_info: () => ({ ...info, simulated: false }),
      integrity_status: () => integrity,
      list_alerts: () => [],
      listener_status: () => [],
    });
    render(App);
    await waitFor(() => expect(backend.count('console_info')).toBe(1));
    await screen.findByText(/Wardwatch 0\.1\.0/);
    expect(screen.queryByTestId('simulated-badge')).toBeNull();
  });

  test('an IpcError from list_alerts shows the error banner in plain words', async () => {
    fakeBackend({
      console_info: () => info,
      integrity_status: () => integrity,
      list_alerts: () => {
        throw { code: 'store.locked', message: 'The alert store is busy' };
      },
      listener_status: () => [listener()],
    });
    render(App);
    const banner = await screen.findByTestId('error-banner');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain('Could not load the recent alerts: The alert store is busy.');
    expect(banner.textContent).toContain('store.locked');
  });

  test('the empty list names the listening addresses', async () => {
    fakeBackend({
      console_info: () => info,
      integrity_status: () => integrity,
      list_alerts: () => [],
      listener_status: () => [
        listener(),
        listener({ url: 'tcp://127.0.0.1:6514', state: 'failed' }),
      ],
    });
    render(App);
    await waitFor(() =>
      expect(screen.getByTestId('alert-empty').textContent?.trim()).toBe('No alerts yet. Listening on udp://127.0.0.1:5514.'),
    );
  });
});
