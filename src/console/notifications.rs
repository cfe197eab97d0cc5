//! The console's notifier thread: after each batch the writer hands over
//! the incidents it changed, and people's work hands over the incident they
//! changed; the thread asks the policy about each (with its state now),
//! records the decision on the incident, shows what the policy says to show,
//! and audits each notification (`notification.sent`, with whether it could
//! be shown). Every half second it also lets the policy send what is due
//! (ward summaries, escalations of unacknowledged incidents).
//!
//! It has a store connection of its own: a slow notification service never
//! slows ingest.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use crate::audit::{kind, Entry};
use crate::incident::State;
use crate::notify::{Candidate, Decision, DecisionKind, Evaluation, Notification, Notifier, Policy};
use crate::store::{Incident, Store, ViewRules};

/// How often the policy is asked what is due when nothing changes.
const TICK: Duration = Duration::from_millis(500);

/// What the thread counts, for status and tests.
#[derive(Debug, Default)]
pub struct NotifierCounters {
    pub evaluated: AtomicU64,
    pub shown: AtomicU64,
    pub failed: AtomicU64,
}

/// How long the notifier uses one reading of the hospital (devices'
/// clinical use, wards) before reading it again.
const VIEW_FOR: Duration = Duration::from_secs(1);

/// The hospital as the notifier last read it.
pub(super) struct View {
    read: std::time::Instant,
    hospital: crate::store::HospitalView,
    wards: HashMap<String, String>,
}

impl View {
    /// One never used: the first round reads the hospital.
    pub(super) fn stale() -> Self {
        Self {
            read: std::time::Instant::now().checked_sub(VIEW_FOR * 2).unwrap_or_else(std::time::Instant::now),
            hospital: crate::store::HospitalView { wards: Vec::new(), devices: Vec::new() },
            wards: HashMap::new(),
        }
    }

    fn read(
        store: &Store,
        now: chrono::DateTime<Utc>,
        rules: &ViewRules,
    ) -> Result<Self, crate::store::StoreError> {
        let hospital = store.hospital_view(now, rules)?;
        let wards = hospital.wards.iter().map(|w| (w.id.as_str().to_owned(), w.name.clone())).collect();
        Ok(Self { read: std::time::Instant::now(), hospital, wards })
    }
}

pub(super) struct NotifierThread {
    pub store: Store,
    pub rules: ViewRules,
    pub policy: Policy,
    pub notifier: Arc<dyn Notifier>,
    pub stop: Arc<AtomicBool>,
    pub counters: Arc<NotifierCounters>,
    pub view: View,
}

