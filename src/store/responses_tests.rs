//! Response requests on real SQLCipher files: each gate, the two-person
//! rule, break-glass, taking a device out of use, claims (never twice), the
//! checklist, the cut-off attempt at a restart; and a property test over
//! random sequences of people's steps, device-state changes and dispatch.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::hospital_tests::{assert_chain_intact, audit_kinds, cef, id, import, open, pump, t};
use super::*;
use crate::access::Role;
use crate::audit::kind;
use crate::hospital::{CriticalityTier, UseState, WardId};
use crate::response::dispatch::Attempt;
use crate::response::gate::{Person, Step};
use crate::response::{grade, Catalogue, Gate, Grade, RequestState, Subject};

/// People of the tests: name, roles, wards.
const PEOPLE: [(&str, &[Role], &[&str]); 6] = [
    ("olu", &[Role::SecurityOfficer], &[]),
    ("omar", &[Role::SecurityOfficer], &[]),
    ("cleo", &[Role::Clinician], &[]),
    ("cara", &[Role::Clinician, Role::SecurityOfficer], &[]),
    ("nina", &[Role::Nurse], &["icu"]),
    ("ned", &[Role::Nurse], &["ed"]),
];

struct Who {
    name: &'static str,
    roles: BTreeSet<Role>,
    wards: BTreeSet<WardId>,
}

fn people() -> Vec<Who> {
    PEOPLE
        .iter()
        .map(|(name, roles, wards)| Who {
            name,
            roles: roles.iter().copied().collect(),
            wards: wards.iter().map(|w| WardId((*w).into())).collect(),
        })
        .collect()
}

fn person(w: &Who) -> Person<'_> {
    Person { name: w.name, roles: &w.roles, wards: &w.wards }
}

fn who<'a>(all: &'a [Who], name: &str) -> &'a Who {
    all.iter().find(|w| w.name == name).unwrap_or_else(|| panic!("{name}"))
}

/// A store with pump P1 (life-sustaining, ICU) and one incident on it.
fn setup(tier: CriticalityTier) -> Result<(tempfile::TempDir, Store, i64), StoreError> {
    let (dir, mut store) = open();
    let mut p = pump("P1", "10.1.0.5", "0011223344556677");
    p.criticality.tier = tier;
    import(&mut store, &[p], t(0))?;
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "ET EXPLOIT pump hijack", 9, t(1))])?;
    let incident = store.incidents(&IncidentFilter::default(), t(2), &ViewRules::default())?;
    Ok((dir, store, incident[0].record.id))
}

fn set_use(store: &mut Store, state: UseState, at: DateTime<Utc>) -> Result<(), StoreError> {
    store.set_clinical_use(&id("P1"), state, "nurse.a", "test", at).map(|_| ())
}

/// The action graded on P1 as the store sees it at `at`.
fn graded(store: &Store, action: &str, at: DateTime<Utc>) -> Result<crate::response::Graded, StoreError> {
    let catalogue = Catalogue::shipped();
    let view = store.hospital_view(at, &ViewRules::default())?;
    let d = view.devices.iter().find(|d| d.device.id.as_str() == "P1").unwrap_or_else(|| panic!("P1"));
    let spec = catalogue.action(action).unwrap_or_else(|| panic!("{action}"));
    Ok(grade(&catalogue, spec, Some(&Subject::of(d, at))))
}

