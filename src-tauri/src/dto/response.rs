//! Care-safe response as the window shows it: the playbook with each
//! action's grade (symbol, words and reasons, never colour alone), the
//! requests with what their gate needs now, and their history.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use wardwatch::console::{IncidentResponse, RequestDetail, RequestView};
use wardwatch::response::gate::{RequestState, Sign, Step};
use wardwatch::response::{playbook::Play, Gate, Grade, Graded};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GradeView {
    SafeNow,
    Coordinate,
    ClinicianSignoff,
    NotWhileInUse,
}

impl From<Grade> for GradeView {
    fn from(g: Grade) -> Self {
        match g {
            Grade::SafeNow => Self::SafeNow,
            Grade::Coordinate => Self::Coordinate,
            Grade::ClinicianSignoff => Self::ClinicianSignoff,
            Grade::NotWhileInUse => Self::NotWhileInUse,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GateView {
    None,
    WardAck,
    ClinicianSignoff,
    OutOfUse,
}

impl From<Gate> for GateView {
    fn from(g: Gate) -> Self {
        match g {
            Gate::None => Self::None,
            Gate::WardAck => Self::WardAck,
            Gate::ClinicianSignoff => Self::ClinicianSignoff,
            Gate::OutOfUse => Self::OutOfUse,
        }
    }
}

/// An action graded on a device: the grade as a symbol and words, the gate
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GradedView {
    pub action: String,
    pub title: String,
    /// `none`, `non_clinical`, `clinical_data`, `clinical_function`.
    pub affects: String,
    pub grade: GradeView,
    /// "Clinician sign-off".
    pub grade_label: String,
    /// "✋": goes with the colour and the words.
    pub marker: String,
    pub gate: GateView,
    /// What opens the gate, in words.
    pub gate_text: String,
    pub reasons: Vec<String>,
}

impl From<&Graded> for GradedView {
    fn from(g: &Graded) -> Self {
        Self {
            action: g.action.as_str().to_owned(),
            title: g.title.clone(),
            affects: g.affects.as_str().to_owned(),
            grade: g.grade.into(),
            grade_label: g.grade.label().to_owned(),
            marker: g.grade.marker().to_owned(),
            gate: g.gate.into(),
            gate_text: g.gate.describe().to_owned(),
            reasons: g.reasons.clone(),
        }
    }
}

/// One action of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlayView {
    pub order: u32,
    pub graded: GradedView,
    pub does: String,
    pub protects: String,
    /// How well it contains the threat: 0 (support only) to 3.
    pub contains: u8,
    /// For a blocked action: the safer actions that contain the threat now.
    pub instead: Vec<String>,
    /// For a blocked action: swapping the device for a spare makes it safe.
    pub swap_first: bool,
}

impl From<&Play> for PlayView {
    fn from(p: &Play) -> Self {
        Self {
            order: p.order,
            graded: GradedView::from(&p.graded),
            does: p.does.clone(),
            protects: p.protects.clone(),
            contains: p.contains,
            instead: p.instead.iter().map(|a| a.as_str().to_owned()).collect(),
            swap_first: p.swap_first,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NotOfferedView {
    pub action: String,
    pub title: String,
    pub reason: String,
}

/// An incident's playbook and the requests already made on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlaybookView {
    #[ts(type = "number")]
    pub incident_id: i64,
    pub threat: String,
    /// "infusion pump INF-0042 in room 3, bed 4".
    pub device_words: Option<String>,
    pub plays: Vec<PlayView>,
    pub not_offered: Vec<NotOfferedView>,
    pub requests: Vec<ResponseRequestView>,
}

impl PlaybookView {
    pub fn new(r: &IncidentResponse, wards: &HashMap<String, String>) -> Self {
        Self {
            incident_id: r.incident_id,
            threat: r.playbook.threat.clone(),
            device_words: r.device_words.clone(),
            plays: r.playbook.plays.iter().map(PlayView::from).collect(),
            not_offered: r
                .playbook
                .not_offered
                .iter()
                .map(|n| NotOfferedView {
                    action: n.action.as_str().to_owned(),
                    title: n.title.clone(),
                    reason: n.reason.clone(),
                })
                .collect(),
            requests: r.requests.iter().map(|v| ResponseRequestView::new(v, wards)).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RequestStateView {
    AwaitingGate,
    Approved,
    Dispatching,
    RetryWait,
    Checklist,
    Done,
    Failed,
    TimedOut,
    Refused,
    Withdrawn,
}

impl From<RequestState> for RequestStateView {
    fn from(s: RequestState) -> Self {
        match s {
            RequestState::AwaitingGate => Self::AwaitingGate,
            RequestState::Approved => Self::Approved,
            RequestState::Dispatching => Self::Dispatching,
            RequestState::RetryWait => Self::RetryWait,
            RequestState::Checklist => Self::Checklist,
            RequestState::Done => Self::Done,
            RequestState::Failed => Self::Failed,
            RequestState::TimedOut => Self::TimedOut,
            RequestState::Refused => Self::Refused,
            RequestState::Withdrawn => Self::Withdrawn,
        }
    }
}

fn state_label(s: RequestState, gate: Gate) -> String {
    match s {
        RequestState::AwaitingGate => match gate {
            Gate::WardAck => "Waiting for the ward".into(),
            Gate::ClinicianSignoff => "Waiting for a clinician's sign-off".into(),
            Gate::OutOfUse => "Blocked until the device is out of use".into(),
            Gate::None => "Waiting".into(),
        },
        RequestState::Approved => "Approved: being carried out".into(),
        RequestState::Dispatching => "Being carried out".into(),
        RequestState::RetryWait => "Failed: trying again".into(),
        RequestState::Checklist => "Checklist with people".into(),
        RequestState::Done => "Done".into(),
        RequestState::Failed => "Failed".into(),
        RequestState::TimedOut => "No answer: check whether it happened".into(),
        RequestState::Refused => "Refused".into(),
        RequestState::Withdrawn => "Withdrawn".into(),
    }
}

/// One person's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignView {
    pub by: String,
    pub reason: String,
    pub at: String,
}

impl From<&Sign> for SignView {
    fn from(s: &Sign) -> Self {
        Self { by: s.by.clone(), reason: s.reason.clone(), at: time(s.at) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistItemView {
    pub text: String,
    pub done_by: Option<String>,
    pub done_at: Option<String>,
}

/// A request with what it needs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRequestView {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub incident_id: i64,
    pub device: Option<String>,
    pub device_words: Option<String>,
    pub ward: Option<String>,
    pub ward_name: Option<String>,
    pub action: String,
    pub title: String,
    /// The grade and gate it had when requested.
    pub requested_grade: GradeView,
    pub requested_gate: GateView,
    /// Graded on the device as it is now.
    pub now: GradedView,
    /// What the ward is told, in plain language.
    pub ask: String,
    pub requested_by: String,
    pub requested_at: String,
    pub reason: String,
    pub state: RequestStateView,
    pub state_label: String,
    pub ward_ack: Option<SignView>,
    pub signoff: Option<SignView>,
    /// An emergency override: shown prominently, flagged for review.
    pub break_glass: Option<SignView>,
    pub out_of_use: Option<SignView>,
    pub adapter: String,
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
    pub last_result: Option<String>,
    pub checklist: Vec<ChecklistItemView>,
    pub updated_at: String,
}

impl ResponseRequestView {
    pub fn new(v: &RequestView, wards: &HashMap<String, String>) -> Self {
        let r = &v.request;
        Self {
            id: r.id,
            incident_id: r.incident_id,
            device: r.device.as_ref().map(|d| d.as_str().to_owned()),
            device_words: v.device_words.clone(),
            ward: r.ward.as_ref().map(|w| w.as_str().to_owned()),
            ward_name: r.ward.as_ref().and_then(|w| wards.get(w.as_str()).cloned()),
            action: r.action.as_str().to_owned(),
            title: r.title.clone(),
            requested_grade: r.grade.into(),
            requested_gate: r.gate.into(),
            now: GradedView::from(&v.now),
            ask: v.ask.clone(),
            requested_by: r.requested_by.clone(),
            requested_at: time(r.requested_at),
            reason: r.reason.clone(),
            state: r.state.into(),
            state_label: state_label(r.state, v.now.gate),
            ward_ack: r.given.ward_ack.as_ref().map(SignView::from),
            signoff: r.given.signoff.as_ref().map(SignView::from),
            break_glass: r.given.break_glass.as_ref().map(SignView::from),
            out_of_use: r.out_of_use.as_ref().map(SignView::from),
            adapter: r.adapter.clone(),
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.map(time),
            last_result: r.last_result.clone(),
            checklist: r
                .checklist
                .iter()
                .map(|c| ChecklistItemView {
                    text: c.text.clone(),
                    done_by: c.done_by.clone(),
                    done_at: c.done_at.map(time),
                })
                .collect(),
            updated_at: time(r.updated_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResponseEventView {
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub text: String,
    pub reason: Option<String>,
}

/// One request with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResponseDetailView {
    pub request: ResponseRequestView,
    pub events: Vec<ResponseEventView>,
}

impl ResponseDetailView {
    pub fn new(d: &RequestDetail, wards: &HashMap<String, String>) -> Self {
        Self {
            request: ResponseRequestView::new(&d.view, wards),
            events: d
                .events
                .iter()
                .map(|e| ResponseEventView {
                    at: time(e.at),
                    actor: e.actor.clone(),
                    kind: e.kind.clone(),
                    text: e.text.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
        }
    }
}

/// What a person does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStep {
    /// The ward confirms it is covering.
    AcknowledgeWard,
    /// A clinician's sign-off (with a reason).
    SignOff,
    /// A clinician's emergency override (with a reason).
    BreakGlass,
    /// The ward records the device taken out of use (how, in the reason).
    RecordOutOfUse,
    Refuse,
    Withdraw,
}

impl From<ResponseStep> for Step {
    fn from(s: ResponseStep) -> Self {
        match s {
            ResponseStep::AcknowledgeWard => Self::AcknowledgeWard,
            ResponseStep::SignOff => Self::SignOff,
            ResponseStep::BreakGlass => Self::BreakGlass,
            ResponseStep::RecordOutOfUse => Self::RecordOutOfUse,
            ResponseStep::Refuse => Self::Refuse,
            ResponseStep::Withdraw => Self::Withdraw,
        }
    }
}
