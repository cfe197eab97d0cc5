//! Incidents in the store: how the writer folds each alert into one, and
//! what people read and do with them.
//!
//! An incident is one row per *subject* and *condition* for ever: a device
//! (confirmed or staged) and what it does or suffers; an address nobody
//! knows and its condition; or, for a storm, the flooding source (condition
//! `storm`) or the flooding condition itself (subject kind `signature`). A
//! new alert for a subject and condition counts into its row. When the row
//! is resolved, or has been quiet for longer than the rule file's
//! recurrence window, the alert *reopens* it (state open, owner and outcome
//! cleared, `reopened` counted, an `incident.recurred` audit record) rather
//! than creating a second one.
//!
//! Priority is not stored: it depends on the device's clinical use now, so
//! [`Store::incidents`] computes it from the hospital view at each read.
//!
//! People's work ([`Store::act_on_incident`]) and maintenance windows are
//! written with their audit record in one transaction, and each change of
//! an incident is also a row of its history (`incident_events`).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::hospital::{sqlite, HospitalView, Role, ViewRules};
use super::{micros, Store, StoreError};
use crate::audit::{kind, Entry};
use crate::hospital::{AssetId, DeviceState, UseState, WardId};
use crate::incident::{
    assess, condition, Action, ActionError, Assessed, Inputs, Outcome, Rules, State, Storms, SubjectKind,
    Verdict,
};
use crate::model::{Alert, AlertId, Severity};
use crate::notify::Decision;

/// The longest a maintenance window may last.
pub const MAX_MAINTENANCE: Duration = Duration::days(7);

/// What the writer needs to fold alerts: the rules, the storm detector's
/// memory, and the incidents changed since the console last asked.
#[derive(Debug)]
pub(super) struct Folding {
    rules: Rules,
    storms: Storms,
    touched: BTreeSet<i64>,
    /// The incidents the current batch touched, by key.
    cache: HashMap<(SubjectKind, String, String), Cached>,
}

impl Folding {
    pub(super) fn new(rules: Rules) -> Self {
        Self { storms: Storms::new(rules.storm), rules, touched: BTreeSet::new(), cache: HashMap::new() }
    }
}

/// An incident as the batch knows it.
#[derive(Debug)]
struct Cached {
    id: i64,
    resolved: bool,
    last_us: i64,
    sources: Vec<String>,
    reopened: i64,
    pending: Option<Pending>,
}

/// What the batch adds to an incident, written by [`flush`].
#[derive(Debug, Default)]
struct Pending {
    count: i64,
    severity: u8,
    last_us: i64,
    last_alert: i64,
    sources_changed: bool,
}

/// The source an alert came from, as an incident lists it: the product,
/// else the vendor, else the format (`Suricata`, `CyberMDX`, `cef`).
fn source_label(a: &Alert) -> String {
    a.product
        .as_deref()
        .or(a.vendor.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(|| a.format.as_str().to_owned(), str::to_owned)
}

struct Subject {
    kind: SubjectKind,
    subject: String,
    device: Option<AssetId>,
    condition: String,
    title: String,
    storm: bool,
}

/// Where `a` folds: a flooding source's storm incident, a flooding
/// condition's, or each of its devices' (else its address's) incident for
/// its condition.
fn subjects(folding: &mut Folding, devices: &[(AssetId, Role)], a: &Alert) -> Vec<Subject> {
    let cond = condition::of(a, &folding.rules.conditions);
    match folding.storms.observe(a.src_ip, &cond.key, a.received_at) {
        Verdict::Source(ip) => {
            let device = devices.iter().find(|(_, r)| *r != Role::Target).map(|(d, _)| d.clone());
            let (kind, subject) = match &device {
                Some(d) => (SubjectKind::Device, d.as_str().to_owned()),
                None => (SubjectKind::Address, ip.to_string()),
            };
            let title =
                format!("Alert storm from {}", device.as_ref().map_or(ip.to_string(), |d| d.to_string()));
            vec![Subject { kind, subject, device, condition: condition::STORM.into(), title, storm: true }]
        }
        Verdict::Signature(key) => vec![Subject {
            kind: SubjectKind::Signature,
            subject: key,
            device: None,
            condition: condition::STORM.into(),
            title: format!("Alert storm: {}", cond.title),
            storm: true,
        }],
        Verdict::Calm if !devices.is_empty() => devices
            .iter()
            .map(|(d, _)| Subject {
                kind: SubjectKind::Device,
                subject: d.as_str().to_owned(),
                device: Some(d.clone()),
                condition: cond.key.clone(),
                title: cond.title.clone(),
                storm: false,
            })
            .collect(),
        Verdict::Calm => {
            // No address in the alert (plain syslog): the host that sent it.
            let subject = a
                .src_ip
                .or(a.dst_ip)
                .map(|ip| ip.to_string())
                .or_else(|| a.hostname.clone().filter(|h| !h.trim().is_empty()))
                .or_else(|| a.source_addr.map(|s| s.ip().to_string()))
                .unwrap_or_else(|| "unknown sender".to_owned());
            vec![Subject {
                kind: SubjectKind::Address,
                subject,
                device: None,
                condition: cond.key,
                title: cond.title,
                storm: false,
            }]
        }
    }
}

/// The audit body of an incident recurring (its opening is in its history:
/// the alert that opened it is in the audit log already).
#[derive(Serialize)]
struct Opened<'a> {
    incident: i64,
    key: String,
    title: &'a str,
    alert: i64,
    reopened: i64,
}