fn request(
    store: &mut Store,
    incident: i64,
    action: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<ResponseRequest, StoreError> {
    let g = graded(store, action, at)?;
    let device = id("P1");
    let ward = WardId("icu".into());
    let new = NewRequest {
        incident_id: incident,
        incident_key: "device:P1/exploit",
        device: Some(&device),
        ward: Some(&ward),
        graded: &g,
        adapter: "manual",
        reason: "contain the exploit",
    };
    store.request_response(&new, by, at)
}

fn step(
    store: &mut Store,
    r: &ResponseRequest,
    s: Step,
    p: &Who,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<ResponseRequest, StoreError> {
    let gate_now = graded(store, r.action.as_str(), at)?.gate;
    store.response_step(r.id, s, &person(p), reason, gate_now, at)
}

fn gate_error(r: Result<ResponseRequest, StoreError>) -> crate::response::GateError {
    match r {
        Err(StoreError::Response(ResponseError::Gate(g))) => g,
        other => panic!("expected a gate refusal, got {other:?}"),
    }
}

#[test]
fn a_safe_action_is_approved_when_requested_and_claimed_once() -> Result<(), StoreError> {
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSustaining)?;
    set_use(&mut store, UseState::InUse, t(3))?;
    let r = request(&mut store, incident, "block_destination", "olu", t(4))?;
    assert_eq!((r.grade, r.gate, r.state), (Grade::SafeNow, Gate::None, RequestState::Approved));
    assert!(matches!(store.claim_response(r.id, Gate::None, t(5))?, Claim::Claimed(_)));
    assert_eq!(store.claim_response(r.id, Gate::None, t(5))?, Claim::Gone, "a second claim");
    let done = store.record_attempt(
        r.id,
        &AttemptOutcome::Attempted { attempt: Attempt::Done { detail: "HTTP 200".into() }, retry_at: None },
        t(6),
    )?;
    assert_eq!((done.state, done.attempts), (RequestState::Done, 1));
    assert_eq!(store.claim_response(r.id, Gate::None, t(7))?, Claim::Gone, "claimed after done");
    let kinds = audit_kinds(&store)?;
    for k in [kind::RESPONSE_REQUESTED, kind::RESPONSE_DISPATCHING, kind::RESPONSE_DONE] {
        assert_eq!(kinds.iter().filter(|x| *x == k).count(), 1, "{k} in {kinds:?}");
    }
    assert_chain_intact(&store)
}

#[test]
fn two_person_rule_the_requester_cannot_sign_off_and_only_a_clinician_can() -> Result<(), StoreError> {
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSupporting)?;
    set_use(&mut store, UseState::InUse, t(3))?;
    let all = people();
    // cara is an officer and a clinician: she may request, but then not sign off her own request.
    let r = request(&mut store, incident, "quarantine", "cara", t(4))?;
    assert_eq!(
        (r.grade, r.gate, r.state),
        (Grade::ClinicianSignoff, Gate::ClinicianSignoff, RequestState::AwaitingGate)
    );
    let e = gate_error(step(&mut store, &r, Step::SignOff, who(&all, "cara"), "I am sure", t(5)));
    assert_eq!(e.code(), "response.two_person_rule", "{e}");
    assert!(e.to_string().contains("two-person rule"), "{e}");
    let e = gate_error(step(&mut store, &r, Step::SignOff, who(&all, "nina"), "covering", t(5)));
    assert_eq!(e.code(), "response.not_permitted", "{e}");
    let e = gate_error(step(&mut store, &r, Step::SignOff, who(&all, "cleo"), "  ", t(5)));
    assert_eq!(e.code(), "response.reason_required", "{e}");
    // A nurse's acknowledgement does not open a sign-off gate.
    let r = step(&mut store, &r, Step::AcknowledgeWard, who(&all, "nina"), "", t(6))?;
    assert_eq!(r.state, RequestState::AwaitingGate);
    let r = step(&mut store, &r, Step::SignOff, who(&all, "cleo"), "patient on bedside watch", t(7))?;
    assert_eq!(r.state, RequestState::Approved);
    assert_eq!(r.given.signoff.as_ref().map(|s| s.by.as_str()), Some("cleo"));
    let e = gate_error(step(&mut store, &r, Step::SignOff, who(&all, "cleo"), "again", t(8)));
    assert_eq!(e.code(), "response.not_awaiting");
    assert_chain_intact(&store)
}

#[test]
fn a_ward_acknowledgement_comes_from_a_nurse_of_that_ward_or_a_clinician() -> Result<(), StoreError> {
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSupporting)?;
    set_use(&mut store, UseState::InUse, t(3))?;
    let all = people();
    let r = request(&mut store, incident, "restrict_segment", "olu", t(4))?;
    assert_eq!((r.gate, r.state), (Gate::WardAck, RequestState::AwaitingGate));
    let e = gate_error(step(&mut store, &r, Step::AcknowledgeWard, who(&all, "ned"), "", t(5)));
    assert!(e.to_string().contains("only a nurse of icu"), "{e}");
    let e = gate_error(step(&mut store, &r, Step::AcknowledgeWard, who(&all, "olu"), "", t(5)));
    assert_eq!(e.code(), "response.two_person_rule");
    let r = step(&mut store, &r, Step::AcknowledgeWard, who(&all, "nina"), "", t(6))?;
    assert_eq!(r.state, RequestState::Approved);
    Ok(())
}

