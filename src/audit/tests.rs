use std::path::Path;

use chrono::DateTime;
use rusqlite::Connection;

use super::*;
use crate::ingest::Ingested;
use crate::keys::SecretKey;
use crate::model::Format;
use crate::normalize::{self, Receipt};
use crate::store::{Store, StoreError, DB_FILE};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DB_KEY: [u8; 32] = [7; 32];

fn signing() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn alert(n: usize, text: &str) -> Result<Ingested, Box<dyn std::error::Error>> {
    let receipt = Receipt {
        received_at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + n as i64).ok_or("bad time")?,
        source_addr: "192.0.2.7:5140".parse().ok(),
        listener: Some("tcp://127.0.0.1:5514".into()),
    };
    let raw = format!("<11>1 2024-05-01T10:00:00Z gw app 12 BEACON - {text} {n}");
    Ok(Ingested::Alert(normalize::decode(Format::Rfc5424, raw.as_bytes(), &receipt)?))
}

/// A log of `n` alerts with a checkpoint after every `every` records.
fn make_log(dir: &Path, n: usize, every: usize) -> Result<Store, Box<dyn std::error::Error>> {
    let mut store = Store::open(dir, &SecretKey::from_bytes(DB_KEY))?;
    store.set_signer(signing());
    for i in 1..=n {
        store.append(&mut [alert(i, "beacon")?])?;
        if i % every == 0 {
            store.checkpoint()?;
        }
    }
    Ok(store)
}

fn verify_dir(dir: &Path) -> Result<Report, Box<dyn std::error::Error>> {
    let store = Store::open_read_only(dir, &SecretKey::from_bytes(DB_KEY))?;
    let anchor = Anchor::read(dir)?.and_then(|a| a.checkpoint());
    let key = signing().verifying_key().to_bytes();
    Ok(verify_chain(store.connection(), VerifyFrom::Genesis, anchor.as_ref(), Some(&key))?)
}

/// A connection that can change what the triggers protect: what someone
/// with the database key, but not the signing key, could do.
fn tamper(dir: &Path) -> Result<Connection, Box<dyn std::error::Error>> {
    let conn = Store::open_raw(dir, &SecretKey::from_bytes(DB_KEY))?;
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;",
    )?;
    Ok(conn)
}

fn damage(r: &Report) -> Result<&Damage, String> {
    r.damage.as_ref().ok_or_else(|| format!("no damage found: {r:?}"))
}

