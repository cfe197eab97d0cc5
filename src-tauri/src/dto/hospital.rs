//! The hospital as the UI shows it: ward tiles, device rows, a device's
//! whole story, the staged queue. Every state carries its words (labels)
//! beside its code, so the UI never shows a colour alone.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use ts_rs::TS;
use wardwatch::hospital::{self, DeviceState, Health, OpenIncident, UseState, Ward, WardHealth};
use wardwatch::store::{HospitalView, IdentityPeriod};

use super::{AlertView, SeverityLabel};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A device's health, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    Ok,
    Unknown,
    Watch,
    AtRisk,
    CompromisedSuspected,
}

impl From<Health> for HealthLevel {
    fn from(h: Health) -> Self {
        match h {
            Health::Ok => Self::Ok,
            Health::Unknown => Self::Unknown,
            Health::Watch => Self::Watch,
            Health::AtRisk => Self::AtRisk,
            Health::CompromisedSuspected => Self::CompromisedSuspected,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UseStateView {
    InUse,
    Idle,
    Maintenance,
    Unknown,
}

impl From<UseStateView> for UseState {
    fn from(s: UseStateView) -> Self {
        match s {
            UseStateView::InUse => Self::InUse,
            UseStateView::Idle => Self::Idle,
            UseStateView::Maintenance => Self::Maintenance,
            UseStateView::Unknown => Self::Unknown,
        }
    }
}

impl From<UseState> for UseStateView {
    fn from(s: UseState) -> Self {
        match s {
            UseState::InUse => Self::InUse,
            UseState::Idle => Self::Idle,
            UseState::Maintenance => Self::Maintenance,
            UseState::Unknown => Self::Unknown,
        }
    }
}

/// How many devices of a ward are in one health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthCount {
    pub health: HealthLevel,
    pub label: String,
    pub count: u32,
}

/// An open incident: alerts folded per device and condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    #[ts(type = "number")]
    pub id: i64,
    pub device_id: String,
    pub condition: String,
    pub severity: u8,
    pub severity_label: SeverityLabel,
    #[ts(type = "number")]
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
}

impl IncidentView {
    fn new(device: &hospital::AssetId, i: &OpenIncident) -> Self {
        Self {
            id: i.id,
            device_id: device.to_string(),
            condition: i.condition.clone(),
            severity: i.severity.value(),
            severity_label: i.severity.label().into(),
            count: i.count,
            first_seen: time(i.first_seen),
            last_seen: time(i.last_seen),
        }
    }
}

/// One ward at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WardTile {
    pub id: String,
    pub name: String,
    pub site: String,
    pub kind: String,
    pub kind_label: String,
    pub devices: u32,
    /// Devices in use with a patient now.
    pub in_use: u32,
    /// Every health, worst first, with its count (zeros included).
    pub by_health: Vec<HealthCount>,
    pub worst: HealthLevel,
    pub worst_label: String,
    pub worst_incident: Option<IncidentView>,
}

impl WardTile {
    fn new(w: &Ward, h: &WardHealth) -> Self {
        let by_health = Health::ALL
            .iter()
            .zip(h.counts)
            .rev()
            .map(|(health, count)| HealthCount {
                health: (*health).into(),
                label: health.label().to_owned(),
                count: count as u32,
            })
            .collect();
        Self {
            id: w.id.to_string(),
            name: w.name.clone(),
            site: w.site.clone(),
            kind: w.kind.as_str().to_owned(),
            kind_label: w.kind.label().to_owned(),
            devices: h.devices as u32,
            in_use: h.in_use as u32,
            by_health,
            worst: h.worst.into(),
            worst_label: h.worst.label().to_owned(),
            worst_incident: h.worst_incident.as_ref().map(|(d, i)| IncidentView::new(d, i)),
        }
    }
}

/// Every ward, and how many devices wait in the staged queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WardsOverview {
    pub generated_at: String,
    /// The scenario of the simulated hospital, when this console runs one.
    pub simulated: Option<String>,
    pub wards: Vec<WardTile>,
    pub devices: u32,
    pub staged: u32,
}

