//! Care-safe response: the action catalogue, each action's care-disruption
//! grade for a device and incident (with its reasons in words), the
//! playbook, the gates a request must pass, and the adapters that carry an
//! approved action out.
//!
//! Grading and gating are pure (times and device states are passed in);
//! nothing here executes an action. Only [`dispatch`] talks to the outside,
//! and only with an approval the gate machine ([`gate`]) gave.

pub mod catalogue;
pub mod dispatch;
pub mod gate;
pub mod grade;
pub mod playbook;
pub mod words;

pub use catalogue::{
    ActionSpec, Affects, Catalogue, CatalogueError, Target, CATALOGUE_FILE, DEFAULT_CATALOGUE,
};
pub use gate::{Gate, GateError, Given, RequestState, Sign};
pub use grade::{grade, Grade, Graded, Subject, Usage};
pub use playbook::{plan, Play, Playbook};

use serde::{Deserialize, Serialize};

/// An action's identifier, snake_case: `quarantine`, `reboot`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ActionId(String);

impl TryFrom<String> for ActionId {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::new(&s).ok_or_else(|| {
            format!("{s:?} is not an action id (lower-case letters, digits and _, starting with a letter)")
        })
    }
}

impl From<ActionId> for String {
    fn from(a: ActionId) -> String {
        a.0
    }
}

impl ActionId {
    /// From lower-case letters, digits and `_`, starting with a letter, at
    /// most 40 characters; `None` otherwise.
    pub fn new(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ActionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

use chrono::{DateTime, Utc};

use crate::hospital::DeviceState;
use crate::store::Incident;

impl Subject {
    /// A device as the console sees it at `now`: its kind, tier and
    /// clinical use with the evidence's age.
    pub fn of(state: &DeviceState, now: DateTime<Utc>) -> Self {
        let use_ = &state.clinical_use;
        let evidence = match use_.since {
            Some(t) => format!("{}, {}", use_.source.describe(), crate::hospital::age(now, t)),
            None => use_.source.describe(),
        };
        Self {
            kind: state.device.kind,
            tier: state.device.criticality.tier,
            usage: Usage { state: use_.state, age: use_.since.map(|t| now - t), evidence: Some(evidence) },
        }
    }
}

/// The playbook for `incident` at `now`.
pub fn plan_incident(catalogue: &Catalogue, incident: &Incident, now: DateTime<Utc>) -> Playbook {
    let subject = incident.device.as_ref().map(|d| Subject::of(d, now));
    plan(catalogue, &incident.record.condition, subject.as_ref())
}
