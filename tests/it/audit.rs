//! `wardwatch audit verify|export|archive` on real data directories written
//! by `wardwatch serve`, as a reviewer runs them.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;

use anyhow::Context;

use crate::support::{open_db, passphrase_file, run, wait_for_alerts, wardwatch, Serve};

/// A data directory with `n` alerts in it, served and stopped cleanly.
fn served(dir: &Path, n: usize) -> anyhow::Result<()> {
    let serve = Serve::start(dir)?;
    let mut c = TcpStream::connect(serve.tcp)?;
    for i in 0..n {
        writeln!(c, "<13>1 2026-11-28T10:00:00Z gw app - - - alert {i}")?;
    }
    drop(c);
    wait_for_alerts(dir, n, |a| a.len() == n)?;
    serve.stop()?;
    Ok(())
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn verify_prints_the_verified_range_and_names_the_first_damage() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    served(&data, 5)?;
    let d = data.to_str().context("path")?;
    let out = run(&["audit", "verify", "--data-dir", d], None)?;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    // key.created, config.settings, console.started, 5 alerts, console.stopped.
    assert!(
        said.contains("records 1 to 9 verified (9 records, 1 signed checkpoint, the last at record 9)"),
        "{said}"
    );
    assert!(said.contains("signed by: ed25519:") && said.trim_end().ends_with("OK"), "{said}");

    // Someone with the database key changes an alert's record.
    let conn = open_db(&data)?;
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET body = replace(body, 'alert 2', 'alert X') WHERE seq = 6;",
    )?;
    drop(conn);
    let out = run(&["audit", "verify", "--data-dir", d], None)?;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("records 1 to 5 verified"), "{said}");
    assert!(
        said.contains("DAMAGED: first bad record 6 (modified): record 6's contents do not match its hash"),
        "{said}"
    );
    Ok(())
}

#[test]
fn an_exported_range_verifies_on_its_own_with_only_the_passphrase() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    served(&data, 3)?;
    let (d, out_file) = (data.to_str().context("path")?, dir.path().join("review.wwa"));
    let o = out_file.to_str().context("path")?;
    let exported =
        run(&["audit", "export", "--data-dir", d, "--from", "2000-01-01T00:00:00Z", "--out", o], None)?;
    assert!(exported.status.success(), "{}", text(&exported));
    assert!(
        text(&exported).contains("records 1 to 7 (7 records, 1 signed checkpoint)"),
        "{}",
        text(&exported)
    );

    // The reviewer's machine: only the archive and its passphrase.
    let elsewhere = tempfile::tempdir()?;
    let copy = elsewhere.path().join("review.wwa");
    std::fs::copy(&out_file, &copy)?;
    std::fs::remove_dir_all(&data)?;
    let c = copy.to_str().context("path")?;
    let out = run(&["audit", "verify", "--archive", c], None)?;
    assert!(out.status.success() && text(&out).contains("records 1 to 7 verified"), "{}", text(&out));
    assert!(text(&out).contains("archive") && text(&out).trim_end().ends_with("OK"), "{}", text(&out));

    let wrong = elsewhere.path().join("wrong");
    std::fs::write(&wrong, "Tr0ub4dor&3")?;
    let out = run(
        &["audit", "verify", "--archive", c, "--passphrase-file", wrong.to_str().context("path")?],
        None,
    )?;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("[audit.key_mismatch]"), "{}", text(&out));
    assert!(!text(&out).contains("ERROR CORE"), "SQLCipher's own log stays quiet: {}", text(&out));
    Ok(())
}

#[test]
fn without_its_keys_a_data_directory_says_so_with_a_code() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    served(&data, 1)?;
    let d = data.to_str().context("path")?;
    // No passphrase, and no keyring entry for this directory.
    let out = wardwatch()
        .env_remove("WARDWATCH_PASSPHRASE_FILE")
        .args(["audit", "verify", "--data-dir", d])
        .output()?;
    assert!(!out.status.success());
    assert!(text(&out).contains("[audit.key_missing]"), "{}", text(&out));
    // The wrong recovery passphrase.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase\n")?;
    let out = run(&["alerts", "--data-dir", d, "--passphrase-file", wrong.to_str().context("path")?], None)?;
    assert!(text(&out).contains("[audit.key_mismatch]"), "{}", text(&out));
    assert!(passphrase_file().exists());
    Ok(())
}

