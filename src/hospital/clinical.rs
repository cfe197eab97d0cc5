//! A device's clinical-use state from evidence: what says it is in use with
//! a patient, idle, or in maintenance, where that came from and how old it
//! is.
//!
//! The newest piece of evidence wins. Evidence from machines that a device
//! is in use (an HL7 observation with a patient attached, a gateway's
//! `clinical_use`) ages out: with nothing newer for `idle_after`, the device
//! is idle, and says since when and why. What a person sets stays until
//! newer evidence arrives. With no evidence at all the state is unknown,
//! which [`ClinicalUse::counts_as_in_use`]: wherever safety depends on it,
//! an unknown device is treated as attached to a patient.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long machine evidence of use lasts without a newer observation.
pub const DEFAULT_IDLE_AFTER: Duration = Duration::minutes(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseState {
    InUse,
    Idle,
    Maintenance,
    Unknown,
}

impl UseState {
    pub const ALL: [UseState; 4] = [Self::InUse, Self::Idle, Self::Maintenance, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InUse => "in_use",
            Self::Idle => "idle",
            Self::Maintenance => "maintenance",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL.into_iter().find(|k| k.as_str() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::InUse => "In use with a patient",
            Self::Idle => "Idle",
            Self::Maintenance => "In maintenance",
            Self::Unknown => "Unknown (treated as in use)",
        }
    }
}

/// Where a piece of evidence came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UseSource {
    /// An HL7 observation from a device gateway (IHE PCD-01); says whether
    /// a patient was associated, never who.
    Hl7 { message_type: String, patient_associated: bool },
    /// A gateway's JSON alert (`clinical_use`).
    Gateway { listener: Option<String> },
    /// A person, with their reason.
    Person { actor: String, reason: String },
    /// Machine evidence of use that aged out with nothing newer.
    NoRecentObservation { last_in_use: DateTime<Utc> },
    /// Nothing has ever said.
    NoEvidence,
}

impl UseSource {
    /// In words: "HL7 ORU^R01 with a patient", "set by nurse.a: cleaning".
    pub fn describe(&self) -> String {
        match self {
            Self::Hl7 { message_type, patient_associated: true } => {
                format!("HL7 {message_type} with a patient")
            }
            Self::Hl7 { message_type, patient_associated: false } => {
                format!("HL7 {message_type}, no patient")
            }
            Self::Gateway { listener: Some(l) } => format!("gateway alert via {l}"),
            Self::Gateway { listener: None } => "gateway alert".to_owned(),
            Self::Person { actor, reason } => format!("set by {actor}: {reason}"),
            Self::NoRecentObservation { last_in_use } => {
                format!("no observation since {}", last_in_use.format("%Y-%m-%d %H:%M:%S UTC"))
            }
            Self::NoEvidence => "no evidence yet".to_owned(),
        }
    }

    fn ages_out(&self) -> bool {
        matches!(self, Self::Hl7 { .. } | Self::Gateway { .. })
    }
}

/// One piece of evidence of a device's use, as stored: the newest per device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseEvidence {
    pub state: UseState,
    pub source: UseSource,
    pub at: DateTime<Utc>,
}

impl UseEvidence {
    /// Whether this evidence replaces `older`: it is at least as new.
    pub fn supersedes(&self, older: &UseEvidence) -> bool {
        self.at >= older.at
    }
}

/// The state shown: always with its source and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClinicalUse {
    pub state: UseState,
    pub source: UseSource,
    /// When the evidence was taken (for an aged-out state: when it aged out).
    pub since: Option<DateTime<Utc>>,
}

impl ClinicalUse {
    /// The state `evidence` gives at `now`.
    pub fn derive(evidence: Option<&UseEvidence>, now: DateTime<Utc>, idle_after: Duration) -> Self {
        let Some(e) = evidence else {
            return Self { state: UseState::Unknown, source: UseSource::NoEvidence, since: None };
        };
        if e.state == UseState::InUse && e.source.ages_out() && now - e.at > idle_after {
            return Self {
                state: UseState::Idle,
                source: UseSource::NoRecentObservation { last_in_use: e.at },
                since: Some(e.at + idle_after),
            };
        }
        Self { state: e.state, source: e.source.clone(), since: Some(e.at) }
    }

    /// In use, or not known not to be: what safety rules must assume.
    pub fn counts_as_in_use(&self) -> bool {
        matches!(self.state, UseState::InUse | UseState::Unknown)
    }

    /// "In use with a patient (HL7 ORU^R01 with a patient, 3 min ago)".
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        match self.since {
            Some(t) => format!("{} ({}, {})", self.state.label(), self.source.describe(), age(now, t)),
            None => format!("{} ({})", self.state.label(), self.source.describe()),
        }
    }
}

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "in the future" for clock skew.
pub fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    ago(now - t)
}

/// How long ago, in words: "42 s ago", "3 min ago", "5 h ago", "2 d ago".
pub fn ago(d: Duration) -> String {
    let s = d.num_seconds();
    match s {
        ..=-1 => "in the future".to_owned(),
        0..=119 => format!("{s} s ago"),
        120..=7199 => format!("{} min ago", s / 60),
        7200..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}
