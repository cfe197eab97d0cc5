//! `eve:///PATH` listeners: the real `wardwatch serve` following a real file
//! in a temp dir, written the way Suricata and logrotate write it.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::support::{alerts_json, names, run, wait_for_alerts, Serve};

const ICU_SENSOR: &str = include_str!("../fixtures/eve/icu-sensor.jsonl");
const WARD_CONTEXT: &str = include_str!("../fixtures/eve/ward-context.jsonl");

/// A data directory and a followed file, side by side in a temp dir.
struct Setup {
    _dir: tempfile::TempDir,
    data: PathBuf,
    eve: PathBuf,
}

impl Setup {
    fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let eve = dir.path().join("suricata").join("eve.json");
        std::fs::create_dir_all(eve.parent().context("no parent")?)?;
        Ok(Self { data, eve, _dir: dir })
    }

    fn url(&self) -> String {
        format!("eve://{}", self.eve.display())
    }

    fn serve(&self, extra: &[&str]) -> anyhow::Result<Serve> {
        let url = self.url();
        let mut args = vec!["--listen", url.as_str()];
        args.extend_from_slice(extra);
        Serve::start_with(&self.data, &args)
    }

    /// `wardwatch status --json`.
    fn status_file(&self) -> anyhow::Result<Value> {
        let dir = self.data.to_str().context("non-UTF-8 temp dir")?;
        let out = run(&["status", "--data-dir", dir, "--json"], None)?;
        anyhow::ensure!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// The followed listener's status.
    fn status(&self) -> anyhow::Result<Value> {
        let v = self.status_file()?;
        let url = self.url();
        v["status"]["listeners"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["url"] == url.as_str()))
            .cloned()
            .with_context(|| format!("no {url} in {v}"))
    }

    /// Polls the status until `done` holds for the followed listener.
    fn wait_status(&self, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        poll(|| self.status().ok().filter(|s| done(s)))
    }

    /// Stored (alerts, rejected).
    fn counts(&self) -> anyhow::Result<(u64, u64)> {
        Ok(crate::support::open_store(&self.data)?.counts()?)
    }
}

