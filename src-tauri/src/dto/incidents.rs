//! Incidents as the window shows them: the list with its counts, one
//! incident with its alerts and history, people's actions, maintenance.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use wardwatch::incident::{self, Action};
use wardwatch::notify::{Decision, DecisionKind};
use wardwatch::store::{self, Incident, IncidentEvent, MaintenanceWindow};

use super::{AlertView, ClinicalUseView};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Priority with medical-alarm semantics: high is red `***`, medium yellow
/// `**`, low cyan `*`; the window shows the marker and the word, never colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    High,
    Medium,
    Low,
}

impl From<incident::Priority> for Priority {
    fn from(p: incident::Priority) -> Self {
        match p {
            incident::Priority::High => Self::High,
            incident::Priority::Medium => Self::Medium,
            incident::Priority::Low => Self::Low,
        }
    }
}

impl From<Priority> for incident::Priority {
    fn from(p: Priority) -> Self {
        match p {
            Priority::High => Self::High,
            Priority::Medium => Self::Medium,
            Priority::Low => Self::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStateView {
    Open,
    Acknowledged,
    Resolved,
}

impl From<incident::State> for IncidentStateView {
    fn from(s: incident::State) -> Self {
        match s {
            incident::State::Open => Self::Open,
            incident::State::Acknowledged => Self::Acknowledged,
            incident::State::Resolved => Self::Resolved,
        }
    }
}

impl From<IncidentStateView> for incident::State {
    fn from(s: IncidentStateView) -> Self {
        match s {
            IncidentStateView::Open => Self::Open,
            IncidentStateView::Acknowledged => Self::Acknowledged,
            IncidentStateView::Resolved => Self::Resolved,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Device,
    Address,
    Signature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fixed,
    FalsePositive,
    Benign,
    AcceptedRisk,
    Duplicate,
}

impl From<incident::Outcome> for Outcome {
    fn from(o: incident::Outcome) -> Self {
        match o {
            incident::Outcome::Fixed => Self::Fixed,
            incident::Outcome::FalsePositive => Self::FalsePositive,
            incident::Outcome::Benign => Self::Benign,
            incident::Outcome::AcceptedRisk => Self::AcceptedRisk,
            incident::Outcome::Duplicate => Self::Duplicate,
        }
    }
}

impl From<Outcome> for incident::Outcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Fixed => Self::Fixed,
            Outcome::FalsePositive => Self::FalsePositive,
            Outcome::Benign => Self::Benign,
            Outcome::AcceptedRisk => Self::AcceptedRisk,
            Outcome::Duplicate => Self::Duplicate,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceScope {
    Device,
    Ward,
}

impl From<MaintenanceScope> for store::MaintenanceScope {
    fn from(s: MaintenanceScope) -> Self {
        match s {
            MaintenanceScope::Device => Self::Device,
            MaintenanceScope::Ward => Self::Ward,
        }
    }
}

/// One factor behind a priority, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PriorityReasonView {
    /// `severity`, `criticality`, `clinical_use`, `confidence`, `score`.
    pub factor: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Notified,
    Summarised,
    Suppressed,
    /// Not evaluated yet.
    None,
}

/// What the notification policy decided for the incident, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NoticeView {
    pub kind: NoticeKind,
    pub at: Option<String>,
    pub text: String,
}

impl From<Option<&Decision>> for NoticeView {
    fn from(d: Option<&Decision>) -> Self {
        match d {
            None => Self { kind: NoticeKind::None, at: None, text: "not evaluated yet".into() },
            Some(d) => Self {
                kind: match d.kind {
                    DecisionKind::Notified => NoticeKind::Notified,
                    DecisionKind::Summarised => NoticeKind::Summarised,
                    DecisionKind::Suppressed => NoticeKind::Suppressed,
                },
                at: Some(time(d.at)),
                text: d.text.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct MuteView {
    pub until: String,
    pub reason: String,
    pub by: String,
}

/// Planned work on a device or ward: its incidents are marked, not notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceView {
    #[ts(type = "number")]
    pub id: i64,
    pub scope: MaintenanceScope,
    pub target: String,
    pub target_label: String,
    pub start: String,
    pub end: String,
    pub reason: String,
    pub created_by: String,
    /// In force now.
    pub active: bool,
    /// Ended early by a person.
    pub ended: Option<String>,
}

impl MaintenanceView {
    pub fn new(w: &MaintenanceWindow, now: DateTime<Utc>) -> Self {
        let scope = match w.scope {
            store::MaintenanceScope::Device => MaintenanceScope::Device,
            store::MaintenanceScope::Ward => MaintenanceScope::Ward,
        };
        let target_label = match scope {
            MaintenanceScope::Device => format!("device {}", w.target),
            MaintenanceScope::Ward => format!("ward {}", w.target),
        };
        Self {
            id: w.id,
            scope,
            target: w.target.clone(),
            target_label,
            start: time(w.start),
            end: time(w.end),
            reason: w.reason.clone(),
            created_by: w.created_by.clone(),
            active: w.active_at(now),
            ended: w.ended_at.map(time),
        }
    }
}

/// One incident in the list.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRow {
    #[ts(type = "number")]
    pub id: i64,
    /// `device:pump-icu-1/exploit`.
    pub key: String,
    pub subject_kind: SubjectKind,
    pub subject: String,
    pub device_id: Option<String>,
    /// "Infusion pump ICU-P1".
    pub device_label: Option<String>,
    pub ward: Option<String>,
    pub ward_name: Option<String>,
    pub condition: String,
    pub title: String,
    /// Folded from a flooding source or condition.
    pub storm: bool,
    pub priority: Priority,
    pub priority_label: String,
    /// From 0 to 1.
    pub score: f64,
    /// Every factor of the priority, in words.
    pub reasons: Vec<PriorityReasonView>,
    #[ts(type = "number")]
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub sources: Vec<String>,
    pub state: IncidentStateView,
    pub state_label: String,
    pub owner: Option<String>,
    pub assignee: Option<String>,
    /// While muted.
    pub muted: Option<MuteView>,
    /// While silenced.
    pub silenced_until: Option<String>,
    /// The maintenance window it is in now.
    pub maintenance: Option<MaintenanceView>,
    pub notice: NoticeView,
    pub reopened: u32,
    pub outcome: Option<Outcome>,
}

/// `s` with its first letter upper-case.
pub(crate) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl IncidentRow {
    pub fn new(i: &Incident, wards: &std::collections::HashMap<String, String>, now: DateTime<Utc>) -> Self {
        let r = &i.record;
        let ward = i.ward.as_ref().map(|w| w.as_str().to_owned());
        Self {
            id: r.id,
            key: r.key.clone(),
            subject_kind: match r.subject_kind {
                incident::SubjectKind::Device => SubjectKind::Device,
                incident::SubjectKind::Address => SubjectKind::Address,
                incident::SubjectKind::Signature => SubjectKind::Signature,
            },
            subject: r.subject.clone(),
            device_id: r.device.as_ref().map(|d| d.as_str().to_owned()),
            device_label: i.device.as_ref().map(|_| i.subject_label()),
            ward_name: ward.as_ref().map(|w| wards.get(w).cloned().unwrap_or_else(|| w.clone())),
            ward,
            condition: r.condition.clone(),
            title: r.title.clone(),
            storm: r.storm,
            priority: i.assessed.priority.into(),
            priority_label: capitalised(i.assessed.priority.label()),
            score: (i.assessed.score * 1000.0).round() / 1000.0,
            reasons: i
                .assessed
                .reasons
                .iter()
                .map(|x| PriorityReasonView { factor: x.factor.to_owned(), text: x.text.clone() })
                .collect(),
            count: r.count,
            first_seen: time(r.first_seen),
            last_seen: time(r.last_seen),
            sources: r.sources.clone(),
            state: r.state.into(),
            state_label: capitalised(r.state.as_str()),
            owner: r.owner.clone(),
            assignee: r.assignee.clone(),
            muted: r.mute.as_ref().filter(|_| r.muted_at(now)).map(|m| MuteView {
                until: time(m.until),
                reason: m.reason.clone(),
                by: m.by.clone(),
            }),
            silenced_until: r.silenced_until.filter(|_| r.silenced_at(now)).map(time),
            maintenance: i.maintenance.as_ref().map(|w| MaintenanceView::new(w, now)),
            notice: r.notice.as_ref().into(),
            reopened: r.reopened,
            outcome: r.outcome.map(Outcome::from),
        }
    }
}

/// How many incidents there are, whatever the filter: by state, and the
/// unresolved ones by priority.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct IncidentCounts {
    pub open: u32,
    pub acknowledged: u32,
    pub resolved: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl IncidentCounts {
    pub fn of(all: &[Incident]) -> Self {
        let mut c = Self::default();
        for i in all {
            match i.record.state {
                incident::State::Open => c.open += 1,
                incident::State::Acknowledged => c.acknowledged += 1,
                incident::State::Resolved => {
                    c.resolved += 1;
                    continue;
                }
            }
            match i.assessed.priority {
                incident::Priority::High => c.high += 1,
                incident::Priority::Medium => c.medium += 1,
                incident::Priority::Low => c.low += 1,
            }
        }
        c
    }
}

/// The incident list: highest priority first, then the most recent.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct IncidentList {
    pub incidents: Vec<IncidentRow>,
    pub counts: IncidentCounts,
}

/// Which incidents to list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncidentFilter {
    pub ward: Option<String>,
    pub priority: Option<Priority>,
    pub state: Option<IncidentStateView>,
    /// Only those not resolved.
    pub open_only: bool,
}

impl From<IncidentFilter> for store::IncidentFilter {
    fn from(f: IncidentFilter) -> Self {
        Self {
            ward: f.ward.filter(|w| !w.trim().is_empty()).map(wardwatch::hospital::WardId),
            priority: f.priority.map(Into::into),
            state: f.state.map(Into::into),
            open_only: f.open_only,
        }
    }
}

/// One change in an incident's history: who, when, what, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncidentEventView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub action_label: String,
    pub text: Option<String>,
    pub reason: Option<String>,
}

impl From<&IncidentEvent> for IncidentEventView {
    fn from(e: &IncidentEvent) -> Self {
        Self {
            at: time(e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            action_label: capitalised(&e.action),
            text: Some(e.text.clone()).filter(|t| !t.is_empty()),
            reason: e.reason.clone(),
        }
    }
}

/// One incident with its contributing alerts, history and device context.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDetail {
    pub incident: IncidentRow,
    /// Newest first.
    pub alerts: Vec<AlertView>,
    /// Oldest first.
    pub history: Vec<IncidentEventView>,
    pub clinical_use: Option<ClinicalUseView>,
    pub kind_label: Option<String>,
    pub tier_label: Option<String>,
    pub room: Option<String>,
    pub bed: Option<String>,
}

impl IncidentDetail {
    pub fn new(
        d: &wardwatch::console::IncidentDetail,
        wards: &std::collections::HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Self {
        let device = d.incident.device.as_ref();
        Self {
            incident: IncidentRow::new(&d.incident, wards, now),
            alerts: d.alerts.iter().map(AlertView::from).collect(),
            history: d.history.iter().map(IncidentEventView::from).collect(),
            clinical_use: device.map(|s| ClinicalUseView::from(&s.clinical_use)),
            kind_label: device.map(|s| s.device.kind.label().to_owned()),
            tier_label: device.map(|s| s.device.criticality.tier.label().to_owned()),
            room: device.and_then(|s| s.device.location.room.clone()),
            bed: device.and_then(|s| s.device.location.bed.clone()),
        }
    }
}

/// A person's work on an incident, as the window sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum IncidentAction {
    Acknowledge,
    Assign {
        to: String,
        reason: String,
    },
    Comment {
        text: String,
    },
    Silence {
        minutes: u32,
    },
    /// `until`: RFC 3339, at most 7 days ahead.
    Mute {
        until: String,
        reason: String,
    },
    Unmute {
        reason: String,
    },
    Resolve {
        outcome: Outcome,
        reason: String,
    },
    Reopen {
        reason: String,
    },
}

impl IncidentAction {
    /// The core's action; a mute's expiry must be a time.
    pub fn into_action(self) -> Result<Action, crate::error::IpcError> {
        Ok(match self {
            Self::Acknowledge => Action::Acknowledge,
            Self::Assign { to, reason } => Action::Assign { to, reason },
            Self::Comment { text } => Action::Comment { text },
            Self::Silence { minutes } => Action::Silence { minutes },
            Self::Mute { until, reason } => {
                let until = DateTime::parse_from_rfc3339(until.trim())
                    .map_err(|e| {
                        crate::error::IpcError::new(
                            "incident.mute_expiry",
                            format!("the mute's expiry {until:?} is not a time: {e}"),
                        )
                    })?
                    .with_timezone(&Utc);
                Action::Mute { until, reason }
            }
            Self::Unmute { reason } => Action::Unmute { reason },
            Self::Resolve { outcome, reason } => Action::Resolve { outcome: outcome.into(), reason },
            Self::Reopen { reason } => Action::Reopen { reason },
        })
    }
}
