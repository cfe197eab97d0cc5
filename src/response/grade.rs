//! The care-disruption grade of an action on a device, with its reasons in
//! plain words. Pure: the device's kind, tier and clinical-use state (and
//! how old that is) are passed in.
//!
//! The rules, by what the action affects:
//! - nothing, or non-clinical connectivity: *safe now*;
//! - clinical data flows (remote alarms, charting, images): *safe now* when
//!   the device is not in use; in use, *coordinate* (the ward covers), or
//!   *clinician sign-off* when the device's alarms reach people over the
//!   network and it is life-sustaining or life-supporting, unless the
//!   flows drop only for a moment (`brief`), which stays *coordinate*;
//! - the device's clinical function (therapy or monitoring stops): *safe
//!   now* when not in use; in use, *not while in use* for a life-sustaining
//!   device (blocked), *coordinate* for a non-clinical one, else *clinician
//!   sign-off*; an action that first moves care to a spare (`hands_over`)
//!   is *coordinate*, or *clinician sign-off* for a life-sustaining device.
//!
//! Unknown clinical use counts as in use, and so does idle evidence older
//! than the catalogue's `trust_idle_mins`. Kinds in `life_sustaining_kinds`
//! count as life-sustaining whatever their inventory tier.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::catalogue::{ActionSpec, Affects, Catalogue, Target};
use super::gate::Gate;
use super::ActionId;
use crate::hospital::{ago, CriticalityTier, DeviceKind, UseState};

/// How much an action could disrupt care, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// No effect on care.
    SafeNow,
    /// Affects clinical data flows: the ward must know and cover.
    Coordinate,
    /// Interrupts a function a patient may rely on: a clinician agrees.
    ClinicianSignoff,
    /// Interrupts a life-sustaining function of a device in use: blocked.
    NotWhileInUse,
}

impl Grade {
    pub const ALL: [Grade; 4] =
        [Self::SafeNow, Self::Coordinate, Self::ClinicianSignoff, Self::NotWhileInUse];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SafeNow => "safe_now",
            Self::Coordinate => "coordinate",
            Self::ClinicianSignoff => "clinician_signoff",
            Self::NotWhileInUse => "not_while_in_use",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::SafeNow => "Safe now",
            Self::Coordinate => "Coordinate with the ward",
            Self::ClinicianSignoff => "Clinician sign-off",
            Self::NotWhileInUse => "Not while in use",
        }
    }

    /// The symbol that goes with the colour and the words.
    pub fn marker(self) -> &'static str {
        match self {
            Self::SafeNow => "✓",
            Self::Coordinate => "◐",
            Self::ClinicianSignoff => "✋",
            Self::NotWhileInUse => "⛔",
        }
    }

    /// The gate a request at this grade must pass.
    pub fn gate(self) -> Gate {
        match self {
            Self::SafeNow => Gate::None,
            Self::Coordinate => Gate::WardAck,
            Self::ClinicianSignoff => Gate::ClinicianSignoff,
            Self::NotWhileInUse => Gate::OutOfUse,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s.trim())
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.marker(), self.label())
    }
}

/// A device's clinical use as grading sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub state: UseState,
    /// How old the evidence is; `None` when not known (taken as fresh only
    /// for a state that says in use).
    pub age: Option<Duration>,
    /// Where it came from, in words ("HL7 ORU^R01 with a patient, 3 min
    /// ago"), for the reasons.
    pub evidence: Option<String>,
}

impl Usage {
    /// A state as given, with no evidence (the what-if form).
    pub fn given(state: UseState) -> Self {
        Self { state, age: Some(Duration::zero()), evidence: Some("as given".into()) }
    }
}

/// The device an action would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: DeviceKind,
    pub tier: CriticalityTier,
    pub usage: Usage,
}

impl Subject {
    /// A device nobody has identified: treated as life-supporting and in use.
    pub fn unidentified() -> Self {
        Self {
            kind: DeviceKind::Other,
            tier: CriticalityTier::LifeSupporting,
            usage: Usage { state: UseState::Unknown, age: None, evidence: None },
        }
    }
}

/// An action with its grade, its gate and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graded {
    pub action: ActionId,
    pub title: String,
    pub affects: Affects,
    pub grade: Grade,
    pub gate: Gate,
    pub reasons: Vec<String>,
}

/// The grade of `spec` on `subject` (`None`: no device of the inventory is
/// involved; a device action then grades as on an unidentified device).
pub fn grade(catalogue: &Catalogue, spec: &ActionSpec, subject: Option<&Subject>) -> Graded {
    let (grade, reasons) = match (spec.affects, subject, spec.target) {
        (Affects::None, _, _) => {
            (Grade::SafeNow, vec!["It does not touch the device or its traffic.".to_owned()])
        }
        (Affects::NonClinical, _, _) => (
            Grade::SafeNow,
            vec!["It affects only non-clinical connectivity: alarms, charting and images keep flowing."
                .to_owned()],
        ),
        (_, Some(s), _) => on_device(catalogue, spec, s),
        (_, None, Target::Network) => (
            Grade::SafeNow,
            vec!["No device of the inventory is involved, so no patient's care goes through it.".to_owned()],
        ),
        (_, None, Target::Device) => {
            let (g, mut r) = on_device(catalogue, spec, &Subject::unidentified());
            r.insert(
                0,
                "No device of the inventory is named: treated as an unidentified device, life-supporting and in use."
                    .to_owned(),
            );
            (g, r)
        }
    };
    Graded {
        action: spec.id.clone(),
        title: spec.title.clone(),
        affects: spec.affects,
        grade,
        gate: grade.gate(),
        reasons,
    }
}

