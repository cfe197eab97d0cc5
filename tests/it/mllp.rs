//! HL7 over MLLP against the real `wardwatch serve`, sent by a real client:
//! `mllp_send` from python-hl7 (PyPI `hl7`, installed by `make deps`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::support::{run, Serve};

const PCD01: &[u8] = include_bytes!("../fixtures/hl7/pcd01-spo2.hl7");
const PCD04: &[u8] = include_bytes!("../fixtures/hl7/pcd04-alarm.hl7");
const NO_DEVICE: &[u8] = include_bytes!("../fixtures/hl7/pcd01-no-device.hl7");
/// What must never be stored: the names, birth date, address and raw ids in the fixtures.
const SECRETS: &[&str] =
    &["Testpatient", "Alice", "Example^Bob", "19700101", "Main St", "MRN-4711", "PAT-99"];

fn serve_mllp(dir: &Path) -> anyhow::Result<(Serve, u16)> {
    let serve = Serve::start_with(dir, &["--listen", "mllp://127.0.0.1:0"])?;
    let port = serve.mllp.context("no mllp listener")?.port();
    Ok((serve, port))
}

/// Sends the messages over one connection with `mllp_send` and returns each
/// ACK it printed (MLLP framing removed, segments split).
fn mllp_send(port: u16, messages: &[&[u8]]) -> anyhow::Result<Vec<Vec<String>>> {
    // mllp_send reads messages ended by FS (0x1C) from the file.
    let mut file = tempfile::NamedTempFile::new()?;
    for m in messages {
        file.write_all(m)?;
        file.write_all(b"\x1c")?;
    }
    file.flush()?;
    let out = Command::new("mllp_send")
        .args(["-p", &port.to_string(), "-f"])
        .arg(file.path())
        .arg("127.0.0.1")
        .output()
        .context("could not run mllp_send (pip install hl7)")?;
    anyhow::ensure!(out.status.success(), "mllp_send failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    Ok(text
        .split('\x1c')
        .map(|ack| ack.trim_matches(|c| c == '\x0b' || c == '\r' || c == '\n'))
        .filter(|ack| !ack.is_empty())
        .map(|ack| ack.split('\r').map(str::to_owned).collect())
        .collect())
}

