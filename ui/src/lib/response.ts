// Pure helpers for care-safe response: grades as a shape, words and a
// colour class; how well an action contains the threat, in words; request
// states; what each step is called and asks for; and which steps the person
// at the window may take. The backend checks every step against the gate
// the device's state calls for now; hiding here is for calm, not security.
import type { GateView } from './bindings/GateView';
import type { GradeView } from './bindings/GradeView';
import type { RequestStateView } from './bindings/RequestStateView';
import type { ResponseRequestView } from './bindings/ResponseRequestView';
import type { ResponseStep } from './bindings/ResponseStep';
import type { UserView } from './bindings/UserView';
import type { Display, Toned } from './format';

// ---- Grades ----

export interface GradeShown extends Toned {
  /** The backend's symbol for the grade (✓ ◐ ✋ ⛔), kept as text beside the drawn icon. */
  marker: string;
}

const GRADE: Record<GradeView, GradeShown> = {
  safe_now: { icon: 'check', marker: '✓', text: 'Safe now', tone: 'grade-safe' },
  coordinate: { icon: 'half', marker: '◐', text: 'Coordinate with the ward', tone: 'grade-coordinate' },
  clinician_signoff: { icon: 'hand', marker: '✋', text: 'Clinician sign-off', tone: 'grade-signoff' },
  not_while_in_use: { icon: 'no-entry', marker: '⛔', text: 'Not while in use', tone: 'grade-blocked' },
};

/** Least disruptive first, as the backend orders them. */
export const GRADES: readonly GradeView[] = ['safe_now', 'coordinate', 'clinician_signoff', 'not_while_in_use'];

/**
 * A grade's icon name, symbol, words and colour class; the backend's label
 * and marker, when given, are the ones shown. A grade unknown to this UI
 * shows `?` and its own name, in no colour of a known grade.
 */
export function gradeDisplay(grade: GradeView, label?: string | null, marker?: string | null): GradeShown {
  const known = GRADE[grade];
  return {
    icon: known?.icon ?? 'unknown',
    marker: marker?.trim() || known?.marker || '?',
    text: label?.trim() || known?.text || String(grade),
    tone: known?.tone ?? 'grade-unknown',
  };
}

/** How well an action contains the threat (0 to 3), in words. */
export function containsWords(n: number): string {
  if (n >= 3) return 'Contains: strongly (stops it)';
  if (n === 2) return 'Contains: well, with care going on';
  if (n === 1) return 'Contains: a little (slows it)';
  return 'Support only: contains nothing by itself';
}

// ---- Request states ----

const STATE_ICON: Record<RequestStateView, string> = {
  awaiting_gate: '◔',
  approved: '▶',
  dispatching: '▶',
  retry_wait: '↻',
  checklist: '☐',
  done: '✔',
  failed: '✖',
  timed_out: '?',
  refused: '⊘',
  withdrawn: '↩',
};

/** A request state's shape and the backend's words for it. */
export function requestStateDisplay(state: RequestStateView, label: string): Display {
  return { icon: STATE_ICON[state] ?? '?', text: label.trim() || String(state).replace(/_/g, ' ') };
}

/** Nothing more happens to a request in these states. */
export function isFinal(state: RequestStateView): boolean {
  return ['done', 'failed', 'timed_out', 'refused', 'withdrawn'].includes(state);
}

/**
 * What the last attempt came to, in plain words, when people must know:
 * a failure, a retry, or no answer (it may have happened). `null` otherwise.
 */
export function resultLine(r: Pick<ResponseRequestView, 'state' | 'lastResult' | 'attempts'>): string | null {
  const detail = r.lastResult?.trim();
  const tries = r.attempts === 1 ? '1 attempt' : `${r.attempts} attempts`;
  switch (r.state) {
    case 'timed_out':
      return `No answer: check whether it happened before asking again.${detail ? ` (${detail})` : ''}`;
    case 'failed':
      return `Failed after ${tries}${detail ? `: ${detail}` : '.'}`;
    case 'retry_wait':
      return `Failed, trying again (${tries} so far)${detail ? `: ${detail}` : '.'}`;
    default:
      return null;
  }
}

/** `manual` is people with a checklist; any other adapter is named as configured. */
export function adapterWords(adapter: string): string {
  return adapter === 'manual' ? 'people, with a checklist' : adapter;
}

// ---- Steps ----

export interface StepText {
  /** The button on a request card. */
  button: string;
  /** What taking the step means, for the dialog. */
  explain: string;
  /** The label of the reason box. */
  reasonLabel: string;
  placeholder: string;
  /** The backend refuses the step without a reason. */
  reasonRequired: boolean;
  /** The dialog's submit button. */
  submit: string;
}