/// Polls `f` every 25 ms until it gives something, or fails after ten seconds.
fn poll<T>(f: impl Fn() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn append(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(bytes)?;
    Ok(())
}

/// An EVE alert record whose signature (the alert's name) is `name`.
fn alert(name: &str) -> String {
    let v = json!({"timestamp": "2024-03-01T04:10:00.000412+0100", "flow_id": 1402356894671843_u64,
        "in_iface": "ens1f0", "event_type": "alert", "src_ip": "10.20.30.12", "src_port": 50311,
        "dest_ip": "10.20.4.17", "dest_port": 445, "proto": "TCP", "host": "ids-icu-1",
        "alert": {"action": "allowed", "gid": 1, "signature_id": 9000200, "rev": 1, "signature": name,
                  "category": "Misc activity", "severity": 2}});
    format!("{v}\n")
}

fn alerts(prefix: &str, range: std::ops::Range<usize>) -> String {
    range.map(|i| alert(&format!("{prefix} {i:03}"))).collect()
}

/// Stored alert names, sorted.
fn stored_names(data: &Path) -> anyhow::Result<Vec<String>> {
    let mut n = names(&alerts_json(data, 100_000)?);
    n.sort();
    Ok(n)
}

fn expected_names(parts: &[(&str, std::ops::Range<usize>)]) -> Vec<String> {
    let mut n: Vec<String> =
        parts.iter().flat_map(|(p, r)| r.clone().map(move |i| format!("{p} {i:03}"))).collect();
    n.sort();
    n
}

#[test]
fn a_missing_file_is_waited_for_then_lines_are_taken_as_they_come() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    // Not there yet: shown, not fatal.
    let st = s.wait_status(|l| l["error"].as_str().is_some_and(|e| e.contains("waiting for")))?;
    assert_eq!(st["state"], "listening", "{st}");

    append(&s.eve, ICU_SENSOR.as_bytes())?;
    let got = wait_for_alerts(&s.data, 100, |a| a.len() == 5)?;
    let first = got.iter().find(|a| a["event_class"] == "2024218").context("ETERNALBLUE alert")?;
    assert_eq!(first["format"], "eve");
    assert_eq!(first["listener"], s.url().as_str());
    assert_eq!(first["source_addr"], Value::Null);
    assert_eq!(first["src_ip"], "10.20.30.12");
    assert_eq!(first["raw"], ICU_SENSOR.lines().next().unwrap_or_default());
    let st = s.wait_status(|l| l["error"].is_null() && l["counters"]["received"] == 12)?;
    assert_eq!(st["counters"]["parsed"], 12, "{st}");
    assert_eq!(st["counters"]["context"], 7, "{st}");

    // Lines appended later, one by one, follow.
    for i in 0..3 {
        append(&s.eve, alert(&format!("later {i}")).as_bytes())?;
        wait_for_alerts(&s.data, 100, |a| a.len() == 6 + i)?;
    }
    let summary = serve.stop()?;
    assert!(summary.contains("8 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    assert!(summary.contains("7 context records"), "serve said: {summary}");
    Ok(())
}

#[test]
fn a_partial_line_is_taken_only_once_completed() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    append(&s.eve, alert("before").as_bytes())?;
    wait_for_alerts(&s.data, 10, |a| a.len() == 1)?;
    let line = alert("split across writes");
    let (head, tail) = line.split_at(line.len() / 2);
    s.wait_status(|l| l["counters"]["received"] == 1)?;
    append(&s.eve, head.as_bytes())?;
    // The follower looks every 250 ms and the status file is rewritten every
    // second: once two status files newer than the append have been written,
    // the follower has seen the half line several times. It must still wait.
    let appended_at = chrono::Utc::now();
    let newer_than = |t: chrono::DateTime<chrono::Utc>| {
        poll(|| {
            let v = s.status_file().ok()?;
            let at = v["status"]["updated_at"].as_str()?.parse::<chrono::DateTime<chrono::Utc>>().ok()?;
            (at > t).then_some((at, v))
        })
    };
    let (first, _) = newer_than(appended_at)?;
    let (_, v) = newer_than(first)?;
    let listener = v["status"]["listeners"].as_array().and_then(|l| l.first()).cloned().unwrap_or_default();
    assert_eq!(listener["url"], s.url().as_str());
    assert_eq!(listener["counters"]["received"], 1, "a half line was taken: {v}");
    assert_eq!(s.counts()?, (1, 0));

    append(&s.eve, tail.as_bytes())?;
    let got = wait_for_alerts(&s.data, 10, |a| a.len() == 2)?;
    assert_eq!(got[0]["name"], "split across writes");
    assert_eq!(got[0]["raw"], line.trim_end());
    assert_eq!(s.counts()?, (2, 0));
    serve.stop()?;
    Ok(())
}

#[test]
fn rotation_by_rename_and_create_loses_nothing() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    append(&s.eve, alerts("old", 0..50).as_bytes())?;
    wait_for_alerts(&s.data, 1000, |a| a.len() == 50)?;
    // logrotate `create`: rename, create anew; Suricata writes to the renamed
    // file until it is told to reopen (SIGHUP), then to the new one.
    let rotated = s.eve.with_extension("json.1");
    std::fs::rename(&s.eve, &rotated)?;
    append(&rotated, alerts("old", 50..80).as_bytes())?;
    std::fs::File::create(&s.eve)?;
    append(&rotated, alerts("old", 80..100).as_bytes())?;
    append(&s.eve, alerts("new", 0..40).as_bytes())?;
    wait_for_alerts(&s.data, 1000, |a| a.len() == 140)?;
    append(&s.eve, alerts("new", 40..60).as_bytes())?;
    wait_for_alerts(&s.data, 1000, |a| a.len() == 160)?;
    assert_eq!(stored_names(&s.data)?, expected_names(&[("old", 0..100), ("new", 0..60)]));
    // Rotation again, this time with a gap where no file exists at the path.
    std::fs::rename(&s.eve, s.eve.with_extension("json.2"))?;
    append(&s.eve.with_extension("json.2"), alerts("new", 60..65).as_bytes())?;
    s.wait_status(|l| l["counters"]["received"] == 165)?;
    append(&s.eve, alerts("third", 0..5).as_bytes())?;
    wait_for_alerts(&s.data, 1000, |a| a.len() == 170)?;
    let summary = serve.stop()?;
    assert!(summary.contains("170 alerts, 0 rejected"), "serve said: {summary}");
    assert_eq!(s.counts()?, (170, 0));
    Ok(())
}

#[test]
fn copytruncate_restarts_at_the_start() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    append(&s.eve, alerts("before truncation", 0..10).as_bytes())?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 10)?;
    // logrotate `copytruncate`: copy, then cut the file to nothing in place.
    std::fs::copy(&s.eve, s.eve.with_extension("json.1"))?;
    OpenOptions::new().write(true).open(&s.eve)?.set_len(0)?;
    append(&s.eve, alerts("after", 0..3).as_bytes())?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 13)?;
    append(&s.eve, alerts("after", 3..5).as_bytes())?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 15)?;
    assert_eq!(stored_names(&s.data)?, expected_names(&[("before truncation", 0..10), ("after", 0..5)]));
    serve.stop()?;
    Ok(())
}

