//! The audit log's tables: `audit_log` (the chain), `audit_checkpoints`
//! (signed heads) and `audit_base` (archived segments). Triggers refuse
//! every update, and every delete except of what an archive holds.

use rusqlite::{params, CachedStatement, Connection, OptionalExtension};

use crate::audit::{Base, Checkpoint, Entry, Head};

/// The schema version that created the audit tables.
pub(super) const SCHEMA_VERSION: i64 = 6;

pub(super) const INSERT: &str =
    "INSERT INTO audit_log (seq, at_us, actor, kind, body, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Appends `entry` after `head` with the prepared [`INSERT`]; the new head.
pub(super) fn insert(stmt: &mut CachedStatement<'_>, head: &Head, entry: Entry) -> rusqlite::Result<Head> {
    let record = head.next(entry);
    stmt.execute(params![
        record.seq,
        record.at_us,
        record.actor,
        record.kind,
        record.body,
        &record.prev_hash[..],
        &record.hash[..],
    ])?;
    Ok(Head { seq: record.seq, hash: record.hash })
}

pub(super) fn insert_checkpoint(conn: &Connection, c: &Checkpoint) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_checkpoints (seq, head_hash, at_us, public_key, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![c.seq, &c.head_hash[..], c.at_us, &c.public_key[..], &c.signature[..]],
    )?;
    Ok(())
}

/// Records `base` and removes what its archive holds from the live tables:
/// records up to the base, checkpoints below it (the one at the base stays:
/// it signs where the live chain starts), and the alerts, rejected messages
/// and device observations whose audit record is archived (each record's
/// body is the whole row). The newest row of each of those tables stays,
/// whatever its record, so that SQLite never hands out its id again.
/// Counts of rows removed: (records, checkpoints, alerts, rejected, observations).
pub(super) fn retire(conn: &Connection, base: &Base) -> rusqlite::Result<[usize; 5]> {
    conn.execute(
        "INSERT INTO audit_base (seq, first_seq, hash, archive_file, archive_sha256, at_us, public_key, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            base.seq,
            base.first_seq,
            &base.hash[..],
            base.archive_file,
            hex::encode(base.archive_sha256),
            base.at_us,
            &base.public_key[..],
            &base.signature[..],
        ],
    )?;
    let seq = base.seq as i64;
    let records = conn.execute("DELETE FROM audit_log WHERE seq <= ?1", [seq])?;
    let checkpoints = conn.execute("DELETE FROM audit_checkpoints WHERE seq < ?1", [seq])?;
    let mut rows = [0; 3];
    for (n, table) in rows.iter_mut().zip(["alerts", "rejected", "device_observations"]) {
        *n = conn.execute(
            &format!("DELETE FROM {table} WHERE audit_seq <= ?1 AND id < (SELECT MAX(id) FROM {table})"),
            [seq],
        )?;
    }
    Ok([records, checkpoints, rows[0], rows[1], rows[2]])
}

/// The chain's last record.
pub(super) fn head_of(conn: &Connection) -> rusqlite::Result<Head> {
    let head = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    Ok(match head {
        None => Head::EMPTY,
        Some((seq, hash)) => Head { seq: seq as u64, hash: hash.try_into().unwrap_or([0xff; 32]) },
    })
}

/// The chain's last record and the newest checkpoint's record number.
pub(super) fn head(conn: &Connection) -> rusqlite::Result<(Head, u64)> {
    let head = conn
        .query_row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    let head = match head {
        None => Head::EMPTY,
        Some((seq, hash)) => Head {
            seq: seq as u64,
            // A malformed hash is left for verification to report; appending
            // after it still links to what is stored.
            hash: hash.try_into().unwrap_or([0xff; 32]),
        },
    };
    let last: Option<i64> = conn.query_row("SELECT MAX(seq) FROM audit_checkpoints", [], |r| r.get(0))?;
    Ok((head, last.unwrap_or(0) as u64))
}

/// The newest `config.settings` record: its number and body. The kind is
/// written out (not a parameter) so that SQLite uses the partial index.
pub(super) fn last_settings(conn: &Connection) -> rusqlite::Result<Option<(u64, Vec<u8>)>> {
    conn.query_row(
        "SELECT seq, body FROM audit_log WHERE kind = 'config.settings' ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
    )
    .optional()
}

/// Whether SQLite failed because the disk (or the file system's quota) is full.
pub(crate) fn is_disk_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}
