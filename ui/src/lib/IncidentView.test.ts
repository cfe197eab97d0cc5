import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentRow } from './bindings/IncidentRow';
import IncidentView from './IncidentView.svelte';
import { alert, fakeBackend, ICU_NURSE, incidentDetail, incidentRow, NOW, OFFICER, responseWorld, sessionAs } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const clock = () => Date.parse(NOW);

const row = incidentRow(4, {
  reasons: [
    { factor: 'severity', text: 'Severity 8 of 10 (high)' },
    { factor: 'criticality', text: 'The device is life-sustaining' },
    { factor: 'clinical_use', text: 'In clinical use now' },
  ],
});
const full: IncidentDetail = incidentDetail(row, {
  alerts: [
    alert(2, { name: 'Login failed', message: 'admin from 10.9.9.9', fields: { suser: 'admin' } }),
    alert(1, { name: 'Login failed', message: 'root from 10.9.9.9' }),
  ],
  history: [
    { at: '2026-11-28T09:55:00Z', actor: 'nurse.a', action: 'assign', actionLabel: 'assigned to it.officer', text: null, reason: 'needs IT' },
    { at: '2026-11-28T09:56:00Z', actor: 'it.officer', action: 'comment', actionLabel: 'commented', text: 'looking at it', reason: null },
  ],
});

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

async function show(detail: IncidentDetail = full, handlers: Handlers = {}) {
  vi.spyOn(Date, 'now').mockReturnValue(Date.parse(NOW));
  let current = detail;
  const backend = fakeBackend({
    incident_detail: () => current,
    incident_act: ({ action }) => {
      const a = action as { action: string };
      const next: IncidentRow = a.action === 'acknowledge' ? { ...current.incident, state: 'acknowledged', stateLabel: 'Acknowledged' } : current.incident;
      current = { ...current, incident: next };
      return next;
    },
    ...handlers,
  });
  render(IncidentView, { id: detail.incident.id, clock });
  await screen.findByTestId('incident-view-title');
  return backend;
}