/// Folds stored alert `alert_id` into its incidents (see the module
/// docs); the audit records it owes. Counts, times and sources are kept in
/// memory for the batch and written once by [`flush`]: a storm costs one
/// row per alert (its link), not three statements.
pub(super) fn fold_alert(
    tx: &Transaction<'_>,
    folding: &mut Folding,
    devices: &[(AssetId, Role)],
    a: &Alert,
    alert_id: i64,
) -> Result<Vec<Entry>, StoreError> {
    let at_us = a.received_at.timestamp_micros();
    let recurrence = folding.rules.recurrence().num_microseconds().unwrap_or(i64::MAX);
    let label = source_label(a);
    let mut entries = Vec::new();
    for s in subjects(folding, devices, a) {
        let key = (s.kind, s.subject.clone(), s.condition.clone());
        if !folding.cache.contains_key(&key) {
            let found: Option<(i64, String, i64, String, i64)> = tx
                .prepare_cached(
                    "SELECT id, state, last_us, sources, reopened FROM incidents
                     WHERE subject_kind = ?1 AND subject = ?2 AND condition = ?3",
                )
                .and_then(|mut st| {
                    st.query_row(params![s.kind.as_str(), s.subject, s.condition], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()
                })
                .map_err(|e| sqlite(tx, e))?;
            let cached = match found {
                Some((id, state, last_us, sources, reopened)) => Cached {
                    id,
                    resolved: state == State::Resolved.as_str(),
                    last_us,
                    sources: serde_json::from_str(&sources).unwrap_or_default(),
                    reopened,
                    pending: None,
                },
                None => {
                    let sources = serde_json::to_string(&[&label]).unwrap_or_else(|_| "[]".into());
                    tx.prepare_cached(
                        "INSERT INTO incidents (subject_kind, subject, device_id, condition, title, storm, severity,
                            count, first_us, last_us, first_alert, last_alert, sources)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8, ?9, ?9, ?10)",
                    )
                    .and_then(|mut st| {
                        st.execute(params![
                            s.kind.as_str(),
                            s.subject,
                            s.device.as_ref().map(AssetId::as_str),
                            s.condition,
                            s.title,
                            s.storm,
                            a.severity.value(),
                            at_us,
                            alert_id,
                            sources,
                        ])
                    })
                    .map_err(|e| sqlite(tx, e))?;
                    let id = tx.last_insert_rowid();
                    event(tx, id, at_us, "console", "opened", &format!("opened by {label}"), None)?;
                    Cached {
                        id,
                        resolved: false,
                        last_us: at_us,
                        sources: vec![label.clone()],
                        reopened: 0,
                        pending: None,
                    }
                }
            };
            folding.cache.insert(key.clone(), cached);
        }
        let Some(c) = folding.cache.get_mut(&key) else { continue };
        if c.resolved || at_us.saturating_sub(c.last_us) > recurrence {
            tx.prepare_cached(
                "UPDATE incidents SET state = 'open', owner = NULL, outcome = NULL, notice = NULL,
                    reopened = reopened + 1 WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![c.id]))
            .map_err(|e| sqlite(tx, e))?;
            c.reopened += 1;
            let body = Opened {
                incident: c.id,
                key: incident_key(s.kind, &s.subject, &s.condition),
                title: &s.title,
                alert: alert_id,
                reopened: c.reopened,
            };
            entries.push(Entry::new(a.received_at, "console", kind::INCIDENT_RECURRED, &body)?);
            let why =
                if c.resolved { "came back after it was resolved" } else { "came back after a quiet period" };
            event(tx, c.id, at_us, "console", "recurred", &format!("{why} ({label})"), None)?;
            c.resolved = false;
        }
        let p = c.pending.get_or_insert_with(Pending::default);
        p.count += 1;
        p.severity = p.severity.max(a.severity.value());
        p.last_us = p.last_us.max(at_us);
        p.last_alert = alert_id;
        c.last_us = c.last_us.max(at_us);
        if !c.sources.contains(&label) {
            c.sources.push(label.clone());
            p.sources_changed = true;
        }
        tx.prepare_cached("INSERT OR IGNORE INTO incident_alerts (incident_id, alert_id) VALUES (?1, ?2)")
            .and_then(|mut st| st.execute(params![c.id, alert_id]))
            .map_err(|e| sqlite(tx, e))?;
        folding.touched.insert(c.id);
    }
    Ok(entries)
}

