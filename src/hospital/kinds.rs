//! The closed vocabularies of the hospital model: kinds of ward and device,
//! criticality tiers, and the Fennigkoh–Smith factors behind a tier.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal, $label:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant,)*];

            /// The spelling in files, the CLI and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            /// In words, for people.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label,)* }
            }

            /// From its spelling (`as_str`) or its label, any case, `-` or
            /// space for `_`.
            pub fn parse(s: &str) -> Option<Self> {
                let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                Self::ALL.iter().copied().find(|k| {
                    k.as_str() == key || k.label().to_ascii_lowercase().replace(['-', ' '], "_") == key
                })
            }
        }
    };
}

vocabulary! {
    /// What a ward does; decides nothing by itself, but is shown and filtered on.
    WardKind {
        Icu => "icu", "Intensive care";
        Emergency => "emergency", "Emergency";
        Theatre => "theatre", "Operating theatres";
        Oncology => "oncology", "Oncology";
        Maternity => "maternity", "Maternity";
        Paediatrics => "paediatrics", "Paediatrics";
        General => "general", "General ward";
        Imaging => "imaging", "Imaging";
        Laboratory => "laboratory", "Laboratory";
        HomeCare => "home_care", "Home care";
        Other => "other", "Other";
    }
}

vocabulary! {
    /// What a device is.
    DeviceKind {
        InfusionPump => "infusion_pump", "Infusion pump";
        SyringePump => "syringe_pump", "Syringe pump";
        PatientMonitor => "patient_monitor", "Patient monitor";
        Ventilator => "ventilator", "Ventilator";
        AnaesthesiaMachine => "anaesthesia_machine", "Anaesthesia machine";
        GlucoseMonitor => "glucose_monitor", "Glucose monitor";
        InsulinPump => "insulin_pump", "Insulin pump";
        ImagingModality => "imaging_modality", "Imaging modality";
        LabAnalyser => "lab_analyser", "Lab analyser";
        NurseCall => "nurse_call", "Nurse call";
        Workstation => "workstation", "Workstation";
        Gateway => "gateway", "Gateway";
        Other => "other", "Unknown device";
    }
}

vocabulary! {
    /// How much a patient depends on a device, most critical first: what
    /// response gating reads.
    CriticalityTier {
        LifeSustaining => "life_sustaining", "Life-sustaining";
        LifeSupporting => "life_supporting", "Life-supporting";
        Therapeutic => "therapeutic", "Therapeutic";
        Diagnostic => "diagnostic", "Diagnostic";
        NonClinical => "non_clinical", "Non-clinical";
    }
}

impl CriticalityTier {
    /// Life-sustaining or life-supporting: a patient may be harmed within
    /// minutes when it stops.
    pub fn is_life_critical(self) -> bool {
        matches!(self, Self::LifeSustaining | Self::LifeSupporting)
    }
}

/// The Fennigkoh–Smith equipment-management factors (Fennigkoh L., Smith B.,
/// "Clinical equipment management", JCAHO PTSM Series 2, 1989): function
/// 2–10, physical risk 1–5, maintenance requirements 1–5. Their sum is the
/// equipment-management number; a device at 12 or more belongs in a
/// maintenance programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    pub function: u8,
    pub physical_risk: u8,
    pub maintenance: u8,
}

impl Factors {
    /// The factors, or which one is out of its range.
    pub fn new(function: u8, physical_risk: u8, maintenance: u8) -> Result<Self, String> {
        if !(2..=10).contains(&function) {
            return Err(format!("function must be 2-10, not {function}"));
        }
        if !(1..=5).contains(&physical_risk) {
            return Err(format!("physical risk must be 1-5, not {physical_risk}"));
        }
        if !(1..=5).contains(&maintenance) {
            return Err(format!("maintenance must be 1-5, not {maintenance}"));
        }
        Ok(Self { function, physical_risk, maintenance })
    }

    /// The equipment-management number: function + risk + maintenance.
    pub fn em_number(self) -> u8 {
        self.function + self.physical_risk + self.maintenance
    }

    /// The tier these factors give: life support (function 10) is
    /// life-sustaining; intensive-care treatment or monitoring (7–9) whose
    /// failure can kill (risk 5) is life-supporting; other treatment (7–9) is
    /// therapeutic; monitoring, diagnosis and the laboratory (5–6) are
    /// diagnostic; the rest (computers, accessories) is non-clinical.
    pub fn tier(self) -> CriticalityTier {
        match (self.function, self.physical_risk) {
            (10, _) => CriticalityTier::LifeSustaining,
            (7..=9, 5) => CriticalityTier::LifeSupporting,
            (7..=9, _) => CriticalityTier::Therapeutic,
            (5..=6, _) => CriticalityTier::Diagnostic,
            _ => CriticalityTier::NonClinical,
        }
    }

    /// The factors in words.
    pub fn explain(self) -> String {
        format!(
            "function {} ({}), physical risk {} ({}), maintenance {} ({}); equipment-management number {}",
            self.function,
            function_label(self.function),
            self.physical_risk,
            risk_label(self.physical_risk),
            self.maintenance,
            maintenance_label(self.maintenance),
            self.em_number()
        )
    }
}

fn function_label(f: u8) -> &'static str {
    match f {
        10 => "life support",
        9 => "surgical and intensive care",
        8 => "physical therapy and treatment",
        7 => "surgical and intensive-care monitoring",
        6 => "additional physiological monitoring and diagnostic",
        5 => "analytical laboratory",
        4 => "laboratory accessories",
        3 => "computers and related",
        _ => "patient-related and other",
    }
}

fn risk_label(r: u8) -> &'static str {
    match r {
        5 => "patient death",
        4 => "patient or operator injury",
        3 => "inappropriate therapy or misdiagnosis",
        2 => "equipment damage",
        _ => "no significant risk",
    }
}

fn maintenance_label(m: u8) -> &'static str {
    match m {
        5 => "extensive",
        4 => "above average",
        3 => "average",
        2 => "below average",
        _ => "minimal",
    }
}
