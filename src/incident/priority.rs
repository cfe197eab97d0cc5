//! An incident's priority: severity × criticality × clinical use ×
//! confidence, each a weight from the rule file, with every factor listed
//! as a reason in words.

use serde::Serialize;

use super::rules::PriorityRules;
use super::Priority;
use crate::hospital::{CriticalityTier, UseState};
use crate::model::Severity;

/// What the priority is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// The worst severity folded into the incident.
    pub severity: Severity,
    /// The device's tier; `None` for an address nobody knows or a signature.
    pub criticality: Option<CriticalityTier>,
    /// The device's clinical use now; `None` without a device.
    pub use_state: Option<UseState>,
    /// How many different sources reported it.
    pub sources: usize,
    /// A known-exploited vulnerability on the device, by CVE id.
    pub known_exploited: Option<String>,
}

/// One factor behind a priority.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// `severity`, `criticality`, `clinical_use`, `confidence`, `score`.
    pub factor: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessed {
    pub priority: Priority,
    /// From 0 to 1.
    pub score: f64,
    pub reasons: Vec<Reason>,
}

pub fn assess(i: &Inputs, rules: &PriorityRules) -> Assessed {
    let s = i.severity.value();
    let (sev_w, sev_word) = match s {
        9..=10 => (rules.severity.critical, "critical"),
        7..=8 => (rules.severity.high, "high"),
        4..=6 => (rules.severity.medium, "medium"),
        1..=3 => (rules.severity.low, "low"),
        _ => (rules.severity.info, "informational"),
    };
    let c = &rules.criticality;
    let (crit_w, crit_text) = match i.criticality {
        Some(CriticalityTier::LifeSustaining) => {
            (c.life_sustaining, "The device is life-sustaining".to_owned())
        }
        Some(CriticalityTier::LifeSupporting) => {
            (c.life_supporting, "The device is life-supporting".to_owned())
        }
        Some(CriticalityTier::Therapeutic) => (c.therapeutic, "The device is therapeutic".to_owned()),
        Some(CriticalityTier::Diagnostic) => (c.diagnostic, "The device is diagnostic".to_owned()),
        Some(CriticalityTier::NonClinical) => (c.non_clinical, "The device is not clinical".to_owned()),
        None => (c.no_device, "No known device: an address nobody knows".to_owned()),
    };
    let u = &rules.clinical_use;
    let (use_w, use_text) = match i.use_state {
        Some(UseState::InUse) => (u.in_use, "In clinical use now"),
        Some(UseState::Unknown) => (u.unknown, "Clinical use unknown, so treated as in use"),
        Some(UseState::Maintenance) => (u.maintenance, "In maintenance"),
        Some(UseState::Idle) => (u.idle, "Idle: not in clinical use"),
        None => (u.no_device, "No device, so no clinical use known"),
    };
    let cf = &rules.confidence;
    let mut conf = cf.base;
    let mut conf_text = vec![format!("base {:.2}", cf.base)];
    if i.sources >= 2 {
        conf += cf.multiple_sources;
        conf_text.push(format!("seen by {} sources (+{:.2})", i.sources, cf.multiple_sources));
    }
    if let Some(cve) = &i.known_exploited {
        conf += cf.known_exploited;
        conf_text.push(format!("known-exploited {cve} on the device (+{:.2})", cf.known_exploited));
    }
    let conf = conf.min(1.0);
    let score = sev_w * crit_w * use_w * conf;
    let priority = if score >= rules.high_at {
        Priority::High
    } else if score >= rules.medium_at {
        Priority::Medium
    } else {
        Priority::Low
    };
    let threshold = match priority {
        Priority::High => format!("at least {:.2} is high", rules.high_at),
        Priority::Medium => format!("from {:.2} to below {:.2} is medium", rules.medium_at, rules.high_at),
        Priority::Low => format!("below {:.2} is low", rules.medium_at),
    };
    let reasons = vec![
        Reason { factor: "severity", text: format!("Alert severity {sev_word} ({s}) × {sev_w:.2}") },
        Reason { factor: "criticality", text: format!("{crit_text} × {crit_w:.2}") },
        Reason { factor: "clinical_use", text: format!("{use_text} × {use_w:.2}") },
        Reason { factor: "confidence", text: format!("Confidence {}: × {conf:.2}", conf_text.join(", ")) },
        Reason { factor: "score", text: format!("Score {score:.2}: {threshold}") },
    ];
    Assessed { priority, score, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Rules;

    fn inputs(severity: u8, tier: Option<CriticalityTier>, use_state: Option<UseState>) -> Inputs {
        Inputs {
            severity: Severity::clamped(severity.into()),
            criticality: tier,
            use_state,
            sources: 1,
            known_exploited: None,
        }
    }

    fn p(i: &Inputs) -> Priority {
        assess(i, &Rules::default().priority).priority
    }

    #[test]
    fn an_exploit_on_an_infusing_pump_is_high_with_every_factor_named() {
        let mut i = inputs(10, Some(CriticalityTier::LifeSupporting), Some(UseState::InUse));
        i.known_exploited = Some("CVE-2020-25165".into());
        let a = assess(&i, &Rules::default().priority);
        let texts: Vec<&str> = a.reasons.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            (a.priority, texts),
            (
                Priority::High,
                vec![
                    "Alert severity critical (10) × 1.00",
                    "The device is life-supporting × 0.90",
                    "In clinical use now × 1.00",
                    "Confidence base 0.80, known-exploited CVE-2020-25165 on the device (+0.10): × 0.90",
                    "Score 0.81: at least 0.45 is high",
                ]
            )
        );
    }

    #[test]
    fn clinical_use_and_criticality_move_the_same_alert_between_levels() {
        let life = Some(CriticalityTier::LifeSupporting);
        assert_eq!(p(&inputs(8, life, Some(UseState::InUse))), Priority::High);
        assert_eq!(p(&inputs(8, life, Some(UseState::Idle))), Priority::Medium);
        assert_eq!(p(&inputs(8, Some(CriticalityTier::NonClinical), Some(UseState::Idle))), Priority::Low);
        // Unknown use counts nearly as in use: never lower than idle.
        assert!(p(&inputs(8, life, Some(UseState::Unknown))) >= p(&inputs(8, life, Some(UseState::Idle))));
    }

    #[test]
    fn a_second_source_raises_confidence() {
        let mut i = inputs(7, Some(CriticalityTier::Therapeutic), Some(UseState::InUse));
        let one = assess(&i, &Rules::default().priority).score;
        i.sources = 2;
        let two = assess(&i, &Rules::default().priority).score;
        assert!(two > one, "{two} > {one}");
    }

    proptest::proptest! {
        #[test]
        fn priority_never_falls_when_severity_rises(a in 0u8..=10, b in 0u8..=10, t in 0usize..5, u in 0usize..4) {
            let tier = [CriticalityTier::LifeSustaining, CriticalityTier::LifeSupporting, CriticalityTier::Therapeutic, CriticalityTier::Diagnostic, CriticalityTier::NonClinical][t];
            let use_state = UseState::ALL[u];
            let (lo, hi) = (a.min(b), a.max(b));
            proptest::prop_assert!(p(&inputs(lo, Some(tier), Some(use_state))) <= p(&inputs(hi, Some(tier), Some(use_state))));
        }
    }
}
