//! `wardwatch simulate` against the real `wardwatch serve`: the simulated
//! hospital's traffic over TCP syslog, MLLP and HTTP, and what the console
//! stored of it.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;
use wardwatch::hospital::{Device, IdentityKind, Inventory};
use wardwatch::simulate::{self, Expected, Scenario};

use crate::support::{alerts_json, run, wait_for_counters, wardwatch, Serve};

fn identity(d: &Device, kind: IdentityKind) -> Option<&str> {
    d.identities.iter().find(|i| i.kind == kind).map(|i| i.value.as_str())
}

/// (device id, patient associated) of every stored observation.
fn observations(data: &Path) -> anyhow::Result<Vec<(String, bool)>> {
    let conn = crate::support::open_db(data)?;
    let mut stmt =
        conn.prepare("SELECT device_id, patient_associated FROM device_observations ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Whether a stored alert is about `device`: its address at either end, its
/// EUI-64 in a gateway's fields, or (EVE read as BSD syslog) its address in
/// the record.
fn about(a: &Value, device: &Device) -> bool {
    let ip = identity(device, IdentityKind::Ip).unwrap_or("-");
    let eui = identity(device, IdentityKind::Eui64);
    a["src_ip"].as_str() == Some(ip)
        || a["dst_ip"].as_str() == Some(ip)
        || (eui.is_some() && a["fields"]["device.eui64"].as_str() == eui)
        || a["message"].as_str().is_some_and(|m| m.contains(&format!("\"{ip}\"")))
}

/// Whether a stored alert has `name` and at least `min` severity. Suricata
/// EVE inside syslog is read as BSD syslog until the syslog listener learns
/// EVE: then the signature is in the message, and the severity is syslog's.
fn named(a: &Value, name: &str, min: u8) -> bool {
    let exact = a["name"].as_str() == Some(name) && count(&a["severity"]) >= u64::from(min);
    let eve_as_syslog = a["format"] == "rfc3164"
        && a["message"].as_str().is_some_and(|m| m.contains(&format!("\"signature\":\"{name}\"")));
    exact || eve_as_syslog
}

#[test]
fn the_simulated_hospital_reaches_a_console_over_syslog_mllp_and_http() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (token, entry) = crate::http::new_token("home-care-gw")?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, entry)?;
    let data = dir.path().join("data");
    let serve = Serve::start_with(
        &data,
        &[
            "--config",
            config.to_str().context("non-UTF-8 temp dir")?,
            "--listen",
            "mllp://127.0.0.1:0",
            "--listen",
            "http://127.0.0.1:0",
        ],
    )?;
    let (mllp, http) = (serve.mllp.context("no mllp listener")?, serve.http.context("no http listener")?);
    let out = wardwatch()
        .args(["simulate", "--scenario", "all", "--duration", "5s", "--json"])
        .args(["--syslog", &format!("tcp://{}", serve.tcp), "--mllp", &mllp.to_string()])
        .args(["--http", &format!("http://{http}/v1/alerts")])
        .env("WARDWATCH_TOKEN", &token)
        .output()?;
    anyhow::ensure!(out.status.success(), "simulate failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("report is not JSON: {}", String::from_utf8_lossy(&out.stdout)))?;
    for channel in ["syslog", "mllp", "http"] {
        let c = &report[channel];
        assert!(count(&c["generated"]) > 0, "{channel}: nothing generated: {report}");
        assert_eq!(c["sent"], c["generated"], "{channel}: {report}");
        assert_eq!((count(&c["failed"]), count(&c["dropped"])), (0, 0), "{channel}: {report}");
    }
    assert_eq!(report["mllp"]["aa"], report["mllp"]["sent"], "{report}");
    assert_eq!((count(&report["mllp"]["ae"]), count(&report["mllp"]["ar"])), (0, 0), "{report}");
    for story in Scenario::STORIES {
        assert!(count(&report["by_story"][story.name()]) > 0, "{story} sent nothing: {report}");
    }
    assert!(count(&report["by_story"]["scanner-storm"]) > 100, "{report}");
    let sent = |c: &str| count(&report[c]["sent"]);
    // Syslog has no acknowledgement: wait until the console stored it all.
    // MLLP AA and HTTP 202 come only once stored.
    // EVE flows, DNS and TLS are device context, not stored records: they
    // count as parsed and context.
    wait_for_counters(&data, "tcp", |c| count(&c["stored"]) + count(&c["context"]) >= sent("syslog"))?;
    wait_for_counters(&data, "mllp", |c| count(&c["stored"]) >= sent("mllp"))?;
    wait_for_counters(&data, "http", |c| count(&c["stored"]) >= sent("http"))?;

    let alerts = alerts_json(&data, 100_000)?;
    assert!(
        alerts.len() as u64 >= sent("http") + count(&report["by_story"]["scanner-storm"]) / 2,
        "{}",
        alerts.len()
    );
    let rows = observations(&data)?;
    assert_eq!(rows.len() as u64, sent("mllp"), "one observation per HL7 message");
    assert!(rows.iter().any(|(_, p)| *p) && rows.iter().any(|(_, p)| !*p), "{rows:?}");

    let inventory = simulate::hospital(simulate::DEFAULT_SEED);
    let euis: Vec<&str> = inventory.devices.iter().filter_map(|d| identity(d, IdentityKind::Eui64)).collect();
    assert!(rows.iter().all(|(id, _)| euis.contains(&id.as_str())), "an observation of an unknown device");
    let expected = simulate::expectations(&inventory, Scenario::All);
    assert!(expected.len() >= 5);
    for e in &expected {
        let device = inventory.devices.iter().find(|d| d.id == e.device).context("no such device")?;
        let eui = identity(device, IdentityKind::Eui64);
        let met = match &e.expected {
            Expected::Alert { name, min_severity } => {
                alerts.iter().any(|a| named(a, name, *min_severity) && about(a, device))
            }
            Expected::InUse => {
                rows.iter().any(|(id, patient)| *patient && Some(id.as_str()) == eui)
                    || alerts.iter().any(|a| {
                        a["fields"]["clinical_use"] == "in_use" && a["fields"]["device.eui64"].as_str() == eui
                    })
            }
        };
        assert!(met, "not met: {e:?}");
    }
    serve.stop()?;
    Ok(())
}

#[test]
fn a_console_that_starts_late_gets_the_traffic_once_it_listens() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    // Two free ports, released for serve to take later.
    let (syslog_port, mllp_port) = {
        let a = TcpListener::bind("127.0.0.1:0")?;
        let b = TcpListener::bind("127.0.0.1:0")?;
        (a.local_addr()?.port(), b.local_addr()?.port())
    };
    let mut sim = wardwatch()
        .args(["simulate", "--scenario", "background", "--rate", "40", "--duration", "6s", "--json"])
        .args([
            "--syslog",
            &format!("tcp://127.0.0.1:{syslog_port}"),
            "--mllp",
            &format!("127.0.0.1:{mllp_port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(1500));
    let serve = Serve::start_with(
        &data,
        &[
            "--listen",
            &format!("tcp://127.0.0.1:{syslog_port}"),
            "--listen",
            &format!("mllp://127.0.0.1:{mllp_port}"),
        ],
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.try_wait()?.is_none() {
        if Instant::now() > deadline {
            sim.kill()?;
            bail!("simulate did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = sim.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "simulate failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    for channel in ["syslog", "mllp"] {
        let c = &report[channel];
        // What was generated before the console listened waited in the queue.
        assert_eq!(c["sent"], c["generated"], "{channel}: {report}");
        assert!(count(&c["retried"]) == 0 && count(&c["failed"]) == 0, "{channel}: {report}");
        let why = c["last_error"].as_str().unwrap_or_default();
        assert!(why.contains("cannot connect"), "{channel}: {report}");
    }
    let sent = count(&report["syslog"]["sent"]);
    let stored = |c: &Value| count(&c["stored"]) + count(&c["context"]) >= sent;
    let dir_str = data.to_str().context("non-UTF-8 temp dir")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run(&["status", "--data-dir", dir_str, "--json"], None)?;
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let port_listener = v["status"]["listeners"].as_array().and_then(|ls| {
            ls.iter().find(|l| l["url"].as_str() == Some(&format!("tcp://127.0.0.1:{syslog_port}")))
        });
        if port_listener.is_some_and(|l| stored(&l["counters"])) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the late console did not store {sent} syslog messages: {v}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    serve.stop()?;
    Ok(())
}

#[test]
fn the_cli_lists_scenarios_writes_the_inventory_and_refuses_without_a_target() -> anyhow::Result<()> {
    let out = run(&["simulate", "--list-scenarios"], None)?;
    anyhow::ensure!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    for s in Scenario::ALL {
        assert!(text.lines().any(|l| l.starts_with(s.name())), "{s} not listed: {text}");
    }

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("inventory.json");
    let out =
        run(&["simulate", "--write-inventory", file.to_str().context("non-UTF-8")?, "--seed", "7"], None)?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The inventory export format: an import reads back the same hospital.
    use wardwatch::hospital::inventory::{self, InventoryFormat, Mapping};
    let plan = inventory::plan(
        &std::fs::read(&file)?,
        InventoryFormat::Json,
        &Mapping::default(),
        &Inventory::default(),
        &[],
    )?;
    let new = plan.counts().new;
    let mut written = Inventory { wards: plan.new_wards, devices: plan.upserts };
    let mut expected = simulate::hospital(7);
    for inv in [&mut written, &mut expected] {
        inv.wards.sort_by(|a, b| a.id.cmp(&b.id));
        inv.devices.sort_by(|a, b| a.id.cmp(&b.id));
    }
    assert_eq!(new, expected.devices.len());
    assert_eq!(written, expected);
    assert!(String::from_utf8(out.stdout)?.contains(&format!("{} devices", written.devices.len())));

    let out = run(&["simulate", "--duration", "1s"], None)?;
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)?.contains("say where to send"));
    let out = run(&["simulate", "--http", "http://127.0.0.1:9/v1/alerts"], None)?;
    assert!(!out.status.success(), "--http without a token accepted");
    let out = run(&["simulate", "--syslog", "tcp://127.0.0.1:9", "--scenario", "nope"], None)?;
    assert!(String::from_utf8(out.stderr)?.contains("pump-exploit"), "the error lists the scenarios");
    Ok(())
}
