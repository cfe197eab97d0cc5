//! Carrying out an approved action: one attempt through one adapter.
//!
//! An [`Order`] is what the gate machine approved, with what an adapter
//! needs to say it to the outside world. An adapter makes one attempt and
//! says how it went ([`Attempt`]); retrying with backoff, recording each
//! attempt and never dispatching one approval twice belong to the caller
//! (the console's dispatcher), which owns the durable state.

use serde::Serialize;

use super::ActionId;

/// What an adapter is asked to carry out. Holds no patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The request's id: unique per approval, sent as the idempotency key.
    pub request_id: i64,
    pub action: ActionId,
    /// The action in words ("Full network quarantine").
    pub action_title: String,
    pub incident_id: i64,
    /// `device:INF-0042/c2-beacon`.
    pub incident_key: String,
    /// The incident's condition key (`c2-beacon`).
    pub condition: String,
    pub device: Option<OrderDevice>,
    /// The external address the incident is about, when it names one
    /// (what `block_destination` blocks).
    pub destination: Option<String>,
    /// `safe_now`, `coordinate`, `clinician_signoff`, `not_while_in_use`.
    pub grade: String,
    pub requested_by: String,
    /// Who confirmed it, in order (empty when no gate needed anyone).
    pub approved_by: Vec<String>,
    /// Approved by break-glass (an emergency): receivers may flag it.
    pub break_glass: bool,
    /// The requester's reason.
    pub reason: String,
}

/// The device an order is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderDevice {
    /// The asset id (`INF-0042`).
    pub id: String,
    /// `infusion_pump`.
    pub kind: String,
    pub ward: Option<String>,
    /// Current addresses, as the inventory knows them.
    pub ips: Vec<String>,
    pub macs: Vec<String>,
    pub hostname: Option<String>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attempt {
    /// Carried out (or, for a manual checklist, handed to people).
    Done { detail: String },
    /// Did not happen; `retry` when trying again may help (refused
    /// connection, 5xx, 429), not when it cannot (4xx, a bad template).
    Failed { error: String, retry: bool },
    /// No answer in time: it may or may not have happened, so it is not
    /// retried by itself; a person checks and retries.
    TimedOut { after_ms: u64 },
}
