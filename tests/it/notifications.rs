//! Desktop notifications from a running console, end to end: `wardwatch
//! serve` with `[notifications] desktop = true` and its session bus set (in
//! its own environment alone) to a [`NotificationServer`] on a private bus;
//! the hospital imported with `wardwatch inventory import` and its devices
//! put in use with `wardwatch device set-use`; alerts as CEF in RFC 5424
//! syslog over TCP. Checked: what the notification server received (exact
//! summary, body, actions, urgency, app name), the decision recorded on each
//! incident (`wardwatch incidents --json`), and the `notification.sent`
//! audit records (`wardwatch audit log`).
//!
//! The helpers are shared with the storm test (`storm.rs`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::notify_bus::{NotificationServer, Received};
use crate::support::{run, wardwatch};

/// The inventory of these tests: an ICU with two infusion pumps and an
/// emergency department with a patient monitor (the columns of
/// `e2e/fixtures/inventory.csv` that matter here).
pub(crate) const INVENTORY: &str = "\
asset_id,kind,manufacturer,model,ward,ward_name,ward_kind,room,ip,tier
ICU-P1,infusion_pump,BD,Alaris 8015 PC unit,icu,Intensive care,icu,3,10.77.1.5,life_sustaining
ICU-P2,infusion_pump,BD,Alaris 8015 PC unit,icu,Intensive care,icu,4,10.77.1.6,life_supporting
ED-M1,patient_monitor,Philips,IntelliVue MX800,ed,Emergency department,emergency,Triage,10.77.2.5,life_supporting
";

/// Where the attacks come from: an address outside the hospital.
pub(crate) const ATTACKER: &str = "203.0.113.9";

/// A `wardwatch serve` with a configuration file, one `tcp://127.0.0.1:0`
/// listener, and `DBUS_SESSION_BUS_ADDRESS` set for it alone; its log (debug
/// and up) goes to a file. Killed when dropped.
pub(crate) struct DesktopConsole {
    child: Child,
    pub tcp: SocketAddr,
    stdout: BufReader<ChildStdout>,
    log: PathBuf,
}

impl DesktopConsole {
    /// Writes `config` to `root/console.toml` and serves `data` with it,
    /// returning once serve printed "ready".
    pub(crate) fn start(root: &Path, data: &Path, config: &str, bus: &str) -> anyhow::Result<Self> {
        let config_file = root.join("console.toml");
        std::fs::write(&config_file, config)?;
        let log = root.join("serve.log");
        let mut child = wardwatch()
            .args(["serve", "--data-dir"])
            .arg(data)
            .arg("--config")
            .arg(&config_file)
            .args(["--listen", "tcp://127.0.0.1:0"])
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log)?)
            .spawn()
            .context("could not start wardwatch serve")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut tcp = None;
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                let _ = child.wait();
                bail!("serve ended before it was ready; its log:\n{}", std::fs::read_to_string(&log)?);
            }
            // "listening tcp://127.0.0.1:0 on 127.0.0.1:40123"
            if let Some(rest) = line.trim().strip_prefix("listening tcp://") {
                let (_, addr) = rest.split_once(" on ").context("odd listening line")?;
                tcp = Some(addr.parse()?);
            } else if line.starts_with("ready") {
                break;
            } else {
                let _ = child.kill();
                let _ = child.wait();
                bail!("unexpected line from serve: {line}");
            }
        }
        Ok(Self { child, tcp: tcp.context("no tcp listener")?, stdout, log })
    }

    /// What serve logged so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Sends SIGTERM (serve stores everything it received, then stops) and
    /// waits for a clean exit; returns what it printed last.
    pub(crate) fn stop(mut self) -> anyhow::Result<String> {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status()?;
        ensure!(status.success(), "kill failed");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest)?;
        let exit = self.child.wait()?;
        ensure!(exit.success(), "serve exited with {exit}; its log:\n{}", self.log());
        Ok(rest)
    }
}