#[test]
fn canonical_bytes_and_hash_of_a_fixed_record_never_change() {
    let bytes = canonical_bytes(1_700_000_000_000_000, "console", "console.started", br#"{"a":1}"#);
    assert_eq!(
        hex::encode(&bytes),
        "776172647761746368206175646974207265636f72642076310000060a24181e400000000007636f6e736f6c650000000f636f6e736f6c652e73746172746564000000077b2261223a317d"
    );
    let hash = record_hash(&GENESIS, 1_700_000_000_000_000, b"console", b"console.started", br#"{"a":1}"#);
    let mut h = Sha256::new();
    h.update(GENESIS);
    h.update(&bytes);
    assert_eq!(<[u8; 32]>::from(h.finalize()), hash, "record_hash is SHA-256(prev || canonical bytes)");
    // Computed independently (Python hashlib) when the format was fixed.
    assert_eq!(hex::encode(hash), "772ac0aa4b0d3f3f13df4f575e1b085e202cc5154b0c16d72bbf1c4d2c86de7f");
}

#[test]
fn canonical_json_sorts_keys_at_every_depth() -> TestResult {
    let v = serde_json::json!({"b": {"z": 1, "a": [ {"y": 2, "x": 1} ]}, "a": null});
    assert_eq!(String::from_utf8(canonical_json(&v)?)?, r#"{"a":null,"b":{"a":[{"x":1,"y":2}],"z":1}}"#);
    Ok(())
}

#[test]
fn checkpoints_sign_the_head_and_detect_any_change() {
    let head = Head { seq: 42, hash: [3; 32] };
    let c = Checkpoint::sign(head, DateTime::from_timestamp_micros(5).unwrap_or_default(), &signing());
    assert!(c.signature_ok());
    for changed in [
        Checkpoint { seq: 43, ..c.clone() },
        Checkpoint { head_hash: [4; 32], ..c.clone() },
        Checkpoint { at_us: 6, ..c.clone() },
        Checkpoint { public_key: SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes(), ..c.clone() },
    ] {
        assert!(!changed.signature_ok(), "{changed:?}");
    }
}

#[test]
fn an_intact_log_verifies_with_its_range_and_checkpoints() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = make_log(dir.path(), 30, 10)?;
    let head = store.head();
    assert_eq!(head.seq, 30);
    store.checkpoint()?; // already signed at 30: nothing new
    drop(store);
    let r = verify_dir(dir.path())?;
    assert_eq!(r.damage, None);
    assert_eq!((r.first_seq, r.verified_through, r.records, r.checkpoints), (1, head, 30, 3));
    assert_eq!(r.last_checkpoint, Some(30));
    Ok(())
}

#[test]
fn every_alert_is_an_audit_record_with_the_whole_alert() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 3, 100)?);
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    let (kind, actor, body): (String, String, Vec<u8>) =
        conn.query_row("SELECT kind, actor, body FROM audit_log WHERE seq = 2", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    assert_eq!((kind.as_str(), actor.as_str()), ("alert.received", "listener tcp://127.0.0.1:5514"));
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(body["raw"], "<11>1 2024-05-01T10:00:00Z gw app 12 BEACON - beacon 2");
    let linked: i64 =
        conn.query_row("SELECT audit_seq FROM alerts WHERE id = ?1", [body["id"].as_i64()], |r| r.get(0))?;
    assert_eq!(linked, 2);
    Ok(())
}

#[test]
fn a_flipped_byte_in_a_record_is_named_modified() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 30, 10)?);
    let conn = tamper(dir.path())?;
    let mut body: Vec<u8> = conn.query_row("SELECT body FROM audit_log WHERE seq = 17", [], |r| r.get(0))?;
    body[20] ^= 0x01;
    conn.execute("UPDATE audit_log SET body = ?1 WHERE seq = 17", [body])?;
    drop(conn);
    let r = verify_dir(dir.path())?;
    let d = damage(&r)?;
    assert_eq!((d.seq, d.kind), (17, DamageKind::Modified), "{d:?}");
    assert_eq!(r.verified_through.seq, 16);
    Ok(())
}

#[test]
fn a_deleted_record_is_named_missing() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 30, 10)?);
    tamper(dir.path())?.execute("DELETE FROM audit_log WHERE seq = 12", [])?;
    let d = damage(&verify_dir(dir.path())?)?.clone();
    assert_eq!((d.seq, d.kind), (12, DamageKind::Missing), "{d:?}");
    Ok(())
}

#[test]
fn swapped_records_are_named_reordered() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 30, 10)?);
    let conn = tamper(dir.path())?;
    // Swap the contents of records 21 and 22, keeping their numbers.
    conn.execute_batch(
        "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (21, 22);
         UPDATE audit_log SET (at_us, actor, kind, body, prev_hash, hash) =
            (SELECT at_us, actor, kind, body, prev_hash, hash FROM t WHERE t.seq = 43 - audit_log.seq)
         WHERE seq IN (21, 22);",
    )?;
    drop(conn);
    let d = damage(&verify_dir(dir.path())?)?.clone();
    assert_eq!((d.seq, d.kind), (21, DamageKind::Reordered), "{d:?}");
    Ok(())
}

#[test]
fn records_cut_off_the_end_are_named_truncated() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 30, 10)?);
    // Also remove the checkpoints that signed them: only the anchor is left.
    let conn = tamper(dir.path())?;
    conn.execute_batch(
        "DELETE FROM audit_log WHERE seq > 24; DELETE FROM audit_checkpoints WHERE seq > 24;",
    )?;
    drop(conn);
    let d = damage(&verify_dir(dir.path())?)?.clone();
    assert_eq!((d.seq, d.kind), (25, DamageKind::Truncated), "{d:?}");
    assert!(d.detail.contains("anchor"), "{}", d.detail);
    Ok(())
}