#[test]
fn not_while_in_use_opens_only_out_of_use_or_by_break_glass() -> Result<(), StoreError> {
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSustaining)?;
    set_use(&mut store, UseState::InUse, t(3))?;
    let all = people();
    let r = request(&mut store, incident, "reboot", "olu", t(4))?;
    assert_eq!(
        (r.grade, r.gate, r.state),
        (Grade::NotWhileInUse, Gate::OutOfUse, RequestState::AwaitingGate)
    );
    let e = gate_error(step(&mut store, &r, Step::SignOff, who(&all, "cleo"), "fine", t(5)));
    assert_eq!(e.code(), "response.not_needed", "{e}");
    assert_eq!(store.claim_response(r.id, Gate::OutOfUse, t(5))?, Claim::Gone, "not approved: no claim");

    // The ward swaps the pump: it is out of use, and the reboot is safe now.
    let gate_now = graded(&store, "reboot", t(6))?.gate;
    let r =
        store.record_out_of_use(r.id, &person(who(&all, "nina")), "swapped for spare P9", gate_now, t(6))?;
    assert_eq!(r.out_of_use.as_ref().map(|s| s.by.as_str()), Some("nina"));
    let g = graded(&store, "reboot", t(7))?;
    assert_eq!(g.grade, Grade::SafeNow, "{g:?}");
    let r = store.regate(r.id, g.gate, "the device was taken out of use", t(7))?;
    assert_eq!(r.state, RequestState::Approved);
    let view = store.hospital_view(t(7), &ViewRules::default())?;
    let p1 = view.devices.iter().find(|d| d.device.id.as_str() == "P1").unwrap_or_else(|| panic!("P1"));
    assert_eq!(p1.clinical_use.state, UseState::Maintenance);

    // Another request, broken glass: approved and flagged.
    set_use(&mut store, UseState::InUse, t(8))?;
    let r2 = request(&mut store, incident, "reboot", "olu", t(9))?;
    let e = gate_error(step(&mut store, &r2, Step::BreakGlass, who(&all, "omar"), "emergency", t(10)));
    assert_eq!(e.code(), "response.not_permitted", "an officer cannot break the glass");
    let e = gate_error(step(&mut store, &r2, Step::BreakGlass, who(&all, "cleo"), "", t(10)));
    assert_eq!(e.code(), "response.reason_required");
    let r2 =
        step(&mut store, &r2, Step::BreakGlass, who(&all, "cleo"), "pump is dosing wrongly: stop it", t(10))?;
    assert_eq!(r2.state, RequestState::Approved);
    assert!(r2.break_glass());
    let kinds = audit_kinds(&store)?;
    assert!(kinds.iter().any(|k| k == kind::RESPONSE_BREAK_GLASS), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == kind::RESPONSE_OUT_OF_USE), "{kinds:?}");
    assert_chain_intact(&store)
}

#[test]
fn a_device_that_comes_into_use_before_dispatch_sends_the_request_back_to_its_gate() -> Result<(), StoreError>
{
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSustaining)?;
    set_use(&mut store, UseState::Idle, t(3))?;
    let r = request(&mut store, incident, "reboot", "olu", t(4))?;
    assert_eq!((r.grade, r.state), (Grade::SafeNow, RequestState::Approved));
    set_use(&mut store, UseState::InUse, t(5))?;
    let gate_now = graded(&store, "reboot", t(6))?.gate;
    assert_eq!(gate_now, Gate::OutOfUse);
    match store.claim_response(r.id, gate_now, t(6))? {
        Claim::Regated(r) => assert_eq!(r.state, RequestState::AwaitingGate),
        other => panic!("{other:?}"),
    }
    assert!(audit_kinds(&store)?.iter().any(|k| k == kind::RESPONSE_REGATED));
    Ok(())
}