impl Drop for DesktopConsole {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data directory at `root/data` with `inventory` imported and each of
/// `in_use` set in use by a person.
pub(crate) fn hospital(root: &Path, inventory: &str, in_use: &[&str]) -> anyhow::Result<PathBuf> {
    let data = root.join("data");
    let file = root.join("inventory.csv");
    std::fs::write(&file, inventory)?;
    let (d, f) = (data.to_str().context("non-UTF-8 temp dir")?, file.to_str().context("non-UTF-8")?);
    let out = run(&["inventory", "import", "--data-dir", d, f], None)?;
    ensure!(out.status.success(), "inventory import failed: {}", String::from_utf8_lossy(&out.stderr));
    for device in in_use {
        let out = run(
            &["device", "set-use", "--data-dir", d, device, "--state", "in_use", "--reason", "bedside check"],
            None,
        )?;
        ensure!(out.status.success(), "set-use {device} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(data)
}

/// One Suricata alert as CEF in an RFC 5424 message, LF-terminated (RFC 6587
/// non-transparent framing).
pub(crate) fn cef(sid: u32, name: &str, severity: u8, src: &str, dst: &str) -> String {
    format!(
        "<134>1 2026-12-03T10:00:00Z ids suricata - - - \
         CEF:0|OISF|Suricata|7|{sid}|{name}|{severity}|src={src} dst={dst}\n"
    )
}

/// An exploit attempt at `dst`, severity 10.
pub(crate) fn exploit(dst: &str) -> String {
    cef(2_000_001, "ET EXPLOIT Alaris PCU session hijack", 10, ATTACKER, dst)
}

fn lines(out: &std::process::Output, what: &str) -> anyhow::Result<Vec<Value>> {
    ensure!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone())?.lines().map(|l| Ok(serde_json::from_str(l)?)).collect()
}

/// `wardwatch incidents --json`, by key.
pub(crate) fn incidents(data: &Path) -> anyhow::Result<HashMap<String, Value>> {
    let d = data.to_str().context("non-UTF-8 temp dir")?;
    let all = lines(&run(&["incidents", "--data-dir", d, "--json"], None)?, "incidents")?;
    Ok(all.into_iter().map(|i| (i["key"].as_str().unwrap_or_default().to_owned(), i)).collect())
}

/// Polls `incidents --json` until incident `key` exists and `done` holds.
pub(crate) fn wait_for_incident(
    data: &Path,
    key: &str,
    what: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + within;
    loop {
        let last = incidents(data)?.remove(key);
        if let Some(i) = last.as_ref().filter(|i| done(i)) {
            return Ok(i.clone());
        }
        if Instant::now() > deadline {
            bail!("waited {within:?} for {key} to be {what}; last saw {last:#?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `wardwatch audit log --kinds --json`: records per kind.
pub(crate) fn audit_kinds(data: &Path) -> anyhow::Result<HashMap<String, u64>> {
    let d = data.to_str().context("non-UTF-8 temp dir")?;
    let all = lines(&run(&["audit", "log", "--data-dir", d, "--kinds", "--json"], None)?, "audit log")?;
    Ok(all
        .into_iter()
        .map(|k| (k["kind"].as_str().unwrap_or_default().to_owned(), k["records"].as_u64().unwrap_or(0)))
        .collect())
}

/// The bodies of the `notification.sent` audit records, oldest first.
pub(crate) fn notifications_sent(data: &Path) -> anyhow::Result<Vec<Value>> {
    let d = data.to_str().context("non-UTF-8 temp dir")?;
    let args = ["audit", "log", "--data-dir", d, "--kind", "notification.sent", "--limit", "1000", "--json"];
    Ok(lines(&run(&args, None)?, "audit log")?.into_iter().map(|r| r["body"].clone()).collect())
}

/// An incident's recorded decision: (kind, at, text).
pub(crate) fn decision(i: &Value) -> anyhow::Result<(String, DateTime<Utc>, String)> {
    let n = &i["notification"];
    let kind = n["kind"].as_str().with_context(|| format!("no decision on {}", i["key"]))?;
    let at = n["at"].as_str().context("no decision time")?.parse()?;
    Ok((kind.to_owned(), at, n["text"].as_str().unwrap_or_default().to_owned()))
}

/// As the policy writes times in its sentences: HH:MM UTC.
pub(crate) fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

/// A notification as the console shows it on the desktop.
pub(crate) fn shown(id: u32, summary: &str, body: &str, clickable: bool) -> Received {
    let actions = if clickable { vec!["default".into(), "Open incident".into()] } else { vec![] };
    Received {
        id,
        app_name: "Wardwatch".into(),
        replaces_id: 0,
        summary: summary.into(),
        body: body.into(),
        actions,
        urgency: Some(2),
        expire_timeout: -1,
    }
}

pub(crate) const P1_SUMMARY: &str = "*** High: Exploit attempt on Infusion pump ICU-P1";
pub(crate) const P1_BODY: &str = "Intensive care, room 3 · In use with a patient · 1 alert · Suricata";
const M1_SUMMARY: &str = "*** High: Exploit attempt on Patient monitor ED-M1";
const M1_BODY: &str = "Emergency department, room Triage · In use with a patient · 1 alert · Suricata";

/// Waits for the `n`th notification, with serve's log when it never comes.
fn wait_for(
    server: &NotificationServer,
    console: &DesktopConsole,
    n: usize,
    within: Duration,
) -> anyhow::Result<Vec<Received>> {
    server.wait_for(n, within).with_context(|| format!("serve's log:\n{}", console.log()))
}

#[test]
fn a_high_incident_notifies_once_and_the_ward_limit_holds_the_next_for_a_summary() -> anyhow::Result<()> {
    let started = Instant::now();
    let root = tempfile::tempdir()?;
    let data = hospital(root.path(), INVENTORY, &["ICU-P1", "ICU-P2", "ED-M1"])?;
    let server = NotificationServer::start()?;
    let config = "[notifications]\ndesktop = true\nward_interval_secs = 3\nescalate_after_secs = 600\n";
    let console = DesktopConsole::start(root.path(), &data, config, server.address())?;
    let mut ids = TcpStream::connect(console.tcp)?;
    let within = Duration::from_secs(10);

    // (a) A high exploit attempt on the first pump: one notification, at once.
    ids.write_all(exploit("10.77.1.5").as_bytes())?;
    let got = wait_for(&server, &console, 1, within)?;
    let first_shown = Instant::now();
    assert_eq!(got, [shown(1, P1_SUMMARY, P1_BODY, true)]);
    let p1 = wait_for_incident(&data, "device:ICU-P1/exploit", "decided", within, |i| {
        !i["notification"].is_null()
    })?;
    assert_eq!(p1["priority"], "high", "{p1:#}");
    let (kind, p1_at, text) = decision(&p1)?;
    assert_eq!(
        (kind.as_str(), text),
        ("notified", format!("notified at {} to security officer", hhmm(p1_at)))
    );

    // (b) A second high incident in the same ward within the interval: held.
    ids.write_all(exploit("10.77.1.6").as_bytes())?;
    let p2 = wait_for_incident(&data, "device:ICU-P2/exploit", "decided", within, |i| {
        !i["notification"].is_null()
    })?;
    assert_eq!(p2["priority"], "high", "{p2:#}");
    let (kind, p2_at, text) = decision(&p2)?;
    assert_eq!(
        (kind.as_str(), text),
        ("summarised", format!("summarised at {}: ward rate limit", hhmm(p2_at)))
    );
    // The decision is recorded after the round showed what it showed.
    let p2_shown: Vec<Received> =
        server.received().into_iter().filter(|n| n.summary.ends_with("ICU-P2")).collect();
    assert_eq!(p2_shown, [], "held, not shown");

    // (c) A high incident in another ward: shown.
    ids.write_all(exploit("10.77.2.5").as_bytes())?;
    let got = wait_for(&server, &console, 2, within)?;
    assert_eq!(got[1], shown(2, M1_SUMMARY, M1_BODY, true));
    let m1 = wait_for_incident(&data, "device:ED-M1/exploit", "decided", within, |i| {
        !i["notification"].is_null()
    })?;
    let (kind, m1_at, text) = decision(&m1)?;
    assert_eq!(
        (kind.as_str(), text),
        ("notified", format!("notified at {} to security officer", hhmm(m1_at)))
    );

    // (f) A click on the first: the headless console has nobody to open the
    // incident for; it carries on (it shows the summary below and stops cleanly).
    server.invoke_action(1, "default")?;

    // (d) More alerts on the first incident: no repeat.
    for _ in 0..3 {
        ids.write_all(exploit("10.77.1.5").as_bytes())?;
    }
    // The decision to stay quiet keeps the notification in view.
    let p1 = wait_for_incident(&data, "device:ICU-P1/exploit", "told of 3 more alerts", within, |i| {
        i["count"] == 4 && i["notification"]["text"].as_str().is_some_and(|t| t.contains("; now "))
    })?;
    let at = hhmm(p1_at);
    assert_eq!(
        decision(&p1)?,
        (
            "notified".to_owned(),
            p1_at,
            format!("notified at {at} to security officer; now suppressed: already notified at {at}")
        )
    );

    // The ward's interval over, the held incident comes as the ward's summary.
    let got = wait_for(&server, &console, 3, within)?;
    let waited = first_shown.elapsed();
    assert_eq!(
        got,
        [
            shown(1, P1_SUMMARY, P1_BODY, true),
            shown(2, M1_SUMMARY, M1_BODY, true),
            shown(3, "*** High: 1 more in Intensive care", "Exploit attempt on Infusion pump ICU-P2", false),
        ]
    );
    assert!(waited >= Duration::from_millis(2500), "the summary came {waited:?} after the first, not 3 s");
    eprintln!("ICU summary {waited:?} after the ICU's first notification (ward_interval_secs = 3)");
    // The held incident keeps its decision; nothing else changed.
    let now = incidents(&data)?;
    let text = |key: &str| now[key]["notification"]["text"].as_str().map(str::to_owned);
    assert_eq!(
        text("device:ICU-P2/exploit"),
        Some(format!("summarised at {}: ward rate limit", hhmm(p2_at)))
    );
    assert_eq!(
        text("device:ED-M1/exploit"),
        Some(format!("notified at {} to security officer", hhmm(m1_at)))
    );
    assert_eq!(now.len(), 3, "{:#?}", now.keys());

    // (g) Each notification shown is audited, as it was shown.
    let sent = notifications_sent(&data)?;
    let id = |key: &str| now[key]["id"].clone();
    let record = |incident: Value, kind: &str, ward: &str, summary: &str| {
        serde_json::json!({
            "incident": incident, "kind": kind, "ward": ward, "role": "security officer",
            "priority": "high", "summary": summary, "delivered": true,
        })
    };
    assert_eq!(
        sent,
        [
            record(id("device:ICU-P1/exploit"), "incident", "icu", "Exploit attempt on Infusion pump ICU-P1"),
            record(id("device:ED-M1/exploit"), "incident", "ed", "Exploit attempt on Patient monitor ED-M1"),
            record(Value::Null, "summary", "icu", "1 more in Intensive care"),
        ]
    );
    assert_eq!(audit_kinds(&data)?.get("notification.sent"), Some(&3));
    assert_eq!(server.received().len(), 3, "nothing more: {:#?}", server.received());

    let last = console.stop()?;
    assert!(last.contains("stopped: 6 alerts"), "{last}");
    eprintln!("notification test took {:?}", started.elapsed());
    Ok(())
}

/// "Unacknowledged for 3 s. Intensive care, ..." as (3, "Intensive care, ...").
fn unacknowledged_for(body: &str) -> Option<(u64, &str)> {
    let rest = body.strip_prefix("Unacknowledged for ")?;
    let (secs, rest) = rest.split_once(" s. ")?;
    Some((secs.parse().ok()?, rest))
}

/// Checks that `n` is the pump's escalation after about `after` seconds
/// unacknowledged (a round is every half second: a second late at most);
/// returns the seconds it says.
fn check_escalation(n: &Received, after: u64) -> anyhow::Result<u64> {
    let (secs, rest) = unacknowledged_for(&n.body).with_context(|| format!("not an escalation: {n:#?}"))?;
    ensure!((after..=after + 1).contains(&secs), "unacknowledged for {secs} s, expected {after}: {n:#?}");
    assert_eq!(*n, shown(n.id, P1_SUMMARY, &n.body, true));
    assert_eq!(rest, P1_BODY);
    Ok(secs)
}

/// Escalation after 3 s, one notification per ward and second.
const ESCALATING: &str = "[notifications]\ndesktop = true\nward_interval_secs = 1\nescalate_after_secs = 3\n";

/// Kind and role of each `notification.sent` record.
fn kinds_and_roles(data: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(notifications_sent(data)?.iter().map(|s| (text(&s["kind"]), text(&s["role"]))).collect())
}

#[test]
fn an_unacknowledged_incident_escalates_to_each_next_role_in_turn() -> anyhow::Result<()> {
    let started = Instant::now();
    let root = tempfile::tempdir()?;
    let data = hospital(root.path(), INVENTORY, &["ICU-P1"])?;
    let server = NotificationServer::start()?;
    let console = DesktopConsole::start(root.path(), &data, ESCALATING, server.address())?;
    let mut ids = TcpStream::connect(console.tcp)?;

    ids.write_all(exploit("10.77.1.5").as_bytes())?;
    wait_for(&server, &console, 1, Duration::from_secs(10))?;
    let first = Instant::now();
    // Nobody owns it: after 3 s it goes to the charge nurse, 3 s later to
    // clinical engineering on call, the last role.
    let got = wait_for(&server, &console, 3, Duration::from_secs(15))?;
    let waited = first.elapsed();
    assert_eq!(got[0], shown(1, P1_SUMMARY, P1_BODY, true));
    let after = [check_escalation(&got[1], 3)?, check_escalation(&got[2], 6)?];
    eprintln!(
        "escalations after {after:?} s unacknowledged, the last {waited:.2?} after the first notification"
    );

    let now = incidents(&data)?;
    let (kind, at, text) = decision(&now["device:ICU-P1/exploit"])?;
    assert_eq!(
        (kind.as_str(), text),
        (
            "notified",
            format!(
                "notified at {} to clinical engineering on call: unacknowledged for {} s",
                hhmm(at),
                after[1]
            )
        )
    );
    let want = [("incident", "security officer"), ("escalation", "charge nurse")]
        .into_iter()
        .chain([("escalation", "clinical engineering on call")])
        .map(|(k, r)| (k.to_owned(), r.to_owned()))
        .collect::<Vec<_>>();
    assert_eq!(kinds_and_roles(&data)?, want);
    assert_eq!(server.received(), got, "nothing more");
    console.stop()?;
    eprintln!("escalation test took {:.1?}", started.elapsed());
    Ok(())
}

#[test]
fn an_incident_acknowledged_from_the_command_line_does_not_escalate() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let data = hospital(root.path(), INVENTORY, &["ICU-P1", "ED-M1"])?;
    let d = data.to_str().context("non-UTF-8 temp dir")?;
    let server = NotificationServer::start()?;
    let console = DesktopConsole::start(root.path(), &data, ESCALATING, server.address())?;
    let mut ids = TcpStream::connect(console.tcp)?;
    let within = Duration::from_secs(10);

    // The monitor's incident first; someone owns it at once, from the
    // command line beside the running console.
    ids.write_all(exploit("10.77.2.5").as_bytes())?;
    wait_for(&server, &console, 1, within)?;
    let m1 = wait_for_incident(&data, "device:ED-M1/exploit", "decided", within, |i| {
        !i["notification"].is_null()
    })?;
    let m1_id = m1["id"].as_i64().context("no id")?.to_string();
    let out = run(&["incident", "ack", "--data-dir", d, &m1_id], None)?;
    ensure!(out.status.success(), "ack failed: {}", String::from_utf8_lossy(&out.stderr));
    // Then the pump's, which nobody owns: its escalation, 3 s later, comes
    // after the monitor's would have (due earlier).
    ids.write_all(exploit("10.77.1.5").as_bytes())?;
    let got = wait_for(&server, &console, 2, within)?;
    assert_eq!(got, [shown(1, M1_SUMMARY, M1_BODY, true), shown(2, P1_SUMMARY, P1_BODY, true)]);
    let got = wait_for(&server, &console, 3, within)?;
    let escalated: Vec<&str> = got[2..].iter().map(|n| n.summary.as_str()).collect();
    assert_eq!(escalated, [P1_SUMMARY], "the acknowledged monitor escalated: {got:#?}");
    check_escalation(&got[2], 3)?;

    let m1 = &incidents(&data)?["device:ED-M1/exploit"];
    assert_eq!(m1["state"], "acknowledged", "{m1:#}");
    let (_, _, text) = decision(m1)?;
    assert!(!text.contains("unacknowledged"), "the acknowledged incident's decision: {text}");
    let want =
        [("incident", "security officer"), ("incident", "security officer"), ("escalation", "charge nurse")]
            .map(|(k, r)| (k.to_owned(), r.to_owned()));
    // Each is audited just after it is shown.
    let deadline = Instant::now() + within;
    let mut recorded = kinds_and_roles(&data)?;
    while recorded != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        recorded = kinds_and_roles(&data)?;
    }
    let all = run(&["audit", "log", "--data-dir", d, "--limit", "100"], None)?;
    assert_eq!(
        recorded,
        want,
        "audit log:\n{}\nserve's log:\n{}",
        String::from_utf8_lossy(&all.stdout),
        console.log()
    );
    console.stop()?;
    Ok(())
}