#[test]
fn a_truncated_file_is_reported() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 300, 100)?);
    let path = dir.path().join(DB_FILE);
    let len = std::fs::metadata(&path)?.len();
    std::fs::OpenOptions::new().write(true).open(&path)?.set_len(len / 2)?;
    let r = verify_dir(dir.path());
    match r {
        Ok(r) => {
            let d = damage(&r)?;
            assert!(matches!(d.kind, DamageKind::Truncated | DamageKind::Unreadable), "{d:?}");
        }
        // The file may fail before any record is read: a clear error.
        Err(e) => assert!(e.to_string().contains("malformed") || e.to_string().contains("truncat"), "{e}"),
    }
    Ok(())
}

#[test]
fn a_replaced_checkpoint_signature_is_named_bad_signature() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 30, 10)?);
    // A signature by another key over the right head.
    let forged = Checkpoint::sign(
        Head { seq: 20, hash: [0; 32] },
        DateTime::from_timestamp_micros(1).unwrap_or_default(),
        &SigningKey::from_bytes(&[1; 32]),
    );
    tamper(dir.path())?
        .execute("UPDATE audit_checkpoints SET signature = ?1 WHERE seq = 20", [&forged.signature[..]])?;
    let d = damage(&verify_dir(dir.path())?)?.clone();
    assert_eq!((d.seq, d.kind), (20, DamageKind::BadSignature), "{d:?}");
    Ok(())
}

#[test]
fn a_chain_rehashed_without_the_signing_key_is_caught_by_its_checkpoint() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 30, 10)?);
    let conn = tamper(dir.path())?;
    // Change record 14 and recompute every hash after it, as someone with the
    // database key could.
    let rows: Vec<(i64, i64, String, String, Vec<u8>)> = conn
        .prepare("SELECT seq, at_us, actor, kind, body FROM audit_log WHERE seq >= 14 ORDER BY seq")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut prev: Vec<u8> = conn.query_row("SELECT hash FROM audit_log WHERE seq = 13", [], |r| r.get(0))?;
    for (seq, at, actor, kind, mut body) in rows {
        if seq == 14 {
            body = br#"{"forged":true}"#.to_vec();
        }
        let p: Hash = prev.as_slice().try_into()?;
        let h = record_hash(&p, at, actor.as_bytes(), kind.as_bytes(), &body);
        conn.execute(
            "UPDATE audit_log SET body = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![body, prev, &h[..], seq],
        )?;
        prev = h.to_vec();
    }
    drop(conn);
    let d = damage(&verify_dir(dir.path())?)?.clone();
    assert_eq!((d.seq, d.kind), (11, DamageKind::Modified), "{d:?}");
    assert!(d.detail.contains("from 11 to 20"), "{}", d.detail);
    Ok(())
}

#[test]
fn a_file_rolled_back_to_an_older_copy_is_named_truncated() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 20, 10)?);
    let old = tempfile::tempdir()?;
    std::fs::copy(dir.path().join(DB_FILE), old.path().join(DB_FILE))?;
    let mut store = Store::open(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    store.set_signer(signing());
    for i in 21..=35 {
        store.append(&mut [alert(i, "later")?])?;
    }
    store.checkpoint()?;
    drop(store);
    assert_eq!(verify_dir(dir.path())?.damage, None);
    // Put the older file back (the anchor beside it stays).
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("{DB_FILE}{suffix}")));
    }
    std::fs::copy(old.path().join(DB_FILE), dir.path().join(DB_FILE))?;
    let d = damage(&verify_dir(dir.path())?)?.clone();
    assert_eq!((d.seq, d.kind), (21, DamageKind::Truncated), "{d:?}");
    Ok(())
}