#[test]
fn a_restart_resumes_after_the_last_line_taken() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    append(&s.eve, alerts("first run", 0..20).as_bytes())?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 20)?;
    serve.stop()?;

    // Written while the console was stopped, plus half a line.
    append(&s.eve, alerts("while stopped", 0..7).as_bytes())?;
    let half = alert("straddles the restart");
    let (head, tail) = half.split_at(40);
    append(&s.eve, head.as_bytes())?;
    let serve = s.serve(&[])?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 27)?;
    append(&s.eve, tail.as_bytes())?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 28)?;
    serve.stop()?;
    // Stopping and starting with nothing new reads nothing again.
    let serve = s.serve(&[])?;
    append(&s.eve, alert("second restart").as_bytes())?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 29)?;
    serve.stop()?;
    assert_eq!(s.counts()?, (29, 0));
    let mut want = expected_names(&[("first run", 0..20), ("while stopped", 0..7)]);
    want.extend(["second restart".to_owned(), "straddles the restart".to_owned()]);
    want.sort();
    assert_eq!(stored_names(&s.data)?, want);

    // Rotated while stopped: the path names another file, read from its start.
    std::fs::rename(&s.eve, s.eve.with_extension("json.1"))?;
    append(&s.eve, alerts("rotated while stopped", 0..3).as_bytes())?;
    let serve = s.serve(&[])?;
    wait_for_alerts(&s.data, 100, |a| a.len() == 32)?;
    serve.stop()?;
    assert_eq!(s.counts()?, (32, 0));
    Ok(())
}

#[test]
fn records_that_are_not_alerts_become_device_context() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    append(&s.eve, WARD_CONTEXT.as_bytes())?;
    s.wait_status(|l| l["counters"]["received"] == 10)?;
    let summary = serve.stop()?;
    assert!(summary.contains("0 alerts, 0 rejected"), "serve said: {summary}");
    assert!(summary.contains("10 context records"), "serve said: {summary}");
    assert_eq!(s.counts()?, (0, 0), "context makes no alert and no rejection");

    let store = crate::support::open_store(&s.data)?;
    let ip = |s: &str| -> anyhow::Result<IpAddr> { Ok(s.parse()?) };
    let pump = store.device_context(ip("10.20.8.52")?, 10)?.context("pump not seen")?;
    assert_eq!(pump.seen.records, 4);
    assert_eq!(pump.seen.last_seen.to_rfc3339(), "2024-03-01T03:00:03.140551+00:00");
    let types: Vec<(&str, u64)> = pump.event_types.iter().map(|t| (t.event_type.as_str(), t.count)).collect();
    assert_eq!(types, [("dns", 2), ("flow", 1), ("tls", 1)]);
    let peers: Vec<(String, u64)> = pump.peers.iter().map(|p| (p.ip.to_string(), p.count)).collect();
    assert_eq!(peers, [("10.20.0.80".to_owned(), 2), ("10.20.0.53".to_owned(), 2)]);
    // The gateway sees the pump as its peer too.
    let gw = store.device_context(ip("10.20.0.80")?, 10)?.context("gateway not seen")?;
    assert_eq!(gw.peers.iter().map(|p| p.ip.to_string()).collect::<Vec<_>>(), ["10.20.8.52"]);
    // A ventilator fetching from the internet: the device, not the server.
    let vent = store.device_context(ip("10.20.8.60")?, 10)?.context("ventilator not seen")?;
    assert_eq!(vent.peers.first().map(|p| p.ip.to_string()).as_deref(), Some("203.0.113.80"));
    assert_eq!(store.device_context(ip("203.0.113.80")?, 10)?, None);
    // mDNS from a link-local address to a multicast group.
    let mdns = store.device_context(ip("fe80::202:b3ff:fe1e:8329")?, 10)?.context("mDNS sender not seen")?;
    assert_eq!(mdns.peers.first().map(|p| p.ip.to_string()).as_deref(), Some("ff02::fb"));
    assert_eq!(store.device_context(ip("ff02::fb")?, 10)?, None);
    assert_eq!(store.devices(100)?.len(), 9);
    // The same through the CLI.
    let dir = s.data.to_str().context("non-UTF-8")?;
    let out = run(&["devices", "--data-dir", dir, "--ip", "10.20.8.52", "--json"], None)?;
    anyhow::ensure!(out.status.success(), "devices failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        (&v["ip"], &v["records"], &v["peer_count"]),
        (&json!("10.20.8.52"), &json!(4), &json!(2)),
        "{v}"
    );
    assert_eq!(
        v["event_types"][0],
        json!({"event_type": "dns", "count": 2, "last_seen": "2024-03-01T03:00:03.002877Z"})
    );
    let out = run(&["devices", "--data-dir", dir, "--context"], None)?;
    let table = String::from_utf8(out.stdout)?;
    assert_eq!(table.lines().count(), 10, "a header and nine devices: {table}");
    assert!(table.contains("fe80::202:b3ff:fe1e:8329"), "{table}");
    let out = run(&["devices", "--data-dir", dir, "--ip", "203.0.113.80"], None)?;
    assert!(!out.status.success(), "a public address is never a device");

    // Read again from the start (a new data directory's position is lost):
    // the summaries count twice but stay one row per device and per peer.
    std::fs::remove_dir_all(s.data.join("eve-positions"))?;
    let serve = s.serve(&[])?;
    s.wait_status(|l| l["counters"]["received"] == 10)?;
    serve.stop()?;
    let store = crate::support::open_store(&s.data)?;
    let pump = store.device_context(ip("10.20.8.52")?, 10)?.context("pump not seen")?;
    assert_eq!((pump.seen.records, pump.peer_count), (8, 2));
    assert_eq!(store.devices(100)?.len(), 9);
    Ok(())
}

