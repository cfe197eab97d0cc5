//! What deserves a notification, decided with a virtual clock: every method
//! takes `now`, nothing here reads the system time, so tests can walk the
//! clock minute by minute.
//!
//! The rules, in the order they are checked:
//!
//! 1. A resolved or acknowledged incident is quiet, and forgotten: nothing
//!    more is sent or escalated for it.
//! 2. A muted (or silenced) incident, or one inside a maintenance window, is
//!    quiet; what was already sent for it is remembered, so that it is not
//!    sent again when the mute ends. While quiet it does not escalate.
//! 3. Below the minimum priority (high by default), quiet.
//! 4. Once notified, never again, unless it escalates: its priority rises
//!    above the highest priority already notified, or it stays
//!    unacknowledged for [`PolicyConfig::escalate_after`] after its last
//!    notification, and then goes to the next role of
//!    [`PolicyConfig::roles`] (each step once; it stops at the end of the list).
//! 5. At most one notification per ward per [`PolicyConfig::ward_interval`]
//!    (incidents without a ward share one "no ward" group), escalations
//!    included, so that a storm cannot come back as a storm of escalations
//!    ten minutes later. Whatever comes
//!    later in that interval is held; when the interval ends, [`Policy::tick`]
//!    sends one summary ("3 more in ICU") listing up to three titles, and the
//!    summary counts as that ward's notification for the next interval. An
//!    incident held for a summary that goes quiet before the summary is sent
//!    is taken out of it.
//!
//! Every decision is a [`Decision`] with a short sentence a person can read
//! ("notified at 10:02 to security officer", "suppressed: muted"), with times
//! in HH:MM UTC.
//!
//! Memory is bounded: quiet-for-good incidents are forgotten, at most
//! [`PolicyConfig::max_tracked`] incidents are remembered (the oldest are
//! forgotten first), and a ward is forgotten once its interval has passed
//! with nothing held.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::hospital::WardId;
use crate::incident::Priority;

/// The roles an unacknowledged incident escalates through, in order.
pub const DEFAULT_ROLES: [&str; 3] = ["security officer", "charge nurse", "clinical engineering on call"];

/// How many incidents the policy remembers at most.
pub const DEFAULT_MAX_TRACKED: usize = 10_000;

/// How many titles a summary's body lists.
pub const SUMMARY_TITLES: usize = 3;

/// The policy's settings; [`Default`] is the hospital default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// The lowest priority that notifies (default high).
    pub min_priority: Priority,
    /// At most one notification per ward in this interval (default one
    /// minute). Zero or less: no limit.
    pub ward_interval: Duration,
    /// Unacknowledged this long after its last notification, an incident
    /// goes to the next role (default ten minutes). Zero or less escalates
    /// one step at every [`Policy::tick`].
    pub escalate_after: Duration,
    /// Who is notified: the first role first, then each next one on
    /// escalation (default [`DEFAULT_ROLES`]). Empty: notifications are
    /// addressed to nobody in particular and nothing escalates by time.
    pub roles: Vec<String>,
    /// How many incidents are remembered at most (default
    /// [`DEFAULT_MAX_TRACKED`]; at least one).
    pub max_tracked: usize,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            min_priority: Priority::High,
            ward_interval: Duration::minutes(1),
            escalate_after: Duration::minutes(10),
            roles: DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            max_tracked: DEFAULT_MAX_TRACKED,
        }
    }
}

/// An incident as it is now, given to [`Policy::evaluate`] each time it is
/// new or changes (a new alert, an acknowledgement, a mute...).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub incident_id: i64,
    /// `None`: not in any ward (an address nobody knows).
    pub ward: Option<WardId>,
    /// The ward's name for people ("ICU"); the id stands in without one.
    pub ward_name: Option<String>,
    pub priority: Priority,
    /// "Exploit attempt on Infusion pump B-12".
    pub title: String,
    /// One line for the body; never patient data, never a secret.
    pub detail: String,
    pub acknowledged: bool,
    pub resolved: bool,
    /// Muted or silenced now.
    pub muted: bool,
    /// Its device is inside a maintenance window now.
    pub in_maintenance: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Notified,
    /// Held for the ward's next summary.
    Summarised,
    Suppressed,
}

