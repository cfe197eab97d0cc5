//! What each scenario should leave in a console that took its traffic in:
//! for tests, and for a console that wants to check itself.

use serde::Serialize;

use super::plan::Plan;
use super::traffic as t;
use super::Scenario;
use crate::hospital::{AssetId, Inventory};

/// One thing a scenario promises about one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// The story that makes it true.
    pub scenario: Scenario,
    pub device: AssetId,
    pub expected: Expected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expected {
    /// An alert with this name and at least this severity (0-10) about the
    /// device (its address as source or destination, or its identifiers in
    /// a gateway's alert).
    Alert { name: String, min_severity: u8 },
    /// In use with a patient: an HL7 observation with a patient attached,
    /// or a gateway's `clinical_use: in_use`.
    InUse,
}

/// What `scenario` should produce with this inventory (the actors do not
/// depend on the seed). `background` promises nothing in particular; `all`
/// promises what each story does. A story whose actors the inventory lacks
/// is not played and promises nothing.
pub fn expectations(inventory: &Inventory, scenario: Scenario) -> Vec<Expectation> {
    let plan = Plan::new(inventory);
    let id = |i: usize| plan.nodes[i].device.id.clone();
    let alert = |story, device: usize, name: &str, min_severity| Expectation {
        scenario: story,
        device: id(device),
        expected: Expected::Alert { name: name.to_owned(), min_severity },
    };
    let in_use =
        |story, device: usize| Expectation { scenario: story, device: id(device), expected: Expected::InUse };
    let mut out = Vec::new();
    for &story in scenario.stories() {
        if !plan.can_play(story) {
            continue;
        }
        // Suricata priority 1 is severity 8, priority 2 is 6.
        match story {
            Scenario::C2Beacon => {
                out.extend(plan.c2_workstation.map(|w| alert(story, w, t::C2_SIGNATURE, 8)))
            }
            Scenario::PumpExploit => {
                if let Some(p) = plan.pump_target {
                    out.push(alert(story, p, t::EXPLOIT_SIGNATURE, 8));
                    out.push(in_use(story, p));
                }
            }
            Scenario::ScannerStorm => {
                if let Some(s) = plan.scanner {
                    out.push(alert(story, s, t::SCAN_CEF_NAME, t::SCAN_CEF_SEVERITY));
                    out.push(alert(story, s, t::SCAN_SIGNATURE, 6));
                }
            }
            Scenario::HomeGlucoseCloud => {
                if let Some(g) = plan.glucose {
                    out.push(alert(story, g, t::CLOUD_NAME, t::CLOUD_SEVERITY));
                    out.push(in_use(story, g));
                }
            }
            Scenario::DefaultCredentials => out.extend(
                plan.weak_monitor.map(|m| alert(story, m, t::DEFAULT_CREDS_NAME, t::DEFAULT_CREDS_SEVERITY)),
            ),
            Scenario::All | Scenario::Background => {}
        }
    }
    out
}