/// Starts a batch: what was cached of the incidents may have changed since
/// (people's work through other connections).
pub(super) fn begin(folding: &mut Folding) {
    folding.cache.clear();
}

/// Writes the batch's counts, times and sources, before its commit.
pub(super) fn flush(tx: &Transaction<'_>, folding: &mut Folding) -> Result<(), StoreError> {
    for c in folding.cache.values_mut() {
        let Some(p) = c.pending.take() else { continue };
        let sources =
            p.sources_changed.then(|| serde_json::to_string(&c.sources).unwrap_or_else(|_| "[]".into()));
        tx.prepare_cached(
            "UPDATE incidents SET count = count + ?2, severity = MAX(severity, ?3), last_us = MAX(last_us, ?4),
                last_alert = ?5, sources = COALESCE(?6, sources) WHERE id = ?1",
        )
        .and_then(|mut st| st.execute(params![c.id, p.count, p.severity, p.last_us, p.last_alert, sources]))
        .map_err(|e| sqlite(tx, e))?;
    }
    Ok(())
}

fn event(
    tx: &Transaction<'_>,
    incident: i64,
    at_us: i64,
    actor: &str,
    action: &str,
    text: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO incident_events (incident_id, at_us, actor, action, text, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut st| st.execute(params![incident, at_us, actor, action, text, reason]))
    .map_err(|e| sqlite(tx, e))?;
    Ok(())
}

/// An incident's stable key for people and scripts: `device:pump-icu-1/exploit`.
pub fn incident_key(kind: SubjectKind, subject: &str, condition: &str) -> String {
    format!("{}:{subject}/{condition}", kind.as_str())
}

/// A mute: until when, why, by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mute {
    pub until: DateTime<Utc>,
    pub reason: String,
    pub by: String,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub key: String,
    pub subject_kind: SubjectKind,
    pub subject: String,
    pub device: Option<AssetId>,
    pub condition: String,
    pub title: String,
    pub storm: bool,
    /// The worst alert's.
    pub severity: Severity,
    pub count: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub last_alert: Option<AlertId>,
    /// Who reported it (products, else vendors, else formats), first first.
    pub sources: Vec<String>,
    pub state: State,
    /// Who acknowledged it.
    pub owner: Option<String>,
    pub assignee: Option<String>,
    pub mute: Option<Mute>,
    pub silenced_until: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub reopened: u32,
    /// What the notification policy last decided.
    pub notice: Option<Decision>,
}

impl IncidentRecord {
    pub fn muted_at(&self, now: DateTime<Utc>) -> bool {
        self.mute.as_ref().is_some_and(|m| m.until > now)
    }

    pub fn silenced_at(&self, now: DateTime<Utc>) -> bool {
        self.silenced_until.is_some_and(|t| t > now)
    }
}

const RECORD_COLUMNS: &str = "id, subject_kind, subject, device_id, condition, title, storm, severity, count,
    first_us, last_us, last_alert, sources, state, owner, assignee, muted_until_us, mute_reason, muted_by,
    silenced_until_us, outcome, reopened, notice";

fn record_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<IncidentRecord, String>> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(1)?;
    let subject: String = r.get(2)?;
    let condition: String = r.get(4)?;
    let state: String = r.get(13)?;
    let (first, last): (i64, i64) = (r.get(9)?, r.get(10)?);
    let muted_until: Option<i64> = r.get(16)?;
    let mute = match (muted_until.and_then(micros), r.get::<_, Option<String>>(17)?) {
        (Some(until), Some(reason)) => {
            Some(Mute { until, reason, by: r.get::<_, Option<String>>(18)?.unwrap_or_default() })
        }
        _ => None,
    };
    let Some(subject_kind) = SubjectKind::parse(&kind) else {
        return Ok(Err(format!("subject kind {kind}")));
    };
    let Some(state) = State::parse(&state) else { return Ok(Err(format!("state {state}"))) };
    let (Some(first_seen), Some(last_seen)) = (micros(first), micros(last)) else {
        return Ok(Err("time out of range".into()));
    };
    Ok(Ok(IncidentRecord {
        id,
        key: incident_key(subject_kind, &subject, &condition),
        subject_kind,
        subject,
        device: r.get::<_, Option<String>>(3)?.map(AssetId),
        condition,
        title: r.get(5)?,
        storm: r.get(6)?,
        severity: Severity::clamped(r.get(7)?),
        count: r.get::<_, i64>(8)?.max(0) as u64,
        first_seen,
        last_seen,
        last_alert: r.get::<_, Option<i64>>(11)?.map(AlertId),
        sources: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
        state,
        owner: r.get(14)?,
        assignee: r.get(15)?,
        mute,
        silenced_until: r.get::<_, Option<i64>>(19)?.and_then(micros),
        outcome: r.get::<_, Option<String>>(20)?.as_deref().and_then(Outcome::parse),
        reopened: r.get::<_, i64>(21)?.clamp(0, i64::from(u32::MAX)) as u32,
        notice: r.get::<_, Option<String>>(22)?.and_then(|s| serde_json::from_str(&s).ok()),
    }))
}

