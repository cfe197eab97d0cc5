//! Archives for offline review: a self-contained SQLCipher file holding a
//! range of the chain, the checkpoints inside it, the console's public key
//! and a signature over the range's two ends.
//!
//! The archive is encrypted with SQLCipher's own passphrase mode
//! (PBKDF2-HMAC-SHA512, 256,000 iterations, a random salt in the file), so a
//! reviewer needs only the passphrase, and any SQLCipher 4 tool opens it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rusqlite::types::ToSqlOutput;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use zeroize::Zeroizing;

use super::{verify_chain, Hash, Head, Report, VerifyFrom};
use crate::keys::Passphrase;

/// What an archive's `archive_meta.format` says.
pub const ARCHIVE_FORMAT: &str = "wardwatch-audit-archive";
pub const ARCHIVE_VERSION: &str = "1";
const EXPORT_DOMAIN: &[u8] = b"wardwatch audit export v1\0";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path} already exists: choose another name (an archive is never overwritten)")]
    Exists { path: PathBuf },
    #[error("no audit records between {from} and {to}")]
    Empty { from: String, to: String },
    #[error("the passphrase does not open the archive {path} (or it is not an archive)")]
    WrongPassphrase { path: PathBuf },
    #[error("{path} is not a Wardwatch audit archive: {reason}")]
    NotAnArchive { path: PathBuf, reason: String },
    #[error("archive {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("archive {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// What an archive says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveMeta {
    pub console_id: String,
    pub exported_at: DateTime<Utc>,
    /// The record before the first one in the archive: its number and hash,
    /// which the first record links to.
    pub start: Head,
    pub last: Head,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl ArchiveMeta {
    fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(EXPORT_DOMAIN.len() + 120);
        m.extend_from_slice(EXPORT_DOMAIN);
        m.extend_from_slice(&self.start.seq.to_be_bytes());
        m.extend_from_slice(&self.start.hash);
        m.extend_from_slice(&self.last.seq.to_be_bytes());
        m.extend_from_slice(&self.last.hash);
        m.extend_from_slice(&self.exported_at.timestamp_micros().to_be_bytes());
        m.extend_from_slice(&self.public_key);
        m
    }

    /// Whether the console's signature over the range's ends is good.
    pub fn signature_ok(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.public_key) else { return false };
        key.verify(&self.message(), &Signature::from_bytes(&self.signature)).is_ok()
    }
}

/// What was exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
    pub checkpoints: u64,
}

/// Writes the records of `src` received from `from` to `to` (inclusive; all
/// when `None`) into a new archive at `out`, encrypted with `passphrase` and
/// signed with `signer`. The file appears under its name only once complete.
pub fn export(
    src: &Connection,
    out: &Path,
    passphrase: &Passphrase,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    signer: &SigningKey,
    console_id: &str,
) -> Result<ExportSummary, ExportError> {
    let sqlite = |source| ExportError::Sqlite { path: out.to_owned(), source };
    if out.exists() {
        return Err(ExportError::Exists { path: out.to_owned() });
    }
    let from_us = from.map_or(i64::MIN, |t| t.timestamp_micros());
    let to_us = to.map_or(i64::MAX, |t| t.timestamp_micros());
    let range: (Option<i64>, Option<i64>) = src
        .query_row(
            "SELECT (SELECT MIN(seq) FROM audit_log WHERE at_us >= ?1),
                    (SELECT MAX(seq) FROM audit_log WHERE at_us <= ?2)",
            [from_us, to_us],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sqlite)?;
    let (Some(first), Some(last)) = range else {
        return Err(empty(from, to));
    };
    if first > last {
        return Err(empty(from, to));
    }
    export_range(src, out, passphrase, first as u64, last as u64, signer, console_id)
}

