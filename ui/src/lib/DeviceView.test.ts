import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { DeviceDetail } from './bindings/DeviceDetail';
import type { DeviceRow } from './bindings/DeviceRow';
import DeviceView from './DeviceView.svelte';
import { ago, alert, deviceDetail, deviceRow, fakeBackend, incident, NOW } from './testing';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
/** A table row's cells, each in words, joined by ` | `. */
const cells = (tr: Element | null | undefined) => Array.from(tr?.children ?? []).map(words).join(' | ');

const pump: DeviceRow = deviceRow('pump-7', {
  health: 'compromised_suspected',
  identities: [
    { kind: 'ip', value: '10.1.2.7' },
    { kind: 'mac', value: '00:11:22:33:44:55' },
  ],
  reasons: [
    { topic: 'incident', raisesTo: 'at_risk', text: 'high incident open: Repeated failed logins (3 times, last 3 min ago)' },
    { topic: 'vulnerability', raisesTo: 'at_risk', text: 'CVE-2024-0001 known to be exploited, on a life-critical device' },
    { topic: 'vulnerability', raisesTo: null, text: 'CVE-2023-1234 patched only by the manufacturer' },
    { topic: 'criticality', raisesTo: 'compromised_suspected', text: 'Life-sustaining device with an open incident: one step up' },
  ],
  openIncidents: 1,
});

const full: DeviceDetail = deviceDetail(pump, {
  vulnerabilities: [
    { cve: 'CVE-2024-0001', knownExploited: true },
    { cve: 'CVE-2023-1234', knownExploited: false },
  ],
  identityHistory: [
    { kind: 'ip', value: '10.1.2.7', from: '2026-11-20T08:00:00Z', to: null },
    { kind: 'mac', value: '00:11:22:33:44:55', from: '2026-11-01T08:00:00Z', to: null },
    { kind: 'ip', value: '10.1.9.9', from: '2026-11-01T08:00:00Z', to: '2026-11-20T08:00:00Z' },
  ],
  incidents: [incident(4, { deviceId: 'pump-7', severity: 8, count: 3, firstSeen: ago(600), lastSeen: ago(180) })],
  alerts: [alert(2, { severity: 8, name: 'Login failed', message: 'admin from 10.9.9.9' }), alert(1)],
});

async function show(view: DeviceDetail = full, handlers: Record<string, (args: Record<string, unknown>) => unknown> = {}, props = {}) {
  vi.spyOn(Date, 'now').mockReturnValue(Date.parse(NOW));
  const backend = fakeBackend({ device_detail: () => view, ...handlers });
  render(DeviceView, { device: view.device.id, ...props });
  await screen.findByTestId('device-health');
  return backend;
}