/// A maintenance window's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceScope {
    Device,
    Ward,
}

impl MaintenanceScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Ward => "ward",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Device, Self::Ward].into_iter().find(|x| x.as_str() == s.trim())
    }
}

/// Planned work on a device or a whole ward (a firmware update): its
/// incidents are marked, not notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenanceWindow {
    pub id: i64,
    pub scope: MaintenanceScope,
    /// The device or ward id.
    pub target: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Ended early by a person.
    pub ended_at: Option<DateTime<Utc>>,
}

impl MaintenanceWindow {
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && now < self.end && self.ended_at.is_none_or(|e| now < e)
    }

    /// Whether it covers `device` in `ward`.
    pub fn covers(&self, device: Option<&AssetId>, ward: Option<&WardId>) -> bool {
        match self.scope {
            MaintenanceScope::Device => device.is_some_and(|d| d.as_str() == self.target),
            MaintenanceScope::Ward => ward.is_some_and(|w| w.as_str() == self.target),
        }
    }
}

/// Which incidents to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    pub ward: Option<WardId>,
    pub priority: Option<crate::incident::Priority>,
    pub state: Option<State>,
    /// Only those not resolved.
    pub open_only: bool,
}

impl IncidentFilter {
    /// Whether `i` is one this filter selects.
    pub fn matches(&self, i: &Incident) -> bool {
        self.state.is_none_or(|s| i.record.state == s)
            && (!self.open_only || i.record.state != State::Resolved)
            && self.ward.as_ref().is_none_or(|w| i.ward.as_ref() == Some(w))
            && self.priority.is_none_or(|p| i.assessed.priority == p)
    }
}

/// An incident with what the console knows around it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    #[serde(flatten)]
    pub record: IncidentRecord,
    pub ward: Option<WardId>,
    /// Priority now, with its reasons.
    #[serde(skip)]
    pub assessed: Assessed,
    /// The device's state, when the incident is about one.
    #[serde(skip)]
    pub device: Option<DeviceState>,
    /// The active maintenance window covering it.
    pub maintenance: Option<MaintenanceWindow>,
}

impl Incident {
    /// What it is about, for people: "Infusion pump STE-00026", "203.0.113.9".
    pub fn subject_label(&self) -> String {
        match (&self.device, self.record.subject_kind) {
            (Some(d), _) => format!("{} {}", d.device.kind.label(), d.device.id.as_str()),
            (None, SubjectKind::Signature) => format!("many sources ({})", self.record.subject),
            (None, _) => self.record.subject.clone(),
        }
    }

    /// The subject as it follows the title: "on Infusion pump STE-00026",
    /// "from 203.0.113.9".
    pub fn subject_phrase(&self) -> String {
        match (&self.device, self.record.subject_kind) {
            (Some(_), _) | (None, SubjectKind::Device) => format!("on {}", self.subject_label()),
            (None, SubjectKind::Address) => format!("from {}", self.record.subject),
            (None, SubjectKind::Signature) => format!("from {}", self.subject_label()),
        }
    }
}

/// See [`Store::notifier_changes`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifierChanges {
    pub incidents: Vec<i64>,
    pub all_open: bool,
    /// The newest history row: where to look from next time.
    pub last_event: i64,
}

/// One change in an incident's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `opened`, `recurred`, `acknowledged`, `muted`, ...
    pub action: String,
    pub text: String,
    pub reason: Option<String>,
}

/// Priority of `record` given its device's state now.
pub fn assess_incident(
    record: &IncidentRecord,
    device: Option<&DeviceState>,
    rules: &crate::incident::rules::PriorityRules,
) -> Assessed {
    let use_state: Option<UseState> = device.map(|d| d.clinical_use.state);
    assess(
        &Inputs {
            severity: record.severity,
            criticality: device.map(|d| d.device.criticality.tier),
            use_state,
            sources: record.sources.len(),
            known_exploited: device.and_then(|d| {
                d.device.vulnerabilities.iter().find(|v| v.known_exploited).map(|v| v.cve.clone())
            }),
        },
        rules,
    )
}

impl Store {
    /// Replaces the incident rules the writer folds with (the storm
    /// detector starts afresh).
    pub fn set_incident_rules(&mut self, rules: Rules) {
        self.folding = Folding::new(rules);
    }

    pub fn incident_rules(&self) -> &Rules {
        &self.folding.rules
    }

    /// The incidents changed by alerts since the last call, by id.
    pub fn take_touched_incidents(&mut self) -> Vec<i64> {
        std::mem::take(&mut self.folding.touched).into_iter().collect()
    }