#[test]
fn a_wrong_key_is_a_clear_error_not_a_corrupt_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(make_log(dir.path(), 2, 10)?);
    for open in [
        Store::open(dir.path(), &SecretKey::from_bytes([8; 32])).map(drop),
        Store::open_read_only(dir.path(), &SecretKey::from_bytes([8; 32])).map(drop),
    ] {
        match open {
            Err(e @ StoreError::KeyMismatch { .. }) => {
                assert_eq!(e.code(), "audit.key_mismatch");
                assert!(e.to_string().contains("the key does not open"), "{e}");
            }
            other => panic!("expected a key mismatch, got {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn nothing_of_an_alert_is_readable_on_disk() -> TestResult {
    let dir = tempfile::tempdir()?;
    let marker = "MARKER-7f3a9c2e-unique-plaintext";
    let mut store = Store::open(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    store.set_signer(signing());
    store.append(&mut [alert(1, marker)?])?;
    // The marker is stored (readable through the key)...
    assert!(store.recent_alerts(1)?[0].message.contains(marker));
    // ...and nowhere in any file while the database is open (WAL, shm)...
    let grep = |dir: &Path| -> Result<Vec<String>, std::io::Error> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_file() {
                let bytes = std::fs::read(&path)?;
                if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
                    found.push(path.display().to_string());
                }
            }
        }
        Ok(found)
    };
    let files: Vec<_> =
        std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with("-wal")),
        "the WAL is there to search: {files:?}"
    );
    assert_eq!(grep(dir.path())?, Vec::<String>::new());
    drop(store);
    // ...nor after closing.
    assert_eq!(grep(dir.path())?, Vec::<String>::new());
    Ok(())
}

#[test]
fn an_archive_verifies_offline_with_only_its_passphrase() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = make_log(dir.path(), 40, 10)?;
    let out = dir.path().join("review.wwa");
    let pass = crate::keys::Passphrase::new("correct horse battery staple".into())?;
    let from = DateTime::from_timestamp_micros(1_700_000_000_000_000 + 5).ok_or("time")?;
    let to = DateTime::from_timestamp_micros(1_700_000_000_000_000 + 33).ok_or("time")?;
    let summary =
        export::export(store.connection(), &out, &pass, Some(from), Some(to), &signing(), "c0ffee")?;
    assert_eq!((summary.first_seq, summary.last_seq, summary.records, summary.checkpoints), (5, 33, 29, 3));
    drop(store);
    let archive = export::Archive::open(&out, &pass)?;
    assert_eq!(archive.meta.console_id, "c0ffee");
    let r = archive.verify(None)?;
    assert_eq!(r.damage, None);
    assert_eq!((r.first_seq, r.verified_through.seq, r.checkpoints), (5, 33, 3));
    // The archive names no marker in clear either, and refuses another passphrase.
    let bytes = std::fs::read(&out)?;
    assert!(!bytes.windows(6).any(|w| w == b"beacon"));
    let wrong = crate::keys::Passphrase::new("Tr0ub4dor&3".into())?;
    assert!(matches!(export::Archive::open(&out, &wrong), Err(export::ExportError::WrongPassphrase { .. })));
    // Never overwritten.
    let again = export::export(
        Store::open_read_only(dir.path(), &SecretKey::from_bytes(DB_KEY))?.connection(),
        &out,
        &pass,
        None,
        None,
        &signing(),
        "c0ffee",
    );
    assert!(matches!(again, Err(export::ExportError::Exists { .. })));
    Ok(())
}

#[test]
fn a_tampered_archive_does_not_verify() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = make_log(dir.path(), 25, 10)?;
    let out = dir.path().join("review.wwa");
    let pass = crate::keys::Passphrase::new("pass phrase".into())?;
    export::export(store.connection(), &out, &pass, None, None, &signing(), "c0ffee")?;
    drop(store);
    // Drop the last record and its end: the export signature still names it.
    let conn = Connection::open(&out)?;
    conn.execute_batch("PRAGMA key = 'pass phrase'; DELETE FROM audit_log WHERE seq = 25;")?;
    drop(conn);
    let r = export::Archive::open(&out, &pass)?.verify(None)?;
    let d = damage(&r)?;
    assert_eq!((d.seq, d.kind), (25, DamageKind::Truncated), "{d:?}");
    Ok(())
}