export const STEP_TEXT: Record<ResponseStep, StepText> = {
  acknowledge_ward: {
    button: 'We are covering',
    explain:
      'You confirm the ward is covering: someone watches the patient at the bedside while IT does this, and the ward knows it is happening.',
    reasonLabel: 'Note (optional)',
    placeholder: 'e.g. nurse at the bedside in room 3',
    reasonRequired: false,
    submit: 'Confirm: we are covering',
  },
  record_out_of_use: {
    button: 'Taken out of use',
    explain:
      'You confirm no patient is using the device any more: it was swapped for a spare. It is recorded as out of use, and the action is graded again.',
    reasonLabel: 'How it was taken out of use (required)',
    placeholder: 'e.g. swapped for spare INF-0099',
    reasonRequired: true,
    submit: 'Confirm: taken out of use',
  },
  sign_off: {
    button: 'Sign off',
    explain:
      'As a clinician, you agree this can go ahead now. Someone must watch the patient at the bedside while it happens.',
    reasonLabel: 'Why it is safe to go ahead (required)',
    placeholder: 'e.g. patient stable, nurse at the bedside',
    reasonRequired: true,
    submit: 'Sign off',
  },
  break_glass: {
    button: 'Break glass',
    explain:
      'An emergency override: the action goes ahead although the device is in use and the ward has not taken it out of use.',
    reasonLabel: 'The emergency (required)',
    placeholder: 'e.g. the pump is being controlled from outside; the patient is on manual infusion',
    reasonRequired: true,
    submit: 'Break glass and approve',
  },
  refuse: {
    button: 'Refuse',
    explain: 'The request stops here and nothing is carried out. IT is told why.',
    reasonLabel: 'Why not (required)',
    placeholder: 'e.g. patient being transferred, ask again in an hour',
    reasonRequired: true,
    submit: 'Refuse',
  },
  withdraw: {
    button: 'Withdraw',
    explain: 'The request is taken back and nothing is carried out.',
    reasonLabel: 'Why (optional)',
    placeholder: 'e.g. no longer needed',
    reasonRequired: false,
    submit: 'Withdraw',
  },
};

/** The order step buttons are shown in. */
export const STEPS: readonly ResponseStep[] = ['acknowledge_ward', 'record_out_of_use', 'sign_off', 'break_glass', 'refuse', 'withdraw'];

const has = (user: UserView, role: UserView['roles'][number]) => user.roles.includes(role);

/** Requesting actions and ticking checklists: a security officer. */
export function mayRequest(user: UserView | null): boolean {
  return !!user && has(user, 'security_officer');
}

/** A nurse of `ward`, or a clinician: who speaks for the ward. */
export function speaksFor(user: UserView, ward: string | null): boolean {
  return has(user, 'clinician') || (has(user, 'nurse') && ward !== null && user.wards.includes(ward));
}

/** The gate a request needs now. */
function gateNow(r: ResponseRequestView): GateView {
  return r.now.gate;
}

/**
 * The steps `user` may take on `r` now and that help it along, in the
 * order the buttons are shown. Mirrors the backend's gate rules; the
 * requester is never offered a confirmation of their own request (the
 * two-person rule).
 */
export function stepsFor(r: ResponseRequestView, user: UserView | null): ResponseStep[] {
  if (!user) return [];
  const steps: ResponseStep[] = [];
  const mine = r.requestedBy === user.username;
  const clinician = has(user, 'clinician');
  const gate = gateNow(r);
  if (r.state === 'awaiting_gate') {
    const ward = speaksFor(user, r.ward);
    const covering = !r.wardAck && !r.signoff && (gate === 'ward_ack' || gate === 'clinician_signoff');
    if (!mine && ward && covering) steps.push('acknowledge_ward');
    if (!mine && ward && gate === 'out_of_use' && r.device !== null) steps.push('record_out_of_use');
    if (!mine && clinician && gate === 'clinician_signoff') steps.push('sign_off');
    if (!mine && clinician && gate === 'out_of_use') steps.push('break_glass');
    const mayRefuse = gate === 'none' || gate === 'ward_ack' ? ward : clinician;
    if (mayRefuse) steps.push('refuse');
  }
  if (!isFinal(r.state) && r.state !== 'dispatching' && (mine || has(user, 'security_officer'))) steps.push('withdraw');
  return steps;
}

/** Whether `user` may tick off the steps of `r`'s checklist now. */
export function mayTick(r: ResponseRequestView, user: UserView | null): boolean {
  return mayRequest(user) && r.state === 'checklist';
}

/**
 * Whether `r` waits for `user`'s part: a step that opens its gate (the
 * ward covering, the device out of use, a sign-off or a break-glass), or a
 * checklist to tick off. Refusing and withdrawing are not waited for.
 */
export function needsMe(r: ResponseRequestView, user: UserView | null): boolean {
  if (mayTick(r, user)) return true;
  return stepsFor(r, user).some((s) => s !== 'refuse' && s !== 'withdraw');
}

/** Only the role of nurse: the window is for the nursing station. */
export function isNurseOnly(user: UserView): boolean {
  return user.roles.length > 0 && user.roles.every((r) => r === 'nurse');
}

/** "1 request from IT for your ward needs you", for a nurse's default screen. */
export function wardNoticeLine(count: number, wards: number): string {
  const where = wards === 1 ? 'your ward' : 'your wards';
  return count === 1 ? `1 request from IT for ${where} needs you` : `${count} requests from IT for ${where} need you`;
}
