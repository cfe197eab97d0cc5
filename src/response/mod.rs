//! Care-safe response: the action catalogue, each action's care-disruption
//! grade for a device and incident (with its reasons in words), the
//! playbook, the gates a request must pass, and the adapters that carry an
//! approved action out.
//!
//! Grading and gating are pure (times and device states are passed in);
//! nothing here executes an action. Only [`dispatch`] talks to the outside,
//! and only with an approval the gate machine ([`gate`]) gave.

pub mod dispatch;

use serde::{Deserialize, Serialize};

/// An action's identifier, snake_case: `quarantine`, `reboot`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(String);

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