fn on_device(catalogue: &Catalogue, spec: &ActionSpec, s: &Subject) -> (Grade, Vec<String>) {
    let kind = s.kind.label().to_lowercase();
    let (in_use, use_reason) = in_use(catalogue, &kind, &s.usage);
    let mut reasons = vec![use_reason];
    let tier =
        if catalogue.life_sustaining_kinds.contains(&s.kind) && s.tier != CriticalityTier::LifeSustaining {
            reasons.push(format!(
                "A {kind} counts as life-sustaining whatever its inventory tier ({}).",
                s.tier.label().to_lowercase()
            ));
            CriticalityTier::LifeSustaining
        } else {
            s.tier
        };
    let alarms = catalogue.remote_alarm_kinds.contains(&s.kind);
    let mut say = |g: Grade, text: String| {
        reasons.push(text);
        g
    };
    let grade = match spec.affects {
        Affects::None | Affects::NonClinical => Grade::SafeNow,
        Affects::ClinicalData if !in_use => say(
            Grade::SafeNow,
            "It stops the device's clinical data flows, but no patient relies on them now.".into(),
        ),
        Affects::ClinicalData if spec.brief => say(
            Grade::Coordinate,
            "Its clinical flows stay open but drop for a moment while it moves: the central station may show \
             a communication alarm. The ward must know."
                .into(),
        ),
        Affects::ClinicalData if alarms && tier.is_life_critical() => say(
            Grade::ClinicianSignoff,
            format!(
                "Its alarms stop reaching the central station while a {} device is in use: a clinician must \
                 agree, and someone must watch the patient at the bedside.",
                tier.label().to_lowercase()
            ),
        ),
        Affects::ClinicalData if alarms => say(
            Grade::Coordinate,
            "Its remote alarms and charting stop: the ward must watch the patient at the bedside.".into(),
        ),
        Affects::ClinicalData => say(
            Grade::Coordinate,
            "Its clinical data (charting, images, results) stops flowing: the ward must know and work around it."
                .into(),
        ),
        Affects::ClinicalFunction if !in_use => say(
            Grade::SafeNow,
            format!("It interrupts {}, but no patient is using the {kind} now.", function(s.kind)),
        ),
        Affects::ClinicalFunction if spec.hands_over && tier == CriticalityTier::LifeSustaining => say(
            Grade::ClinicianSignoff,
            "The patient moves to a spare at the bedside: for a life-sustaining device a clinician must be there \
             and agree."
                .into(),
        ),
        Affects::ClinicalFunction if spec.hands_over => say(
            Grade::Coordinate,
            "The ward swaps it for a spare at the bedside, so care goes on on the spare; the ward confirms the swap."
                .into(),
        ),
        Affects::ClinicalFunction if tier == CriticalityTier::LifeSustaining => {
            say(Grade::NotWhileInUse, format!("It would stop a life-sustaining {kind} while a patient depends on it."));
            say(
                Grade::NotWhileInUse,
                "Blocked: swap it for a spare first (then this is safe), or break glass in an emergency.".into(),
            )
        }
        Affects::ClinicalFunction if tier == CriticalityTier::NonClinical => say(
            Grade::Coordinate,
            format!("The {kind} has no clinical function, but the ward is using it: agree the moment with them."),
        ),
        Affects::ClinicalFunction => say(
            Grade::ClinicianSignoff,
            format!("It stops {} a patient may rely on: a clinician must agree.", function(s.kind)),
        ),
    };
    (grade, reasons)
}

/// Whether the device counts as in use, and why in words.
fn in_use(catalogue: &Catalogue, kind: &str, usage: &Usage) -> (bool, String) {
    let said = usage.evidence.as_ref().map(|e| format!(" ({e})")).unwrap_or_default();
    let trust = Duration::minutes(i64::from(catalogue.trust_idle_mins));
    match usage.state {
        UseState::InUse => (true, format!("The {kind} is in use with a patient{said}.")),
        UseState::Unknown => {
            (true, format!("Nobody knows whether the {kind} is in use{said}: treated as in use."))
        }
        UseState::Idle => match usage.age {
            Some(a) if a <= trust => (false, format!("The {kind} is idle{said}.")),
            Some(a) => (
                true,
                format!("The {kind} was last known idle {}: too long to rely on, treated as in use.", ago(a)),
            ),
            None => (true, format!("The {kind} is idle, but nobody says since when: treated as in use.")),
        },
        UseState::Maintenance => (false, format!("The {kind} is in maintenance{said}.")),
    }
}

/// The clinical function of a kind, after "It interrupts" / "It stops".
fn function(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::InfusionPump | DeviceKind::SyringePump | DeviceKind::InsulinPump => "the infusion",
        DeviceKind::PatientMonitor | DeviceKind::GlucoseMonitor => "the monitoring",
        DeviceKind::Ventilator => "the ventilation",
        DeviceKind::AnaesthesiaMachine => "the anaesthesia",
        DeviceKind::ImagingModality => "the imaging",
        DeviceKind::LabAnalyser => "the lab results",
        DeviceKind::NurseCall => "the nurse calls",
        DeviceKind::Workstation | DeviceKind::Gateway | DeviceKind::Other => "the device's work",
    }
}