/// Each start records the settings in force when they differ from the last
/// ones recorded, with every change before and after; an unchanged start
/// records nothing more.
#[test]
fn a_changed_configuration_is_recorded_with_what_changed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("wardwatch.toml");
    let start = |toml: &str| -> anyhow::Result<()> {
        std::fs::write(&config, toml)?;
        Serve::start_with(dir.path(), &["--config", config.to_str().unwrap_or_default()])?.stop()?;
        Ok(())
    };
    start("max_connections = 10\n")?;
    start("max_connections = 20\nidle_timeout_secs = 30\n")?;
    start("max_connections = 20\nidle_timeout_secs = 30\n")?;
    let db = open_db(dir.path())?;
    let bodies: Vec<Vec<u8>> = db
        .prepare("SELECT body FROM audit_log WHERE kind = 'config.settings' ORDER BY seq")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(
        bodies.len(),
        2,
        "one record for the first start, one for the change, none for the same again"
    );
    let first: serde_json::Value = serde_json::from_slice(&bodies[0])?;
    assert_eq!(first["settings"]["max_connections"], "10", "{first}");
    assert_eq!(first["previous_seq"], serde_json::Value::Null, "{first}");
    let second: serde_json::Value = serde_json::from_slice(&bodies[1])?;
    assert_eq!(
        second["changes"],
        serde_json::json!([
            {"setting": "idle_timeout_secs", "before": "600", "after": "30"},
            {"setting": "max_connections", "before": "10", "after": "20"},
        ]),
        "{second}"
    );
    // The records are part of the chain like any other.
    let out = run(&["audit", "verify", "--data-dir", dir.path().to_str().unwrap_or_default()], None)?;
    assert!(out.status.success(), "{}", text(&out));
    Ok(())
}

/// `SELECT seq, hash` of the live records in `lo..=hi`.
fn hashes(data: &Path, lo: i64, hi: i64) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let conn = open_db(data)?;
    let mut stmt =
        conn.prepare("SELECT seq, hash FROM audit_log WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")?;
    let rows = stmt.query_map([lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[test]
fn archive_moves_whole_signed_segments_out_and_verify_starts_from_the_base() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let d = data.to_str().context("path")?;
    // Run 1: key.created, config.settings, console.started, 2 alerts, console.stopped (checkpoint at 6).
    served(&data, 2)?;
    let between = chrono::Utc::now().to_rfc3339();
    // Run 2: records 7 to 11, checkpoint at 11.
    served(&data, 3)?;
    let kept = hashes(&data, 7, 11)?;
    assert_eq!(kept.len(), 5);

    // Nothing signed before then: refused, and nothing written.
    let first = dir.path().join("audit-1.wwa");
    let f = first.to_str().context("path")?;
    let out =
        run(&["audit", "archive", "--data-dir", d, "--before", "2000-01-01T00:00:00Z", "--out", f], None)?;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("[audit.nothing_to_archive] no signed checkpoint"), "{}", text(&out));
    assert!(!first.exists());

    let out = run(&["audit", "archive", "--data-dir", d, "--before", &between, "--out", f], None)?;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("records 1 to 6 (6 records, 1 signed checkpoint) archived and verified"), "{said}");
    let digest = hex::encode(wardwatch::audit::retention::sha256_file(&first)?);
    assert!(said.contains(&format!("sha256 {digest}")), "{said}");

    // The live log starts after the base, says so, and still verifies.
    let out = run(&["audit", "verify", "--data-dir", d], None)?;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("records 1 to 6 are archived in audit-1.wwa (sha256 {digest})")),
        "{said}"
    );
    // Records 7 to 11, then audit.archived (12), signed.
    assert!(
        said.contains("records 7 to 12 verified (6 records, 2 signed checkpoints, the last at record 12)"),
        "{said}"
    );
    assert_eq!(hashes(&data, 1, 6)?, [], "the archived records left the live log");
    assert_eq!(hashes(&data, 7, 11)?, kept, "the records after the base are untouched");
    // Run 1's alerts went with their records; run 2's are still listed.
    let names = crate::support::names(&crate::support::alerts_json(&data, 50)?);
    assert_eq!(names.len(), 3, "{names:?}");

    // The archive verifies elsewhere with only its passphrase.
    let elsewhere = tempfile::tempdir()?;
    let copy = elsewhere.path().join("audit-1.wwa");
    std::fs::copy(&first, &copy)?;
    let out = run(&["audit", "verify", "--archive", copy.to_str().context("path")?], None)?;
    assert!(out.status.success() && text(&out).contains("records 1 to 6 verified"), "{}", text(&out));

    // Appending goes on: a third run, verified from the base. Its settings
    // are recorded again (13): the last record of them went to the archive.
    served(&data, 2)?;
    let (kind, body): (String, Vec<u8>) =
        open_db(&data)?.query_row("SELECT kind, body FROM audit_log WHERE seq = 13", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(kind, "config.settings");
    assert_eq!(
        (&body["previous_in_archive"], &body["changes"]),
        (&true.into(), &serde_json::json!([])),
        "{body}"
    );
    let out = run(&["audit", "verify", "--data-dir", d, "--json"], None)?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert!(out.status.success() && report["ok"] == true, "{report}");
    assert_eq!(
        (report["first_seq"].as_u64(), report["verified_through"].as_u64()),
        (Some(7), Some(17)),
        "{report}"
    );
    assert_eq!(report["archived"][0]["last_seq"], 6, "{report}");
    assert_eq!(report["archived"][0]["sha256"], digest.as_str(), "{report}");

    // The same name again is refused; a second run continues from the base.
    let out = run(
        &["audit", "archive", "--data-dir", d, "--before", &chrono::Utc::now().to_rfc3339(), "--out", f],
        None,
    )?;
    assert!(!out.status.success() && text(&out).contains("[audit.archive_exists]"), "{}", text(&out));
    let second = dir.path().join("audit-2.wwa");
    let s2 = second.to_str().context("path")?;
    let now = chrono::Utc::now().to_rfc3339();
    let out = run(&["audit", "archive", "--data-dir", d, "--before", &now, "--out", s2], None)?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("records 7 to 17"), "{}", text(&out));
    let out = run(&["audit", "verify", "--data-dir", d], None)?;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("records 1 to 6 are archived in audit-1.wwa"), "{said}");
    assert!(said.contains("records 7 to 17 are archived in audit-2.wwa"), "{said}");
    assert!(said.contains("records 18 to 18 verified"), "{said}");
    let out = run(&["audit", "verify", "--archive", s2], None)?;
    assert!(out.status.success() && text(&out).contains("records 7 to 17 verified"), "{}", text(&out));

    // The console starts on it: its start check verifies from the base.
    let log = dir.path().join("serve.log");
    let serve = Serve::start_logging(&data, &[], &log)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let said = loop {
        let said = std::fs::read_to_string(&log)?;
        if said.contains("Audit log verified.") || said.contains("Audit log damaged.") {
            break said;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "no start check in the log: {said}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    };
    serve.stop()?;
    assert!(said.contains("Audit log verified.") && !said.contains("damaged"), "{said}");
    // Records 19 (config.settings), 20 (console.started) and 21 (console.stopped) follow audit.archived (18).
    let out = run(&["audit", "verify", "--data-dir", d], None)?;
    assert!(out.status.success() && text(&out).contains("records 18 to 21 verified"), "{}", text(&out));
    Ok(())
}

#[test]
fn front_records_deleted_without_an_archive_are_named_missing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    served(&data, 3)?;
    let d = data.to_str().context("path")?;
    let conn = open_db(&data)?;
    // The triggers refuse it...
    assert!(conn.execute("DELETE FROM audit_log WHERE seq <= 2", []).is_err());
    // ...so someone with the database key drops them first.
    conn.execute_batch("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq <= 2;")?;
    drop(conn);
    let out = run(&["audit", "verify", "--data-dir", d], None)?;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("DAMAGED: first bad record 1 (missing): records 1 to 2 are missing"), "{said}");
    Ok(())
}