/// The audit body of a notification.
#[derive(Serialize)]
struct Sent<'a> {
    incident: Option<i64>,
    kind: &'a crate::notify::NotificationKind,
    ward: Option<&'a str>,
    role: Option<&'a str>,
    priority: crate::incident::Priority,
    summary: &'a str,
    delivered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl NotifierThread {
    pub(super) fn run(mut self, rx: Receiver<Vec<i64>>) {
        let mut pending = BTreeSet::new();
        // What people did before this start is already decided on.
        let (mut last_event, mut looked) = (0, Utc::now());
        match self.store.notifier_changes(0, looked, looked) {
            Ok(c) => last_event = c.last_event,
            Err(e) => tracing::warn!(error = %e, "The notifier could not read the incident history."),
        }
        loop {
            match rx.recv_timeout(TICK) {
                Ok(ids) => {
                    pending.extend(ids);
                    while let Ok(more) = rx.try_recv() {
                        pending.extend(more);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Changes made through other connections or processes (the CLI
            // beside a running console), mutes that ended, maintenance.
            let now = Utc::now();
            match self.store.notifier_changes(last_event, looked, now) {
                Ok(c) => {
                    pending.extend(c.incidents);
                    last_event = c.last_event;
                    looked = now;
                    if c.all_open {
                        let open = crate::store::IncidentFilter { open_only: true, ..Default::default() };
                        match self.store.incidents(&open, now, &self.rules) {
                            Ok(list) => pending.extend(list.into_iter().map(|i| i.record.id)),
                            Err(e) => tracing::warn!(error = %e, "Open incidents could not be listed."),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "The notifier could not read what changed."),
            }
            let ids: Vec<i64> = std::mem::take(&mut pending).into_iter().collect();
            if let Err(e) = self.round(&ids) {
                tracing::warn!(error = %e, "Notification round failed; the incidents are evaluated again on their next change.");
            }
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }

    /// Evaluates the incidents `ids`, then what is due.
    fn round(&mut self, ids: &[i64]) -> Result<(), crate::store::StoreError> {
        let now = Utc::now();
        let mut notices: Vec<(i64, Decision)> = Vec::new();
        let mut entries = Vec::new();
        if !ids.is_empty() {
            for i in self.incidents(ids, now)? {
                let c = candidate(&i, &self.view.wards, now);
                let ev = self.policy.evaluate(&c, now);
                self.counters.evaluated.fetch_add(1, Ordering::Relaxed);
                self.deliver(&ev, &mut entries);
                let decision = keep_notified(i.record.notice.as_ref(), ev.decision);
                // Written only when it says something new (a storm's
                // incident is evaluated after every batch).
                let same = i
                    .record
                    .notice
                    .as_ref()
                    .is_some_and(|n| n.kind == decision.kind && n.text == decision.text);
                if !same {
                    notices.push((i.record.id, decision));
                }
            }
        }
        for (id, ev) in self.policy.tick(now) {
            self.deliver(&ev, &mut entries);
            if let Some(id) = id {
                notices.push((id, ev.decision));
            }
        }
        // Audited before the decision shows on the incident.
        if !entries.is_empty() {
            self.store.record(entries)?;
        }
        if !notices.is_empty() {
            self.store.set_notices(&notices)?;
        }
        Ok(())
    }

    /// The incidents `ids` against the hospital view, read again when it
    /// is a second old or lacks one of their devices.
    fn incidents(
        &mut self,
        ids: &[i64],
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<Incident>, crate::store::StoreError> {
        if self.view.read.elapsed() < VIEW_FOR {
            if let Some(list) = self.store.incidents_by_id_in(ids, now, &self.view.hospital)? {
                return Ok(list);
            }
        }
        self.view = View::read(&self.store, now, &self.rules)?;
        Ok(self.store.incidents_by_id_in(ids, now, &self.view.hospital)?.unwrap_or_default())
    }

    fn deliver(&self, ev: &Evaluation, entries: &mut Vec<Entry>) {
        let Some(n) = &ev.notification else { return };
        let result = self.notifier.send(n);
        let error = match result {
            Ok(()) => {
                self.counters.shown.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(e) => {
                let failed = self.counters.failed.fetch_add(1, Ordering::Relaxed);
                // Once, then every hundredth: the audit log has each one.
                if failed % 100 == 0 {
                    tracing::warn!(error = %e, failed = failed + 1, "A desktop notification could not be shown; the decision is recorded on the incident and in the audit log.");
                }
                Some(e.to_string())
            }
        };
        let body = sent(n, error);
        match Entry::new(Utc::now(), "console", kind::NOTIFICATION_SENT, &body) {
            Ok(e) => entries.push(e),
            Err(e) => tracing::error!(error = %e, "A notification's audit record could not be made."),
        }
    }
}

/// A decision to stay quiet about an incident that was notified keeps the
/// notification in view: "notified at 10:02 to security officer; now
/// suppressed: acknowledged".
fn keep_notified(previous: Option<&Decision>, next: Decision) -> Decision {
    match previous {
        Some(p) if next.kind == DecisionKind::Suppressed && p.kind != DecisionKind::Suppressed => {
            let first = p.text.split("; now ").next().unwrap_or(&p.text);
            Decision { kind: p.kind, at: p.at, text: format!("{first}; now {}", next.text) }
        }
        _ => next,
    }
}

fn sent(n: &Notification, error: Option<String>) -> Sent<'_> {
    Sent {
        incident: n.incident_id,
        kind: &n.kind,
        ward: n.ward.as_ref().map(|w| w.as_str()),
        role: n.role.as_deref(),
        priority: n.priority,
        summary: &n.summary,
        delivered: error.is_none(),
        error,
    }
}

/// What the policy needs to know of an incident now. The title and detail
/// name the device, its place and state, never a patient.
pub(super) fn candidate(
    i: &Incident,
    wards: &HashMap<String, String>,
    now: chrono::DateTime<Utc>,
) -> Candidate {
    let r = &i.record;
    let title = if r.storm { r.title.clone() } else { format!("{} {}", r.title, i.subject_phrase()) };
    let ward_name = i.ward.as_ref().map(|w| wards.get(w.as_str()).cloned().unwrap_or_else(|| w.to_string()));
    let mut detail = Vec::new();
    if let Some(d) = &i.device {
        let place = [ward_name.clone(), d.device.location.room.clone().map(|r| format!("room {r}"))]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        if !place.is_empty() {
            detail.push(place);
        }
        detail.push(d.clinical_use.state.label().to_owned());
    }
    detail.push(if r.count == 1 { "1 alert".into() } else { format!("{} alerts", r.count) });
    detail.push(r.sources.join(", "));
    Candidate {
        incident_id: r.id,
        ward: i.ward.clone(),
        ward_name,
        priority: i.assessed.priority,
        title,
        detail: detail.join(" · "),
        acknowledged: r.state == State::Acknowledged,
        resolved: r.state == State::Resolved,
        muted: r.muted_at(now) || r.silenced_at(now),
        in_maintenance: i.maintenance.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(kind: DecisionKind, minute: u32, text: &str) -> Decision {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, minute, 0).single().unwrap_or_default();
        Decision { kind, at, text: text.into() }
    }

    #[test]
    fn staying_quiet_after_a_notification_keeps_the_notification_in_view() {
        let notified = d(DecisionKind::Notified, 2, "notified at 10:02 to security officer");
        let quiet =
            keep_notified(Some(&notified), d(DecisionKind::Suppressed, 5, "suppressed: acknowledged"));
        assert_eq!(quiet.kind, DecisionKind::Notified);
        assert_eq!(quiet.at, notified.at);
        assert_eq!(quiet.text, "notified at 10:02 to security officer; now suppressed: acknowledged");
        // Again: the text does not grow.
        let again = keep_notified(Some(&quiet), d(DecisionKind::Suppressed, 6, "suppressed: muted"));
        assert_eq!(again.text, "notified at 10:02 to security officer; now suppressed: muted");
        // Never notified: the new decision as it is.
        let plain = d(DecisionKind::Suppressed, 1, "suppressed: below high priority");
        assert_eq!(keep_notified(None, plain.clone()), plain);
        let escalated =
            d(DecisionKind::Notified, 12, "notified at 10:12 to charge nurse: unacknowledged for 10 min");
        assert_eq!(keep_notified(Some(&quiet), escalated.clone()), escalated);
    }
}
