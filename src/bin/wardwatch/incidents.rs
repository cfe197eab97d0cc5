//! `wardwatch incidents`, `wardwatch incident ...` and `wardwatch
//! maintenance ...`: the incident list and people's work on it, headless.
//! Every change is recorded in the audit log with who (`cli:$USER`) and why.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::Subcommand;
use serde_json::{json, Value};
use wardwatch::hospital::{age, WardId};
use wardwatch::incident::{Action, Outcome, Priority, Rules, State};
use wardwatch::store::{Incident, IncidentFilter, MaintenanceScope, MaintenanceWindow, Store};

use crate::hospital::{actor, rules as view_rules};

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// One incident: its priority and reasons, device, sources, contributing alerts and history.
    Show {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        /// How many of its newest alerts to show.
        #[arg(long, default_value_t = 10)]
        alerts: usize,
        #[arg(long)]
        json: bool,
    },
    /// "I own this": acknowledge an open incident (stops its escalation).
    Ack {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
    },
    /// Give it to someone, with why.
    Assign {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
    },
    /// Add a comment to its history.
    Comment {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long)]
        text: String,
    },
    /// Stop notifying for a few minutes (1 to 60), like an alarm-silence key.
    Silence {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long, default_value_t = 5)]
        minutes: u32,
    },
    /// Stop notifying until an expiry (at most 7 days), with a reason. It stays listed.
    Mute {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        /// How long: 30m, 4h, 2d.
        #[arg(long = "for", value_parser = parse_duration, conflicts_with = "until")]
        for_: Option<Duration>,
        /// Until when (RFC 3339).
        #[arg(long)]
        until: Option<DateTime<Utc>>,
        #[arg(long)]
        reason: String,
    },
    /// End a mute or silence early, with a reason.
    Unmute {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Close it with an outcome: fixed, false_positive, benign, accepted_risk, duplicate.
    Resolve {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long, value_parser = parse_outcome)]
        outcome: Outcome,
        #[arg(long)]
        reason: String,
    },
    /// Reopen a resolved incident, with a reason.
    Reopen {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum MaintenanceCommand {
    /// Plan maintenance on a device or a ward: its incidents are marked, not notified.
    Add {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, conflicts_with = "ward", required_unless_present = "ward")]
        device: Option<String>,
        #[arg(long)]
        ward: Option<String>,
        /// Start (RFC 3339); default now.
        #[arg(long)]
        start: Option<DateTime<Utc>>,
        /// End (RFC 3339), at most 7 days after the start.
        #[arg(long, required_unless_present = "for_")]
        end: Option<DateTime<Utc>>,
        /// Or how long: 30m, 4h, 2d.
        #[arg(long = "for", value_parser = parse_duration, conflicts_with = "end")]
        for_: Option<Duration>,
        #[arg(long)]
        reason: String,
    },
    /// The windows not yet over (--all: every one).
    List {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// End a window now, with a reason.
    End {
        #[arg(long)]
        data_dir: PathBuf,
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

/// `30m`, `4h`, `2d`, `90s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n.parse().map_err(|_| format!("{s:?} is not a duration such as 30m, 4h or 2d"))?;
    match unit {
        "s" => Ok(Duration::seconds(n)),
        "m" | "min" => Ok(Duration::minutes(n)),
        "h" => Ok(Duration::hours(n)),
        "d" => Ok(Duration::days(n)),
        _ => Err(format!("{s:?} is not a duration such as 30m, 4h or 2d")),
    }
}

fn parse_outcome(s: &str) -> Result<Outcome, String> {
    Outcome::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        format!("the outcome is one of {}", all.join(", "))
    })
}

/// The store with the data directory's incident rules.
fn open(data_dir: &Path, passphrase_file: Option<&Path>, write: bool) -> anyhow::Result<Store> {
    anyhow::ensure!(
        data_dir.join(wardwatch::store::DB_FILE).exists(),
        "no Wardwatch data at {} (nothing has been stored there yet)",
        data_dir.display()
    );
    let mut store = crate::audit::open(data_dir, passphrase_file, write)?.store;
    let (rules, _) = Rules::load(data_dir)?;
    store.set_incident_rules(rules);
    Ok(store)
}