describe('DeviceView', () => {
  test('asks for its device and shows what it is, where, and its health with every reason', async () => {
    const backend = await show();
    expect(backend.calls[0]).toEqual({ cmd: 'device_detail', args: { device: 'pump-7' } });
    const view = screen.getByTestId('device-view');
    expect(view.dataset.device).toBe('pump-7');
    expect(words(screen.getByRole('heading', { level: 2 }))).toBe('Infusion pump pump-7');
    expect(words(screen.getByTestId('device-where'))).toBe('Ward icu-1 · Room 12 · Bed 1');
    expect(words(screen.getByTestId('device-health'))).toBe('✖ Compromise suspected');

    const reasons = screen.getAllByTestId('health-reason');
    expect(reasons.map(words)).toEqual([
      '▲ At risk high incident open: Repeated failed logins (3 times, last 3 min ago)',
      '▲ At risk CVE-2024-0001 known to be exploited, on a life-critical device',
      '• Note CVE-2023-1234 patched only by the manufacturer',
      '✖ Compromise suspected Life-sustaining device with an open incident: one step up',
    ]);
  });

  test('kind, model, firmware, patching, criticality with its explanation and factors', async () => {
    await show();
    const what = words(screen.getByTestId('device-what'));
    expect(what).toContain('Manufacturer Acme Medical');
    expect(what).toContain('Model InfuseOne 3');
    expect(words(screen.getByTestId('device-firmware'))).toBe('3.2.1');
    expect(words(screen.getByTestId('device-patching'))).toBe('patched only by the manufacturer');
    expect(words(screen.getByTestId('device-tier'))).toBe('●●●● Life-sustaining: a patient’s life depends on it');
    expect(words(screen.getByTestId('device-criticality-explained'))).toContain('function 10 (life support)');
    const factors = screen.getByTestId('device-factors');
    expect(words(factors.querySelector('caption'))).toBe('Fennigkoh–Smith factors');
    expect(Array.from(factors.querySelectorAll('tr')).map(cells)).toEqual([
      'Function | 10',
      'Physical risk | 5',
      'Maintenance | 3',
      'Equipment-management number | 18',
    ]);
  });

  test('vulnerabilities by CVE, the known exploited ones marked in words', async () => {
    await show();
    const vulns = screen.getAllByTestId('vulnerability');
    expect(vulns.map(words)).toEqual(['CVE-2024-0001 ⚠ known exploited', 'CVE-2023-1234']);
    expect(vulns.map((v) => v.dataset.knownExploited)).toEqual(['true', 'false']);
    expect(words(screen.getByTestId('device-vulnerabilities'))).toMatch(/^Vulnerabilities 1 known exploited/);
  });

  test('identities now and over time', async () => {
    await show();
    expect(screen.getAllByTestId('identity').map(words)).toEqual(['IP address 10.1.2.7', 'MAC address 00:11:22:33:44:55']);
    const periods = screen.getAllByTestId('identity-period');
    expect(periods.map((p) => p.dataset.current)).toEqual(['true', 'true', 'false']);
    expect(cells(periods[0])).toMatch(/^IP address 10\.1\.2\.7 \| 2026-11-\d\d \d\d:\d\d:\d\d UTC[+-]\d\d:\d\d \| now$/);
    expect(cells(periods[2])).toMatch(/^IP address 10\.1\.9\.9 \| 2026-11-\d\d .* \| 2026-11-\d\d \d\d:\d\d:\d\d UTC[+-]\d\d:\d\d$/);
  });

  test('open incidents and recent alerts with severity badges', async () => {
    await show();
    const inc = screen.getAllByTestId('device-incident');
    expect(inc.map(words)).toEqual(['◆ High Repeated failed logins 3 times · first 10 min ago, last 3 min ago']);
    const alerts = screen.getAllByTestId('device-alert');
    expect(alerts.map((a) => a.dataset.alertId)).toEqual(['2', '1']);
    expect(words(within(alerts[0] as HTMLElement).getByTestId('alert-severity'))).toBe('◆ High');
    expect(cells(alerts[0])).toMatch(/^\d\d:\d\d:\d\d \| ◆ High \| Login failedadmin from 10\.9\.9\.9$/);
    expect(words(alerts[0]?.querySelector('.condition') ?? null)).toBe('Login failed');
  });

  test('clinical use with its source and age, and that it counts as in use', async () => {
    await show();
    expect(words(screen.getByTestId('device-use-state'))).toBe('● In use with a patient');
    expect(words(screen.getByTestId('device-use-source'))).toBe('From HL7 ORU^R01 with a patient · 3 min ago');
    expect(words(screen.getByTestId('device-use'))).toContain('Safety rules treat this device as in use with a patient.');
  });

  test('an unknown use says it is treated as in use', async () => {
    const row = deviceRow('gw-1', {
      clinicalUse: { state: 'unknown', label: 'Unknown (treated as in use)', source: 'no evidence yet', since: null, countsAsInUse: true },
    });
    await show(deviceDetail(row));
    expect(words(screen.getByTestId('device-use-state'))).toBe('◍ Unknown — treated as in use');
    expect(words(screen.getByTestId('device-use-source'))).toBe('From no evidence yet');
  });

  test('Set clinical use refuses an empty reason without calling the backend', async () => {
    const backend = await show();
    await fireEvent.change(screen.getByTestId('use-form-state'), { target: { value: 'idle' } });
    await fireEvent.input(screen.getByTestId('use-form-reason'), { target: { value: '   ' } });
    await fireEvent.click(screen.getByTestId('use-form-submit'));
    const err = screen.getByTestId('use-form-error');
    expect(err.getAttribute('role')).toBe('alert');
    expect(words(err)).toBe('✖ Say why: the reason goes into the audit log.');
    expect(screen.getByTestId('use-form-reason').getAttribute('aria-invalid')).toBe('true');
    expect(backend.count('set_clinical_use')).toBe(0);
  });

  test('Set clinical use sends the state and the reason, and shows the new state', async () => {
    const idle = deviceRow('pump-7', {
      clinicalUse: { state: 'idle', label: 'Idle', source: 'set by local:nurse: patient discharged', since: NOW, countsAsInUse: false },
    });
    const backend = await show(full, { set_clinical_use: () => idle });
    await fireEvent.change(screen.getByTestId('use-form-state'), { target: { value: 'idle' } });
    await fireEvent.input(screen.getByTestId('use-form-reason'), { target: { value: '  patient discharged ' } });
    await fireEvent.click(screen.getByTestId('use-form-submit'));

    expect(words(await screen.findByTestId('use-form-saved'))).toBe('✔ Saved: Idle.');
    expect(backend.calls.filter((c) => c.cmd === 'set_clinical_use')).toEqual([
      { cmd: 'set_clinical_use', args: { device: 'pump-7', useState: 'idle', reason: 'patient discharged' } },
    ]);
    expect(words(screen.getByTestId('device-use-state'))).toBe('○ Idle');
    expect(words(screen.getByTestId('device-use-source'))).toBe('From set by local:nurse: patient discharged · 0 s ago');
    expect((screen.getByTestId('use-form-reason') as HTMLInputElement).value).toBe('');
  });

  test('a refused change shows the backend error in the form', async () => {
    await show(full, {
      set_clinical_use: () => {
        throw { code: 'access.denied', message: 'this console may not change clinical use' };
      },
    });
    await fireEvent.input(screen.getByTestId('use-form-reason'), { target: { value: 'cleaning' } });
    await fireEvent.click(screen.getByTestId('use-form-submit'));
    const err = await screen.findByTestId('use-form-error');
    expect(words(err)).toBe('✖ Not changed: this console may not change clinical use (access.denied)');
    expect(words(screen.getByTestId('device-use-state'))).toBe('● In use with a patient');
  });

  test('Back returns where the person came from', async () => {
    const onBack = vi.fn();
    await show(full, {}, { onBack, backLabel: 'Back to the staged devices' });
    const back = screen.getByTestId('back-to-ward');
    expect(words(back)).toBe('← Back to the staged devices');
    await fireEvent.click(back);
    expect(onBack).toHaveBeenCalledOnce();
  });

  test('a staged device says it is not in the inventory; empty lists say so', async () => {
    const staged = deviceRow('seen-ip-10.1.2.3', { staged: true, ward: null, room: null, bed: null });
    await show(deviceDetail(staged, { factors: null, identityHistory: [] }));
    expect(words(screen.getByTestId('device-where'))).toBe('◇ Staged: seen on the network, not in the inventory');
    expect(words(screen.getByTestId('device-vulnerabilities'))).toContain('None recorded');
    expect(words(screen.getByTestId('device-incidents'))).toContain('No open incident.');
    expect(words(screen.getByTestId('device-alerts'))).toContain('No alert from or about this device.');
    expect(screen.queryByTestId('device-factors')).toBeNull();
    expect(words(screen.getByTestId('device-health-reasons'))).toContain('Nothing against this device.');
  });

  test('an unknown device shows the error', async () => {
    fakeBackend({
      device_detail: () => {
        throw { code: 'hospital.unknown_device', message: 'there is no device pump-99' };
      },
    });
    const report = vi.fn();
    render(DeviceView, { device: 'pump-99', report });
    expect(words(await screen.findByTestId('device-unknown'))).toBe('? Could not load this device: there is no device pump-99');
    expect(report).toHaveBeenLastCalledWith({
      doing: 'load the device',
      error: { code: 'hospital.unknown_device', message: 'there is no device pump-99' },
    });
  });

  test('refreshes every 3 seconds and stops when removed', async () => {
    vi.useFakeTimers();
    const backend = fakeBackend({ device_detail: () => full });
    const { unmount } = render(DeviceView, { device: 'pump-7' });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(backend.count('device_detail')).toBe(2);
    unmount();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(backend.count('device_detail')).toBe(2);
  });
});
