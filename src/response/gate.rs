//! The gates a response request must pass before anything is carried out,
//! as pure checks: who may give what, and whether what was given opens the
//! gate the action needs now.
//!
//! - *none* (safe now): open when requested;
//! - *ward acknowledgement* (coordinate): a nurse of the device's ward, or a
//!   clinician, confirms they are covering;
//! - *clinician sign-off*: a clinician other than the requester confirms,
//!   with a reason (two-person rule); it also covers the ward's part;
//! - *out of use* (not while in use): shut until the device is recorded as
//!   taken out of use (the grade is then worked out again, and is lower),
//!   or a clinician other than the requester breaks the glass with a reason.
//!
//! The gate is worked out again from the device's state at every step and
//! just before dispatch: a device that came into use since the request
//! needs the stricter gate, whatever was given before.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::hospital::WardId;

/// What must happen before an action is carried out, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    None,
    WardAck,
    ClinicianSignoff,
    OutOfUse,
}

impl Gate {
    pub const ALL: [Gate; 4] = [Self::None, Self::WardAck, Self::ClinicianSignoff, Self::OutOfUse];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::WardAck => "ward_ack",
            Self::ClinicianSignoff => "clinician_signoff",
            Self::OutOfUse => "out_of_use",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s.trim())
    }

    /// What opens it, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::None => "none: carried out when requested",
            Self::WardAck => "the ward confirms they are covering (a nurse of the ward, or a clinician)",
            Self::ClinicianSignoff => "a clinician other than the requester signs off, with a reason",
            Self::OutOfUse => {
                "blocked until the device is taken out of use (swapped for a spare), or a clinician breaks the glass"
            }
        }
    }

    /// Whether what was given opens this gate.
    pub fn opened_by(self, given: &Given) -> bool {
        let glass = given.break_glass.is_some();
        match self {
            Self::None => true,
            Self::WardAck => given.ward_ack.is_some() || given.signoff.is_some() || glass,
            Self::ClinicianSignoff => given.signoff.is_some() || glass,
            Self::OutOfUse => glass,
        }
    }
}

/// One person's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sign {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What people have given a request so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Given {
    pub ward_ack: Option<Sign>,
    pub signoff: Option<Sign>,
    pub break_glass: Option<Sign>,
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Its gate is shut: waiting for the people it needs.
    AwaitingGate,
    /// The gate opened; the dispatcher will carry it out.
    Approved,
    /// Claimed by the dispatcher: an attempt is under way.
    Dispatching,
    /// An attempt failed in a way worth retrying; the next is scheduled.
    RetryWait,
    /// A manual checklist is with people, to tick off.
    Checklist,
    Done,
    /// Failed for good (or retries ran out).
    Failed,
    /// No answer in time: it may have happened; a person checks.
    TimedOut,
    Refused,
    Withdrawn,
}

impl RequestState {
    pub const ALL: [RequestState; 10] = [
        Self::AwaitingGate,
        Self::Approved,
        Self::Dispatching,
        Self::RetryWait,
        Self::Checklist,
        Self::Done,
        Self::Failed,
        Self::TimedOut,
        Self::Refused,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingGate => "awaiting_gate",
            Self::Approved => "approved",
            Self::Dispatching => "dispatching",
            Self::RetryWait => "retry_wait",
            Self::Checklist => "checklist",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::TimedOut | Self::Refused | Self::Withdrawn)
    }
}

/// The acting person, as the gate checks them.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub name: &'a str,
    pub roles: &'a BTreeSet<Role>,
    /// A nurse's wards.
    pub wards: &'a BTreeSet<WardId>,
}

impl Person<'_> {
    fn is(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// A nurse of `ward`, or a clinician: who speaks for the ward.
    fn speaks_for(&self, ward: Option<&WardId>) -> bool {
        self.is(Role::Clinician) || (self.is(Role::Nurse) && ward.is_some_and(|w| self.wards.contains(w)))
    }
}