/// Writes records `first..=last` of `src`, with the checkpoints among them,
/// into a new archive at `out`, as [`export`] does (retention archives
/// whole segments this way). The file appears under its name only once
/// complete and durable (written aside, fsynced, renamed, directory fsynced).
pub fn export_range(
    src: &Connection,
    out: &Path,
    passphrase: &Passphrase,
    first: u64,
    last: u64,
    signer: &SigningKey,
    console_id: &str,
) -> Result<ExportSummary, ExportError> {
    let sqlite = |source| ExportError::Sqlite { path: out.to_owned(), source };
    if out.exists() {
        return Err(ExportError::Exists { path: out.to_owned() });
    }
    let (first, last) = (first as i64, last as i64);
    let (start_hash, last_hash): (Vec<u8>, Vec<u8>) = src
        .query_row(
            "SELECT (SELECT prev_hash FROM audit_log WHERE seq = ?1), (SELECT hash FROM audit_log WHERE seq = ?2)",
            [first, last],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sqlite)?;
    let hash = |v: Vec<u8>| -> Result<Hash, ExportError> {
        v.try_into().map_err(|_| ExportError::NotAnArchive {
            path: out.to_owned(),
            reason: "the source chain has a malformed hash; run `wardwatch audit verify`".into(),
        })
    };
    let mut meta = ArchiveMeta {
        console_id: console_id.to_owned(),
        exported_at: Utc::now(),
        start: Head { seq: first as u64 - 1, hash: hash(start_hash)? },
        last: Head { seq: last as u64, hash: hash(last_hash)? },
        public_key: signer.verifying_key().to_bytes(),
        signature: [0; 64],
    };
    meta.signature = signer.sign(&meta.message()).to_bytes();

    let tmp = out.with_extension("wwa.partial");
    let _ = std::fs::remove_file(&tmp);
    let result = write_archive(src, &tmp, passphrase, &meta, first, last);
    match result {
        Ok(summary) => {
            std::fs::rename(&tmp, out).map_err(|source| ExportError::Io { path: out.to_owned(), source })?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|source| ExportError::Io { path: dir.to_owned(), source })?;
            }
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn empty(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> ExportError {
    let show = |t: Option<DateTime<Utc>>, open: &str| t.map_or(open.to_owned(), |t| t.to_rfc3339());
    ExportError::Empty { from: show(from, "the beginning"), to: show(to, "now") }
}

fn write_archive(
    src: &Connection,
    path: &Path,
    passphrase: &Passphrase,
    meta: &ArchiveMeta,
    first: i64,
    last: i64,
) -> Result<ExportSummary, ExportError> {
    let sqlite = |source| ExportError::Sqlite { path: path.to_owned(), source };
    let mut dst = Connection::open(path).map_err(sqlite)?;
    dst.execute_batch(&passphrase_pragma(passphrase)).map_err(sqlite)?;
    dst.pragma_update(None, "temp_store", "MEMORY").map_err(sqlite)?;
    let tx = dst.transaction().map_err(sqlite)?;
    tx.execute_batch(
        "CREATE TABLE archive_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY, at_us INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
            body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
         CREATE INDEX audit_log_at ON audit_log (at_us);
         CREATE TABLE audit_checkpoints (
            seq INTEGER PRIMARY KEY, head_hash BLOB NOT NULL, at_us INTEGER NOT NULL,
            public_key BLOB NOT NULL, signature BLOB NOT NULL);",
    )
    .map_err(sqlite)?;
    {
        let mut put = tx.prepare("INSERT INTO archive_meta (name, value) VALUES (?1, ?2)").map_err(sqlite)?;
        for (name, value) in [
            ("format", ARCHIVE_FORMAT.to_owned()),
            ("version", ARCHIVE_VERSION.to_owned()),
            ("console_id", meta.console_id.clone()),
            ("exported_at_us", meta.exported_at.timestamp_micros().to_string()),
            ("start_seq", meta.start.seq.to_string()),
            ("start_hash", hex::encode(meta.start.hash)),
            ("last_seq", meta.last.seq.to_string()),
            ("last_hash", hex::encode(meta.last.hash)),
            ("public_key", hex::encode(meta.public_key)),
            ("signature", hex::encode(meta.signature)),
        ] {
            put.execute([name, value.as_str()]).map_err(sqlite)?;
        }
        let src_err = |source| ExportError::Sqlite { path: PathBuf::from("(audit log)"), source };
        let mut read = src
            .prepare(
                "SELECT seq, at_us, actor, kind, body, prev_hash, hash FROM audit_log
                 WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
            )
            .map_err(src_err)?;
        let mut write = tx
            .prepare(
                "INSERT INTO audit_log (seq, at_us, actor, kind, body, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(sqlite)?;
        let mut rows = read.query([first, last]).map_err(src_err)?;
        while let Some(r) = rows.next().map_err(src_err)? {
            write
                .execute(params![
                    ToSqlOutput::Borrowed(r.get_ref(0).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(1).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(2).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(3).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(4).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(5).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(6).map_err(src_err)?),
                ])
                .map_err(sqlite)?;
        }
        let mut read = src
            .prepare(
                "SELECT seq, head_hash, at_us, public_key, signature FROM audit_checkpoints
                 WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
            )
            .map_err(src_err)?;
        let mut write = tx
            .prepare(
                "INSERT INTO audit_checkpoints (seq, head_hash, at_us, public_key, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sqlite)?;
        let mut rows = read.query([first, last]).map_err(src_err)?;
        while let Some(r) = rows.next().map_err(src_err)? {
            write
                .execute(params![
                    ToSqlOutput::Borrowed(r.get_ref(0).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(1).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(2).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(3).map_err(src_err)?),
                    ToSqlOutput::Borrowed(r.get_ref(4).map_err(src_err)?),
                ])
                .map_err(sqlite)?;
        }
    }
    let counts: (i64, i64) = tx
        .query_row(
            "SELECT (SELECT COUNT(*) FROM audit_log), (SELECT COUNT(*) FROM audit_checkpoints)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sqlite)?;
    tx.commit().map_err(sqlite)?;
    drop(dst);
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| ExportError::Io { path: path.to_owned(), source })?;
    Ok(ExportSummary {
        first_seq: first as u64,
        last_seq: last as u64,
        records: counts.0 as u64,
        checkpoints: counts.1 as u64,
    })
}

/// `PRAGMA key = '...'` with the passphrase as a string literal (SQLCipher
/// derives the key from it), in a string wiped after use.
fn passphrase_pragma(passphrase: &Passphrase) -> Zeroizing<String> {
    let mut sql = Zeroizing::new(String::with_capacity(passphrase.expose().len() + 20));
    sql.push_str("PRAGMA key = '");
    for c in passphrase.expose().chars() {
        if c == '\'' {
            sql.push('\'');
        }
        sql.push(c);
    }
    sql.push_str("';");
    sql
}

/// An archive opened read-only.
pub struct Archive {
    pub conn: Connection,
    pub meta: ArchiveMeta,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive").field("meta", &self.meta).finish_non_exhaustive()
    }
}

impl Archive {
    /// Opens the archive at `path` read-only with `passphrase`.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<Self, ExportError> {
        let sqlite = |source| ExportError::Sqlite { path: path.to_owned(), source };
        if !path.is_file() {
            return Err(ExportError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        conn.execute_batch(&passphrase_pragma(passphrase)).map_err(sqlite)?;
        crate::store::quiet_cipher_log(&conn);
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(sqlite)?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                return Err(ExportError::WrongPassphrase { path: path.to_owned() })
            }
            Err(source) => return Err(sqlite(source)),
        }
        let meta = read_meta(&conn, path)?;
        Ok(Self { conn, meta })
    }

    /// Verifies the archive: the export signature, the chain from the
    /// signed start to the signed end, and every checkpoint in it.
    pub fn verify(&self, expect_key: Option<&[u8; 32]>) -> Result<Report, rusqlite::Error> {
        let key = expect_key.copied().unwrap_or(self.meta.public_key);
        let mut report = verify_chain(&self.conn, VerifyFrom::After(self.meta.start), None, Some(&key))?;
        if report.damage.is_none() {
            use super::{Damage, DamageKind};
            if key != self.meta.public_key || !self.meta.signature_ok() {
                report.damage = Some(Damage {
                    seq: self.meta.last.seq,
                    kind: DamageKind::BadSignature,
                    detail: "the archive's export signature does not verify with the console's key".into(),
                });
            } else if report.verified_through != self.meta.last {
                let end = report.verified_through.seq;
                report.damage = Some(if end < self.meta.last.seq {
                    Damage {
                        seq: end + 1,
                        kind: DamageKind::Truncated,
                        detail: format!(
                            "the archive was signed up to record {} but its chain ends at record {end}",
                            self.meta.last.seq
                        ),
                    }
                } else {
                    Damage {
                        seq: self.meta.last.seq,
                        kind: DamageKind::Modified,
                        detail: format!(
                            "record {}'s hash is not the one the export signed",
                            self.meta.last.seq
                        ),
                    }
                });
            }
        }
        Ok(report)
    }
}

fn read_meta(conn: &Connection, path: &Path) -> Result<ArchiveMeta, ExportError> {
    let not = |reason: &str| ExportError::NotAnArchive { path: path.to_owned(), reason: reason.to_owned() };
    let get = |name: &str| -> Result<String, ExportError> {
        conn.query_row("SELECT value FROM archive_meta WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(|_| not("it has no archive_meta table"))?
            .ok_or_else(|| not(&format!("archive_meta has no {name}")))
    };
    if get("format")? != ARCHIVE_FORMAT {
        return Err(not("its format is not wardwatch-audit-archive"));
    }
    let version = get("version")?;
    if version != ARCHIVE_VERSION {
        return Err(not(&format!("version {version} is not one this build reads ({ARCHIVE_VERSION})")));
    }
    let num = |name: &str| -> Result<u64, ExportError> {
        get(name)?.parse().map_err(|_| not(&format!("{name} is not a number")))
    };
    fn bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
        hex::decode(s).ok()?.try_into().ok()
    }
    let hexed = |name: &str| -> Result<String, ExportError> { get(name) };
    let exported_at_us: i64 =
        get("exported_at_us")?.parse().map_err(|_| not("exported_at_us is not a number"))?;
    Ok(ArchiveMeta {
        console_id: get("console_id")?,
        exported_at: DateTime::from_timestamp_micros(exported_at_us)
            .ok_or_else(|| not("bad exported_at_us"))?,
        start: Head {
            seq: num("start_seq")?,
            hash: bytes(&hexed("start_hash")?).ok_or_else(|| not("bad start_hash"))?,
        },
        last: Head {
            seq: num("last_seq")?,
            hash: bytes(&hexed("last_hash")?).ok_or_else(|| not("bad last_hash"))?,
        },
        public_key: bytes(&hexed("public_key")?).ok_or_else(|| not("bad public_key"))?,
        signature: bytes(&hexed("signature")?).ok_or_else(|| not("bad signature"))?,
    })
}