describe('IncidentView', () => {
  test('asks for its incident; header with priority, title and state; why it is high', async () => {
    const backend = await show();
    expect(backend.calls[0]).toEqual({ cmd: 'incident_detail', args: { id: 4 } });
    expect(words(screen.getByTestId('incident-view-priority'))).toBe('*** High');
    expect(words(screen.getByTestId('incident-view-title'))).toBe('Repeated failed logins');
    expect(words(screen.getByTestId('incident-view-state'))).toBe('● Open');
    expect(words(screen.getByTestId('incident-reasons').querySelector('h3'))).toBe('Why high:');
    expect(screen.getAllByTestId('incident-reason').map(words)).toEqual([
      'Severity 8 of 10 (high)',
      'The device is life-sustaining',
      'In clinical use now',
    ]);
  });

  test('device and clinical context, counts, sources and the notification decision', async () => {
    await show();
    expect(words(screen.getByTestId('incident-view-subject'))).toBe('Infusion pump pump-7');
    expect(words(screen.getByTestId('incident-view-where'))).toBe('ICU 1 · Room 12 · Bed 1');
    expect(words(screen.getByTestId('incident-view-tier'))).toBe('Life-sustaining');
    expect(words(screen.getByTestId('incident-use-state'))).toBe('● In use with a patient');
    expect(words(screen.getByTestId('incident-view-count'))).toBe('3 alerts');
    expect(words(screen.getByTestId('incident-view-sources'))).toBe('cef · Acme Medical InfusionGate');
    expect(words(screen.getByTestId('incident-view-notice'))).toBe('✉ notified at 09:50 to security officer');
    expect(words(screen.getByTestId('incident-facts'))).toContain('Last seen 3 min ago');
  });

  test('the alerts newest first, each with its raw message and fields on demand', async () => {
    await show();
    const alerts = screen.getAllByTestId('incident-alert');
    expect(alerts.map((a) => a.dataset.alertId)).toEqual(['2', '1']);
    expect(words(alerts[0] as HTMLElement)).toContain('cef · Acme Medical · InfusionGate Login failed Show raw');
    expect(screen.queryByTestId('incident-alert-raw')).toBeNull();
    await fireEvent.click(within(alerts[0] as HTMLElement).getByTestId('incident-alert-raw-toggle'));
    const raw = screen.getByTestId('incident-alert-raw');
    expect(words(raw)).toContain('admin from 10.9.9.9');
    expect(words(raw)).toContain('suser admin');
    expect(screen.getAllByTestId('incident-alert-raw')).toHaveLength(1);
  });

  test('the history: who did what, with the text and the reason', async () => {
    await show();
    const events = screen.getAllByTestId('incident-event');
    expect(events.map((e) => e.dataset.action)).toEqual(['assign', 'comment']);
    expect(words(events[0] as HTMLElement)).toMatch(/nurse\.a assigned to it\.officer \(reason: needs IT\)$/);
    expect(words(events[1] as HTMLElement)).toMatch(/it\.officer commented: looking at it$/);
  });

  test('Acknowledge sends the action, reloads, and is gone once acknowledged', async () => {
    const backend = await show();
    await fireEvent.click(screen.getByTestId('incident-ack'));
    await vi.waitFor(() => expect(words(screen.getByTestId('incident-view-state'))).toBe('◐ Acknowledged'));
    expect(backend.calls.find((c) => c.cmd === 'incident_act')?.args).toEqual({ id: 4, action: { action: 'acknowledge' } });
    await vi.waitFor(() => expect(backend.count('incident_detail')).toBe(2));
    expect(screen.queryByTestId('incident-ack')).toBeNull();
    expect(screen.getByTestId('incident-resolve')).toBeTruthy();
  });

  test('Silence 5 min sends a five-minute silence', async () => {
    const backend = await show();
    await fireEvent.click(screen.getByTestId('incident-silence'));
    await vi.waitFor(() =>
      expect(backend.calls.find((c) => c.cmd === 'incident_act')?.args).toEqual({ id: 4, action: { action: 'silence', minutes: 5 } }),
    );
  });

  test('Mute… opens the mute dialog, which sends the mute for this incident', async () => {
    const backend = await show();
    await fireEvent.click(screen.getByTestId('incident-mute'));
    await fireEvent.input(screen.getByTestId('mute-reason'), { target: { value: 'vendor patching' } });
    await fireEvent.click(screen.getByTestId('mute-confirm'));
    await vi.waitFor(() => expect(screen.queryByTestId('mute-dialog')).toBeNull());
    expect(backend.calls.find((c) => c.cmd === 'incident_act')?.args).toEqual({
      id: 4,
      action: { action: 'mute', until: '2026-11-28T11:00:00.000Z', reason: 'vendor patching' },
    });
  });

  test('a muted incident shows its mute with the reason and offers Unmute with a reason', async () => {
    const muted = incidentRow(4, { muted: { until: '2026-11-28T14:00:00Z', reason: 'vendor patching', by: 'nurse.a' } });
    const backend = await show(incidentDetail(muted));
    expect(words(screen.getByTestId('incident-view-muted'))).toMatch(/^🔕 Muted until .+ by nurse\.a: vendor patching$/);
    expect(screen.queryByTestId('incident-mute')).toBeNull();
    await fireEvent.click(screen.getByTestId('incident-unmute'));
    await fireEvent.input(screen.getByTestId('unmute-reason'), { target: { value: 'patch done' } });
    await fireEvent.click(screen.getByTestId('unmute-confirm'));
    await vi.waitFor(() =>
      expect(backend.calls.find((c) => c.cmd === 'incident_act')?.args).toEqual({ id: 4, action: { action: 'unmute', reason: 'patch done' } }),
    );
  });

  test('Resolve… sends the outcome and the reason; not without a reason', async () => {
    const backend = await show();
    await fireEvent.click(screen.getByTestId('incident-resolve'));
    const confirm = screen.getByTestId('resolve-confirm') as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await fireEvent.change(screen.getByTestId('resolve-outcome'), { target: { value: 'false_positive' } });
    await fireEvent.input(screen.getByTestId('resolve-reason'), { target: { value: 'our own scanner' } });
    expect(confirm.disabled).toBe(false);
    await fireEvent.click(confirm);
    await vi.waitFor(() =>
      expect(backend.calls.find((c) => c.cmd === 'incident_act')?.args).toEqual({
        id: 4,
        action: { action: 'resolve', outcome: 'false_positive', reason: 'our own scanner' },
      }),
    );
  });

  test('a resolved incident offers Reopen (with a reason) and no other action', async () => {
    const resolved = incidentRow(4, { state: 'resolved', stateLabel: 'Resolved', outcome: 'benign' });
    const backend = await show(incidentDetail(resolved));
    expect(words(screen.getByTestId('incident-view-outcome'))).toBe('Benign');
    for (const id of ['incident-ack', 'incident-silence', 'incident-mute', 'incident-resolve']) expect(screen.queryByTestId(id)).toBeNull();
    await fireEvent.click(screen.getByTestId('incident-reopen'));
    await fireEvent.input(screen.getByTestId('reopen-reason'), { target: { value: 'came back' } });
    await fireEvent.click(screen.getByTestId('reopen-confirm'));
    await vi.waitFor(() =>
      expect(backend.calls.find((c) => c.cmd === 'incident_act')?.args).toEqual({ id: 4, action: { action: 'reopen', reason: 'came back' } }),
    );
  });

  test('Assign… and a comment', async () => {
    const backend = await show();
    await fireEvent.click(screen.getByTestId('incident-assign'));
    await fireEvent.input(screen.getByTestId('incident-assign-to'), { target: { value: 'it.officer' } });
    await fireEvent.input(screen.getByTestId('incident-assign-reason'), { target: { value: 'needs IT' } });
    await fireEvent.click(screen.getByTestId('incident-assign-confirm'));
    await vi.waitFor(() => expect(backend.count('incident_act')).toBe(1));
    // The incident is loaded again after the action; the buttons wait for it.
    await vi.waitFor(() => expect((screen.getByTestId('incident-comment-text') as HTMLTextAreaElement).disabled).toBe(false));

    const send = screen.getByTestId('incident-comment-send') as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('incident-comment-text'), { target: { value: 'called the vendor' } });
    await fireEvent.click(send);
    await vi.waitFor(() => expect(backend.count('incident_act')).toBe(2));
    expect(backend.calls.filter((c) => c.cmd === 'incident_act').map((c) => c.args.action)).toEqual([
      { action: 'assign', to: 'it.officer', reason: 'needs IT' },
      { action: 'comment', text: 'called the vendor' },
    ]);
    await vi.waitFor(() => expect((screen.getByTestId('incident-comment-text') as HTMLTextAreaElement).value).toBe(''));
  });

  test("the backend's refusal is shown in an alert", async () => {
    await show(full, {
      incident_act: () => {
        throw { code: 'incident.wrong_state', message: 'incident 4 is resolved: acknowledge it first' };
      },
    });
    await fireEvent.click(screen.getByTestId('incident-ack'));
    const error = await screen.findByTestId('incident-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(words(error)).toBe('✖ Could not acknowledge the incident: incident 4 is resolved: acknowledge it first. (incident.wrong_state)');
    expect(words(screen.getByTestId('incident-view-state'))).toBe('● Open');
  });

  test('an incident that cannot be loaded says so and is reported', async () => {
    fakeBackend({
      incident_detail: () => {
        throw { code: 'incident.unknown', message: 'there is no incident 9' };
      },
    });
    const report = vi.fn();
    render(IncidentView, { id: 9, report });
    expect(words(await screen.findByTestId('incident-unknown'))).toBe('? Could not load this incident: there is no incident 9');
    expect(report).toHaveBeenLastCalledWith({ doing: 'load the incident', error: { code: 'incident.unknown', message: 'there is no incident 9' } });
  });

  test.each([
    ['an officer', OFFICER, true],
    ['a nurse of the ward', ICU_NURSE, false],
    ['nobody known', null, false],
  ] as const)('the Response section grades what can be done for %s; a request is offered to an officer only', async (_who, user, offered) => {
    const world = responseWorld();
    world.request(4, 'restrict_segment', 'beacon');
    const backend = fakeBackend({ incident_detail: () => full, ...world.handlers }, { session: sessionAs(user ?? OFFICER) });
    render(IncidentView, { id: 4, clock, user });
    const section = await screen.findByTestId('playbook');
    expect(words(await within(section).findByTestId('grade-reboot'))).toBe('⛔ Not while in use');
    expect(backend.calls.find((c) => c.cmd === 'incident_playbook')?.args).toEqual({ id: 4 });
    expect(within(section).queryByTestId('request-reboot') !== null).toBe(offered);
    const card = within(section).getByTestId('request-card');
    expect(within(card).queryByTestId('step-acknowledge_ward') !== null).toBe(user === ICU_NURSE);
  });
});