/// What a person does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The ward confirms they are covering.
    AcknowledgeWard,
    /// A clinician's sign-off.
    SignOff,
    /// A clinician's emergency override of any gate.
    BreakGlass,
    /// The ward records the device as taken out of use (swapped).
    RecordOutOfUse,
    /// Someone who could open the gate says no.
    Refuse,
    /// The requester (or another officer) takes it back.
    Withdraw,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcknowledgeWard => "acknowledge_ward",
            Self::SignOff => "sign_off",
            Self::BreakGlass => "break_glass",
            Self::RecordOutOfUse => "record_out_of_use",
            Self::Refuse => "refuse",
            Self::Withdraw => "withdraw",
        }
    }
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("the request is {}, not waiting for anyone", .0.as_str().replace('_', " "))]
    NotAwaiting(RequestState),
    #[error("you made this request: another person must {0} (two-person rule)")]
    SamePerson(&'static str),
    #[error("only a clinician may {0}")]
    NotClinician(&'static str),
    #[error("only a nurse of {ward} or a clinician may {what}")]
    NotWard { ward: String, what: &'static str },
    #[error("only a security officer may {0}")]
    NotOfficer(&'static str),
    #[error("a reason is required to {0}")]
    ReasonRequired(&'static str),
    #[error("{0}")]
    NotNeeded(&'static str),
}

impl GateError {
    /// The dotted code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAwaiting(_) => "response.not_awaiting",
            Self::SamePerson(_) => "response.two_person_rule",
            Self::NotClinician(_) | Self::NotWard { .. } | Self::NotOfficer(_) => "response.not_permitted",
            Self::ReasonRequired(_) => "response.reason_required",
            Self::NotNeeded(_) => "response.not_needed",
        }
    }
}

/// What the gate checks a step against.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub state: RequestState,
    pub requested_by: &'a str,
    /// The device's ward.
    pub ward: Option<&'a WardId>,
    /// The gate the action needs now.
    pub gate: Gate,
    pub given: &'a Given,
}

/// Whether `person` may take `step` on a request with `facts`.
pub fn check(facts: &Facts<'_>, step: Step, person: &Person<'_>, reason: &str) -> Result<(), GateError> {
    let ward = || facts.ward.map_or_else(|| "the device's ward".to_owned(), |w| w.as_str().to_owned());
    let awaiting = facts.state == RequestState::AwaitingGate;
    let mine = person.name == facts.requested_by;
    let has_reason = !reason.trim().is_empty();
    match step {
        Step::Withdraw => {
            if facts.state.is_final() || facts.state == RequestState::Dispatching {
                return Err(GateError::NotAwaiting(facts.state));
            }
            if !(mine || person.is(Role::SecurityOfficer)) {
                return Err(GateError::NotOfficer("withdraw a request"));
            }
            Ok(())
        }
        _ if !awaiting => Err(GateError::NotAwaiting(facts.state)),
        Step::AcknowledgeWard | Step::RecordOutOfUse => {
            let what = if step == Step::AcknowledgeWard {
                "confirm the ward is covering"
            } else {
                "record it out of use"
            };
            if mine {
                return Err(GateError::SamePerson(what));
            }
            if !person.speaks_for(facts.ward) {
                return Err(GateError::NotWard { ward: ward(), what });
            }
            if step == Step::AcknowledgeWard && facts.given.ward_ack.is_some() {
                return Err(GateError::NotNeeded("the ward has already confirmed"));
            }
            Ok(())
        }
        Step::SignOff | Step::BreakGlass => {
            let what = if step == Step::SignOff { "sign off" } else { "break the glass" };
            if !person.is(Role::Clinician) {
                return Err(GateError::NotClinician(what));
            }
            if mine {
                return Err(GateError::SamePerson(what));
            }
            if !has_reason {
                return Err(GateError::ReasonRequired(what));
            }
            if step == Step::SignOff && facts.gate == Gate::OutOfUse {
                return Err(GateError::NotNeeded(
                    "a sign-off cannot open this gate: take the device out of use first, or break the glass",
                ));
            }
            Ok(())
        }
        Step::Refuse => {
            if !has_reason {
                return Err(GateError::ReasonRequired("refuse"));
            }
            let may = match facts.gate {
                Gate::None | Gate::WardAck => person.speaks_for(facts.ward),
                Gate::ClinicianSignoff | Gate::OutOfUse => person.is(Role::Clinician),
            };
            if !may {
                return Err(match facts.gate {
                    Gate::None | Gate::WardAck => GateError::NotWard { ward: ward(), what: "refuse it" },
                    _ => GateError::NotClinician("refuse it"),
                });
            }
            Ok(())
        }
    }
}

/// Where a request not refused or withdrawn stands once `given` is
/// weighed against the gate it needs now.
pub fn settle(gate: Gate, given: &Given) -> RequestState {
    if gate.opened_by(given) {
        RequestState::Approved
    } else {
        RequestState::AwaitingGate
    }
}

/// Whether the dispatcher may carry a request out now: approved (or due
/// for a retry), with what was given still opening the gate the device's
/// state calls for now.
pub fn may_dispatch(state: RequestState, gate_now: Gate, given: &Given) -> bool {
    matches!(state, RequestState::Approved | RequestState::RetryWait) && gate_now.opened_by(given)
}
