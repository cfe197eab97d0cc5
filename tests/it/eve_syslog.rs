//! Suricata EVE written to syslog (`eve-log` with `filetype: syslog`), relayed
//! to a `tcp://` listener of the real `wardwatch serve`: the alert is an EVE
//! alert, the flow is device context.

use std::io::Write;
use std::net::TcpStream;

use anyhow::Context;
use serde_json::{json, Value};

use crate::support::{run, wait_for_alerts, wait_for_counters, Serve};

#[test]
fn eve_in_syslog_over_tcp_gives_an_eve_alert_and_device_context() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let alert = json!({"timestamp": "2026-12-02T12:00:00.000412+0000", "flow_id": 1402356894671843_u64,
        "in_iface": "ens1f0", "event_type": "alert", "src_ip": "10.20.30.12", "src_port": 50311,
        "dest_ip": "10.20.4.17", "dest_port": 445, "proto": "TCP",
        "alert": {"action": "allowed", "gid": 1, "signature_id": 2024218, "rev": 3,
                  "signature": "ET EXPLOIT ETERNALBLUE Probe", "category": "Attempted Administrator Privilege Gain",
                  "severity": 1}});
    let flow = json!({"timestamp": "2026-12-02T12:00:01.104233+0000", "flow_id": 1187203349120033_u64,
        "event_type": "flow", "src_ip": "10.20.8.52", "src_port": 49822, "dest_ip": "10.20.0.80",
        "dest_port": 443, "proto": "TCP", "app_proto": "tls",
        "flow": {"pkts_toserver": 14, "pkts_toclient": 12, "state": "closed", "reason": "timeout"}});
    // As a relay forwards what Suricata gave syslog(3): RFC 3164, then RFC
    // 5424; octet-counted (RFC 6587), one connection.
    let messages = [
        format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {alert}"),
        format!("<134>1 2026-12-02T12:00:01.104300+00:00 ids-01 suricata 1234 - - {flow}"),
    ];
    let mut c = TcpStream::connect(serve.tcp)?;
    for m in &messages {
        write!(c, "{} {m}", m.len())?;
    }
    drop(c);

    let counters = wait_for_counters(dir.path(), "tcp", |c| c["received"] == 2)?;
    assert_eq!((&counters["parsed"], &counters["context"]), (&json!(2), &json!(1)), "{counters}");
    assert_eq!(counters["rejected"], 0, "{counters}");
    let alerts = wait_for_alerts(dir.path(), 10, |a| !a.is_empty())?;
    let summary = serve.stop()?;
    assert!(summary.contains("1 alerts, 0 rejected"), "serve said: {summary}");
    assert!(summary.contains("1 context records"), "serve said: {summary}");

    assert_eq!(alerts.len(), 1, "the flow makes no alert: {alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["format"], "eve");
    assert_eq!(a["name"], "ET EXPLOIT ETERNALBLUE Probe");
    assert_eq!(a["event_class"], "2024218");
    assert_eq!(a["hostname"], "ids-01", "the envelope's host, since the record names none");
    assert_eq!(a["raw"], messages[0].as_str());

    // Both local ends of the flow are devices, each the other's peer.
    let data = dir.path().to_str().context("non-UTF-8 temp dir")?;
    let out = run(&["devices", "--data-dir", data, "--context", "--json"], None)?;
    anyhow::ensure!(out.status.success(), "devices failed: {}", String::from_utf8_lossy(&out.stderr));
    let devices: Vec<Value> =
        String::from_utf8(out.stdout)?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let mut ips: Vec<&str> = devices.iter().filter_map(|d| d["ip"].as_str()).collect();
    ips.sort_unstable();
    assert_eq!(ips, ["10.20.0.80", "10.20.8.52"], "{devices:?}");
    let out = run(&["devices", "--data-dir", data, "--ip", "10.20.8.52", "--json"], None)?;
    anyhow::ensure!(out.status.success(), "devices failed: {}", String::from_utf8_lossy(&out.stderr));
    let pump: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(pump["event_types"][0]["event_type"], "flow", "{pump}");
    assert_eq!(pump["peers"][0]["ip"], "10.20.0.80", "{pump}");
    Ok(())
}
