//! Incidents: alerts folded per subject (a device, or an address nobody
//! knows) and condition, with their priority, the work people do on them
//! and what the notification policy decided.

pub mod condition;
pub mod priority;
pub mod rules;
pub mod storm;

pub use condition::Condition;
pub use priority::{assess, Assessed, Inputs, Reason};
pub use rules::{Rules, RulesError, DEFAULT_RULES, RULES_FILE};
pub use storm::{Storms, Verdict};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Priority with medical-alarm semantics (IEC 60601-1-8): high is red and
/// `***`, medium yellow and `**`, low cyan and `*`. The marker and the word
/// always go with the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Self::Low, Self::Medium, Self::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The IEC 60601-1-8 marker: `*`, `**`, `***`.
    pub fn marker(self) -> &'static str {
        match self {
            Self::Low => "*",
            Self::Medium => "**",
            Self::High => "***",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.marker(), self.label())
    }
}

/// Where an incident is in people's hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    /// Someone owns it ("I have this").
    Acknowledged,
    Resolved,
}

impl State {
    pub const ALL: [State; 3] = [Self::Open, Self::Acknowledged, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

/// How a resolved incident ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fixed,
    FalsePositive,
    Benign,
    AcceptedRisk,
    Duplicate,
}

impl Outcome {
    pub const ALL: [Outcome; 5] =
        [Self::Fixed, Self::FalsePositive, Self::Benign, Self::AcceptedRisk, Self::Duplicate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::FalsePositive => "false_positive",
            Self::Benign => "benign",
            Self::AcceptedRisk => "accepted_risk",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::FalsePositive => "false positive",
            Self::Benign => "benign",
            Self::AcceptedRisk => "risk accepted",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().replace('-', "_");
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What an incident is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A device of the inventory (confirmed or staged).
    Device,
    /// An address that is no device: alerts from it fold by address.
    Address,
    /// A condition that floods from many sources.
    Signature,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Address => "address",
            Self::Signature => "signature",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Device, Self::Address, Self::Signature].into_iter().find(|x| x.as_str() == s)
    }
}

/// The longest a mute may last: no mute is forever.
pub const MAX_MUTE: chrono::Duration = chrono::Duration::days(7);
/// The longest a silence may last (stop notifying for now, as on a monitor).
pub const MAX_SILENCE: chrono::Duration = chrono::Duration::minutes(60);

/// A person's work on an incident. Every one is attributed and audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// "I own this." Stops escalation; not the same as silence.
    Acknowledge,
    Assign {
        to: String,
        reason: String,
    },
    Comment {
        text: String,
    },
    /// Stop notifying for a few minutes, like an alarm-silence key.
    Silence {
        minutes: u32,
    },
    /// Stop notifying until `until`, with a reason; never indefinite.
    Mute {
        until: DateTime<Utc>,
        reason: String,
    },
    Unmute {
        reason: String,
    },
    Resolve {
        outcome: Outcome,
        reason: String,
    },
    Reopen {
        reason: String,
    },
}

impl Action {
    /// The audit record kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Acknowledge => "incident.acknowledged",
            Self::Assign { .. } => "incident.assigned",
            Self::Comment { .. } => "incident.commented",
            Self::Silence { .. } => "incident.silenced",
            Self::Mute { .. } => "incident.muted",
            Self::Unmute { .. } => "incident.unmuted",
            Self::Resolve { .. } => "incident.resolved",
            Self::Reopen { .. } => "incident.reopened",
        }
    }

    /// Checks what a person gave, at `now`: reasons present and bounded, a
    /// mute's expiry in the future and within [`MAX_MUTE`].
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), ActionError> {
        let text = |field: &'static str, s: &str| required(field, s).map(|_| ());
        match self {
            Self::Acknowledge => Ok(()),
            Self::Assign { to, reason } => text("assignee", to).and(text("reason", reason)),
            Self::Comment { text: t } => text("comment", t),
            Self::Silence { minutes } => {
                if *minutes == 0 || i64::from(*minutes) > MAX_SILENCE.num_minutes() {
                    Err(ActionError::Silence)
                } else {
                    Ok(())
                }
            }
            Self::Mute { until, reason } => {
                text("reason", reason)?;
                if *until <= now {
                    Err(ActionError::MutePast)
                } else if *until - now > MAX_MUTE {
                    Err(ActionError::MuteTooLong)
                } else {
                    Ok(())
                }
            }
            Self::Unmute { reason } | Self::Reopen { reason } | Self::Resolve { reason, .. } => {
                text("reason", reason)
            }
        }
    }
}

