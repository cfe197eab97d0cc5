//! What the console offers about incidents: the list and one incident with
//! its context, people's work on them and maintenance windows (each written
//! with its audit record through the people's connection, then handed to
//! the notifier so its decision follows), and the incident rules in force.

use std::path::Path;
use std::sync::PoisonError;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Console, ConsoleError, NotifierCounters};
use crate::audit::{kind, Entry};
use crate::incident::{Action, RULES_FILE};
use crate::model::Alert;
use crate::store::{
    Incident, IncidentEvent, IncidentFilter, IncidentRecord, MaintenanceScope, MaintenanceWindow, Store,
    StoreError,
};

/// The `incident.rules` record owed at a start: when the rule text differs
/// from the last one recorded, or from the shipped defaults when none was.
pub(super) fn rules_entry(store: &Store, data_dir: &Path, text: &str) -> Result<Option<Entry>, StoreError> {
    file_entry(store, kind::INCIDENT_RULES, &data_dir.join(RULES_FILE), crate::incident::DEFAULT_RULES, text)
}

/// The record owed at a start for a rule file (`kind`) read from `file` (or
/// the shipped `defaults` when it does not exist): its text and hash, when
/// they differ from the last record of `kind`, or from the defaults when
/// there is none (the shipped defaults belong to the build, whose version
/// is in `console.started`).
pub(super) fn file_entry(
    store: &Store,
    kind: &str,
    file: &Path,
    defaults: &str,
    text: &str,
) -> Result<Option<Entry>, StoreError> {
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    let last = store.audit_records(kind, 1)?;
    let previous = last.last().and_then(|r| r.body.get("sha256")).and_then(|v| v.as_str());
    let unchanged = match previous {
        Some(p) => p == digest,
        None => text == defaults,
    };
    if unchanged {
        return Ok(None);
    }
    let origin = if file.exists() { file.display().to_string() } else { "the shipped defaults".to_owned() };
    #[derive(Serialize)]
    struct Body<'a> {
        sha256: &'a str,
        origin: &'a str,
        text: &'a str,
        replaces: Option<u64>,
    }
    let replaces = last.last().map(|r| r.seq);
    if replaces.is_some() {
        tracing::info!(origin = %origin, kind, "A rule file changed since the last start; the change is in the audit log.");
    }
    let body = Body { sha256: &digest, origin: &origin, text, replaces };
    Ok(Some(Entry::new(Utc::now(), "console", kind, &body)?))
}

/// One incident with what the incident view shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    /// The newest contributing alerts, newest first.
    pub alerts: Vec<Alert>,
    pub history: Vec<IncidentEvent>,
}

impl Console {
    /// The incidents `filter` selects, highest priority first, then newest.
    pub fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.incidents(filter, Utc::now(), &self.rules)?)
    }

    /// Incident `id` with its newest `alerts` alerts and its history.
    pub fn incident_detail(&self, id: i64, alerts: usize) -> Result<Option<IncidentDetail>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(incident) = store.incidents_by_id(&[id], Utc::now(), &self.rules)?.pop() else {
            return Ok(None);
        };
        Ok(Some(IncidentDetail {
            incident,
            alerts: store.incident_alerts(id, alerts)?,
            history: store.incident_history(id)?,
        }))
    }

    /// A person's work on incident `id`: checked, recorded with its audit
    /// record, and handed to the notifier.
    pub fn act_on_incident(&self, id: i64, action: &Action, actor: &str) -> Result<Incident, ConsoleError> {
        let record: IncidentRecord = {
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            store.act_on_incident(id, action, actor, Utc::now())?
        };
        self.reevaluate(vec![record.id]);
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        store
            .incidents_by_id(&[record.id], Utc::now(), &self.rules)?
            .pop()
            .ok_or_else(|| StoreError::from(crate::incident::ActionError::Unknown(id)).into())
    }

    /// Maintenance windows not over yet, or all of them.
    pub fn maintenance_windows(&self, all: bool) -> Result<Vec<MaintenanceWindow>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.maintenance_windows(Utc::now(), all)?)
    }

    pub fn add_maintenance(
        &self,
        scope: MaintenanceScope,
        target: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: &str,
        actor: &str,
    ) -> Result<MaintenanceWindow, ConsoleError> {
        let w = {
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            store.add_maintenance(scope, target, start, end, reason, actor, Utc::now())?
        };
        self.reevaluate_open();
        Ok(w)
    }

    pub fn end_maintenance(
        &self,
        id: i64,
        reason: &str,
        actor: &str,
    ) -> Result<MaintenanceWindow, ConsoleError> {
        let w = {
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            store.end_maintenance(id, reason, actor, Utc::now())?
        };
        self.reevaluate_open();
        Ok(w)
    }

    /// Calls `f` with the incident id when a person clicks its desktop notification.
    pub fn on_open_incident(&self, f: crate::notify::ClickHandler) {
        *self.open_hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    /// What the notifier has done since the start.
    pub fn notifier_counters(&self) -> &NotifierCounters {
        &self.notifier_counters
    }

    fn reevaluate(&self, ids: Vec<i64>) {
        if let Some(tx) = self.notify_tx.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            // A stopped notifier is fine: the change is stored.
            let _ = tx.send(ids);
        }
    }

    /// Every unresolved incident, evaluated again (a maintenance window changed).
    fn reevaluate_open(&self) {
        let filter = IncidentFilter { open_only: true, ..IncidentFilter::default() };
        match self.incidents(&filter) {
            Ok(list) => self.reevaluate(list.into_iter().map(|i| i.record.id).collect()),
            Err(e) => tracing::warn!(error = %e, "Incidents could not be listed for the notifier."),
        }
    }
}