/// What the policy decided for an incident, as the store keeps it and the
/// console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub kind: DecisionKind,
    pub at: DateTime<Utc>,
    /// "notified at 10:02 to security officer".
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The first notification of an incident.
    Incident,
    /// Again for the same incident: its priority rose, or nobody
    /// acknowledged it in time.
    Escalation,
    /// "3 more in ICU".
    Summary,
}

/// What to show on the desktop; the [`super::Notifier`] adds the marker and
/// the priority word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    /// `None` for summaries.
    pub incident_id: Option<i64>,
    pub ward: Option<WardId>,
    pub summary: String,
    pub body: String,
    pub priority: Priority,
    /// Who it is for; `None` when no roles are configured.
    pub role: Option<String>,
}

/// The decision for one incident, and the notification to send now, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub notification: Option<Notification>,
}

/// Why an incident is sent again.
#[derive(Debug, Clone, Copy)]
enum Why {
    New,
    Rose { to: Priority },
    Unacknowledged { for_: Duration },
}

/// What the policy remembers of an incident it sent or held.
#[derive(Debug, Clone)]
struct Tracked {
    /// Insertion order, for eviction.
    seq: u64,
    ward: Option<WardId>,
    ward_name: Option<String>,
    title: String,
    detail: String,
    priority: Priority,
    /// The highest priority sent or held so far.
    notified_priority: Priority,
    /// First sent or held.
    first_at: DateTime<Utc>,
    /// Last sent individually.
    notified_at: Option<DateTime<Utc>>,
    /// Last held for a summary.
    held_at: Option<DateTime<Utc>>,
    /// Held for a summary not sent yet.
    pending: bool,
    /// Index in the roles of the last role it went to.
    level: usize,
    /// When it last went (or was held) to that role.
    level_at: DateTime<Utc>,
    /// Muted or in maintenance in its latest state.
    quiet: bool,
}

#[derive(Debug, Clone)]
struct Held {
    incident_id: i64,
    title: String,
    priority: Priority,
    level: usize,
}

#[derive(Debug, Clone)]
struct Ward {
    name: Option<String>,
    /// The ward's last notification (incident, escalation or summary).
    last: DateTime<Utc>,
    held: Vec<Held>,
}