/// Rows of the device_observations table, read straight from the SQLite file.
fn stored_observations(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let conn = crate::support::open_db(dir)?;
    let mut stmt = conn.prepare(
        "SELECT device_id, control_id, message_type, patient_associated, patient_key_hash, point_of_care,
                bed, observation_count, alarm_code, alarm_priority, alarm_state
         FROM device_observations ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(serde_json::json!({
            "device_id": r.get::<_, String>(0)?,
            "control_id": r.get::<_, String>(1)?,
            "message_type": r.get::<_, String>(2)?,
            "patient_associated": r.get::<_, bool>(3)?,
            "patient_key_hash": r.get::<_, Option<String>>(4)?,
            "point_of_care": r.get::<_, Option<String>>(5)?,
            "bed": r.get::<_, Option<String>>(6)?,
            "observation_count": r.get::<_, i64>(7)?,
            "alarm_code": r.get::<_, Option<String>>(8)?,
            "alarm_priority": r.get::<_, Option<String>>(9)?,
            "alarm_state": r.get::<_, Option<String>>(10)?,
        }))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn wait_for_observations(dir: &Path, n: usize) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = stored_observations(dir).unwrap_or_default();
        if rows.len() >= n {
            return Ok(rows);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting for {n} device observations; have {rows:?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> anyhow::Result<Vec<(std::path::PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push((path.clone(), std::fs::read(&path)?));
        }
    }
    Ok(out)
}

fn assert_no_patient_data(dir: &Path) -> anyhow::Result<()> {
    let all = files(dir)?;
    anyhow::ensure!(all.iter().any(|(p, _)| p.ends_with("wardwatch.db")), "no database in {all:?}");
    for (path, bytes) in &all {
        for secret in SECRETS {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            anyhow::ensure!(!found, "{secret:?} found in {}", path.display());
        }
    }
    Ok(())
}

fn msa(ack: &[String]) -> Vec<&str> {
    ack.iter().find(|s| s.starts_with("MSA|")).map(|s| s.split('|').collect()).unwrap_or_default()
}

#[test]
fn pcd01_and_pcd04_are_acked_aa_and_stored_without_patient_data() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (serve, port) = serve_mllp(dir.path())?;
    let acks = mllp_send(port, &[PCD01, PCD04])?;
    anyhow::ensure!(acks.len() == 2, "expected two ACKs, got {acks:?}");
    assert_eq!(msa(&acks[0]), ["MSA", "AA", "MSG00042"]);
    assert_eq!(msa(&acks[1]), ["MSA", "AA", "ALM-0007"]);
    // The ACK's MSH: receiver and sender swapped, ACK^<trigger>^ACK, a fresh id, the same version.
    let msh: Vec<&str> = acks[0][0].split('|').collect();
    assert_eq!(
        &msh[..6],
        ["MSH", "^~\\&", "WARDWATCH", "SEC", "GW_ICU^0012210000000001^EUI-64", "St Elsewhere ICU"]
    );
    assert_eq!((msh[8], msh[10], msh[11]), ("ACK^R01^ACK", "P", "2.6"));
    assert!(msh[9].starts_with("WW") && msh[9].len() <= 20, "control id {}", msh[9]);
    assert_eq!(acks[1][0].split('|').nth(8), Some("ACK^R40^ACK"));

    let rows = wait_for_observations(dir.path(), 2)?;
    let spo2 = &rows[0];
    assert_eq!(spo2["device_id"], "0123456789ABCDEF");
    assert_eq!(spo2["control_id"], "MSG00042");
    assert_eq!(spo2["message_type"], "ORU^R01^ORU_R01");
    assert_eq!(spo2["patient_associated"], true);
    assert_eq!(spo2["point_of_care"], "ICU-3");
    assert_eq!(spo2["bed"], "B2");
    assert_eq!(spo2["observation_count"], 5);
    let hash = spo2["patient_key_hash"].as_str().unwrap_or_default();
    assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "hash {hash:?}");
    let pump = &rows[1];
    assert_eq!(pump["device_id"], "00122100000000AB");
    assert_eq!(
        (&pump["alarm_code"], &pump["alarm_priority"]),
        (&Value::from("MDC_EVT_FLOW_OCCL"), &Value::from("PH"))
    );
    assert_eq!(pump["alarm_state"], "active");
    assert_ne!(pump["patient_key_hash"], spo2["patient_key_hash"], "two patients, two hashes");

    // The patient-id key is in the console's key bundle (here wrapped in the
    // private recovery file), not in a file of its own; nothing stored names
    // a patient, in the live database and WAL, and after a clean stop.
    assert!(!dir.path().join("keys/patient-id.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let recovery = dir.path().join("keys/recovery.json");
        assert_eq!(std::fs::metadata(&recovery)?.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(dir.path().join("keys"))?.permissions().mode() & 0o777, 0o700);
    }
    assert_no_patient_data(dir.path())?;
    serve.stop()?;
    assert_no_patient_data(dir.path())?;
    Ok(())
}

#[test]
fn the_same_patient_hashes_alike_across_restarts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (serve, port) = serve_mllp(dir.path())?;
    mllp_send(port, &[PCD01])?;
    wait_for_observations(dir.path(), 1)?;
    serve.stop()?;
    let (serve, port) = serve_mllp(dir.path())?;
    mllp_send(port, &[PCD01])?;
    let rows = wait_for_observations(dir.path(), 2)?;
    assert_eq!(rows[0]["patient_key_hash"], rows[1]["patient_key_hash"]);
    serve.stop()?;
    Ok(())
}

