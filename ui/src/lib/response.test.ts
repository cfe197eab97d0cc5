import { describe, expect, test } from 'vitest';
import type { ResponseRequestView } from './bindings/ResponseRequestView';
import type { UserView } from './bindings/UserView';
import {
  containsWords,
  gradeDisplay,
  isNurseOnly,
  mayTick,
  needsMe,
  requestStateDisplay,
  resultLine,
  STEPS,
  stepsFor,
  wardNoticeLine,
} from './response';
import { CLINICIAN, fakeDevice, ICU_NURSE, NURSE, OFFICER, person, responseWorld } from './testing';

const BOTH = person('dana', { displayName: 'Dana Both', roles: ['clinician', 'security_officer'], roleLabels: ['clinician', 'security officer'] });

describe('grades and words', () => {
  test.each([
    ['safe_now', '✓', 'Safe now', 'grade-safe'],
    ['coordinate', '◐', 'Coordinate with the ward', 'grade-coordinate'],
    ['clinician_signoff', '✋', 'Clinician sign-off', 'grade-signoff'],
    ['not_while_in_use', '⛔', 'Not while in use', 'grade-blocked'],
  ] as const)('%s: %s %s', (grade, marker, text, tone) => {
    expect(gradeDisplay(grade)).toMatchObject({ marker, text, tone });
  });

  test('containment in words, from support only to strongly', () => {
    expect([0, 1, 2, 3].map(containsWords)).toEqual([
      'Support only: contains nothing by itself',
      'Contains: a little (slows it)',
      'Contains: well, with care going on',
      'Contains: strongly (stops it)',
    ]);
  });

  test('request states keep the backend words and add a shape', () => {
    expect(requestStateDisplay('awaiting_gate', 'Waiting for the ward')).toEqual({ icon: '◔', text: 'Waiting for the ward' });
    expect(requestStateDisplay('timed_out', '')).toEqual({ icon: '?', text: 'timed out' });
  });

  test('what the last attempt came to, plainly, only when people must know', () => {
    expect(resultLine({ state: 'timed_out', lastResult: 'no answer within 10000 ms', attempts: 1 })).toBe(
      'No answer: check whether it happened before asking again. (no answer within 10000 ms)',
    );
    expect(resultLine({ state: 'failed', lastResult: 'the firewall refused the rule', attempts: 3 })).toBe(
      'Failed after 3 attempts: the firewall refused the rule',
    );
    expect(resultLine({ state: 'retry_wait', lastResult: null, attempts: 1 })).toBe('Failed, trying again (1 attempt so far).');
    expect(resultLine({ state: 'done', lastResult: 'done', attempts: 1 })).toBeNull();
  });

  test("a nurse's notice counts her requests and her wards", () => {
    expect(wardNoticeLine(1, 1)).toBe('1 request from IT for your ward needs you');
    expect(wardNoticeLine(3, 2)).toBe('3 requests from IT for your wards need you');
    expect(isNurseOnly(NURSE)).toBe(true);
    expect(isNurseOnly(person('x', { roles: ['nurse', 'clinician'] }))).toBe(false);
    expect(isNurseOnly(OFFICER)).toBe(false);
  });
});

describe('who is offered which step', () => {
  function at(action: string, use: 'in_use' | 'idle' = 'in_use', by = OFFICER.username) {
    const world = responseWorld({ devices: [fakeDevice('pump-7', { use })] });
    return { world, r: world.request(4, action, 'beacon to a known bad address', by) };
  }

  test('a ward-covering request: the ward nurse and a clinician cover; a nurse of another ward is offered nothing', () => {
    const { r } = at('restrict_segment');
    expect(r.now.gate).toBe('ward_ack');
    expect(stepsFor(r, ICU_NURSE)).toEqual(['acknowledge_ward', 'refuse']);
    expect(stepsFor(r, CLINICIAN)).toEqual(['acknowledge_ward', 'refuse']);
    expect(stepsFor(r, NURSE)).toEqual([]);
    expect(stepsFor(r, OFFICER)).toEqual(['withdraw']);
    expect(needsMe(r, ICU_NURSE)).toBe(true);
    expect(needsMe(r, NURSE)).toBe(false);
    expect(needsMe(r, OFFICER)).toBe(false);
  });

  test('a sign-off: a clinician other than the requester signs off; the requester never', () => {
    const { r } = at('quarantine', 'in_use', BOTH.username);
    expect(r.now.gate).toBe('clinician_signoff');
    expect(stepsFor(r, CLINICIAN)).toEqual(['acknowledge_ward', 'sign_off', 'refuse']);
    expect(stepsFor(r, BOTH)).not.toContain('sign_off');
    expect(stepsFor(r, BOTH)).not.toContain('acknowledge_ward');
    expect(stepsFor(r, BOTH)).toContain('withdraw');
    expect(stepsFor(r, ICU_NURSE)).toEqual(['acknowledge_ward']);
  });

  test('blocked while in use: the ward records it out of use, a clinician may break the glass', () => {
    const { r } = at('reboot');
    expect(r.now.gate).toBe('out_of_use');
    expect(stepsFor(r, ICU_NURSE)).toEqual(['record_out_of_use']);
    expect(stepsFor(r, CLINICIAN)).toEqual(['record_out_of_use', 'break_glass', 'refuse']);
    expect(needsMe(r, CLINICIAN)).toBe(true);
  });

  test('a checklist is ticked by an officer, and waits for one', () => {
    const { world, r } = at('block_destination');
    const checklist = world.dispatch(r.id);
    expect(checklist.state).toBe('checklist');
    expect(mayTick(checklist, OFFICER)).toBe(true);
    expect(mayTick(checklist, CLINICIAN)).toBe(false);
    expect(needsMe(checklist, OFFICER)).toBe(true);
    expect(stepsFor(checklist, CLINICIAN)).toEqual([]);
  });

  test('nobody logged in is offered nothing', () => {
    const { r } = at('reboot');
    expect(stepsFor(r, null)).toEqual([]);
  });

  // Every step the window offers is one the backend's gate rules accept,
  // and every step it hides for the requester is refused by them.
  const people: UserView[] = [OFFICER, BOTH, CLINICIAN, ICU_NURSE, NURSE];
  const actions = ['block_destination', 'restrict_segment', 'quarantine', 'reboot', 'swap_and_remove'];
  test.each(actions.flatMap((a) => people.map((p) => [a, p.username, p] as const)))(
    '%s, %s: what is offered is accepted',
    (action, _name, who) => {
      for (const step of STEPS) {
        const { world, r } = at(action, 'in_use', BOTH.username);
        const offered = stepsFor(r as ResponseRequestView, who).includes(step);
        let accepted = true;
        try {
          world.step(r.id, step, 'a reason', who);
        } catch {
          accepted = false;
        }
        if (offered) expect(accepted, `${step} offered to ${who.username}`).toBe(true);
        if (who === BOTH && (step === 'sign_off' || step === 'break_glass' || step === 'acknowledge_ward')) {
          expect(accepted, `${step} by the requester`).toBe(false);
        }
      }
    },
  );
});
