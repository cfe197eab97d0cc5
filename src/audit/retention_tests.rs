//! Retention on real SQLCipher files: archiving the front of a log, what the
//! live log and the archive say afterwards, and what is refused.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::export::Archive;
use super::retention::{archive, archive_checked, sha256_file, RetentionError};
use super::*;
use crate::ingest::Ingested;
use crate::keys::{Passphrase, SecretKey};
use crate::model::Format;
use crate::normalize::{self, Receipt};
use crate::store::Store;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DB_KEY: [u8; 32] = [7; 32];
const T0: i64 = 1_700_000_000_000_000;

fn signing() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn pass() -> Result<Passphrase, Box<dyn std::error::Error>> {
    Ok(Passphrase::new("correct horse battery staple".into())?)
}

fn at(us: i64) -> Result<DateTime<Utc>, Box<dyn std::error::Error>> {
    Ok(DateTime::from_timestamp_micros(T0 + us).ok_or("bad time")?)
}

fn alert(n: usize) -> Result<Ingested, Box<dyn std::error::Error>> {
    let receipt = Receipt {
        received_at: at(n as i64)?,
        source_addr: "192.0.2.7:5140".parse().ok(),
        listener: Some("tcp://127.0.0.1:5514".into()),
    };
    let raw = format!("<11>1 2024-05-01T10:00:00Z gw app 12 BEACON - beacon {n}");
    Ok(Ingested::Alert(normalize::decode(Format::Rfc5424, raw.as_bytes(), &receipt)?))
}

fn open(dir: &Path) -> Result<Store, Box<dyn std::error::Error>> {
    let mut store = Store::open(dir, &SecretKey::from_bytes(DB_KEY))?;
    store.set_signer(signing());
    Ok(store)
}

/// Appends alerts `from..=to` (record n is alert n in a new log), signing a
/// checkpoint after every `every`-th.
fn append(store: &mut Store, from: usize, to: usize, every: usize) -> TestResult {
    for i in from..=to {
        store.append(&mut [alert(i)?])?;
        if i % every == 0 {
            store.checkpoint()?;
        }
    }
    Ok(())
}

fn verify_dir(dir: &Path) -> Result<Report, Box<dyn std::error::Error>> {
    let store = Store::open_read_only(dir, &SecretKey::from_bytes(DB_KEY))?;
    let anchor = Anchor::read(dir)?.and_then(|a| a.checkpoint());
    let key = signing().verifying_key().to_bytes();
    Ok(verify_chain(store.connection(), VerifyFrom::Genesis, anchor.as_ref(), Some(&key))?)
}

fn run(
    store: &mut Store,
    dir: &Path,
    out: &Path,
    before: DateTime<Utc>,
    pass: &Passphrase,
) -> Result<Base, RetentionError> {
    archive(store, dir, out, pass, before, &signing(), "c0ffee").map(|a| a.base)
}

/// Every row of `table` with `column > after`, as text, to compare.
fn rows(conn: &Connection, table: &str, column: &str, after: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} WHERE {column} > ?1 ORDER BY {column}"))?;
    let n = stmt.column_count();
    let rows = stmt.query_map([after], |r| {
        (0..n).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect()
    })?;
    rows.collect::<Result<Vec<Vec<String>>, _>>().map(|v| v.into_iter().map(|r| r.join("|")).collect())
}

fn count(conn: &Connection, sql: &str) -> rusqlite::Result<i64> {
    conn.query_row(sql, [], |r| r.get(0))
}

fn damage(r: &Report) -> Result<&Damage, String> {
    r.damage.as_ref().ok_or_else(|| format!("no damage found: {r:?}"))
}

