import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { UserView } from './bindings/UserView';
import RequestsPage from './RequestsPage.svelte';
import { CLINICIAN, fakeBackend, ICU_NURSE, NURSE, OFFICER, person, responseWorld, sessionAs, type ResponseWorld } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
/** An officer who is also a clinician: may request, and may never confirm her own request. */
const DANA = person('dana', { displayName: 'Dana Both', roles: ['clinician', 'security_officer'], roleLabels: ['clinician', 'security officer'] });

async function show(user: UserView, world: ResponseWorld) {
  const backend = fakeBackend(world.handlers, { session: sessionAs(user) });
  const onLoaded = vi.fn();
  render(RequestsPage, { user, onLoaded });
  await screen.findByTestId('requests-page');
  await vi.waitFor(() => expect(screen.queryByTestId('requests-loading')).toBeNull());
  return { backend, onLoaded };
}

const card = (action: string) => screen.getAllByTestId('request-card').find((c) => c.dataset.action === action) as HTMLElement;

async function take(step: string, reason: string | null, on: HTMLElement) {
  await fireEvent.click(within(on).getByTestId(`step-${step}`));
  if (reason !== null) await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: reason } });
  await fireEvent.click(screen.getByTestId('step-submit'));
}

describe('RequestsPage', () => {
  test('nothing open: says so calmly', async () => {
    await show(ICU_NURSE, responseWorld());
    expect(words(screen.getByTestId('requests-empty'))).toBe('✔ Nothing is waiting: no request from IT is open.');
  });

  test('a nurse of the ward reads the ask in plain words first, and confirms the ward is covering', async () => {
    const world = responseWorld();
    world.request(4, 'restrict_segment', 'beacon to a known C2 address');
    const { backend } = await show(ICU_NURSE, world);
    const mine = screen.getByTestId('requests-mine');
    const c = within(mine).getByTestId('request-card');
    expect(c.firstElementChild?.getAttribute('data-testid')).toBe('request-ask');
    expect(words(within(c).getByTestId('request-ask'))).toBe(
      'IT wants to move infusion pump pump-7 in room 12, bed 1 to the restricted network segment. Please confirm the ward is covering (watch the patient at the bedside while it happens).',
    );
    expect(words(within(c).getByTestId('request-grade'))).toBe('◐ Coordinate with the ward');
    expect(words(within(c).getByTestId('request-needs-you'))).toBe('● Needs you');
    expect(words(within(c).getByTestId('request-where'))).toBe('infusion pump pump-7 in room 12, bed 1 · ICU 1');
    expect(within(c).queryByTestId('step-sign_off')).toBeNull();
    expect(within(c).queryByTestId('step-break_glass')).toBeNull();
    expect(words(within(c).getByTestId('step-acknowledge_ward'))).toBe('We are covering');

    await fireEvent.click(within(c).getByTestId('step-acknowledge_ward'));
    expect(words(screen.getByTestId('step-ask'))).toContain('IT wants to move infusion pump pump-7');
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: 'nurse at the bedside' } });
    await fireEvent.click(screen.getByTestId('step-submit'));
    await vi.waitFor(() => expect(card('restrict_segment').dataset.state).toBe('approved'));
    expect(backend.calls.find((c) => c.cmd === 'response_step')?.args).toEqual({ id: 1, step: 'acknowledge_ward', reason: 'nurse at the bedside' });
    expect(words(within(card('restrict_segment')).getByTestId('given-ward-ack'))).toMatch(/^nora at \d\d:\d\d:\d\d: “nurse at the bedside”$/);
    expect(words(within(card('restrict_segment')).getByTestId('request-state'))).toBe('▶ Approved: being carried out');
    expect(screen.queryByTestId('requests-mine')).toBeNull();
  });

  test('a nurse of another ward does not see the request', async () => {
    const world = responseWorld();
    world.request(4, 'restrict_segment', 'beacon');
    await show(NURSE, world);
    expect(screen.getByTestId('requests-empty')).toBeTruthy();
  });

  test('a clinician is offered the sign-off; the requester is not, and sees who it waits for', async () => {
    const world = responseWorld();
    world.request(4, 'quarantine', 'beacon to a known C2 address', DANA.username);
    await show(DANA, world);
    const c = card('quarantine');
    expect(words(within(c).getByTestId('request-state'))).toBe("◔ Waiting for a clinician's sign-off");
    expect(words(within(c).getByTestId('request-gate'))).toBe('a clinician other than the requester signs off, with a reason');
    expect(within(c).queryByTestId('step-sign_off')).toBeNull();
    expect(within(c).queryByTestId('step-acknowledge_ward')).toBeNull();
    expect(within(c).getByTestId('step-withdraw')).toBeTruthy();
    expect(within(c).queryByTestId('request-needs-you')).toBeNull();
    clearMocks();
    document.body.innerHTML = '';

    await show(CLINICIAN, world);
    const theirs = card('quarantine');
    expect(words(within(theirs).getByTestId('step-sign_off'))).toBe('Sign off');
    await fireEvent.click(within(theirs).getByTestId('step-sign_off'));
    const submit = screen.getByTestId('step-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: 'patient stable, nurse at the bedside' } });
    await fireEvent.click(submit);
    await vi.waitFor(() => expect(card('quarantine').dataset.state).toBe('approved'));
    expect(words(within(card('quarantine')).getByTestId('given-signoff'))).toMatch(/^cal at .+: “patient stable, nurse at the bedside”$/);
  });

  test('blocked while in use: break glass needs a reason and the explicit confirmation, then shows its banner', async () => {
    const world = responseWorld();
    world.request(4, 'reboot', 'pump is being controlled from outside');
    const { backend } = await show(CLINICIAN, world);
    const c = card('reboot');
    expect(words(within(c).getByTestId('request-grade'))).toBe('⛔ Not while in use');
    expect(words(within(c).getByTestId('request-state'))).toBe('◔ Blocked until the device is out of use');
    expect(screen.queryByTestId('break-glass-banner')).toBeNull();
    await fireEvent.click(within(c).getByTestId('step-break_glass'));
    expect(words(screen.getByTestId('break-glass-warning'))).toContain('Only in an emergency.');
    const submit = screen.getByTestId('step-submit') as HTMLButtonElement;
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: 'infusion runaway, patient on manual' } });
    expect(submit.disabled).toBe(true);
    await fireEvent.submit(submit.closest('form') as HTMLFormElement);
    expect(backend.count('response_step')).toBe(0);
    const confirm = screen.getByTestId('break-glass-confirm') as HTMLInputElement;
    expect(words(confirm.closest('label'))).toBe('This is an emergency; I take responsibility');
    await fireEvent.click(confirm);
    expect(submit.disabled).toBe(false);
    await fireEvent.click(submit);
    const banner = await screen.findByTestId('break-glass-banner');
    expect(words(banner)).toMatch(/^Break-glass: approved as an emergency by cal — flagged for review \d\d:\d\d:\d\d: “infusion runaway, patient on manual”$/);
    expect(banner.querySelector('svg')).not.toBeNull();
    expect(card('reboot').dataset.state).toBe('approved');
    expect(backend.calls.find((c) => c.cmd === 'response_step')?.args).toEqual({ id: 1, step: 'break_glass', reason: 'infusion runaway, patient on manual' });
  });

  test('the ward records the device taken out of use: graded again, and approved', async () => {
    const world = responseWorld();
    world.request(4, 'reboot', 'clear the memory-resident implant');
    await show(ICU_NURSE, world);
    const c = card('reboot');
    expect(words(within(c).getByTestId('request-ask'))).toBe(
      'IT wants to restart infusion pump pump-7 in room 12, bed 1. It is in use and must not stop: please swap it for a spare first, then confirm it is out of use.',
    );
    expect(within(c).queryByTestId('step-break_glass')).toBeNull();
    await fireEvent.click(within(c).getByTestId('step-record_out_of_use'));
    const submit = screen.getByTestId('step-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: 'swapped for spare INF-0099' } });
    await fireEvent.click(submit);
    await vi.waitFor(() => expect(card('reboot').dataset.state).toBe('approved'));
    const after = card('reboot');
    expect(words(within(after).getByTestId('request-grade'))).toBe('✓ Safe now');
    expect(words(within(after).getByTestId('request-regraded'))).toBe(
      'Graded again on the device as it is now: it was requested as not while in use.',
    );
    expect(words(within(after).getByTestId('given-out-of-use'))).toMatch(/“swapped for spare INF-0099”$/);
    expect(world.device('pump-7').use).toBe('maintenance');
  });

  test('refusing needs a reason; the request then leaves the open list', async () => {
    const world = responseWorld();
    world.request(4, 'restrict_segment', 'beacon');
    await show(ICU_NURSE, world);
    await fireEvent.click(within(card('restrict_segment')).getByTestId('step-refuse'));
    expect((screen.getByTestId('step-submit') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: 'patient being transferred' } });
    await fireEvent.click(screen.getByTestId('step-submit'));
    await screen.findByTestId('requests-empty');
    expect(world.requests[0]?.state).toBe('refused');
  });

  test("a backend refusal of a step shows in the dialog in its words", async () => {
    const world = responseWorld();
    world.request(4, 'restrict_segment', 'beacon');
    await show(ICU_NURSE, world);
    // Someone else confirmed in the meantime: the backend says it is not needed any more.
    world.step(1, 'sign_off', 'covered', CLINICIAN);
    await take('acknowledge_ward', null, card('restrict_segment'));
    expect(words(await screen.findByTestId('step-error'))).toBe(
      '✖ Not done: the request is approved, not waiting for anyone (response.not_awaiting)',
    );
    expect(screen.getByTestId('step-dialog')).toBeTruthy();
  });

  test('the history loads on demand and lists who did what', async () => {
    const world = responseWorld();
    world.request(4, 'quarantine', 'beacon');
    world.step(1, 'acknowledge_ward', 'watching', ICU_NURSE);
    const { backend } = await show(CLINICIAN, world);
    expect(screen.queryByTestId('request-history')).toBeNull();
    await fireEvent.click(screen.getByTestId('request-history-toggle'));
    const events = await screen.findAllByTestId('request-event');
    expect(backend.calls.find((c) => c.cmd === 'response_detail')?.args).toEqual({ id: 1 });
    expect(events.map((e) => e.dataset.kind)).toEqual(['requested', 'acknowledged']);
    expect(words(events[0] as HTMLElement)).toMatch(/olu Full network quarantine requested: Clinician sign-off .* \(reason: beacon\)$/);
    expect(words(events[1] as HTMLElement)).toMatch(/nora ward covering by nora \(reason: watching\)$/);
    await fireEvent.click(screen.getByTestId('request-history-toggle'));
    expect(screen.queryByTestId('request-history')).toBeNull();
  });

  test('the requests waiting for this person come first; each load is handed on for the count', async () => {
    const world = responseWorld();
    world.request(4, 'block_destination', 'beacon');
    world.request(4, 'quarantine', 'beacon');
    const { onLoaded } = await show(CLINICIAN, world);
    expect(within(screen.getByTestId('requests-mine')).getAllByTestId('request-card').map((c) => c.dataset.action)).toEqual(['quarantine']);
    expect(within(screen.getByTestId('requests-others')).getAllByTestId('request-card').map((c) => c.dataset.action)).toEqual(['block_destination']);
    expect(onLoaded).toHaveBeenCalledWith(expect.arrayContaining([expect.objectContaining({ action: 'quarantine' })]));
  });

  test('a failure: how it is being carried out, the attempts and the result in plain words', async () => {
    const world = responseWorld();
    world.request(4, 'block_destination', 'beacon');
    world.dispatch(1, 'retry');
    await show(OFFICER, world);
    const c = card('block_destination');
    expect(words(within(c).getByTestId('request-state'))).toBe('↻ Failed: trying again');
    expect(words(within(c).getByTestId('request-adapter'))).toMatch(/^people, with a checklist · 1 attempt · next try at \d\d:\d\d:\d\d$/);
    expect(words(within(c).getByTestId('request-result'))).toMatch(/^↻ Failed, trying again \(1 attempt so far\): attempt 1 failed: connection refused/);
  });
});