/// Priority as marker and word: never colour alone.
pub fn priority_text(p: Priority) -> String {
    format!("{} {}", p.marker(), capitalised(p.label()))
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn incident_json(i: &Incident, now: DateTime<Utc>) -> Value {
    let r = &i.record;
    json!({
        "id": r.id,
        "key": r.key,
        "subject_kind": r.subject_kind,
        "subject": r.subject,
        "device": r.device,
        "ward": i.ward,
        "condition": r.condition,
        "title": r.title,
        "storm": r.storm,
        "priority": i.assessed.priority,
        "score": (i.assessed.score * 1000.0).round() / 1000.0,
        "reasons": i.assessed.reasons,
        "severity": r.severity.value(),
        "count": r.count,
        "first_seen": stamp(r.first_seen),
        "last_seen": stamp(r.last_seen),
        "sources": r.sources,
        "state": r.state,
        "owner": r.owner,
        "assignee": r.assignee,
        "muted": r.mute.as_ref().filter(|_| r.muted_at(now)),
        "silenced_until": r.silenced_until.filter(|_| r.silenced_at(now)).map(stamp),
        "maintenance": i.maintenance,
        "outcome": r.outcome,
        "reopened": r.reopened,
        "notification": r.notice,
    })
}

fn state_text(i: &Incident, now: DateTime<Utc>) -> String {
    let r = &i.record;
    let mut s = match (r.state, &r.owner, r.outcome) {
        (State::Acknowledged, Some(o), _) => format!("acknowledged by {o}"),
        (State::Resolved, _, Some(o)) => format!("resolved ({})", o.label()),
        (s, _, _) => s.as_str().to_owned(),
    };
    if let Some(m) = r.mute.as_ref().filter(|_| r.muted_at(now)) {
        s.push_str(&format!("; muted until {} by {}: {}", stamp(m.until), m.by, m.reason));
    } else if let Some(t) = r.silenced_until.filter(|_| r.silenced_at(now)) {
        s.push_str(&format!("; silenced until {}", stamp(t)));
    }
    if let Some(w) = &i.maintenance {
        s.push_str(&format!("; in maintenance until {} ({})", stamp(w.end), w.reason));
    }
    s
}

fn write_incident(out: &mut impl Write, i: &Incident, now: DateTime<Utc>) -> io::Result<()> {
    let r = &i.record;
    let storm = if r.storm { " [storm]" } else { "" };
    writeln!(out, "#{} {}  {}{}  ({})", r.id, priority_text(i.assessed.priority), r.title, storm, r.key)?;
    let what = i.subject_label();
    let ward = i.ward.as_ref().map_or("no ward".to_owned(), |w| format!("ward {w}"));
    let alerts = if r.count == 1 { "1 alert".to_owned() } else { format!("{} alerts", r.count) };
    writeln!(
        out,
        "    {what}, {ward}; {alerts}, first {}, last {} ({}); sources: {}",
        stamp(r.first_seen),
        stamp(r.last_seen),
        age(now, r.last_seen),
        r.sources.join(", ")
    )?;
    let notice = r.notice.as_ref().map_or("not evaluated yet", |n| n.text.as_str());
    writeln!(out, "    state: {}; notification: {notice}", state_text(i, now))?;
    let why: Vec<&str> = i.assessed.reasons.iter().map(|x| x.text.as_str()).collect();
    writeln!(out, "    why {}: {}", i.assessed.priority.label(), why.join("; "))
}

pub fn list(
    data_dir: &Path,
    open_only: bool,
    ward: Option<String>,
    priority: Option<String>,
    json_out: bool,
    passphrase_file: Option<&Path>,
) -> anyhow::Result<()> {
    let priority = priority
        .map(|p| {
            Priority::parse(&p).ok_or_else(|| anyhow::anyhow!("--priority is high, medium or low, not {p:?}"))
        })
        .transpose()?;
    let store = open(data_dir, passphrase_file, false)?;
    let now = Utc::now();
    let filter = IncidentFilter { ward: ward.map(WardId), priority, state: None, open_only };
    let list = store.incidents(&filter, now, &view_rules())?;
    let mut out = BufWriter::new(io::stdout().lock());
    if json_out {
        for i in &list {
            serde_json::to_writer(&mut out, &incident_json(i, now))?;
            writeln!(out)?;
        }
    } else if list.is_empty() {
        writeln!(out, "No {}incidents.", if open_only { "open " } else { "" })?;
    } else {
        for i in &list {
            write_incident(&mut out, i, now)?;
        }
    }
    out.flush()?;
    Ok(())
}

pub fn incident(command: IncidentCommand, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    let now = Utc::now();
    let (data_dir, id, action) = match command {
        IncidentCommand::Show { data_dir, id, alerts, json } => {
            return show(&data_dir, id, alerts, json, passphrase_file);
        }
        IncidentCommand::Ack { data_dir, id } => (data_dir, id, Action::Acknowledge),
        IncidentCommand::Assign { data_dir, id, to, reason } => (data_dir, id, Action::Assign { to, reason }),
        IncidentCommand::Comment { data_dir, id, text } => (data_dir, id, Action::Comment { text }),
        IncidentCommand::Silence { data_dir, id, minutes } => (data_dir, id, Action::Silence { minutes }),
        IncidentCommand::Mute { data_dir, id, for_, until, reason } => {
            let until = match (for_, until) {
                (Some(d), _) => now + d,
                (None, Some(t)) => t,
                (None, None) => {
                    anyhow::bail!("say until when with --for 4h or --until TIME: no mute is indefinite")
                }
            };
            (data_dir, id, Action::Mute { until, reason })
        }
        IncidentCommand::Unmute { data_dir, id, reason } => (data_dir, id, Action::Unmute { reason }),
        IncidentCommand::Resolve { data_dir, id, outcome, reason } => {
            (data_dir, id, Action::Resolve { outcome, reason })
        }
        IncidentCommand::Reopen { data_dir, id, reason } => (data_dir, id, Action::Reopen { reason }),
    };
    let mut store = open(&data_dir, passphrase_file, true)?;
    let r = store.act_on_incident(id, &action, &actor(), now)?;
    let what = action.kind().trim_start_matches("incident.");
    println!(
        "Incident #{} ({}) {what}; it is now {} (recorded in the audit log).",
        r.id,
        r.title,
        r.state.as_str()
    );
    Ok(())
}

fn show(data_dir: &Path, id: i64, limit: usize, json_out: bool, pf: Option<&Path>) -> anyhow::Result<()> {
    let store = open(data_dir, pf, false)?;
    let now = Utc::now();
    let i = store
        .incidents_by_id(&[id], now, &view_rules())?
        .pop()
        .with_context(|| format!("there is no incident {id}"))?;
    let alerts = store.incident_alerts(id, limit)?;
    let history = store.incident_history(id)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if json_out {
        let mut v = incident_json(&i, now);
        v["alerts"] = json!(alerts);
        v["history"] = json!(history);
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        write_incident(&mut out, &i, now)?;
        writeln!(out, "  newest alerts:")?;
        for a in &alerts {
            let from = a.product.as_deref().or(a.vendor.as_deref()).unwrap_or(a.format.as_str());
            writeln!(out, "    {}  {from}: {} ({}/10)", stamp(a.received_at), a.name, a.severity.value())?;
        }
        writeln!(out, "  history:")?;
        for e in &history {
            let why = e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            writeln!(out, "    {}  {}  {}{why}", stamp(e.at), e.actor, e.text)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn window_text(w: &MaintenanceWindow, now: DateTime<Utc>) -> String {
    let state = match w.ended_at {
        Some(e) => format!("ended {}", stamp(e)),
        None if w.active_at(now) => "active".to_owned(),
        None if w.end <= now => "over".to_owned(),
        None => "planned".to_owned(),
    };
    format!(
        "#{} {} {}: {} to {} ({state}), by {}: {}",
        w.id,
        w.scope.as_str(),
        w.target,
        stamp(w.start),
        stamp(w.end),
        w.created_by,
        w.reason
    )
}

pub fn maintenance(command: MaintenanceCommand, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        MaintenanceCommand::Add { data_dir, device, ward, start, end, for_, reason } => {
            let (scope, target) = match (device, ward) {
                (Some(d), _) => (MaintenanceScope::Device, d),
                (None, Some(w)) => (MaintenanceScope::Ward, w),
                (None, None) => anyhow::bail!("say what with --device ID or --ward ID"),
            };
            let start = start.unwrap_or(now);
            let end = match (end, for_) {
                (Some(e), _) => e,
                (None, Some(d)) => start + d,
                (None, None) => anyhow::bail!("say when it ends with --end TIME or --for 2h"),
            };
            let mut store = open(&data_dir, passphrase_file, true)?;
            let w = store.add_maintenance(scope, &target, start, end, &reason, &actor(), now)?;
            println!("Maintenance {} (recorded in the audit log).", window_text(&w, now));
        }
        MaintenanceCommand::List { data_dir, all, json } => {
            let store = open(&data_dir, passphrase_file, false)?;
            let mut out = BufWriter::new(io::stdout().lock());
            let windows = store.maintenance_windows(now, all)?;
            if windows.is_empty() && !json {
                writeln!(out, "No maintenance windows{}.", if all { "" } else { " planned or active" })?;
            }
            for w in &windows {
                if json {
                    serde_json::to_writer(&mut out, w)?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "{}", window_text(w, now))?;
                }
            }
            out.flush()?;
        }
        MaintenanceCommand::End { data_dir, id, reason } => {
            let mut store = open(&data_dir, passphrase_file, true)?;
            let w = store.end_maintenance(id, &reason, &actor(), now)?;
            println!("Maintenance {} (recorded in the audit log).", window_text(&w, now));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_duration("4h"), Ok(Duration::hours(4)));
        assert_eq!(parse_duration("2d"), Ok(Duration::days(2)));
        assert!(parse_duration("forever").is_err());
        assert!(parse_duration("4").is_err());
    }
}