#[test]
fn a_segment_moves_to_an_archive_and_the_live_log_verifies_from_its_base() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 35, 10)?;
    let later_before = rows(store.connection(), "audit_log", "seq", 20)?;
    let alerts_later = rows(store.connection(), "alerts", "audit_seq", 20)?;
    assert_eq!(later_before.len(), 15);

    // Records older than T0+25: the newest checkpoint among them is at 20.
    let out = dir.path().join("first.wwa");
    let base = run(&mut store, dir.path(), &out, at(25)?, &pass()?)?;
    assert_eq!((base.first_seq, base.seq, base.archive_file.as_str()), (1, 20, "first.wwa"));
    assert_eq!(base.archive_sha256, sha256_file(&out)?);

    // The archive verifies on its own, with only the passphrase.
    let archive = Archive::open(&out, &pass()?)?;
    let r = archive.verify(None)?;
    assert_eq!(r.damage, None);
    assert_eq!((r.first_seq, r.verified_through.seq, r.records, r.checkpoints), (1, 20, 20, 2));
    assert_eq!(archive.meta.start, Head::EMPTY);
    drop(archive);

    // The live log: records 21..35 untouched, then the audit.archived record.
    let conn = store.connection();
    assert_eq!(rows(conn, "audit_log", "seq", 20)?[..15], later_before[..]);
    assert_eq!(rows(conn, "alerts", "audit_seq", 20)?, alerts_later);
    assert_eq!(count(conn, "SELECT MIN(seq) FROM audit_log")?, 21);
    assert_eq!(count(conn, "SELECT COUNT(*) FROM alerts")?, 15);
    assert_eq!(count(conn, "SELECT MIN(seq) FROM audit_checkpoints")?, 20, "the base's checkpoint stays");
    let (kind, body): (String, Vec<u8>) =
        conn.query_row("SELECT kind, body FROM audit_log WHERE seq = 36", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    assert_eq!(kind, kind::AUDIT_ARCHIVED);
    let body: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(body["first_seq"], 1);
    assert_eq!(body["last_seq"], 20);
    assert_eq!(body["file"], "first.wwa");
    assert_eq!(body["sha256"], hex::encode(sha256_file(&out)?));

    let r = verify_dir(dir.path())?;
    assert_eq!(r.damage, None);
    assert_eq!((r.first_seq, r.verified_through.seq, r.records), (21, 36, 16));
    assert_eq!(r.archived, vec![base.clone()]);

    // Appending goes on, and verifies.
    append(&mut store, 37, 45, 100)?;
    store.checkpoint()?;
    let r = verify_dir(dir.path())?;
    assert_eq!((r.damage.as_ref(), r.verified_through.seq), (None, 45));

    // A second run continues from the first base: everything up to the
    // newest checkpoint (45).
    let second = dir.path().join("second.wwa");
    let base2 = run(&mut store, dir.path(), &second, Utc::now() + chrono::Duration::hours(1), &pass()?)?;
    assert_eq!((base2.first_seq, base2.seq), (21, 45));
    let archive = Archive::open(&second, &pass()?)?;
    assert_eq!(archive.meta.start, base.head());
    let r2 = archive.verify(None)?;
    assert_eq!((r2.damage.as_ref(), r2.first_seq, r2.verified_through.seq), (None, 21, 45));
    drop(archive);
    let r = verify_dir(dir.path())?;
    assert_eq!(r.damage, None);
    assert_eq!((r.first_seq, r.verified_through.seq), (46, 46));
    assert_eq!(r.archived.iter().map(|b| (b.first_seq, b.seq)).collect::<Vec<_>>(), [(1, 20), (21, 45)]);

    // Every alert was archived but the newest row stays, so no id is reused.
    let conn = store.connection();
    assert_eq!(count(conn, "SELECT COUNT(*) FROM alerts")?, 1);
    let newest = count(conn, "SELECT MAX(id) FROM alerts")?;
    append(&mut store, 47, 47, 100)?;
    assert_eq!(count(store.connection(), "SELECT MAX(id) FROM alerts")?, newest + 1);
    Ok(())
}

#[test]
fn the_start_check_verifies_from_the_base_and_keeps_its_marker() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 15, 10)?;
    let key = SecretKey::from_bytes(DB_KEY);
    let public = signing().verifying_key().to_bytes();
    // A marker inside what will be archived.
    assert_eq!(AuditStatus::check_at_start(dir.path(), &key, &public).verified_through, 15);
    append(&mut store, 16, 30, 10)?;
    run(&mut store, dir.path(), &dir.path().join("a.wwa"), at(25)?, &pass()?)?;
    // Nothing newer than the base is old enough for a second run yet.
    let e =
        run(&mut store, dir.path(), &dir.path().join("b.wwa"), at(25)?, &pass()?).err().ok_or("archived")?;
    assert_eq!(e.code(), "audit.nothing_to_archive");
    assert!(e.to_string().contains("after record 20 (where the live log starts)"), "{e}");
    let s = AuditStatus::check_at_start(dir.path(), &key, &public);
    assert_eq!(s.state, AuditState::Verified, "{s:?}");
    assert_eq!((s.archived_through, s.verified_from, s.verified_through), (20, 21, 31));
    // The next check starts after the marker.
    append(&mut store, 32, 33, 100)?;
    let s = AuditStatus::check_at_start(dir.path(), &key, &public);
    assert_eq!((s.state, s.verified_from, s.verified_through), (AuditState::Verified, 32, 33));
    Ok(())
}

