import { clearMocks } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { ResponseStep } from './bindings/ResponseStep';
import type { UserView } from './bindings/UserView';
import StepDialog from './StepDialog.svelte';
import { CLINICIAN, fakeBackend, ICU_NURSE, NURSE, person, responseWorld, sessionAs } from './testing';

afterEach(() => clearMocks());

const words = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim();
const DANA = person('dana', { displayName: 'Dana Both', roles: ['clinician', 'security_officer'], roleLabels: ['clinician', 'security officer'] });

function open(user: UserView, action: string, step: ResponseStep, by = 'olu') {
  const world = responseWorld();
  const request = world.request(4, action, 'beacon to a known C2 address', by);
  const backend = fakeBackend(world.handlers, { session: sessionAs(user) });
  const onDone = vi.fn();
  const onClose = vi.fn();
  render(StepDialog, { request, step, onDone, onClose });
  return { world, backend, onDone, onClose };
}

async function send(reason: string) {
  await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: reason } });
  await fireEvent.click(screen.getByTestId('step-submit'));
}

describe('StepDialog', () => {
  test('repeats the ask and the grade with its reasons, and says what the step means', () => {
    open(CLINICIAN, 'quarantine', 'sign_off');
    expect(words(screen.getByTestId('step-dialog').querySelector('h2'))).toBe('Sign off: Full network quarantine');
    expect(words(screen.getByTestId('step-ask'))).toBe(
      'IT wants to cut infusion pump pump-7 in room 12, bed 1 off the network. A clinician must sign off first; someone must watch the patient at the bedside while it happens.',
    );
    expect(words(screen.getByTestId('step-grade'))).toBe('✋ Clinician sign-off');
    expect(words(screen.getByTestId('step-grade-reasons'))).toContain('The infusion pump is in use with a patient.');
    expect(words(screen.getByTestId('step-dialog'))).toContain('As a clinician, you agree this can go ahead now.');
  });

  test('the requester signing off her own request: the two-person rule refusal, in its words', async () => {
    const { onDone } = open(DANA, 'quarantine', 'sign_off', 'dana');
    await send('I checked the patient');
    const error = await screen.findByTestId('step-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(words(error)).toBe('✖ Not done: you made this request: another person must sign off (two-person rule) (response.two_person_rule)');
    expect(onDone).not.toHaveBeenCalled();
    expect(screen.getByTestId('step-dialog')).toBeTruthy();
  });

  test("a nurse of another ward is refused by the backend's matrix, in its words", async () => {
    open(NURSE, 'restrict_segment', 'acknowledge_ward');
    await fireEvent.click(screen.getByTestId('step-submit'));
    expect(words(await screen.findByTestId('step-error'))).toBe('✖ Not done: Ward icu-1 is not one of your wards (access.refused)');
  });

  test('a required reason: not sent blank', async () => {
    const { backend } = open(CLINICIAN, 'quarantine', 'sign_off');
    const submit = screen.getByTestId('step-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: '  ' } });
    expect(submit.disabled).toBe(true);
    await fireEvent.submit(submit.closest('form') as HTMLFormElement);
    expect(backend.count('response_step')).toBe(0);
  });

  test('the ward covering needs no reason; done hands on the request as it is now', async () => {
    const { backend, onDone } = open(ICU_NURSE, 'restrict_segment', 'acknowledge_ward');
    expect(words(screen.getByTestId('step-submit'))).toBe('Confirm: we are covering');
    await fireEvent.click(screen.getByTestId('step-submit'));
    await vi.waitFor(() => expect(onDone).toHaveBeenCalledOnce());
    expect(onDone.mock.calls[0]?.[0]).toMatchObject({ id: 1, state: 'approved', wardAck: { by: 'nora', reason: '' } });
    expect(backend.calls).toEqual([{ cmd: 'response_step', args: { id: 1, step: 'acknowledge_ward', reason: '' } }]);
  });

  test('break glass: a calm, strong warning, and the explicit confirmation before it can be sent', async () => {
    const { onDone } = open(CLINICIAN, 'reboot', 'break_glass');
    const warning = screen.getByTestId('break-glass-warning');
    expect(words(warning)).toBe(
      'Only in an emergency. This overrides the safety gate: the device may stop while a patient depends on it. Make sure someone is at the bedside and ready to take over by hand. Your name and reason are recorded, and every break-glass is reviewed.',
    );
    expect(warning.querySelector('svg')).not.toBeNull();
    await fireEvent.input(screen.getByTestId('step-reason'), { target: { value: 'runaway infusion' } });
    expect((screen.getByTestId('step-submit') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId('break-glass-confirm'));
    await fireEvent.click(screen.getByTestId('step-submit'));
    await vi.waitFor(() => expect(onDone).toHaveBeenCalledOnce());
    expect(onDone.mock.calls[0]?.[0]).toMatchObject({ state: 'approved', breakGlass: { by: 'cal', reason: 'runaway infusion' } });
  });

  test('no confirmation box for other steps', () => {
    open(CLINICIAN, 'quarantine', 'sign_off');
    expect(screen.queryByTestId('break-glass-confirm')).toBeNull();
    expect(screen.queryByTestId('break-glass-warning')).toBeNull();
  });

  test('Cancel and Escape close without sending', async () => {
    const { backend, onClose } = open(CLINICIAN, 'quarantine', 'sign_off');
    await fireEvent.click(screen.getByTestId('step-cancel'));
    await fireEvent.keyDown(screen.getByTestId('step-dialog'), { key: 'Escape' });
    expect(onClose).toHaveBeenCalledTimes(2);
    expect(backend.calls).toEqual([]);
  });
});
