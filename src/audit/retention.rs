//! Retention: whole verified segments of the chain move into archives.
//! Records are never changed in place; the front of the log, up to a signed
//! checkpoint, is written to an encrypted archive (as [`super::export`]
//! writes one), the archive is opened again and verified, and only then, in
//! one transaction, the live log records the new base, drops what the
//! archive holds and appends an `audit.archived` record.
//!
//! A crash at any point loses nothing: before the rename the archive is a
//! `.partial` file beside its name and the live log is untouched; after it,
//! the live transaction either committed or did not happen.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::base::{load_bases, Base};
use super::export::{export_range, Archive, ExportError};
use super::{kind, verify_chain, Anchor, Damage, Entry, Hash, Head, VerifyFrom, ANCHOR_FILE};
use crate::keys::Passphrase;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("no signed checkpoint{after} is on a record older than {before}: nothing whole to archive (a segment ends at a checkpoint)")]
    NothingBefore {
        before: String,
        /// Where the live log starts, when an earlier archive moved its front.
        after: String,
    },
    #[error("the audit log is damaged (first bad record {}, {}: {}); nothing was archived: run `wardwatch audit verify` and keep the data directory as evidence", .0.seq, .0.kind, .0.detail)]
    Damaged(Damage),
    #[error("{path} already exists: choose another name (an archive is never overwritten)")]
    Exists { path: PathBuf },
    #[error("the archive {path} does not verify ({reason}); the live log was left unchanged and the archive kept for inspection")]
    ArchiveInvalid { path: PathBuf, reason: String },
    #[error("the console is running on {0}: stop it before archiving")]
    Busy(PathBuf),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit log {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("audit anchor {path}: {source}")]
    Anchor { path: PathBuf, source: std::io::Error },
    #[error("audit record: {0}")]
    Audit(#[from] super::AuditError),
}

impl RetentionError {
    /// A stable code for people and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NothingBefore { .. } => "audit.nothing_to_archive",
            Self::Damaged(_) => "audit.damaged",
            Self::Exists { .. } => "audit.archive_exists",
            Self::ArchiveInvalid { .. } => "audit.archive_invalid",
            Self::Busy(_) => "audit.busy",
            Self::Export(ExportError::Exists { .. }) => "audit.archive_exists",
            Self::Store(e) => e.code(),
            Self::Export(_) | Self::Sqlite { .. } | Self::Anchor { .. } | Self::Audit(_) => "audit.error",
        }
    }
}

/// What one archive run moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub base: Base,
    /// Records, checkpoints, alerts, rejected messages and device
    /// observations removed from the live tables.
    pub retired: crate::store::Retired,
    pub checkpoints_in_archive: u64,
}

/// The `audit.archived` record's body.
#[derive(Debug, Serialize)]
struct ArchivedBody<'a> {
    first_seq: u64,
    last_seq: u64,
    file: &'a str,
    sha256: String,
}

/// Moves the records of `store` up to the newest signed checkpoint on a
/// record older than `before` into a new archive at `out`, encrypted with
/// `passphrase` and signed with `signer` (the console's key, whose public
/// half every checkpoint must carry). See the module documentation.
pub fn archive(
    store: &mut Store,
    data_dir: &Path,
    out: &Path,
    passphrase: &Passphrase,
    before: DateTime<Utc>,
    signer: &SigningKey,
    console_id: &str,
) -> Result<Archived, RetentionError> {
    archive_checked(store, data_dir, out, passphrase, before, signer, console_id, &mut |_| {})
}