#[test]
fn a_checklist_is_done_when_every_step_is_ticked_and_a_cut_off_attempt_is_never_retried(
) -> Result<(), StoreError> {
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSustaining)?;
    let r = request(&mut store, incident, "open_ticket", "olu", t(4))?;
    assert!(matches!(store.claim_response(r.id, Gate::None, t(5))?, Claim::Claimed(_)));
    let steps = vec!["Open a ticket".to_owned(), "Note its number".to_owned()];
    let r = store.record_attempt(r.id, &AttemptOutcome::Checklist(steps), t(6))?;
    assert_eq!((r.state, r.checklist.len()), (RequestState::Checklist, 2));
    let r = store.tick_checklist(r.id, 1, "olu", t(7))?;
    assert_eq!(r.state, RequestState::Checklist);
    assert!(store.tick_checklist(r.id, 1, "olu", t(7)).is_err(), "ticked twice");
    assert!(store.tick_checklist(r.id, 5, "olu", t(7)).is_err(), "no such step");
    let r = store.tick_checklist(r.id, 0, "omar", t(8))?;
    assert_eq!(r.state, RequestState::Done);

    let r2 = request(&mut store, incident, "observe", "olu", t(9))?;
    assert!(matches!(store.claim_response(r2.id, Gate::None, t(10))?, Claim::Claimed(_)));
    // The console stops mid-attempt; at the next start:
    assert_eq!(store.abandon_dispatching(t(11))?, 1);
    let r2 = store.response_request(r2.id)?.unwrap_or_else(|| panic!("r2"));
    assert_eq!(r2.state, RequestState::TimedOut);
    assert_eq!(store.claim_response(r2.id, Gate::None, t(12))?, Claim::Gone);
    assert!(store.due_responses(t(12))?.is_empty());
    assert_chain_intact(&store)
}

#[test]
fn a_failure_worth_retrying_waits_for_its_time_and_is_claimed_again() -> Result<(), StoreError> {
    let (_dir, mut store, incident) = setup(CriticalityTier::LifeSustaining)?;
    let r = request(&mut store, incident, "block_destination", "olu", t(4))?;
    assert!(matches!(store.claim_response(r.id, Gate::None, t(5))?, Claim::Claimed(_)));
    let failed = Attempt::Failed { error: "HTTP 503".into(), retry: true };
    let r = store.record_attempt(
        r.id,
        &AttemptOutcome::Attempted { attempt: failed, retry_at: Some(t(9)) },
        t(6),
    )?;
    assert_eq!(r.state, RequestState::RetryWait);
    assert!(store.due_responses(t(8))?.is_empty(), "not due yet");
    assert_eq!(store.due_responses(t(9))?.len(), 1);
    match store.claim_response(r.id, Gate::None, t(9))? {
        Claim::Claimed(r) => assert_eq!(r.attempts, 2),
        other => panic!("{other:?}"),
    }
    let failed = Attempt::Failed { error: "HTTP 503".into(), retry: true };
    let r =
        store.record_attempt(r.id, &AttemptOutcome::Attempted { attempt: failed, retry_at: None }, t(10))?;
    assert_eq!(r.state, RequestState::Failed);
    assert!(
        r.last_result.as_deref().is_some_and(|l| l.contains("failed after 2 attempt(s): HTTP 503")),
        "{r:?}"
    );
    Ok(())
}

// The property: over any sequence of requests, people's steps, changes of
// the device's use and dispatch attempts, (1) nothing is claimed for
// dispatch while the action, graded on the device as it is then, needs a
// gate that what was given does not open: in particular nothing that stops
// an in-use life-sustaining device without a break-glass, and nothing that
// needs sign-off without a clinician other than the requester; (2) no
// request is claimed again after an attempt, except after a failure worth
// retrying; never after it is done, failed, timed out or a checklist.

#[derive(Debug, Clone)]
enum Op {
    Request { action: usize, by: usize },
    Step { request: usize, step: usize, by: usize, reason: bool },
    OutOfUse { request: usize, by: usize },
    Use(usize),
    Dispatch { request: usize, outcome: usize },
}

const ACTIONS: [&str; 6] =
    ["block_destination", "restrict_segment", "quarantine", "reboot", "swap_and_remove", "patch_firmware"];
const STEPS: [Step; 5] =
    [Step::AcknowledgeWard, Step::SignOff, Step::BreakGlass, Step::Refuse, Step::Withdraw];