impl WardsOverview {
    /// Without what a locked seat must not show: no incident details.
    pub fn strip_details(&mut self) {
        for w in &mut self.wards {
            w.worst_incident = None;
        }
    }

    /// Only the wards in `wards` (a nurse's), and no staged count.
    pub fn only(&mut self, wards: &[hospital::WardId]) {
        self.wards.retain(|t| wards.iter().any(|w| w.as_str() == t.id));
        self.devices = self.wards.iter().map(|t| t.devices).sum();
        self.staged = 0;
    }

    pub fn new(view: &HospitalView, simulated: Option<&str>, now: DateTime<Utc>) -> Self {
        let wards = view
            .wards
            .iter()
            .map(|w| WardTile::new(w, &hospital::roll_up(view.in_ward(Some(&w.id)))))
            .collect();
        Self {
            generated_at: time(now),
            simulated: simulated.map(str::to_owned),
            wards,
            devices: view.devices.len() as u32,
            staged: view.devices.iter().filter(|d| d.device.staged).count() as u32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClinicalUseView {
    pub state: UseStateView,
    /// "In use with a patient", "Unknown (treated as in use)".
    pub label: String,
    /// Where it came from: "HL7 ORU^R01 with a patient", "set by nurse.a: cleaning".
    pub source: String,
    /// When the evidence was taken (RFC 3339), for its age.
    pub since: Option<String>,
    /// In use, or unknown: what safety rules assume.
    pub counts_as_in_use: bool,
}

impl From<&hospital::ClinicalUse> for ClinicalUseView {
    fn from(c: &hospital::ClinicalUse) -> Self {
        Self {
            state: c.state.into(),
            label: c.state.label().to_owned(),
            source: c.source.describe(),
            since: c.since.map(time),
            counts_as_in_use: c.counts_as_in_use(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthReasonView {
    /// `incident`, `vulnerability`, `criticality`, `staleness`, `clinical_use`.
    pub topic: String,
    /// The health this reason alone gives; none when it only explains.
    pub raises_to: Option<HealthLevel>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentityView {
    /// `ip`, `mac`, `hostname`, `eui64`, `serial`.
    pub kind: String,
    pub value: String,
}

impl From<&hospital::Identity> for IdentityView {
    fn from(i: &hospital::Identity) -> Self {
        Self { kind: i.kind.as_str().to_owned(), value: i.value.clone() }
    }
}

/// One device in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRow {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub ward: Option<String>,
    pub room: Option<String>,
    pub bed: Option<String>,
    pub tier: String,
    pub tier_label: String,
    pub clinical_use: ClinicalUseView,
    pub health: HealthLevel,
    pub health_label: String,
    /// Most severe first.
    pub reasons: Vec<HealthReasonView>,
    pub open_incidents: u32,
    pub staged: bool,
    pub identities: Vec<IdentityView>,
    pub last_seen: Option<String>,
}

impl From<&DeviceState> for DeviceRow {
    fn from(s: &DeviceState) -> Self {
        let d = &s.device;
        Self {
            id: d.id.to_string(),
            kind: d.kind.as_str().to_owned(),
            kind_label: d.kind.label().to_owned(),
            manufacturer: d.manufacturer.clone(),
            model: d.model.clone(),
            ward: d.location.ward.as_ref().map(ToString::to_string),
            room: d.location.room.clone(),
            bed: d.location.bed.clone(),
            tier: d.criticality.tier.as_str().to_owned(),
            tier_label: d.criticality.tier.label().to_owned(),
            clinical_use: (&s.clinical_use).into(),
            health: s.assessment.health.into(),
            health_label: s.assessment.health.label().to_owned(),
            reasons: s
                .assessment
                .reasons
                .iter()
                .map(|r| HealthReasonView {
                    topic: r.topic.to_owned(),
                    raises_to: r.raises_to.map(Into::into),
                    text: r.text.clone(),
                })
                .collect(),
            open_incidents: s.incidents.len() as u32,
            staged: d.staged,
            identities: d.identities.iter().map(Into::into).collect(),
            last_seen: s.last_seen.map(time),
        }
    }
}

/// A ward and its devices, by room and bed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WardDetail {
    pub ward: WardTile,
    pub devices: Vec<DeviceRow>,
}

impl WardDetail {
    /// `None` when there is no such ward.
    pub fn new(view: &HospitalView, ward: &str) -> Option<Self> {
        let w = view.wards.iter().find(|w| w.id.as_str() == ward)?;
        let mut devices: Vec<DeviceRow> = view.in_ward(Some(&w.id)).map(DeviceRow::from).collect();
        devices.sort_by(|a, b| {
            (natural(&a.room), natural(&a.bed), &a.id).cmp(&(natural(&b.room), natural(&b.bed), &b.id))
        });
        Some(Self { ward: WardTile::new(w, &hospital::roll_up(view.in_ward(Some(&w.id)))), devices })
    }
}

/// Sorts "2" before "10", and rooms without a number last.
fn natural(s: &Option<String>) -> (bool, u64, String) {
    match s {
        None => (true, 0, String::new()),
        Some(s) => {
            let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
            (false, digits.parse().unwrap_or(u64::MAX), s.clone())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VulnerabilityView {
    pub cve: String,
    pub known_exploited: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FactorsView {
    pub function: u8,
    pub physical_risk: u8,
    pub maintenance: u8,
    pub em_number: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentityPeriodView {
    pub kind: String,
    pub value: String,
    pub from: String,
    /// None while the device still holds it.
    pub to: Option<String>,
}

/// Everything about one device.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDetail {
    pub device: DeviceRow,
    pub ward_name: Option<String>,
    pub firmware: Option<String>,
    /// Why the device has its tier, in words (Fennigkoh–Smith factors when recorded).
    pub criticality_explained: String,
    pub factors: Option<FactorsView>,
    pub patching: String,
    pub patching_label: String,
    pub vulnerabilities: Vec<VulnerabilityView>,
    pub identity_history: Vec<IdentityPeriodView>,
    pub incidents: Vec<IncidentView>,
    /// Newest first.
    pub alerts: Vec<AlertView>,
}

impl DeviceDetail {
    pub fn new(
        view: &HospitalView,
        device: &str,
        history: &[IdentityPeriod],
        alerts: &[wardwatch::model::Alert],
    ) -> Option<Self> {
        let s = view.devices.iter().find(|d| d.device.id.as_str() == device)?;
        let d = &s.device;
        Some(Self {
            device: s.into(),
            ward_name: d
                .location
                .ward
                .as_ref()
                .and_then(|w| view.wards.iter().find(|x| &x.id == w))
                .map(|w| w.name.clone()),
            firmware: d.firmware.clone(),
            criticality_explained: d.criticality.explain(),
            factors: d.criticality.factors.map(|f| FactorsView {
                function: f.function,
                physical_risk: f.physical_risk,
                maintenance: f.maintenance,
                em_number: f.em_number(),
            }),
            patching: d.patching.as_str().to_owned(),
            patching_label: d.patching.label().to_owned(),
            vulnerabilities: d
                .vulnerabilities
                .iter()
                .map(|v| VulnerabilityView { cve: v.cve.clone(), known_exploited: v.known_exploited })
                .collect(),
            identity_history: history
                .iter()
                .map(|h| IdentityPeriodView {
                    kind: h.identity.kind.as_str().to_owned(),
                    value: h.identity.value.clone(),
                    from: time(h.from),
                    to: h.to.map(time),
                })
                .collect(),
            incidents: s.incidents.iter().map(|i| IncidentView::new(&d.id, i)).collect(),
            alerts: alerts.iter().map(AlertView::from).collect(),
        })
    }
}

/// The staged queue: devices first seen in traffic, waiting for a person
/// to put them in a ward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StagedQueue {
    pub devices: Vec<DeviceRow>,
    /// The wards a device can be assigned to: (id, name).
    pub wards: Vec<WardChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WardChoice {
    pub id: String,
    pub name: String,
}

impl StagedQueue {
    pub fn new(view: &HospitalView) -> Self {
        let mut devices: Vec<DeviceRow> =
            view.devices.iter().filter(|d| d.device.staged).map(DeviceRow::from).collect();
        devices.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.id.cmp(&b.id)));
        let wards =
            view.wards.iter().map(|w| WardChoice { id: w.id.to_string(), name: w.name.clone() }).collect();
        Self { devices, wards }
    }
}

/// What an inventory file would change: the dry-run report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    /// `csv` or `json`.
    pub format: String,
    /// One per data row, in file order.
    pub rows: Vec<ImportRowView>,
    pub counts: ImportCounts,
    pub new_wards: Vec<WardChoice>,
    pub adopted: Vec<AdoptionView>,
    /// Columns of the file that no field is mapped to.
    pub ignored_columns: Vec<String>,
    /// Devices of the inventory the file does not mention (left as they are).
    pub untouched: u32,
    /// The same report as text (what `wardwatch inventory import --dry-run` prints).
    pub report: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcomeKind {
    New,
    Changed,
    Unchanged,
    Conflict,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportRowView {
    /// CSV: the line the row starts on; JSON: the record's number (from 1).
    #[ts(type = "number")]
    pub line: u64,
    pub asset: Option<String>,
    pub outcome: RowOutcomeKind,
    /// The changed fields, the conflict, or every problem of an invalid row.
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportCounts {
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub conflicting: u32,
    pub invalid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AdoptionView {
    /// The staged device (`seen-ip-10.1.2.3`).
    pub staged: String,
    /// The imported device that takes it over, with its alerts.
    pub by: String,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub wards_created: u32,
    pub devices_written: u32,
    pub adopted: u32,
    /// The `inventory.imported` audit record.
    #[ts(type = "number")]
    pub audit_seq: u64,
    /// Rows left out (conflicting or invalid), for the person to fix.
    pub skipped: u32,
}

impl From<&wardwatch::hospital::inventory::ImportPlan> for ImportPreview {
    fn from(p: &wardwatch::hospital::inventory::ImportPlan) -> Self {
        use wardwatch::hospital::inventory::RowOutcome;
        let c = p.counts();
        let rows = p
            .rows
            .iter()
            .map(|r| {
                let (outcome, details) = match &r.outcome {
                    RowOutcome::New => (RowOutcomeKind::New, Vec::new()),
                    RowOutcome::Changed { fields } => {
                        (RowOutcomeKind::Changed, fields.iter().map(|f| (*f).to_owned()).collect())
                    }
                    RowOutcome::Unchanged => (RowOutcomeKind::Unchanged, Vec::new()),
                    RowOutcome::Conflict { reason } => (RowOutcomeKind::Conflict, vec![reason.clone()]),
                    RowOutcome::Invalid { errors } => (RowOutcomeKind::Invalid, errors.clone()),
                };
                ImportRowView {
                    line: r.line,
                    asset: r.asset.as_ref().map(ToString::to_string),
                    outcome,
                    details,
                }
            })
            .collect();
        Self {
            format: p.format.as_str().to_owned(),
            rows,
            counts: ImportCounts {
                new: c.new as u32,
                changed: c.changed as u32,
                unchanged: c.unchanged as u32,
                conflicting: c.conflicting as u32,
                invalid: c.invalid as u32,
            },
            new_wards: p
                .new_wards
                .iter()
                .map(|w| WardChoice { id: w.id.to_string(), name: w.name.clone() })
                .collect(),
            adopted: p
                .adopted
                .iter()
                .map(|(s, b)| AdoptionView { staged: s.to_string(), by: b.to_string() })
                .collect(),
            ignored_columns: p.ignored_columns.clone(),
            untouched: p.untouched as u32,
            report: p.report(),
        }
    }
}
