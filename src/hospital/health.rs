//! A device's health and a ward's roll-up, each with the reasons behind it.
//!
//! | Evidence                                           | Health at least        |
//! |----------------------------------------------------|------------------------|
//! | an open incident of critical severity (9–10)       | compromised suspected  |
//! | an open incident of high severity (7–8)            | at risk                |
//! | an open incident of low or medium severity (0–6)   | watch                  |
//! | a known-exploited vulnerability                    | watch; at risk on a life-critical device |
//! | a known vulnerability on a device that cannot be patched | watch            |
//! | an open incident of medium severity or more (4–10) on a life-critical device | one step up (never past compromised suspected) |
//! | nothing heard for `stale_after` (or never)         | unknown, when nothing above applies |
//!
//! Otherwise the device is ok. Every rule that applied is a reason, and
//! reasons that raise nothing (criticality, patchable vulnerabilities) are
//! listed too, so the status can always be explained.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{clinical::age, ClinicalUse, Device, Patching, UseState};
use crate::model::{Severity, SeverityLabel};

/// Health, from best to worst (`Unknown` sorts between ok and watch: it is
/// worse than a device known to be fine, better than one with evidence
/// against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    Unknown,
    Watch,
    AtRisk,
    CompromisedSuspected,
}

impl Health {
    pub const ALL: [Health; 5] =
        [Self::Ok, Self::Unknown, Self::Watch, Self::AtRisk, Self::CompromisedSuspected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unknown => "unknown",
            Self::Watch => "watch",
            Self::AtRisk => "at_risk",
            Self::CompromisedSuspected => "compromised_suspected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Unknown => "Unknown / not heard from",
            Self::Watch => "Watch",
            Self::AtRisk => "At risk",
            Self::CompromisedSuspected => "Compromise suspected",
        }
    }

    fn raised(self) -> Self {
        match self {
            Self::Ok | Self::Unknown => Self::Watch,
            Self::Watch => Self::AtRisk,
            Self::AtRisk | Self::CompromisedSuspected => Self::CompromisedSuspected,
        }
    }
}

/// An open incident on a device: alerts folded per device and condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenIncident {
    pub id: i64,
    pub condition: String,
    pub severity: Severity,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl OpenIncident {
    /// Worse first: higher severity, then newer.
    pub fn worse_than(&self, other: &OpenIncident) -> bool {
        (self.severity, self.last_seen) > (other.severity, other.last_seen)
    }
}

/// One reason behind a health status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReason {
    /// What the reason is about: `incident`, `vulnerability`, `criticality`,
    /// `staleness`, `clinical_use`.
    pub topic: &'static str,
    /// The health this reason alone gives (`None` when it only explains).
    pub raises_to: Option<Health>,
    pub text: String,
}

/// A device's health with its reasons, most severe first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub health: Health,
    pub reasons: Vec<HealthReason>,
}

/// The thresholds of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRules {
    /// With nothing heard for this long, a device is unknown/stale.
    pub stale_after: Duration,
}

impl Default for HealthRules {
    fn default() -> Self {
        Self { stale_after: Duration::hours(24) }
    }
}

/// The health of `device` at `now`.
pub fn assess(
    device: &Device,
    clinical_use: &ClinicalUse,
    incidents: &[OpenIncident],
    last_seen: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &HealthRules,
) -> Assessment {
    let mut reasons = Vec::new();
    let life_critical = device.criticality.tier.is_life_critical();
    let mut worst_incident: Option<&OpenIncident> = None;
    for i in incidents {
        let raises = match i.severity.label() {
            SeverityLabel::Critical => Health::CompromisedSuspected,
            SeverityLabel::High => Health::AtRisk,
            SeverityLabel::Medium | SeverityLabel::Low => Health::Watch,
        };
        let times = if i.count == 1 { "once".to_owned() } else { format!("{} times", i.count) };
        reasons.push(HealthReason {
            topic: "incident",
            raises_to: Some(raises),
            text: format!(
                "{} incident open: {} ({times}, last {})",
                i.severity.label().as_str(),
                i.condition,
                age(now, i.last_seen)
            ),
        });
        if worst_incident.is_none_or(|w| i.worse_than(w)) {
            worst_incident = Some(i);
        }
    }
    for v in &device.vulnerabilities {
        let (raises, how) = match (v.known_exploited, device.patching) {
            (true, _) if life_critical => {
                (Some(Health::AtRisk), "known to be exploited, on a life-critical device")
            }
            (true, _) => (Some(Health::Watch), "known to be exploited"),
            (false, Patching::NotPatchable) => (Some(Health::Watch), "and the device cannot be patched"),
            (false, _) => (None, device.patching.label()),
        };
        reasons.push(HealthReason {
            topic: "vulnerability",
            raises_to: raises,
            text: format!("{} {how}", v.cve),
        });
    }
    let mut health = reasons.iter().filter_map(|r| r.raises_to).max().unwrap_or(Health::Ok);
    if life_critical {
        match worst_incident {
            Some(w) if w.severity.label() != SeverityLabel::Low && health < Health::CompromisedSuspected => {
                health = health.raised();
                reasons.push(HealthReason {
                    topic: "criticality",
                    raises_to: Some(health),
                    text: format!(
                        "{} device with an open {} incident: one step up",
                        device.criticality.tier.label(),
                        w.severity.label().as_str()
                    ),
                });
            }
            _ => reasons.push(HealthReason {
                topic: "criticality",
                raises_to: None,
                text: device.criticality.explain(),
            }),
        }
    }
    let stale = match last_seen {
        None => Some("never heard from".to_owned()),
        Some(t) if now - t > rules.stale_after => Some(format!("not heard from since {}", age(now, t))),
        Some(_) => None,
    };
    if let Some(text) = stale {
        let raises = (health == Health::Ok).then_some(Health::Unknown);
        if let Some(h) = raises {
            health = h;
        }
        reasons.push(HealthReason { topic: "staleness", raises_to: raises, text });
    }
    if clinical_use.state == UseState::Unknown {
        reasons.push(HealthReason {
            topic: "clinical_use",
            raises_to: None,
            text: "clinical use unknown: treated as in use".to_owned(),
        });
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.raises_to));
    Assessment { health, reasons }
}

/// A ward's devices by health and its worst open incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WardHealth {
    /// Devices per health, in [`Health::ALL`] order.
    pub counts: [u64; 5],
    pub worst: Health,
    pub devices: u64,
    pub in_use: u64,
    /// With the device it is on.
    pub worst_incident: Option<(super::AssetId, OpenIncident)>,
}

/// Rolls the ward's device states up.
pub fn roll_up<'a>(devices: impl IntoIterator<Item = &'a super::DeviceState>) -> WardHealth {
    let mut w = WardHealth { counts: [0; 5], worst: Health::Ok, devices: 0, in_use: 0, worst_incident: None };
    for d in devices {
        w.devices += 1;
        let h = d.assessment.health;
        if let Some(slot) = Health::ALL.iter().position(|x| *x == h).and_then(|i| w.counts.get_mut(i)) {
            *slot += 1;
        }
        w.worst = w.worst.max(h);
        if d.clinical_use.state == UseState::InUse {
            w.in_use += 1;
        }
        for i in &d.incidents {
            if w.worst_incident.as_ref().is_none_or(|(_, worst)| i.worse_than(worst)) {
                w.worst_incident = Some((d.device.id.clone(), i.clone()));
            }
        }
    }
    w
}
