//! The action catalogue: data, shipped as `catalogue.toml` (compiled in);
//! a data directory's `response-catalogue.toml` replaces it whole.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ActionId;
use crate::hospital::DeviceKind;

/// The shipped catalogue, as text.
pub const DEFAULT_CATALOGUE: &str = include_str!("catalogue.toml");
/// The catalogue file's name inside a data directory.
pub const CATALOGUE_FILE: &str = "response-catalogue.toml";
/// The key of `contains` that stands for any threat not named.
pub const ANY_THREAT: &str = "*";

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("response catalogue {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("response catalogue {path}: {message}")]
    Invalid { path: String, message: String },
}

/// What an action touches, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Affects {
    None,
    NonClinical,
    ClinicalData,
    ClinicalFunction,
}

impl Affects {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::NonClinical => "non_clinical",
            Self::ClinicalData => "clinical_data",
            Self::ClinicalFunction => "clinical_function",
        }
    }
}

/// What an action acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A device of the inventory: not offered without one.
    Device,
    /// An address or the organisation: offered with or without a device.
    Network,
}

/// One action of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub id: ActionId,
    pub title: String,
    /// The action as the ward is told it, after "IT wants to"; `{device}`
    /// stands for the device and where it is.
    pub ask: String,
    /// What it does, in plain words.
    pub does: String,
    pub affects: Affects,
    /// The clinical flows stop only for a moment (a reconnection).
    #[serde(default)]
    pub brief: bool,
    /// Care moves to a spare first; the ward carries it out.
    #[serde(default)]
    pub hands_over: bool,
    pub target: Target,
    /// What it protects against, in plain words.
    pub protects: String,
    /// The checklist a person follows when it is carried out by hand.
    pub steps: Vec<String>,
    /// Containment per threat (condition key, or `*`): 0–3.
    pub contains: BTreeMap<String, u8>,
}

impl ActionSpec {
    /// How well it contains `threat` (an incident's condition key): 0–3.
    pub fn strength(&self, threat: &str) -> u8 {
        self.contains.get(threat).or_else(|| self.contains.get(ANY_THREAT)).copied().unwrap_or(0)
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub version: u32,
    /// Idle evidence older than this counts as unknown (so as in use).
    pub trust_idle_mins: u32,
    /// Kinds whose alarms reach people over the network.
    pub remote_alarm_kinds: Vec<DeviceKind>,
    /// Kinds that are life-sustaining whatever their inventory tier.
    pub life_sustaining_kinds: Vec<DeviceKind>,
    pub actions: Vec<ActionSpec>,
}

impl Catalogue {
    /// The shipped catalogue.
    pub fn shipped() -> Self {
        #[allow(clippy::expect_used)] // The shipped file is checked by a test.
        Self::parse(DEFAULT_CATALOGUE, "the shipped catalogue").expect("the shipped catalogue is valid")
    }

    /// `DATA_DIR/response-catalogue.toml` when it exists, else the shipped
    /// one; with the text it was read from.
    pub fn load(data_dir: &Path) -> Result<(Self, String), CatalogueError> {
        let path = data_dir.join(CATALOGUE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((Self::parse(&text, &path.display().to_string())?, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((Self::shipped(), DEFAULT_CATALOGUE.to_owned()))
            }
            Err(source) => Err(CatalogueError::Read { path: path.display().to_string(), source }),
        }
    }

    /// Parses and checks a catalogue; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogueError> {
        let invalid = |message: String| CatalogueError::Invalid { path: origin.to_owned(), message };
        let c: Catalogue = toml::from_str(text).map_err(|e| invalid(e.message().to_owned()))?;
        if c.version != 1 {
            return Err(invalid(format!("version {} is not one this console reads (1)", c.version)));
        }
        if c.actions.is_empty() {
            return Err(invalid("no actions".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &c.actions {
            let at = |m: &str| invalid(format!("action {}: {m}", a.id));
            if !seen.insert(a.id.clone()) {
                return Err(at("listed twice"));
            }
            if a.title.trim().is_empty() || a.does.trim().is_empty() || a.protects.trim().is_empty() {
                return Err(at("title, does and protects must say something"));
            }
            if !a.ask.contains("{device}") {
                return Err(at("ask must say where the device goes ({device})"));
            }
            if a.steps.is_empty() {
                return Err(at("needs at least one step for the manual checklist"));
            }
            if let Some((k, v)) = a.contains.iter().find(|(_, v)| **v > 3) {
                return Err(at(&format!("contains.{k} = {v}: strengths are 0-3")));
            }
            if !a.contains.contains_key(ANY_THREAT) {
                return Err(at("contains needs a \"*\" entry for threats it does not name"));
            }
            if a.brief && a.affects != Affects::ClinicalData {
                return Err(at("brief applies only to clinical_data actions"));
            }
            if a.hands_over && (a.affects != Affects::ClinicalFunction || a.target != Target::Device) {
                return Err(at("hands_over applies only to clinical_function device actions"));
            }
        }
        Ok(c)
    }

    pub fn action(&self, id: &str) -> Option<&ActionSpec> {
        self.actions.iter().find(|a| a.id.as_str() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_is_valid_and_has_every_action_the_cli_names() {
        let c = Catalogue::shipped();
        let ids: Vec<&str> = c.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "observe",
                "notify_biomed",
                "open_ticket",
                "block_destination",
                "rate_limit",
                "restrict_segment",
                "quarantine",
                "disable_wireless",
                "reboot",
                "patch_firmware",
                "swap_and_remove",
                "decommission"
            ]
        );
    }

    fn refused(edit: impl Fn(&str) -> String, expected: &str) {
        let text = edit(DEFAULT_CATALOGUE);
        let Err(err) = Catalogue::parse(&text, "test") else { panic!("{expected:?}: should be refused") };
        let err = err.to_string();
        assert!(err.contains(expected), "{err:?} should contain {expected:?}");
    }

    #[test]
    fn a_broken_catalogue_is_refused_with_its_reason() {
        refused(|t| t.replacen("version = 1", "version = 2", 1), "version 2");
        refused(|t| t.replacen("id = \"reboot\"", "id = \"observe\"", 1), "action observe: listed twice");
        refused(|t| t.replacen("id = \"reboot\"", "id = \"Reboot!\"", 1), "Reboot!");
        refused(|t| t.replacen("affects = \"none\"", "affects = \"some\"", 1), "some");
        refused(|t| t.replacen("{ \"*\" = 2 }", "{ \"*\" = 4 }", 1), "strengths are 0-3");
        refused(|t| t.replacen("{ \"*\" = 3 }", "{ \"scan\" = 3 }", 1), "needs a \"*\" entry");
        refused(|t| t.replacen("target = \"device\"", "target = \"device\"\ncolour = \"red\"", 1), "colour");
        refused(|t| t.replacen("\"patient_monitor\", \"ventilator\"", "\"toaster\"", 1), "toaster");
    }

    #[test]
    fn strength_falls_back_to_any_threat() {
        let c = Catalogue::shipped();
        let block = c.action("block_destination").unwrap_or_else(|| panic!("shipped"));
        assert_eq!(block.strength("c2-beacon"), 3);
        assert_eq!(block.strength("scan"), 0);
        assert_eq!(c.action("quarantine").unwrap_or_else(|| panic!("shipped")).strength("anything-else"), 3);
    }
}