/// [`archive`], with `after_write` called on the archive between writing
/// it and verifying it (tests damage it there).
// The arguments of `archive` and the test hook: a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn archive_checked(
    store: &mut Store,
    data_dir: &Path,
    out: &Path,
    passphrase: &Passphrase,
    before: DateTime<Utc>,
    signer: &SigningKey,
    console_id: &str,
    after_write: &mut dyn FnMut(&Path),
) -> Result<Archived, RetentionError> {
    if out.exists() {
        return Err(RetentionError::Exists { path: out.to_owned() });
    }
    if crate::status::read(data_dir).is_ok_and(|s| s.is_live(Utc::now())) {
        return Err(RetentionError::Busy(data_dir.to_owned()));
    }
    let db = store.path().to_owned();
    let sqlite = |source| RetentionError::Sqlite { path: db.clone(), source };
    let conn = store.connection();
    let bases = load_bases(conn).map_err(sqlite)?;
    let start = bases.last().map_or(Head::EMPTY, Base::head);
    let Some(end) = segment_end(conn, start.seq, before).map_err(sqlite)? else {
        return Err(nothing_before(before, start));
    };

    // The live chain, from its base to its head, with the anchor.
    let public_key = signer.verifying_key().to_bytes();
    let anchor = Anchor::read(data_dir)
        .map_err(|source| RetentionError::Anchor { path: data_dir.join(ANCHOR_FILE), source })?
        .and_then(|a| a.checkpoint());
    let report =
        verify_chain(conn, VerifyFrom::Genesis, anchor.as_ref(), Some(&public_key)).map_err(sqlite)?;
    if let Some(d) = report.damage {
        return Err(RetentionError::Damaged(d));
    }
    if report.verified_through.seq < end.seq {
        return Err(nothing_before(before, start));
    }

    let summary = export_range(conn, out, passphrase, start.seq + 1, end.seq, signer, console_id)?;
    after_write(out);

    // The archive as written, read back: it must hold exactly the segment.
    let invalid = |reason: String| RetentionError::ArchiveInvalid { path: out.to_owned(), reason };
    let digest = sha256_file(out).map_err(|e| invalid(e.to_string()))?;
    {
        let archive = Archive::open(out, passphrase).map_err(|e| invalid(e.to_string()))?;
        let r = archive.verify(Some(&public_key)).map_err(|e| invalid(e.to_string()))?;
        if let Some(d) = &r.damage {
            return Err(invalid(format!("first bad record {}, {}: {}", d.seq, d.kind, d.detail)));
        }
        if archive.meta.start != start || archive.meta.last != end || r.last_checkpoint != Some(end.seq) {
            return Err(invalid(format!(
                "it holds records {} to {} (checkpoint {:?}), not the segment {} to {} ending at its checkpoint",
                archive.meta.start.seq + 1,
                archive.meta.last.seq,
                r.last_checkpoint,
                start.seq + 1,
                end.seq
            )));
        }
    }
    if sha256_file(out).map_err(|e| invalid(e.to_string()))? != digest {
        return Err(invalid("it changed while it was being verified".into()));
    }

    let file = out.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let base = Base::sign(start.seq + 1, end, file, digest, Utc::now().timestamp_micros(), signer);
    let entry = Entry::new(
        Utc::now(),
        super::open::actor(),
        kind::AUDIT_ARCHIVED,
        &ArchivedBody {
            first_seq: base.first_seq,
            last_seq: base.seq,
            file: &base.archive_file,
            sha256: hex::encode(digest),
        },
    )?;
    let retired = store.retire_front(&base, entry)?;
    tracing::info!(
        first = base.first_seq,
        last = base.seq,
        records = retired.records,
        "Audit log segment archived."
    );
    // Sign the new head (and move the anchor to it).
    store.checkpoint()?;
    Ok(Archived { base, retired, checkpoints_in_archive: summary.checkpoints })
}

fn nothing_before(before: DateTime<Utc>, start: Head) -> RetentionError {
    let after = match start.seq {
        0 => String::new(),
        n => format!(" after record {n} (where the live log starts)"),
    };
    RetentionError::NothingBefore { before: before.to_rfc3339(), after }
}

/// The newest checkpoint after record `after` whose record is older than
/// `before`, as the head it signs.
fn segment_end(conn: &Connection, after: u64, before: DateTime<Utc>) -> rusqlite::Result<Option<Head>> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT c.seq, c.head_hash FROM audit_checkpoints c JOIN audit_log l ON l.seq = c.seq
             WHERE c.seq > ?1 AND l.at_us < ?2 ORDER BY c.seq DESC LIMIT 1",
            [after as i64, before.timestamp_micros()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(seq, hash)| Head {
        seq: seq as u64,
        // A malformed hash cannot match the record: verification refuses it.
        hash: Hash::try_from(hash.as_slice()).unwrap_or([0xff; 32]),
    }))
}

/// The SHA-256 of the file at `path`.
pub fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}