#[test]
fn bad_and_oversize_lines_are_counted_and_kept_not_fatal() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let config = s.data.with_extension("toml");
    std::fs::write(&config, "max_message_bytes = 2048\n")?;
    let serve = s.serve(&["--config", config.to_str().context("non-UTF-8")?])?;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        b"{\"timestamp\": \"2024-03-01T04:00:00Z\", \"event_type\": \"alert\", \"alert\": {\"signature_id\n",
    );
    bytes.extend_from_slice(b"{\"timestamp\": \"2024-03-01T04:00:00Z\", \"flow\": {}}\n");
    bytes.extend_from_slice(b"\n");
    let mut huge = alert(&"x".repeat(5000)).into_bytes();
    bytes.append(&mut huge);
    bytes.extend_from_slice(alert("still fine afterwards").as_bytes());
    append(&s.eve, &bytes)?;
    wait_for_alerts(&s.data, 10, |a| a.len() == 1)?;
    let st = s.wait_status(|l| l["counters"]["received"] == 4)?;
    assert_eq!(
        (&st["counters"]["parsed"], &st["counters"]["rejected"], &st["counters"]["oversize"]),
        (&json!(1), &json!(2), &json!(1)),
        "{st}"
    );
    let summary = serve.stop()?;
    assert!(summary.contains("1 alerts, 2 rejected, 1 oversize, 0 dropped"), "serve said: {summary}");
    assert_eq!(names(&alerts_json(&s.data, 10)?), ["still fine afterwards"]);
    let rejected = crate::support::open_store(&s.data)?.recent_rejected(10)?;
    let errors: Vec<&str> = rejected.iter().map(|r| r.rejected.error.as_str()).collect();
    assert_eq!(rejected.len(), 2);
    assert!(errors[0].contains("event_type"), "{errors:?}");
    assert!(errors[1].contains("not JSON"), "{errors:?}");
    assert!(rejected.iter().all(|r| r.rejected.format == Some(wardwatch::model::Format::Eve)));
    assert_eq!(
        rejected[1].rejected.raw.as_bytes(),
        &bytes[..bytes.iter().position(|&b| b == b'\n').unwrap_or(0)]
    );
    Ok(())
}

#[test]
fn a_rotated_file_is_read_for_as_long_as_suricata_still_writes_to_it() -> anyhow::Result<()> {
    let s = Setup::new()?;
    let serve = s.serve(&[])?;
    append(&s.eve, alerts("old", 0..1).as_bytes())?;
    wait_for_alerts(&s.data, 10, |a| a.len() == 1)?;
    let rotated = s.eve.with_extension("json.1");
    std::fs::rename(&s.eve, &rotated)?;
    append(&s.eve, alerts("new", 0..1).as_bytes())?;
    // Until it gets SIGHUP, Suricata keeps appending to the renamed file: a
    // line every 10 ms for over a second, several of the follower's polls
    // after it has seen the new file at the path. (The pauses pace a writer;
    // they are not waits for a condition.)
    for i in 1..120 {
        append(&rotated, alert(&format!("old {i:03}")).as_bytes())?;
        std::thread::sleep(Duration::from_millis(10));
    }
    append(&s.eve, alerts("new", 1..3).as_bytes())?;
    wait_for_alerts(&s.data, 1000, |a| a.len() == 123)?;
    assert_eq!(stored_names(&s.data)?, expected_names(&[("old", 0..120), ("new", 0..3)]));
    serve.stop()?;
    Ok(())
}
