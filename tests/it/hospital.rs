//! The hospital end to end: `serve --simulate` (the simulated hospital's
//! inventory and its traffic over real sockets to the console's own
//! listeners), read back with `wardwatch wards` and `wardwatch devices`;
//! inventory files through `wardwatch inventory import`; a staged device
//! assigned with `wardwatch device assign`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;
use wardwatch::simulate::{self, Expected, Scenario};

use crate::support::{run, Serve};

fn json_lines(out: &std::process::Output) -> anyhow::Result<Vec<Value>> {
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone())?.lines().map(|l| Ok(serde_json::from_str(l)?)).collect()
}

/// Every device of `devices --json`, by asset id.
fn devices(dir: &str) -> anyhow::Result<HashMap<String, Value>> {
    let all = json_lines(&run(&["devices", "--data-dir", dir, "--json"], None)?)?;
    Ok(all.into_iter().map(|d| (d["device"]["id"].as_str().unwrap_or_default().to_owned(), d)).collect())
}

/// The title of the incident an alert named `name` folds into: its
/// condition's, as the shipped rules name it ("Exploit attempt").
fn incident_title(name: &str) -> String {
    let receipt =
        wardwatch::normalize::Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    let raw = format!("CEF:0|Sim|Sim|1|1|{}|5|", name.replace('|', "\\|"));
    match wardwatch::normalize::decode_auto(raw.as_bytes(), &receipt).map(|d| d.into_alert()) {
        Ok(Some(a)) => {
            wardwatch::incident::condition::of(&a, &wardwatch::incident::Rules::default().conditions).title
        }
        _ => name.to_owned(),
    }
}

/// Whether `d` meets `e`: an open incident of that alert's condition and
/// severity, or in use.
fn meets(d: &Value, e: &Expected) -> bool {
    match e {
        Expected::Alert { name, min_severity } => d["incidents"].as_array().into_iter().flatten().any(|i| {
            i["condition"].as_str() == Some(incident_title(name).as_str())
                && i["severity"].as_u64() >= Some(u64::from(*min_severity))
        }),
        Expected::InUse => d["clinical_use"]["state"] == "in_use",
    }
}