/// The most characters a reason, comment or name may have.
pub const MAX_TEXT: usize = 500;

/// `s` trimmed, when it is there and at most [`MAX_TEXT`] characters:
/// what a person must write for the audit log.
pub fn required<'a>(field: &'static str, s: &'a str) -> Result<&'a str, ActionError> {
    let t = s.trim();
    if t.is_empty() {
        Err(ActionError::Missing(field))
    } else if t.chars().count() > MAX_TEXT {
        Err(ActionError::TooLong(field))
    } else {
        Ok(t)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("the {0} is required: it goes into the audit log")]
    Missing(&'static str),
    #[error("the {0} is at most 500 characters")]
    TooLong(&'static str),
    #[error("a silence lasts 1 to 60 minutes")]
    Silence,
    #[error("a mute ends in the future: give an expiry after now")]
    MutePast,
    #[error("a mute lasts at most 7 days: no mute is indefinite")]
    MuteTooLong,
    #[error("there is no incident {0}")]
    Unknown(i64),
    #[error("incident {id} is {state}: {what}")]
    WrongState { id: i64, state: &'static str, what: &'static str },
    #[error("a maintenance window ends after it starts, and after now")]
    MaintenanceEnd,
    #[error("a maintenance window lasts at most 7 days")]
    MaintenanceTooLong,
    #[error("there is no maintenance window {0}")]
    UnknownMaintenance(i64),
    #[error("maintenance window {0} is already over")]
    MaintenanceOver(i64),
}

impl ActionError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "incident.reason_required",
            Self::TooLong(_) => "incident.too_long",
            Self::Silence => "incident.silence_range",
            Self::MutePast | Self::MuteTooLong => "incident.mute_expiry",
            Self::Unknown(_) => "incident.unknown",
            Self::WrongState { .. } => "incident.wrong_state",
            Self::MaintenanceEnd | Self::MaintenanceTooLong => "maintenance.window",
            Self::UnknownMaintenance(_) => "maintenance.unknown",
            Self::MaintenanceOver(_) => "maintenance.over",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mute_needs_a_reason_and_an_expiry_within_a_week() {
        let now = Utc::now();
        let mute = |h: i64, r: &str| {
            Action::Mute { until: now + chrono::Duration::hours(h), reason: r.into() }.check(now)
        };
        assert_eq!(mute(4, "patch window"), Ok(()));
        assert_eq!(mute(4, "  "), Err(ActionError::Missing("reason")));
        assert_eq!(mute(-1, "x"), Err(ActionError::MutePast));
        assert_eq!(mute(24 * 7 + 1, "x"), Err(ActionError::MuteTooLong));
    }

    #[test]
    fn silence_is_bounded_and_needs_no_reason() {
        let now = Utc::now();
        assert_eq!(Action::Silence { minutes: 5 }.check(now), Ok(()));
        assert_eq!(Action::Silence { minutes: 0 }.check(now), Err(ActionError::Silence));
        assert_eq!(Action::Silence { minutes: 61 }.check(now), Err(ActionError::Silence));
    }

    #[test]
    fn actions_read_back_as_written() -> serde_json::Result<()> {
        let a: Action = serde_json::from_str(
            r#"{"action":"resolve","outcome":"false_positive","reason":"scanner is ours"}"#,
        )?;
        assert_eq!(a, Action::Resolve { outcome: Outcome::FalsePositive, reason: "scanner is ours".into() });
        Ok(())
    }
}