    fn records(
        &self,
        sql_where: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM incidents {sql_where}");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map(args, record_of).map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            match row.map_err(|e| self.wrap(e))? {
                Ok(r) => out.push(r),
                Err(reason) => {
                    return Err(StoreError::Corrupt { id: 0, reason: format!("incident: {reason}") })
                }
            }
        }
        Ok(out)
    }

    /// One incident as stored.
    pub fn incident_record(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        Ok(self.records("WHERE id = ?1", &[&id])?.pop())
    }

    /// The incidents `filter` selects, with priority and context at `now`,
    /// highest priority first, then the most recent.
    pub fn incidents(
        &self,
        filter: &IncidentFilter,
        now: DateTime<Utc>,
        view_rules: &ViewRules,
    ) -> Result<Vec<Incident>, StoreError> {
        let records = match (filter.state, filter.open_only) {
            (Some(s), _) => self.records("WHERE state = ?1", &[&s.as_str()])?,
            (None, true) => self.records("WHERE state != 'resolved'", &[])?,
            (None, false) => self.records("", &[])?,
        };
        let view = self.hospital_view(now, view_rules)?;
        let windows = self.maintenance_windows(now, false)?;
        let mut out = self.dress(records, &view, &windows, now);
        out.retain(|i| filter.matches(i));
        out.sort_by(|a, b| {
            b.assessed.priority.cmp(&a.assessed.priority).then(b.record.last_seen.cmp(&a.record.last_seen))
        });
        Ok(out)
    }

    /// The incidents with ids `ids`, dressed as [`Store::incidents`] does.
    pub fn incidents_by_id(
        &self,
        ids: &[i64],
        now: DateTime<Utc>,
        view_rules: &ViewRules,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(self.incident_record(*id)?);
        }
        let view = self.hospital_view(now, view_rules)?;
        let windows = self.maintenance_windows(now, false)?;
        Ok(self.dress(records, &view, &windows, now))
    }

    /// [`Store::incidents_by_id`] against a hospital view the caller holds
    /// (the notifier keeps one for a second); `None` when an incident's
    /// device is not in it (new since), so the caller reads a fresh one.
    pub fn incidents_by_id_in(
        &self,
        ids: &[i64],
        now: DateTime<Utc>,
        view: &HospitalView,
    ) -> Result<Option<Vec<Incident>>, StoreError> {
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(self.incident_record(*id)?);
        }
        let known = |d: &AssetId| view.devices.iter().any(|s| &s.device.id == d);
        if records.iter().any(|r| r.device.as_ref().is_some_and(|d| !known(d))) {
            return Ok(None);
        }
        let windows = self.maintenance_windows(now, false)?;
        Ok(Some(self.dress(records, view, &windows, now)))
    }

    fn dress(
        &self,
        records: Vec<IncidentRecord>,
        view: &HospitalView,
        windows: &[MaintenanceWindow],
        now: DateTime<Utc>,
    ) -> Vec<Incident> {
        let devices: HashMap<&str, &DeviceState> =
            view.devices.iter().map(|d| (d.device.id.as_str(), d)).collect();
        records
            .into_iter()
            .map(|record| {
                let device =
                    record.device.as_ref().and_then(|d| devices.get(d.as_str())).map(|d| (*d).clone());
                let ward = device.as_ref().and_then(|d| d.device.location.ward.clone());
                let assessed = assess_incident(&record, device.as_ref(), &self.folding.rules.priority);
                let maintenance = windows
                    .iter()
                    .find(|w| w.active_at(now) && w.covers(record.device.as_ref(), ward.as_ref()))
                    .cloned();
                Incident { record, ward, assessed, device, maintenance }
            })
            .collect()
    }

    /// The newest `limit` alerts folded into incident `id`.
    pub fn incident_alerts(&self, id: i64, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT alert_id FROM incident_alerts WHERE incident_id = ?1 ORDER BY alert_id DESC LIMIT ?2",
                )
                .map_err(|e| self.wrap(e))?;
            let rows = stmt.query_map(params![id, limit as i64], |r| r.get(0)).map_err(|e| self.wrap(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.wrap(e))?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.alert(AlertId(id))?);
        }
        Ok(out)
    }

    /// Who did what to incident `id`, oldest first.
    pub fn incident_history(&self, id: i64) -> Result<Vec<IncidentEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at_us, actor, action, text, reason FROM incident_events WHERE incident_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (at, actor, action, text, reason) = row.map_err(|e| self.wrap(e))?;
            let Some(at) = micros(at) else { continue };
            out.push(IncidentEvent { at, actor, action, text, reason });
        }
        Ok(out)
    }

    /// A person's `action` on incident `id` at `now`, with its history row
    /// and audit record in one transaction. Refused when the action is
    /// incomplete (a mute without reason or expiry) or does not fit the
    /// incident's state (acknowledging a resolved one).
    pub fn act_on_incident(
        &mut self,
        id: i64,
        action: &Action,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<IncidentRecord, StoreError> {
        action.check(now)?;
        let current = self.incident_record(id)?.ok_or(ActionError::Unknown(id))?;
        let wrong = |what: &'static str| ActionError::WrongState { id, state: current.state.as_str(), what };
        let resolved = current.state == State::Resolved;
        let now_us = now.timestamp_micros();
        let (sql, text, reason): (&str, String, Option<&str>) = match action {
            Action::Acknowledge if current.state != State::Open => return Err(wrong("only an open incident is acknowledged").into()),
            Action::Acknowledge => (
                "UPDATE incidents SET state = 'acknowledged', owner = ?2 WHERE id = ?1",
                format!("acknowledged by {actor}"),
                None,
            ),
            Action::Assign { .. } | Action::Silence { .. } | Action::Mute { .. } if resolved => {
                return Err(wrong("reopen it first").into())
            }
            Action::Assign { to, reason } => {
                ("UPDATE incidents SET assignee = ?3 WHERE id = ?1", format!("assigned to {}", to.trim()), Some(reason))
            }
            Action::Comment { text } => ("SELECT ?1", text.trim().to_owned(), None),
            Action::Silence { minutes } => (
                "UPDATE incidents SET silenced_until_us = ?4 WHERE id = ?1",
                format!("notifications silenced for {minutes} min"),
                None,
            ),
            Action::Mute { until, reason } => (
                "UPDATE incidents SET muted_until_us = ?5, mute_reason = ?6, muted_by = ?2 WHERE id = ?1",
                format!("muted until {}", until.format("%Y-%m-%d %H:%M UTC")),
                Some(reason),
            ),
            Action::Unmute { .. } if !current.muted_at(now) && !current.silenced_at(now) => {
                return Err(wrong("it is not muted").into())
            }
            Action::Unmute { reason } => (
                "UPDATE incidents SET muted_until_us = NULL, mute_reason = NULL, muted_by = NULL,
                    silenced_until_us = NULL WHERE id = ?1",
                "unmuted".to_owned(),
                Some(reason),
            ),
            Action::Resolve { .. } if resolved => return Err(wrong("it is already resolved").into()),
            Action::Resolve { outcome, reason } => (
                "UPDATE incidents SET state = 'resolved', outcome = ?7, silenced_until_us = NULL WHERE id = ?1",
                format!("resolved: {}", outcome.label()),
                Some(reason),
            ),
            Action::Reopen { .. } if !resolved => return Err(wrong("only a resolved incident is reopened").into()),
            Action::Reopen { reason } => (
                "UPDATE incidents SET state = 'open', outcome = NULL, owner = NULL, reopened = reopened + 1
                 WHERE id = ?1",
                "reopened".to_owned(),
                Some(reason),
            ),
        };
        let (assignee, silenced, muted_until, mute_reason, outcome) = match action {
            Action::Assign { to, .. } => (Some(to.trim().to_owned()), None, None, None, None),
            Action::Silence { minutes } => {
                (None, Some(now_us + i64::from(*minutes) * 60_000_000), None, None, None)
            }
            Action::Mute { until, reason } => {
                (None, None, Some(until.timestamp_micros()), Some(reason.trim().to_owned()), None)
            }
            Action::Resolve { outcome, .. } => (None, None, None, None, Some(outcome.as_str())),
            _ => (None, None, None, None, None),
        };
        #[derive(Serialize)]
        struct Body<'a> {
            incident: i64,
            key: &'a str,
            #[serde(flatten)]
            action: &'a Action,
        }
        let entry = Entry::new(now, actor, action.kind(), &Body { incident: id, key: &current.key, action })?;
        let verb = action.kind().trim_start_matches("incident.");
        let reason = reason.map(str::trim);
        self.change(vec![entry], |tx| {
            if !sql.starts_with("SELECT") {
                // Each statement uses some of the parameters, by number.
                let values: [&dyn rusqlite::ToSql; 7] =
                    [&id, &actor, &assignee, &silenced, &muted_until, &mute_reason, &outcome];
                let mut stmt = tx.prepare(sql).map_err(|e| sqlite(tx, e))?;
                for (i, v) in values.iter().enumerate().take(stmt.parameter_count()) {
                    stmt.raw_bind_parameter(i + 1, v).map_err(|e| sqlite(tx, e))?;
                }
                stmt.raw_execute().map_err(|e| sqlite(tx, e))?;
            }
            event(tx, id, now_us, actor, verb, &text, reason)
        })?;
        self.incident_record(id)?.ok_or_else(|| ActionError::Unknown(id).into())
    }

    /// What changed for the notifier since it last looked, wherever it was
    /// done (the window, the CLI beside a running console): the incidents
    /// people worked on after history row `after_event`, those whose mute or
    /// silence ended in (`since`, `now`], and whether a maintenance window
    /// started, ended or was added (every open incident then needs a look).
    pub fn notifier_changes(
        &self,
        after_event: i64,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<NotifierChanges, StoreError> {
        let (since_us, now_us) = (since.timestamp_micros(), now.timestamp_micros());
        let q = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<i64>, StoreError> {
            let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.wrap(e))?;
            let rows = stmt.query_map(args, |r| r.get(0)).map_err(|e| self.wrap(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.wrap(e))
        };
        let mut incidents = q(
            "SELECT DISTINCT incident_id FROM incident_events WHERE id > ?1 AND actor != 'console'",
            &[&after_event],
        )?;
        incidents.extend(q(
            "SELECT id FROM incidents WHERE (muted_until_us > ?1 AND muted_until_us <= ?2)
                OR (silenced_until_us > ?1 AND silenced_until_us <= ?2)",
            &[&since_us, &now_us],
        )?);
        incidents.sort_unstable();
        incidents.dedup();
        let last_event = q("SELECT COALESCE(MAX(id), 0) FROM incident_events", &[])?.pop().unwrap_or(0);
        let maintenance = q(
            "SELECT COUNT(*) FROM maintenance_windows WHERE created_us > ?1
                OR (start_us > ?1 AND start_us <= ?2) OR (end_us > ?1 AND end_us <= ?2)
                OR (ended_us > ?1 AND ended_us <= ?2)",
            &[&since_us, &now_us],
        )?
        .pop()
        .unwrap_or(0);
        Ok(NotifierChanges { incidents, all_open: maintenance > 0, last_event: last_event.max(after_event) })
    }

    /// Records what the notification policy decided for each incident.
    /// Not audited: a sent notification is (`notification.sent`).
    pub fn set_notices(&mut self, notices: &[(i64, Decision)]) -> Result<(), StoreError> {
        let tx =
            self.conn.transaction().map_err(|e| StoreError::Sqlite { path: self.path.clone(), source: e })?;
        for (id, n) in notices {
            let doc = serde_json::to_string(n).map_err(crate::audit::AuditError::from)?;
            tx.execute("UPDATE incidents SET notice = ?2 WHERE id = ?1", params![id, doc])
                .map_err(|e| sqlite(&tx, e))?;
        }
        tx.commit().map_err(|e| self.wrap(e))
    }

    /// Maintenance windows: those not over at `now`, or every one with `all`.
    pub fn maintenance_windows(
        &self,
        now: DateTime<Utc>,
        all: bool,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let sql = if all {
            "SELECT id, scope, target, start_us, end_us, reason, created_by, created_us, ended_us
             FROM maintenance_windows WHERE ?1 = ?1 ORDER BY start_us DESC"
        } else {
            "SELECT id, scope, target, start_us, end_us, reason, created_by, created_us, ended_us
             FROM maintenance_windows WHERE end_us > ?1 AND (ended_us IS NULL OR ended_us > ?1) ORDER BY start_us"
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([now.timestamp_micros()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<i64>>(8)?,
                ))
            })
            .map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, scope, target, start, end, reason, created_by, created, ended) =
                row.map_err(|e| self.wrap(e))?;
            let (Some(scope), Some(start), Some(end), Some(created_at)) =
                (MaintenanceScope::parse(&scope), micros(start), micros(end), micros(created))
            else {
                return Err(StoreError::Corrupt { id, reason: "maintenance window".into() });
            };
            out.push(MaintenanceWindow {
                id,
                scope,
                target,
                start,
                end,
                reason,
                created_by,
                created_at,
                ended_at: ended.and_then(micros),
            });
        }
        Ok(out)
    }

    /// Plans maintenance on a device or ward from `start` to `end` (at most
    /// [`MAX_MAINTENANCE`], ending after `now`), with a reason: audited.
    #[allow(clippy::too_many_arguments)]
    pub fn add_maintenance(
        &mut self,
        scope: MaintenanceScope,
        target: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceWindow, StoreError> {
        let reason = crate::incident::required("reason", reason)?;
        if end <= start || end <= now {
            return Err(ActionError::MaintenanceEnd.into());
        }
        if end - start > MAX_MAINTENANCE {
            return Err(ActionError::MaintenanceTooLong.into());
        }
        let target = target.trim();
        match scope {
            MaintenanceScope::Device => {
                self.device(&AssetId(target.to_owned()))?
                    .ok_or_else(|| StoreError::UnknownDevice(target.into()))?;
            }
            MaintenanceScope::Ward => {
                if !self.wards()?.iter().any(|w| w.id.as_str() == target) {
                    return Err(StoreError::UnknownWard(target.into()));
                }
            }
        }
        #[derive(Serialize)]
        struct Body<'a> {
            scope: MaintenanceScope,
            target: &'a str,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
            reason: &'a str,
        }
        let entry =
            Entry::new(now, actor, kind::MAINTENANCE_SET, &Body { scope, target, start, end, reason })?;
        let (_, id) = self.change(vec![entry], |tx| {
            tx.execute(
                "INSERT INTO maintenance_windows (scope, target, start_us, end_us, reason, created_by, created_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    scope.as_str(),
                    target,
                    start.timestamp_micros(),
                    end.timestamp_micros(),
                    reason,
                    actor,
                    now.timestamp_micros()
                ],
            )
            .map_err(|e| sqlite(tx, e))?;
            Ok(tx.last_insert_rowid())
        })?;
        self.maintenance(id)
    }

    fn maintenance(&self, id: i64) -> Result<MaintenanceWindow, StoreError> {
        self.maintenance_windows(Utc::now(), true)?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or_else(|| ActionError::UnknownMaintenance(id).into())
    }

    /// Ends maintenance window `id` at `now`, with a reason: audited.
    pub fn end_maintenance(
        &mut self,
        id: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceWindow, StoreError> {
        let reason = crate::incident::required("reason", reason)?;
        let w = self.maintenance(id)?;
        if !w.active_at(now) && w.start <= now {
            return Err(ActionError::MaintenanceOver(id).into());
        }
        #[derive(Serialize)]
        struct Body<'a> {
            maintenance: i64,
            scope: MaintenanceScope,
            target: &'a str,
            reason: &'a str,
        }
        let entry = Entry::new(
            now,
            actor,
            kind::MAINTENANCE_ENDED,
            &Body { maintenance: id, scope: w.scope, target: &w.target, reason },
        )?;
        self.change(vec![entry], |tx| {
            tx.execute(
                "UPDATE maintenance_windows SET ended_us = ?2 WHERE id = ?1",
                params![id, now.timestamp_micros()],
            )
            .map_err(|e| sqlite(tx, e))?;
            Ok(())
        })?;
        self.maintenance(id)
    }
}