#[test]
fn the_simulated_hospital_gives_the_wards_devices_and_clinical_use_its_scenarios_say() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().context("non-UTF-8 temp dir")?;
    let serve = Serve::start_with(dir.path(), &["--simulate", "--scenario", "all"])?;
    let listening: Vec<&str> = serve.listening.iter().map(|(u, _)| u.as_str()).collect();
    for scheme in ["tcp://", "mllp://", "http://"] {
        assert!(
            listening.iter().any(|u| u.starts_with(scheme)),
            "no {scheme} listener for the simulation: {listening:?}"
        );
    }
    let hospital = simulate::hospital(simulate::DEFAULT_SEED);
    let expected = simulate::expectations(&hospital, Scenario::All);
    assert!(expected.len() >= 5, "every story promises something: {expected:?}");

    let role = |e: Scenario| expected.iter().find(|x| x.scenario == e).map(|x| x.device.to_string());
    let scanner_id = role(Scenario::ScannerStorm).context("no scanner")?;
    let storm = |d: &Value| {
        d["incidents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["count"].as_u64().unwrap_or(0))
            .max()
            .unwrap_or(0)
    };
    // Wait (with a deadline) until every promise holds and the storm is on.
    let deadline = Instant::now() + Duration::from_secs(60);
    let devices = loop {
        let devices = devices(data)?;
        let mut missing: Vec<String> = expected
            .iter()
            .filter(|e| !devices.get(e.device.as_str()).is_some_and(|d| meets(d, &e.expected)))
            .map(|e| format!("{} {:?} ({})", e.device, e.expected, e.scenario))
            .collect();
        if devices.get(&scanner_id).is_none_or(|d| storm(d) < 100) {
            missing.push(format!("{scanner_id}: a storm of 100 scan alerts or more"));
        }
        if missing.is_empty() {
            break devices;
        }
        anyhow::ensure!(Instant::now() < deadline, "still unmet after 60 s: {missing:#?}");
        std::thread::sleep(Duration::from_millis(500));
    };
    serve.stop()?;

    // The inventory arrived whole, every device in its ward, none staged.
    let wards = json_lines(&run(&["wards", "--data-dir", data, "--json"], None)?)?;
    let ward_ids: Vec<&str> = wards.iter().filter_map(|w| w["ward"]["id"].as_str()).collect();
    let mut want: Vec<&str> = hospital.wards.iter().map(|w| w.id.as_str()).collect();
    want.sort_unstable();
    assert_eq!(ward_ids, want);
    assert!(wards.iter().all(|w| !w["ward"].is_null()), "no staged devices from the simulation: {wards:?}");
    let confirmed = devices.values().filter(|d| d["device"]["staged"] == false).count();
    assert_eq!(confirmed, hospital.devices.len());
    assert!(confirmed >= 400);
    let total: u64 = wards.iter().filter_map(|w| w["devices"].as_u64()).sum();
    assert_eq!(total, hospital.devices.len() as u64);

    // The pump in ICU under attack while in use: compromise suspected, with
    // its reasons, its clinical use from HL7.
    let pump = &devices[&role(Scenario::PumpExploit).context("no pump")?];
    assert_eq!(pump["device"]["location"]["ward"], "icu");
    assert_eq!(pump["assessment"]["health"], "compromised_suspected", "{pump:#}");
    assert!(
        pump["clinical_use"]["source"]["kind"] == "hl7" || pump["clinical_use"]["source"]["kind"] == "person"
    );
    let reasons: Vec<&str> = pump["assessment"]["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("one step up")), "{reasons:?}");
    // The ICU tile's worst incident is on a device of the ICU.
    let icu = wards.iter().find(|w| w["ward"]["id"] == "icu").context("no icu")?;
    assert_eq!(icu["worst"], "compromised_suspected", "{icu}");
    // The scanner's storm is one incident on the scanner, not thousands of lines.
    let scanner = &devices[&role(Scenario::ScannerStorm).context("no scanner")?];
    let storm =
        scanner["incidents"].as_array().into_iter().flatten().map(|i| i["count"].as_u64().unwrap_or(0)).max();
    assert!(storm.is_some_and(|n| n >= 100), "the storm folds into one incident: {scanner:#}");
    // The home glucose monitor: in use, set by the home-care gateway.
    let glucose = &devices[&role(Scenario::HomeGlucoseCloud).context("no glucose monitor")?];
    assert_eq!(glucose["device"]["location"]["ward"], "home-care");
    assert_eq!(glucose["clinical_use"]["source"]["kind"], "gateway", "{glucose:#}");
    // Devices in use with a patient per HL7: the promised ones, and the
    // source says so without naming anyone.
    let in_use = devices.values().filter(|d| d["clinical_use"]["state"] == "in_use").count();
    // HL7 cycles over the devices in use at about 20 messages a second: by
    // now some tens of them have said so.
    assert!(in_use >= 10, "{in_use} devices in use");
    let text = String::from_utf8(run(&["devices", "--data-dir", data, "--ward", "icu"], None)?.stdout)?;
    assert!(text.contains("In use with a patient (HL7 ORU^R01"), "{}", &text[..text.len().min(2000)]);
    assert!(!text.contains("SIMULATED^PATIENT") && !text.contains("SIM0"), "no patient data shown");
    Ok(())
}

#[test]
fn an_inventory_import_reports_every_row_and_a_staged_device_is_assigned_with_a_reason() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().context("non-UTF-8 temp dir")?;
    let file = dir.path().join("cmms.csv");
    // A CMMS export with its own headers, a Latin-1 byte, a ragged row and a duplicate.
    let mut csv = b"Asset Tag,Device Type,Ward,Tier,IP Address\n\
        ICU-P1,infusion_pump,icu,life_supporting,10.1.0.5\n\
        ICU-P2,infusion_pump,icu,life_supporting,10.1.0.6,extra\n\
        ICU-P1,infusion_pump,icu,life_supporting,10.1.0.7\n"
        .to_vec();
    csv.extend_from_slice(
        b"ICU-M1,patient monitor,icu,life_supporting,10.1.0.8\nICU-M2,caf\xe9,icu,diagnostic,10.1.0.9\n",
    );
    std::fs::write(&file, &csv)?;
    let f = file.to_str().context("non-UTF-8")?;
    let maps = [
        "--map",
        "asset_id=Asset Tag",
        "--map",
        "kind=Device Type",
        "--map",
        "ward=Ward",
        "--map",
        "tier=Tier",
        "--map",
        "ip=IP Address",
    ];
    let mut args = vec!["inventory", "import", "--data-dir", data, f];
    args.extend(maps);
    let out = run(&[args.as_slice(), &["--dry-run"]].concat(), None)?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8(out.stdout)?;
    for line in [
        "5 rows: 2 new, 0 changed, 0 unchanged, 0 conflicting, 3 invalid",
        "line 3: invalid: expected 5 fields, found 6",
        "line 4 (ICU-P1): invalid: duplicate of line 2",
        "Dry run: nothing was written.",
    ] {
        assert!(report.contains(line), "{line:?} not in:\n{report}");
    }
    assert!(report.contains("line 6 (ICU-M2): invalid: Device Type: not UTF-8"), "{report}");
    // Without the mapping, the missing columns are named.
    let out = run(&["inventory", "import", "--data-dir", data, f, "--dry-run"], None)?;
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)?.contains("asset_id"));

    let out = run(&args, None)?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout)?.contains("Imported: 2 devices written, 1 ward created"));

    // An alert from an address nobody knows stages a device; a person assigns it.
    let serve = Serve::start(dir.path())?;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"CEF:0|Sim|IDS|1|9|Beacon|9|src=10.1.9.9 dst=198.51.100.7", serve.udp)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !devices(data)?.contains_key("seen-ip-10.1.9.9") {
        anyhow::ensure!(Instant::now() < deadline, "the unknown device was not staged");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = run(&["devices", "--data-dir", data, "--staged"], None)?;
    assert!(String::from_utf8(out.stdout)?.contains("seen-ip-10.1.9.9"));
    let out = run(
        &["device", "assign", "--data-dir", data, "seen-ip-10.1.9.9", "--ward", "icu", "--reason", " "],
        None,
    )?;
    assert!(!out.status.success(), "a reason is required");
    let out = run(
        &[
            "device",
            "assign",
            "--data-dir",
            data,
            "seen-ip-10.1.9.9",
            "--ward",
            "icu",
            "--room",
            "4",
            "--reason",
            "laptop on the ICU desk",
        ],
        None,
    )?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = &devices(data)?["seen-ip-10.1.9.9"];
    assert_eq!(
        (d["device"]["staged"].as_bool(), d["device"]["location"]["ward"].as_str()),
        (Some(false), Some("icu"))
    );
    let stopped = serve.stop()?;
    assert!(stopped.contains("1 alerts") || stopped.contains("1 alert"), "{stopped}");
    // The whole story is in the audit log and the chain is intact.
    let out = run(&["audit", "verify", "--data-dir", data], None)?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}
