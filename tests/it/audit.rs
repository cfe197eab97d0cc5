//! `wardwatch audit verify|export` on real data directories written by
//! `wardwatch serve`, as a reviewer runs them.

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
            {"setting": "idle_timeout_secs", "before": "none", "after": "30"},
            {"setting": "max_connections", "before": "10", "after": "20"},
        ]),
        "{second}"
    );
    // The records are part of the chain like any other.
    let out = run(&["audit", "verify", "--data-dir", dir.path().to_str().unwrap_or_default()], None)?;
    assert!(out.status.success(), "{}", text(&out));
    Ok(())
}
