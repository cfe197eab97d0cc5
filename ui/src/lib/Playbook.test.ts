import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { UserView } from './bindings/UserView';
import Playbook from './Playbook.svelte';
import { CLINICIAN, fakeBackend, ICU_NURSE, OFFICER, responseWorld, sessionAs, type ResponseWorld } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();

async function show(user: UserView = OFFICER, world: ResponseWorld = responseWorld(), over: Parameters<typeof fakeBackend>[0] = {}) {
  const backend = fakeBackend({ ...world.handlers, ...over }, { session: sessionAs(user) });
  render(Playbook, { incidentId: 4, user });
  await screen.findByTestId('play-block_destination');
  return { backend, world };
}

const play = (action: string) => screen.getByTestId(`play-${action}`);

describe('Playbook', () => {
  test('every play in order, each with its grade in a shape and words, its reasons and its gate', async () => {
    const { backend } = await show();
    expect(backend.calls[0]).toEqual({ cmd: 'incident_playbook', args: { id: 4 } });
    expect(words(screen.getByTestId('playbook-device'))).toBe('For infusion pump pump-7 in room 12, bed 1');
    const order = screen.getAllByTestId(/^play-[a-z_]+$/).filter((el) => el.tagName === 'LI');
    expect(order.map((el) => el.dataset.testid)).toEqual([
      'play-block_destination',
      'play-rate_limit',
      'play-observe',
      'play-notify_biomed',
      'play-open_ticket',
      'play-restrict_segment',
      'play-quarantine',
      'play-disable_wireless',
      'play-swap_and_remove',
      'play-decommission',
      'play-reboot',
      'play-patch_firmware',
    ]);
    expect(order.map((el) => words(within(el).getByTestId('play-order')))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    expect(words(screen.getByTestId('grade-block_destination'))).toBe('✓ Safe now');
    expect(words(screen.getByTestId('grade-restrict_segment'))).toBe('◐ Coordinate with the ward');
    expect(words(screen.getByTestId('grade-quarantine'))).toBe('✋ Clinician sign-off');
    expect(words(screen.getByTestId('grade-reboot'))).toBe('⛔ Not while in use');
    for (const el of order) {
      expect(within(el).getByTestId('play-reasons').querySelectorAll('li').length).toBeGreaterThan(0);
      expect(words(within(el).getByTestId('play-gate'))).toMatch(/^Before it is carried out: \S/);
    }
    expect(words(within(play('quarantine')).getByTestId('play-reasons'))).toContain(
      'Its alarms stop reaching the central station while a life-sustaining device is in use',
    );
    expect(words(within(play('quarantine')).getByTestId('play-gate'))).toBe(
      'Before it is carried out: a clinician other than the requester signs off, with a reason',
    );
    expect(words(within(play('block_destination')).getByTestId('play-protects'))).toBe(
      'Protects against: Cuts command-and-control traffic and data leaving for the outside address.',
    );
    expect(words(within(play('block_destination')).getByTestId('play-contains'))).toBe('Contains: strongly (stops it)');
    expect(words(within(play('observe')).getByTestId('play-contains'))).toBe('Support only: contains nothing by itself');
  });

  test('a blocked action says what to do instead now, and to swap first', async () => {
    await show();
    const reboot = play('reboot');
    expect([...within(reboot).getByTestId('play-reasons').querySelectorAll('li')].map(words)).toEqual([
      'The infusion pump is in use with a patient.',
      'It would stop a life-sustaining infusion pump while a patient depends on it.',
      'Blocked: swap it for a spare first (then this is safe), or break glass in an emergency.',
    ]);
    expect(words(within(reboot).getByTestId('play-swap-first'))).toBe('⇄ Swap it for a spare first');
    const instead = within(reboot).getByTestId('play-instead');
    expect(words(instead)).toContain('Instead now:');
    expect([...instead.querySelectorAll('li')].map(words)).toEqual([
      '✓ Safe now Block the outside address at the firewall (no. 1)',
      '✓ Safe now Rate-limit the device (no. 2)',
      '◐ Coordinate with the ward Move to the restricted segment (no. 6)',
      '✋ Clinician sign-off Full network quarantine (no. 7)',
      '✋ Clinician sign-off Turn off its wireless (no. 8)',
      '✋ Clinician sign-off Swap for a spare and remove (no. 9)',
    ]);
    expect(within(play('quarantine')).queryByTestId('play-instead')).toBeNull();
  });

  test('an incident naming no device: device actions are not offered, with why', async () => {
    const world = responseWorld({ incidents: [{ id: 4, condition: 'c2-beacon', device: null, ward: null }] });
    await show(OFFICER, world);
    expect(screen.queryByTestId('play-reboot')).toBeNull();
    expect(words(screen.getByTestId('not-offered-reboot'))).toBe('Restart the device: The incident names no device of the inventory to act on.');
    expect(words(screen.getByTestId('grade-block_destination'))).toBe('✓ Safe now');
  });

  test.each([
    ['a clinician', CLINICIAN],
    ['a nurse', ICU_NURSE],
  ])('%s sees the grades but is offered no request', async (_who, user) => {
    await show(user);
    expect(screen.getAllByTestId(/^grade-/).length).toBe(12);
    expect(screen.queryByTestId('request-block_destination')).toBeNull();
  });

  test('an officer requests with a reason; an empty reason is not sent; the request then shows', async () => {
    const { backend } = await show();
    await fireEvent.click(screen.getByTestId('request-restrict_segment'));
    const dialog = screen.getByTestId('request-dialog');
    expect(words(within(dialog).getByTestId('request-dialog-grade'))).toBe('◐ Coordinate with the ward');
    expect(words(within(dialog).getByTestId('request-dialog-reasons'))).toContain('drop for a moment while it moves');
    expect(words(within(dialog).getByTestId('request-dialog-gate'))).toBe(
      'Before it is carried out: the ward confirms they are covering (a nurse of the ward, or a clinician)',
    );
    const submit = screen.getByTestId('request-submit') as HTMLButtonElement;
    expect(words(submit)).toBe('Request: it waits for the ward');
    expect(submit.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('request-reason'), { target: { value: '   ' } });
    expect(submit.disabled).toBe(true);
    await fireEvent.submit(submit.closest('form') as HTMLFormElement);
    expect(backend.count('request_response')).toBe(0);

    await fireEvent.input(screen.getByTestId('request-reason'), { target: { value: ' beacon to a known C2 address ' } });
    await fireEvent.click(submit);
    await vi.waitFor(() => expect(screen.queryByTestId('request-dialog')).toBeNull());
    expect(backend.calls.find((c) => c.cmd === 'request_response')?.args).toEqual({
      incidentId: 4,
      action: 'restrict_segment',
      reason: 'beacon to a known C2 address',
    });
    const card = await screen.findByTestId('request-card');
    expect(card.dataset.action).toBe('restrict_segment');
    expect(card.dataset.state).toBe('awaiting_gate');
    expect(words(within(card).getByTestId('request-state'))).toBe('◔ Waiting for the ward');
    expect(words(within(card).getByTestId('request-by'))).toMatch(/^olu at \d\d:\d\d:\d\d: “beacon to a known C2 address”$/);
  });

  test("the backend's refusal shows in the dialog in its words, and the dialog stays", async () => {
    await show(OFFICER, responseWorld(), {
      request_response: () => {
        throw { code: 'store.disk_full', message: 'the disk is full: nothing can be recorded' };
      },
    });
    await fireEvent.click(screen.getByTestId('request-block_destination'));
    await fireEvent.input(screen.getByTestId('request-reason'), { target: { value: 'beacon' } });
    await fireEvent.click(screen.getByTestId('request-submit'));
    const error = await screen.findByTestId('request-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(words(error)).toBe('✖ Not requested: the disk is full: nothing can be recorded (store.disk_full)');
    expect(screen.getByTestId('request-dialog')).toBeTruthy();
  });

  test("the backend's reason check answers too, when a reason reaches it blank", async () => {
    // A caller other than this dialog (or a newer rule): the backend refuses, and the words show.
    const world = responseWorld();
    await show(OFFICER, world, {
      request_response: (args, ctx) => world.handlers.request_response!({ ...args, reason: '' }, ctx),
    });
    await fireEvent.click(screen.getByTestId('request-block_destination'));
    await fireEvent.input(screen.getByTestId('request-reason'), { target: { value: 'x' } });
    await fireEvent.click(screen.getByTestId('request-submit'));
    expect(words(await screen.findByTestId('request-error'))).toBe(
      '✖ Not requested: a reason is required to request an action (response.reason_required)',
    );
  });

  test('a blocked action is requested knowing it waits for the device to be out of use or a break-glass', async () => {
    await show();
    await fireEvent.click(screen.getByTestId('request-reboot'));
    expect(words(screen.getByTestId('request-dialog-grade'))).toBe('⛔ Not while in use');
    expect(words(screen.getByTestId('request-submit'))).toBe(
      'Request: it waits until the device is out of use, or a clinician breaks the glass',
    );
    await fireEvent.click(screen.getByTestId('request-cancel'));
    expect(screen.queryByTestId('request-dialog')).toBeNull();
  });

  test('a failed load says so in the section', async () => {
    fakeBackend({
      incident_playbook: () => {
        throw { code: 'response.unknown', message: 'there is no incident 4' };
      },
    });
    render(Playbook, { incidentId: 4, user: OFFICER });
    expect(words(await screen.findByTestId('playbook-error'))).toBe('✖ Could not load the response: there is no incident 4 (response.unknown)');
  });
});

describe("Playbook: the incident's requests", () => {
  test('an officer ticks off a manual checklist step by step until it is done', async () => {
    const world = responseWorld();
    const backend = fakeBackend(world.handlers, { session: sessionAs(OFFICER) });
    render(Playbook, { incidentId: 4, user: OFFICER, intervalMs: 30 });
    await fireEvent.click(await screen.findByTestId('request-block_destination'));
    await fireEvent.input(screen.getByTestId('request-reason'), { target: { value: 'beacon' } });
    await fireEvent.click(screen.getByTestId('request-submit'));
    await vi.waitFor(() => expect(screen.getByTestId('request-card').dataset.state).toBe('approved'));
    // The dispatcher hands the manual checklist to people.
    world.dispatch(1);
    await vi.waitFor(() => expect(screen.getByTestId('request-card').dataset.state).toBe('checklist'));
    const items = () => screen.getAllByTestId('checklist-item');
    expect(items().map(words)).toEqual([
      '☐ Add a deny rule for the external address at the perimeter firewall. Mark done',
      "☐ Check the device's clinical flows are still up at the central station. Mark done",
    ]);
    await fireEvent.click(screen.getByTestId('tick-0'));
    await vi.waitFor(() => expect(items()[0]?.dataset.done).toBe('true'));
    expect(words(items()[0] as HTMLElement)).toMatch(/^✔ Add a deny rule .* done by olu at \d\d:\d\d:\d\d$/);
    expect(screen.getByTestId('request-card').dataset.state).toBe('checklist');
    await fireEvent.click(screen.getByTestId('tick-1'));
    await vi.waitFor(() => expect(screen.getByTestId('request-card').dataset.state).toBe('done'));
    expect(screen.queryByTestId(/^tick-/)).toBeNull();
    expect(backend.calls.filter((c) => c.cmd === 'tick_response').map((c) => c.args)).toEqual([
      { id: 1, index: 0 },
      { id: 1, index: 1 },
    ]);
  });

  test('a clinician sees the checklist but cannot tick it', async () => {
    const world = responseWorld();
    world.request(4, 'block_destination', 'beacon');
    world.dispatch(1);
    await show(CLINICIAN, world);
    await screen.findByTestId('request-checklist');
    expect(screen.queryByTestId('tick-0')).toBeNull();
    expect(words(screen.getAllByTestId('checklist-item')[0] as HTMLElement)).toMatch(/not done yet$/);
  });

  test('a refused tick is shown on the card', async () => {
    const world = responseWorld();
    world.request(4, 'block_destination', 'beacon');
    world.dispatch(1);
    await show(OFFICER, world, {
      tick_response: () => {
        throw { code: 'response.not_needed', message: 'that step is already ticked off' };
      },
    });
    await fireEvent.click(await screen.findByTestId('tick-0'));
    expect(words(await screen.findByTestId('request-error'))).toBe(
      '✖ Could not tick off step 1: that step is already ticked off. (response.not_needed)',
    );
  });

  test('no answer from the adapter: says plainly to check whether it happened', async () => {
    const world = responseWorld();
    world.request(4, 'block_destination', 'beacon');
    world.dispatch(1, 'timed_out');
    await show(OFFICER, world);
    const c = await screen.findByTestId('request-card');
    expect(c.dataset.state).toBe('timed_out');
    expect(words(within(c).getByTestId('request-state'))).toBe('? No answer: check whether it happened');
    expect(words(within(c).getByTestId('request-result'))).toBe(
      '? No answer: check whether it happened before asking again. (no answer within 10000 ms: it may have happened; check before asking again)',
    );
    expect(words(within(c).getByTestId('request-adapter'))).toBe('people, with a checklist · 1 attempt');
    expect(within(c).queryByTestId('step-withdraw')).toBeNull();
  });
});
