//! The incident rule file: conditions, storm thresholds and priority
//! weights. Defaults ship in `rules.toml` (compiled in); a data directory's
//! `incident-rules.toml` replaces them whole.

use std::path::Path;

use chrono::Duration;
use serde::Deserialize;

/// The shipped rules, as text (also what `wardwatch incident rules` prints).
pub const DEFAULT_RULES: &str = include_str!("rules.toml");
/// The rule file's name inside the data directory.
pub const RULES_FILE: &str = "incident-rules.toml";

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("incident rules {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("incident rules {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub recurrence_secs: u64,
    pub storm: StormRules,
    pub priority: PriorityRules,
    #[serde(default)]
    pub conditions: Vec<ConditionRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StormRules {
    pub window_secs: u64,
    pub source_rate: u32,
    pub signature_rate: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRules {
    pub high_at: f64,
    pub medium_at: f64,
    pub severity: SeverityWeights,
    pub criticality: CriticalityWeights,
    pub clinical_use: UseWeights,
    pub confidence: ConfidenceWeights,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityWeights {
    pub critical: f64,
    pub high: f64,
    pub medium: f64,
    pub low: f64,
    pub info: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalityWeights {
    pub life_sustaining: f64,
    pub life_supporting: f64,
    pub therapeutic: f64,
    pub diagnostic: f64,
    pub non_clinical: f64,
    pub no_device: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseWeights {
    pub in_use: f64,
    pub unknown: f64,
    pub maintenance: f64,
    pub idle: f64,
    pub no_device: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidenceWeights {
    pub base: f64,
    pub multiple_sources: f64,
    pub known_exploited: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionRule {
    pub key: String,
    pub title: String,
    #[serde(rename = "match")]
    pub patterns: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        // The shipped file is checked by a test; a failure here is a build defect.
        Self::parse(DEFAULT_RULES, "shipped rules").unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Rules {
    /// Parses and checks rule text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, RulesError> {
        let invalid = |message: String| RulesError::Invalid { path: origin.to_owned(), message };
        let rules: Rules = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        rules.check().map_err(invalid)?;
        Ok(rules)
    }

    /// The data directory's rule file when there is one, else the defaults,
    /// with the text they came from (for the audit record).
    pub fn load(data_dir: &Path) -> Result<(Self, String), RulesError> {
        let path = data_dir.join(RULES_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((Self::parse(&text, &path.display().to_string())?, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((Self::default(), DEFAULT_RULES.to_owned()))
            }
            Err(source) => Err(RulesError::Read { path: path.display().to_string(), source }),
        }
    }

    pub fn recurrence(&self) -> Duration {
        Duration::seconds(self.recurrence_secs.min(i64::MAX as u64 / 1_000_000) as i64)
    }

    fn check(&self) -> Result<(), String> {
        let p = &self.priority;
        let weights = [
            ("priority.high_at", p.high_at),
            ("priority.medium_at", p.medium_at),
            ("severity.critical", p.severity.critical),
            ("severity.high", p.severity.high),
            ("severity.medium", p.severity.medium),
            ("severity.low", p.severity.low),
            ("severity.info", p.severity.info),
            ("criticality.life_sustaining", p.criticality.life_sustaining),
            ("criticality.life_supporting", p.criticality.life_supporting),
            ("criticality.therapeutic", p.criticality.therapeutic),
            ("criticality.diagnostic", p.criticality.diagnostic),
            ("criticality.non_clinical", p.criticality.non_clinical),
            ("criticality.no_device", p.criticality.no_device),
            ("clinical_use.in_use", p.clinical_use.in_use),
            ("clinical_use.unknown", p.clinical_use.unknown),
            ("clinical_use.maintenance", p.clinical_use.maintenance),
            ("clinical_use.idle", p.clinical_use.idle),
            ("clinical_use.no_device", p.clinical_use.no_device),
            ("confidence.base", p.confidence.base),
            ("confidence.multiple_sources", p.confidence.multiple_sources),
            ("confidence.known_exploited", p.confidence.known_exploited),
        ];
        if let Some((name, w)) = weights.iter().find(|(_, w)| !(0.0..=1.0).contains(w)) {
            return Err(format!("{name} = {w}: weights are between 0 and 1"));
        }
        if p.medium_at > p.high_at {
            return Err(format!("priority.medium_at ({}) is above high_at ({})", p.medium_at, p.high_at));
        }
        if self.storm.window_secs == 0 || self.storm.window_secs > 3600 {
            return Err("storm.window_secs is between 1 and 3600".into());
        }
        if self.storm.source_rate == 0 || self.storm.signature_rate == 0 {
            return Err("storm rates are at least 1".into());
        }
        if self.recurrence_secs == 0 {
            return Err("recurrence_secs is at least 1".into());
        }
        for c in &self.conditions {
            if c.key.is_empty() || c.key.len() > 64 || c.key == super::condition::STORM {
                return Err(format!(
                    "condition key {:?}: 1 to 64 characters, not {:?}",
                    c.key,
                    super::condition::STORM
                ));
            }
            if c.patterns.iter().any(|p| p.trim().is_empty()) || c.patterns.is_empty() {
                return Err(format!(
                    "condition {:?}: every pattern is non-empty, and there is one at least",
                    c.key
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_parse_and_check() {
        let r = Rules::parse(DEFAULT_RULES, "shipped").map_err(|e| e.to_string());
        let r = r.as_ref().map(|r| (r.storm.source_rate, r.conditions.len()));
        assert_eq!(r, Ok((20, 7)));
    }

    #[test]
    fn a_weight_out_of_range_is_refused_with_its_name() {
        let text = DEFAULT_RULES.replace("critical = 1.0", "critical = 1.5");
        let e = Rules::parse(&text, "f.toml").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e, "incident rules f.toml: severity.critical = 1.5: weights are between 0 and 1");
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let text = format!("{DEFAULT_RULES}\nsurprise = 1\n");
        let e = Rules::parse(&text, "f.toml").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("unknown field `surprise`"), "{e}");
    }

    #[test]
    fn a_missing_file_gives_the_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (rules, text) = Rules::load(dir.path())?;
        assert_eq!((rules, text.as_str()), (Rules::default(), DEFAULT_RULES));
        std::fs::write(
            dir.path().join(RULES_FILE),
            DEFAULT_RULES.replace("source_rate = 20", "source_rate = 5"),
        )?;
        assert_eq!(Rules::load(dir.path())?.0.storm.source_rate, 5);
        Ok(())
    }
}