#[test]
fn the_triggers_allow_deleting_only_what_a_base_covers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 30, 10)?;
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    assert!(conn.execute("DELETE FROM audit_log WHERE seq = 1", []).is_err(), "no base yet");
    assert!(conn.execute("DELETE FROM audit_checkpoints WHERE seq = 10", []).is_err());
    // A base must name a stored, checkpointed record.
    let fake = Base::sign(1, Head { seq: 15, hash: [1; 32] }, "x.wwa".into(), [0; 32], 0, &signing());
    let insert = "INSERT INTO audit_base (seq, first_seq, hash, archive_file, archive_sha256, at_us, public_key, signature)
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    let err = conn.execute(
        insert,
        rusqlite::params![
            fake.seq,
            fake.first_seq,
            &fake.hash[..],
            fake.archive_file,
            hex::encode(fake.archive_sha256),
            0,
            &fake.public_key[..],
            &fake.signature[..]
        ],
    );
    assert!(err.is_err(), "{err:?}");
    drop(conn);

    run(&mut store, dir.path(), &dir.path().join("a.wwa"), at(25)?, &pass()?)?;
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    for refused in [
        "DELETE FROM audit_log WHERE seq = 21",
        "DELETE FROM audit_checkpoints WHERE seq = 20",
        "DELETE FROM audit_checkpoints WHERE seq = 30",
        "DELETE FROM audit_base",
        "UPDATE audit_base SET archive_file = 'other.wwa'",
        "UPDATE audit_log SET actor = 'x' WHERE seq = 25",
    ] {
        let r = conn.execute(refused, []);
        assert!(r.is_err(), "{refused}: {r:?}");
    }
    Ok(())
}

#[test]
fn front_rows_removed_without_archiving_are_named_missing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 30, 10)?;
    drop(store);
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    conn.execute_batch("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq <= 3;")?;
    drop(conn);
    let r = verify_dir(dir.path())?;
    let d = damage(&r)?;
    assert_eq!((d.seq, d.kind), (1, DamageKind::Missing), "{d:?}");
    assert!(d.detail.contains("records 1 to 3 are missing"), "{}", d.detail);
    Ok(())
}

#[test]
fn a_base_without_its_checkpoint_or_forged_is_damage() -> TestResult {
    // The checkpoint at the base deleted: the front was removed, not archived.
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 30, 10)?;
    run(&mut store, dir.path(), &dir.path().join("a.wwa"), at(25)?, &pass()?)?;
    drop(store);
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    conn.execute_batch(
        "DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints WHERE seq = 20;",
    )?;
    drop(conn);
    let r = verify_dir(dir.path())?;
    let d = damage(&r)?;
    assert_eq!((d.seq, d.kind), (20, DamageKind::Missing), "{d:?}");
    assert!(d.detail.contains("a.wwa") && d.detail.contains("checkpoint"), "{}", d.detail);

    // Someone with the database key but not the signing key "archives" the
    // front themselves: the base is not signed by the console.
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 30, 10)?;
    let hash_10: Vec<u8> =
        store.connection().query_row("SELECT hash FROM audit_log WHERE seq = 10", [], |r| r.get(0))?;
    drop(store);
    let other = SigningKey::from_bytes(&[1; 32]);
    let forged = Base::sign(
        1,
        Head { seq: 10, hash: hash_10.as_slice().try_into()? },
        "f.wwa".into(),
        [0; 32],
        0,
        &other,
    );
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    conn.execute(
        "INSERT INTO audit_base (seq, first_seq, hash, archive_file, archive_sha256, at_us, public_key, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            forged.seq,
            forged.first_seq,
            &forged.hash[..],
            forged.archive_file,
            hex::encode(forged.archive_sha256),
            forged.at_us,
            &forged.public_key[..],
            &forged.signature[..]
        ],
    )?;
    conn.execute("DELETE FROM audit_log WHERE seq <= 10", [])?;
    drop(conn);
    let r = verify_dir(dir.path())?;
    let d = damage(&r)?;
    assert_eq!((d.seq, d.kind), (10, DamageKind::BadSignature), "{d:?}");
    assert!(d.detail.contains("not by this console's key"), "{}", d.detail);
    Ok(())
}