/// Open incidents per device for the health view: not resolved, with an
/// alert within the recurrence window of `now`.
pub(super) fn open_per_device(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<crate::hospital::OpenIncident>>, StoreError> {
    let since = (now - store.folding.rules.recurrence()).timestamp_micros();
    let records = store.records(
        "WHERE device_id IS NOT NULL AND state != 'resolved' AND last_us >= ?1 ORDER BY severity DESC, last_us DESC",
        &[&since],
    )?;
    let mut out: HashMap<String, Vec<crate::hospital::OpenIncident>> = HashMap::new();
    for r in records {
        let Some(device) = r.device else { continue };
        out.entry(device.0).or_default().push(crate::hospital::OpenIncident {
            id: r.id,
            condition: r.title,
            severity: r.severity,
            count: r.count,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
        });
    }
    Ok(out)
}

/// Moves staged device `staged`'s incidents to `by`: a condition both have
/// merges into `by`'s (counts added, times widened, alerts and history
/// moved); the others change hands.
pub(super) fn adopt(tx: &Transaction<'_>, staged: &AssetId, by: &AssetId) -> Result<(), StoreError> {
    let (s, b) = (staged.as_str(), by.as_str());
    let pairs: Vec<(i64, i64)> = tx
        .prepare(
            "SELECT a.id, b.id FROM incidents a JOIN incidents b ON b.subject_kind = 'device' AND b.subject = ?2
                AND b.condition = a.condition
             WHERE a.subject_kind = 'device' AND a.subject = ?1",
        )
        .and_then(|mut st| st.query_map([s, b], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(|e| sqlite(tx, e))?;
    for (from, to) in pairs {
        let steps: [&str; 5] = [
            "UPDATE incidents SET count = incidents.count + f.count, first_us = MIN(incidents.first_us, f.first_us),
                last_us = MAX(incidents.last_us, f.last_us), severity = MAX(incidents.severity, f.severity)
             FROM (SELECT count, first_us, last_us, severity FROM incidents WHERE id = ?1) AS f WHERE id = ?2",
            "INSERT OR IGNORE INTO incident_alerts (incident_id, alert_id)
             SELECT ?2, alert_id FROM incident_alerts WHERE incident_id = ?1",
            "DELETE FROM incident_alerts WHERE incident_id = ?1 AND ?2 = ?2",
            "UPDATE incident_events SET incident_id = ?2 WHERE incident_id = ?1",
            "DELETE FROM incidents WHERE id = ?1 AND ?2 = ?2",
        ];
        for sql in steps {
            tx.execute(sql, params![from, to]).map_err(|e| sqlite(tx, e))?;
        }
    }
    tx.execute(
        "UPDATE incidents SET subject = ?2, device_id = ?2 WHERE subject_kind = 'device' AND subject = ?1",
        params![s, b],
    )
    .map_err(|e| sqlite(tx, e))?;
    tx.execute("UPDATE incidents SET device_id = ?2 WHERE device_id = ?1", params![s, b])
        .map_err(|e| sqlite(tx, e))?;
    Ok(())
}