#[test]
fn garbage_gets_ar_and_an_oru_without_device_gets_ae_both_kept_redacted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (serve, port) = serve_mllp(dir.path())?;
    let garbage = b"Alice Testpatient says hello";
    let acks = mllp_send(
        port,
        &[garbage, NO_DEVICE, b"MSH|^~\\&|GW|F|||t||ADT^A01|ADT-1|P|2.5\rPID|||MRN-4711||Testpatient^Alice"],
    )?;
    anyhow::ensure!(acks.len() == 3, "expected three ACKs, got {acks:?}");
    assert_eq!(&msa(&acks[0])[..3], ["MSA", "AR", ""]);
    assert!(acks[0].iter().any(|s| s.starts_with("ERR|||102^")), "{acks:?}");
    assert_eq!(&msa(&acks[1])[..3], ["MSA", "AE", "MSG00043"]);
    assert!(msa(&acks[1])[3].contains("no device identity"), "{acks:?}");
    assert!(acks[1].iter().any(|s| s.starts_with("ERR|||101^Required field missing^HL70357|E")), "{acks:?}");
    assert_eq!(&msa(&acks[2])[..3], ["MSA", "AR", "ADT-1"]);
    assert_eq!(acks[2][0].split('|').nth(8), Some("ACK^A01^ACK"));

    // Counted, and kept redacted in `rejected`.
    let status = wait_for_status(dir.path(), |c| c["rejected"] == 3)?;
    assert_eq!((&status["received"], &status["parsed"]), (&Value::from(3), &Value::from(0)));
    let conn = crate::support::open_db(dir.path())?;
    let kept: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT error, raw FROM rejected ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    assert_eq!(kept.len(), 3);
    assert_eq!(kept[0].1, b"<redacted 28 bytes>\r");
    let no_device = String::from_utf8_lossy(&kept[1].1);
    assert!(no_device.contains("\rPID|<redacted>\rPV1||I|ICU-3^R12^B2\r"), "{no_device}");
    assert!(kept[1].0.contains("no device identity") && kept[1].0.contains("redacted"), "{}", kept[1].0);
    assert!(stored_observations(dir.path())?.is_empty());
    assert_no_patient_data(dir.path())?;
    serve.stop()?;
    assert_no_patient_data(dir.path())?;
    Ok(())
}

#[test]
fn oversize_messages_are_answered_ar_and_counted_and_stray_bytes_kept() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start_with(dir.path(), &["--listen", "mllp://127.0.0.1:0"])?;
    let addr = serve.mllp.context("no mllp listener")?;
    let mut big = b"\x0bMSH|^~\\&|GW|F|||t||ORU^R01|BIG-1|P|2.6\r".to_vec();
    big.extend(std::iter::repeat_n(b'x', 70 * 1024));
    big.extend_from_slice(b"\x1c\r");
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    c.write_all(b"stray ")?;
    c.write_all(&big)?;
    let ack = read_ack(&mut c)?;
    assert!(ack.contains("MSA|AR|BIG-1|message of"), "{ack}");
    // The connection goes on: a good message after it is accepted.
    c.write_all(&[&b"\x0b"[..], PCD01, b"\x1c\r"].concat())?;
    assert!(read_ack(&mut c)?.contains("MSA|AA|MSG00042"));
    drop(c);
    let status =
        wait_for_status(dir.path(), |c| c["parsed"] == 1 && c["oversize"] == 1 && c["rejected"] == 1)?;
    assert_eq!(status["received"], 3);
    serve.stop()?;
    Ok(())
}

fn read_ack(c: &mut TcpStream) -> anyhow::Result<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"\x1c\r") {
        let n = c.read(&mut buf)?;
        anyhow::ensure!(n > 0, "connection closed before the ACK ended: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// Polls `wardwatch status --json` until the mllp listener's counters satisfy `done`.
fn wait_for_status(dir: &Path, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let d = dir.to_str().context("non-UTF-8 temp dir")?;
    loop {
        let out = run(&["status", "--data-dir", d, "--json"], None)?;
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let counters = v["status"]["listeners"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["url"].as_str().is_some_and(|u| u.starts_with("mllp"))))
            .map(|l| l["counters"].clone())
            .unwrap_or_default();
        if done(&counters) {
            return Ok(counters);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting on the mllp counters; last {counters}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn parse_prints_the_summary_and_never_the_patient() -> anyhow::Result<()> {
    let input = [PCD01, PCD04, NO_DEVICE].concat();
    let out = run(&["parse", "--format", "hl7"], Some(&input))?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    let lines: Vec<Value> = text.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["ack"], "AA");
    assert_eq!(lines[0]["hl7"]["device_id"], "0123456789ABCDEF");
    assert_eq!(lines[0]["hl7"]["patient_associated"], true);
    assert_eq!(lines[0]["hl7"]["observation_count"], 5);
    assert_eq!(lines[1]["hl7"]["alarm"]["priority"], "PH");
    assert_eq!(lines[2]["ack"], "AE");
    assert_eq!(lines[2]["hl7"]["device_id"], Value::Null);
    Ok(())
}