#[test]
fn an_archive_that_does_not_verify_leaves_the_live_log_unchanged() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 30, 10)?;
    let before_rows = rows(store.connection(), "audit_log", "seq", 0)?;
    let head = store.head();
    let out = dir.path().join("bad.wwa");
    // The archive is damaged between its writing and its check.
    let mut damage_it = |path: &Path| {
        if let Ok(conn) = Connection::open(path) {
            let _ = conn.execute_batch(
                "PRAGMA key = 'correct horse battery staple'; DELETE FROM audit_log WHERE seq = 7;",
            );
        }
    };
    let err = archive_checked(
        &mut store,
        dir.path(),
        &out,
        &pass()?,
        at(25)?,
        &signing(),
        "c0ffee",
        &mut damage_it,
    );
    let Err(e) = err else { return Err("a damaged archive was accepted".into()) };
    assert_eq!(e.code(), "audit.archive_invalid", "{e}");
    assert!(e.to_string().contains("left unchanged"), "{e}");
    assert!(e.to_string().contains("missing"), "{e}");
    assert_eq!(store.head(), head);
    assert_eq!(rows(store.connection(), "audit_log", "seq", 0)?, before_rows);
    assert_eq!(count(store.connection(), "SELECT COUNT(*) FROM alerts")?, 30);
    assert_eq!(count(store.connection(), "SELECT COUNT(*) FROM audit_base")?, 0);
    let r = verify_dir(dir.path())?;
    assert_eq!((r.damage.as_ref(), r.first_seq, r.verified_through.seq), (None, 1, 30));
    Ok(())
}

#[test]
fn what_cannot_be_archived_is_refused_with_its_code() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut store = open(dir.path())?;
    append(&mut store, 1, 30, 10)?;
    let head = store.head();
    // Before the first checkpoint's record (10).
    let out = dir.path().join("a.wwa");
    let e = run(&mut store, dir.path(), &out, at(10)?, &pass()?).err().ok_or("archived")?;
    assert_eq!(e.code(), "audit.nothing_to_archive", "{e}");
    assert!(e.to_string().contains("no signed checkpoint"), "{e}");
    assert!(!out.exists());
    // An existing file is never overwritten.
    std::fs::write(&out, b"keep me")?;
    let e = run(&mut store, dir.path(), &out, at(25)?, &pass()?).err().ok_or("archived")?;
    assert_eq!(e.code(), "audit.archive_exists", "{e}");
    assert_eq!(std::fs::read(&out)?, b"keep me");
    // A damaged live chain.
    let conn = Store::open_raw(dir.path(), &SecretKey::from_bytes(DB_KEY))?;
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'someone' WHERE seq = 4;",
    )?;
    drop(conn);
    let out = dir.path().join("b.wwa");
    let e = run(&mut store, dir.path(), &out, at(25)?, &pass()?).err().ok_or("archived")?;
    assert_eq!(e.code(), "audit.damaged", "{e}");
    assert!(e.to_string().contains("first bad record 4"), "{e}");
    assert!(!out.exists());
    assert_eq!(store.head(), head);
    assert_eq!(count(store.connection(), "SELECT MIN(seq) FROM audit_log")?, 1);
    Ok(())
}

#[test]
fn the_signed_bytes_of_a_base_never_change() {
    let base = Base {
        first_seq: 1,
        seq: 20,
        hash: [3; 32],
        archive_file: "a.wwa".into(),
        archive_sha256: [4; 32],
        at_us: T0,
        public_key: [5; 32],
        signature: [0; 64],
    };
    // Computed independently (Python struct) when the format was fixed.
    assert_eq!(
        hex::encode(base.message()),
        "776172647761746368206175646974206261736520763100000000000000000100000000000000140303030303030303030303030303030303030303030303030303030303030303040404040404040404040404040404040404040404040404040404040404040400060a24181e4000050505050505050505050505050505050505050505050505050505050505050500000005612e777761"
    );
    let signed = Base::sign(1, Head { seq: 20, hash: [3; 32] }, "a.wwa".into(), [4; 32], T0, &signing());
    assert!(signed.signature_ok());
    for changed in [
        Base { first_seq: 2, ..signed.clone() },
        Base { seq: 21, ..signed.clone() },
        Base { archive_file: "b.wwa".into(), ..signed.clone() },
        Base { archive_sha256: [6; 32], ..signed.clone() },
    ] {
        assert!(!changed.signature_ok(), "{changed:?}");
    }
}