/// The notification policy; see the module docs for its rules.
#[derive(Debug)]
pub struct Policy {
    config: PolicyConfig,
    incidents: BTreeMap<i64, Tracked>,
    wards: BTreeMap<Option<WardId>, Ward>,
    /// Tracked incidents by insertion order, oldest first.
    order: BTreeMap<u64, i64>,
    next_seq: u64,
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

/// "10 min", "1 h 5 min", "45 s": whole minutes from a minute on.
fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    if s < 60 {
        return format!("{s} s");
    }
    let (h, m) = (s / 3600, (s % 3600) / 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// "in ICU", "in icu" (no name), "outside any ward".
fn place(ward: &Option<WardId>, name: &Option<String>) -> String {
    match (ward, name) {
        (_, Some(name)) if !name.trim().is_empty() => format!("in {}", name.trim()),
        (Some(id), _) => format!("in {id}"),
        (None, _) => "outside any ward".to_owned(),
    }
}

fn suppressed(now: DateTime<Utc>, text: String) -> Evaluation {
    Evaluation { decision: Decision { kind: DecisionKind::Suppressed, at: now, text }, notification: None }
}

impl Policy {
    pub fn new(mut config: PolicyConfig) -> Self {
        config.max_tracked = config.max_tracked.max(1);
        Self {
            config,
            incidents: BTreeMap::new(),
            wards: BTreeMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
        }
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// How many incidents the policy remembers now.
    pub fn tracked(&self) -> usize {
        self.incidents.len()
    }

    /// Decides for an incident that is new or changed, with its latest state.
    pub fn evaluate(&mut self, c: &Candidate, now: DateTime<Utc>) -> Evaluation {
        let id = c.incident_id;
        if c.resolved {
            self.forget(id);
            return suppressed(now, "suppressed: resolved".into());
        }
        if c.acknowledged {
            self.forget(id);
            return suppressed(now, "suppressed: acknowledged".into());
        }
        if c.muted || c.in_maintenance {
            self.go_quiet(id, c.priority);
            let why = if c.muted { "muted" } else { "in a maintenance window" };
            return suppressed(now, format!("suppressed: {why}"));
        }
        if c.priority < self.config.min_priority {
            // Out of any summary, and no escalation while it stays low.
            self.go_quiet(id, c.priority);
            if let Some(t) = self.incidents.get_mut(&id) {
                t.quiet = false;
            }
            return suppressed(
                now,
                format!("suppressed: below {} priority", self.config.min_priority.as_str()),
            );
        }
        let Some(t) = self.incidents.get_mut(&id) else {
            self.track(c, now);
            return self.deliver(id, Why::New, now);
        };
        t.quiet = false;
        t.ward = c.ward.clone();
        t.ward_name = c.ward_name.clone();
        t.title = c.title.clone();
        t.detail = c.detail.clone();
        t.priority = c.priority;
        if c.priority > t.notified_priority {
            t.level_at = now;
            return self.deliver(id, Why::Rose { to: c.priority }, now);
        }
        if t.pending {
            let at = t.held_at.unwrap_or(now);
            return Evaluation {
                decision: Decision {
                    kind: DecisionKind::Summarised,
                    at: now,
                    text: format!("summarised at {}: ward rate limit", hhmm(at)),
                },
                notification: None,
            };
        }
        match (t.notified_at, t.held_at) {
            (Some(at), _) => suppressed(now, format!("suppressed: already notified at {}", hhmm(at))),
            (None, Some(at)) => suppressed(now, format!("suppressed: already summarised at {}", hhmm(at))),
            (None, None) => suppressed(now, "suppressed: already notified".into()),
        }
    }

    /// What is due by `now`: escalations of incidents nobody acknowledged
    /// (with their incident's id) and the summaries of wards whose interval
    /// ended (with `None`). Call it every few seconds.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<(Option<i64>, Evaluation)> {
        let mut out = Vec::new();
        let last_role = self.config.roles.len().saturating_sub(1);
        let due: Vec<i64> = self
            .incidents
            .iter()
            .filter(|(_, t)| {
                !t.quiet
                    && t.priority >= self.config.min_priority
                    && t.level < last_role
                    && now - t.level_at >= self.config.escalate_after
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(t) = self.incidents.get_mut(&id) else { continue };
            t.level += 1;
            t.level_at = now;
            let for_ = now - t.first_at;
            out.push((Some(id), self.deliver(id, Why::Unacknowledged { for_ }, now)));
        }
        let interval = self.config.ward_interval;
        let mut sent = Vec::new();
        for (key, ward) in self.wards.iter_mut() {
            if ward.held.is_empty() || now - ward.last < interval {
                continue;
            }
            let held = std::mem::take(&mut ward.held);
            ward.last = now;
            sent.extend(held.iter().map(|h| h.incident_id));
            let n = held.len();
            let summary = format!("{n} more {}", place(key, &ward.name));
            let mut lines: Vec<String> = held.iter().take(SUMMARY_TITLES).map(|h| h.title.clone()).collect();
            if n > SUMMARY_TITLES {
                lines.push(format!("and {} more", n - SUMMARY_TITLES));
            }
            let priority = held.iter().map(|h| h.priority).max().unwrap_or(self.config.min_priority);
            let level = held.iter().map(|h| h.level).max().unwrap_or(0);
            let role = self.config.roles.get(level).cloned();
            let text = match &role {
                Some(role) => format!("notified at {} to {role}: {summary}", hhmm(now)),
                None => format!("notified at {}: {summary}", hhmm(now)),
            };
            out.push((
                None,
                Evaluation {
                    decision: Decision { kind: DecisionKind::Notified, at: now, text },
                    notification: Some(Notification {
                        kind: NotificationKind::Summary,
                        incident_id: None,
                        ward: key.clone(),
                        summary,
                        body: lines.join("\n"),
                        priority,
                        role,
                    }),
                },
            ));
        }
        for id in sent {
            if let Some(t) = self.incidents.get_mut(&id) {
                t.pending = false;
            }
        }
        self.wards.retain(|_, w| !w.held.is_empty() || now - w.last < interval);
        out
    }

    fn track(&mut self, c: &Candidate, now: DateTime<Utc>) {
        while self.incidents.len() >= self.config.max_tracked {
            match self.order.first_key_value().map(|(_, id)| *id) {
                Some(id) => self.forget(id),
                None => break,
            }
        }
        self.next_seq += 1;
        self.order.insert(self.next_seq, c.incident_id);
        self.incidents.insert(
            c.incident_id,
            Tracked {
                seq: self.next_seq,
                ward: c.ward.clone(),
                ward_name: c.ward_name.clone(),
                title: c.title.clone(),
                detail: c.detail.clone(),
                priority: c.priority,
                notified_priority: c.priority,
                first_at: now,
                notified_at: None,
                held_at: None,
                pending: false,
                level: 0,
                level_at: now,
                quiet: false,
            },
        );
    }

    fn forget(&mut self, id: i64) {
        if let Some(t) = self.incidents.remove(&id) {
            self.order.remove(&t.seq);
        }
        self.unhold(id);
    }

    fn unhold(&mut self, id: i64) {
        for ward in self.wards.values_mut() {
            ward.held.retain(|h| h.incident_id != id);
        }
    }

    /// Quiet for now: out of any summary not sent yet (and forgotten when
    /// that summary was all it had), no escalation while quiet.
    fn go_quiet(&mut self, id: i64, priority: Priority) {
        let Some(t) = self.incidents.get_mut(&id) else { return };
        if t.pending && t.notified_at.is_none() {
            self.forget(id);
            return;
        }
        t.quiet = true;
        t.priority = priority;
        if t.pending {
            t.pending = false;
            self.unhold(id);
        }
    }

    /// Sends a tracked incident now if its ward is free, or holds it for
    /// the ward's summary.
    fn deliver(&mut self, id: i64, why: Why, now: DateTime<Utc>) -> Evaluation {
        let interval = self.config.ward_interval;
        let Some(t) = self.incidents.get_mut(&id) else {
            return suppressed(now, "suppressed: not tracked".into());
        };
        t.notified_priority = t.notified_priority.max(t.priority);
        let role = self.config.roles.get(t.level).cloned();
        let reason = match why {
            Why::New => None,
            Why::Rose { to } => Some(format!("priority rose to {}", to.as_str())),
            Why::Unacknowledged { for_ } => Some(format!("unacknowledged for {}", span(for_))),
        };
        let ward = self.wards.entry(t.ward.clone()).or_insert_with(|| Ward {
            name: t.ward_name.clone(),
            last: now - interval.max(Duration::zero()) - Duration::seconds(1),
            held: Vec::new(),
        });
        ward.name = t.ward_name.clone().or(ward.name.take());
        if now - ward.last >= interval {
            ward.last = now;
            t.notified_at = Some(now);
            let mut text = format!("notified at {}", hhmm(now));
            if let Some(role) = &role {
                text.push_str(&format!(" to {role}"));
            }
            let (kind, body) = match why {
                Why::New => (NotificationKind::Incident, t.detail.clone()),
                Why::Rose { .. } | Why::Unacknowledged { .. } => {
                    let mut body = reason.clone().unwrap_or_default();
                    if let Some(b) = body.get_mut(0..1) {
                        b.make_ascii_uppercase();
                    }
                    (NotificationKind::Escalation, format!("{body}. {}", t.detail))
                }
            };
            if let Some(reason) = &reason {
                text.push_str(&format!(": {reason}"));
            }
            return Evaluation {
                decision: Decision { kind: DecisionKind::Notified, at: now, text },
                notification: Some(Notification {
                    kind,
                    incident_id: Some(id),
                    ward: t.ward.clone(),
                    summary: t.title.clone(),
                    body,
                    priority: t.priority,
                    role,
                }),
            };
        }
        // Held for the ward's summary.
        match ward.held.iter_mut().find(|h| h.incident_id == id) {
            Some(h) => {
                h.title = t.title.clone();
                h.priority = t.priority;
                h.level = t.level;
            }
            None => ward.held.push(Held {
                incident_id: id,
                title: t.title.clone(),
                priority: t.priority,
                level: t.level,
            }),
        }
        t.pending = true;
        t.held_at = Some(now);
        let mut text = format!("summarised at {}: ward rate limit", hhmm(now));
        match (why, &role) {
            (Why::Unacknowledged { .. }, Some(role)) => text.push_str(&format!("; escalated to {role}")),
            (Why::Rose { to }, _) => text.push_str(&format!("; priority rose to {}", to.as_str())),
            _ => {}
        }
        Evaluation {
            decision: Decision { kind: DecisionKind::Summarised, at: now, text },
            notification: None,
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