const USES: [UseState; 4] = [UseState::InUse, UseState::Idle, UseState::Unknown, UseState::Maintenance];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..ACTIONS.len(), 0..2usize).prop_map(|(action, by)| Op::Request { action, by: [0, 3][by] }),
        (0..4usize, 0..STEPS.len(), 0..PEOPLE.len(), any::<bool>())
            .prop_map(|(request, step, by, reason)| Op::Step { request, step, by, reason }),
        (0..4usize, 0..PEOPLE.len()).prop_map(|(request, by)| Op::OutOfUse { request, by }),
        (0..USES.len()).prop_map(Op::Use),
        (0..4usize, 0..4usize).prop_map(|(request, outcome)| Op::Dispatch { request, outcome }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_dispatches_past_a_shut_gate_or_twice(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, mut store, incident) = setup(CriticalityTier::LifeSustaining).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let all = people();
        let mut ids: Vec<i64> = Vec::new();
        // Per request: claims so far, and whether the last attempt left it to retry.
        let mut claims: BTreeMap<i64, (u32, bool)> = BTreeMap::new();
        let mut clock = 10;
        for op in ops {
            clock += 1;
            let at = t(clock);
            let pick = |ids: &[i64], i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
            match op {
                Op::Request { action, by } => {
                    if let Ok(r) = request(&mut store, incident, ACTIONS[action], all[by].name, at) {
                        ids.push(r.id);
                    }
                }
                Op::Step { request: i, step: s, by, reason } => {
                    let Some(id) = pick(&ids, i) else { continue };
                    let r = store.response_request(id).map_err(|e| TestCaseError::fail(e.to_string()))?.unwrap_or_else(|| panic!("{id}"));
                    let _ = step(&mut store, &r, STEPS[s], &all[by], if reason { "because" } else { "" }, at);
                }
                Op::OutOfUse { request: i, by } => {
                    let Some(id) = pick(&ids, i) else { continue };
                    let r = store.response_request(id).map_err(|e| TestCaseError::fail(e.to_string()))?.unwrap_or_else(|| panic!("{id}"));
                    let gate_now = graded(&store, r.action.as_str(), at).map_err(|e| TestCaseError::fail(e.to_string()))?.gate;
                    if store.record_out_of_use(id, &person(&all[by]), "swapped", gate_now, at).is_ok() {
                        let g = graded(&store, r.action.as_str(), at).map_err(|e| TestCaseError::fail(e.to_string()))?;
                        store.regate(id, g.gate, "out of use", at).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    }
                }
                Op::Use(u) => set_use(&mut store, USES[u], at).map_err(|e| TestCaseError::fail(e.to_string()))?,
                Op::Dispatch { request: i, outcome } => {
                    let Some(id) = pick(&ids, i) else { continue };
                    let r = store.response_request(id).map_err(|e| TestCaseError::fail(e.to_string()))?.unwrap_or_else(|| panic!("{id}"));
                    let g = graded(&store, r.action.as_str(), at).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let claim = store.claim_response(id, g.gate, at).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    if let Claim::Claimed(c) = claim {
                        // (1): the gate the device's state calls for now was opened.
                        prop_assert!(g.gate.opened_by(&c.given), "claimed past {:?}: {:?}", g.gate, c);
                        if g.grade == Grade::NotWhileInUse {
                            prop_assert!(c.given.break_glass.is_some(), "stopped an in-use life-sustaining device: {c:?}");
                        }
                        if g.grade == Grade::ClinicianSignoff {
                            let by = c.given.signoff.as_ref().or(c.given.break_glass.as_ref()).map(|s| s.by.as_str());
                            prop_assert!(by.is_some_and(|b| b != c.requested_by && who(&all, b).roles.contains(&Role::Clinician)), "{c:?}");
                        }
                        // (2): claimed again only after a failure worth retrying.
                        let entry = claims.entry(id).or_insert((0, false));
                        prop_assert!(entry.0 == 0 || entry.1, "claimed twice: {c:?}");
                        let (attempt, retry_at) = match outcome {
                            0 => (Attempt::Done { detail: "ok".into() }, None),
                            1 => (Attempt::Failed { error: "503".into(), retry: true }, Some(at)),
                            2 => (Attempt::Failed { error: "400".into(), retry: false }, None),
                            _ => (Attempt::TimedOut { after_ms: 10 }, None),
                        };
                        let retry = retry_at.is_some();
                        store.record_attempt(id, &AttemptOutcome::Attempted { attempt, retry_at }, at).map_err(|e| TestCaseError::fail(e.to_string()))?;
                        *entry = (entry.0 + 1, retry);
                    }
                }
            }
        }
        assert_chain_intact(&store).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}