/// Every file a console writes while it serves, below `dir`, that holds `marker`.
fn files_holding(dir: &Path, marker: &[u8]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(files_holding(&path, marker)?);
        } else if std::fs::read(&path)?.windows(marker.len()).any(|w| w == marker) {
            found.push(path);
        }
    }
    Ok(found)
}

/// An alert sent over the network is readable through the console and
/// nowhere else: not in the database, its WAL or shared memory, not in a
/// temporary file SQLite might make, not in the console's own log (at debug).
#[test]
fn an_alert_sent_over_tcp_leaves_no_plaintext_in_any_file_or_the_log() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (data, tmp, log) = (dir.path().join("data"), dir.path().join("tmp"), dir.path().join("serve.log"));
    std::fs::create_dir(&tmp)?;
    let serve = Serve::start_logging_with_env(&data, &log, &[("TMPDIR", &tmp), ("SQLITE_TMPDIR", &tmp)])?;
    let marker = "MARKER-b81d0c55-sent-over-tcp";
    let mut c = TcpStream::connect(serve.tcp)?;
    writeln!(c, "<10>1 2026-11-28T10:00:00Z gw-icu-1 ids - EXPLOIT - exploit attempt on pump {marker}")?;
    drop(c);
    let alerts = wait_for_alerts(&data, 5, |a| !a.is_empty())?;
    assert!(alerts[0]["message"].as_str().is_some_and(|m| m.contains(marker)), "stored and readable");
    // While it serves: the database and its WAL are open and being written.
    assert!(data.join("wardwatch.db-wal").exists(), "the WAL is there to search");
    // Data directory (keys included), SQLite's temporary directory and the log.
    assert_eq!(files_holding(dir.path(), marker.as_bytes())?, Vec::<std::path::PathBuf>::new());
    serve.stop()?;
    // And after it stopped, anywhere in the test's directory.
    assert_eq!(files_holding(dir.path(), marker.as_bytes())?, Vec::<std::path::PathBuf>::new());
    assert!(std::fs::metadata(&log)?.len() > 0, "the log was written (at debug) and searched");
    Ok(())
}
