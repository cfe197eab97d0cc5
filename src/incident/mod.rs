//! Incidents: alerts folded per subject (a device, or an address nobody
//! knows) and condition, with their priority, the work people do on them
//! and what the notification policy decided.

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

pub mod condition;
pub mod priority;
pub mod rules;
pub mod storm;

pub use condition::Condition;
pub use priority::{assess, Assessed, Inputs, Reason};
pub use rules::{Rules, RulesError, DEFAULT_RULES, RULES_FILE};
pub use storm::{Storms, Verdict};
