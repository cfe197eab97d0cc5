//! Verification of a chain as stored: every record's hash, every link,
//! every checkpoint's signature and hash, and the anchor. A log whose front
//! was archived is verified from its newest base (see [`super::base`]).

use rusqlite::{Connection, OptionalExtension};

use super::base::{load_bases, Base};
use super::{record_hash, Checkpoint, Hash, Head};

/// Where verification starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyFrom {
    /// From the first record, whose `prev_hash` must be all zeros; or, when
    /// the front of the log was archived, from the newest base.
    Genesis,
    /// After a record already trusted (verified earlier, or the record just
    /// before an exported range, whose hash the export signed). A record at
    /// or below the newest base is replaced by the base.
    After(Head),
}

/// What kind of damage was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DamageKind {
    /// A record's contents no longer match its hash, or the chain was
    /// rewritten (hashes recomputed) without the console's signing key.
    Modified,
    /// Records are absent from the middle of the chain.
    Missing,
    /// Records are present but out of order.
    Reordered,
    /// Records are absent from the end: the file was cut short or rolled
    /// back to an older copy.
    Truncated,
    /// A checkpoint's signature is wrong or made with another key.
    BadSignature,
    /// The file itself cannot be read (SQLite or SQLCipher reports it corrupt).
    Unreadable,
}

impl std::fmt::Display for DamageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Modified => "modified",
            Self::Missing => "missing",
            Self::Reordered => "reordered",
            Self::Truncated => "truncated",
            Self::BadSignature => "bad signature",
            Self::Unreadable => "unreadable",
        })
    }
}

/// The first damage found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Damage {
    /// The first sequence number that cannot be trusted.
    pub seq: u64,
    pub kind: DamageKind,
    pub detail: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The first record checked (0 when there was none).
    pub first_seq: u64,
    /// The last record found good, with its hash.
    pub verified_through: Head,
    /// How many records were checked and found good.
    pub records: u64,
    /// How many checkpoints were checked and found good.
    pub checkpoints: u64,
    /// The newest good checkpoint.
    pub last_checkpoint: Option<u64>,
    /// The key that signed the checkpoints.
    pub public_key: Option<[u8; 32]>,
    /// The segments archived from the front of the log, oldest first: the
    /// live chain starts after the last.
    pub archived: Vec<Base>,
    pub damage: Option<Damage>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.damage.is_none()
    }
}

/// Verifies the `audit_log` and `audit_checkpoints` tables of `conn` from
/// `from` to the end. `anchor` is a checkpoint kept outside the file (the
/// data directory's anchor); `expect_key` pins the signing key (otherwise the
/// first checkpoint's key is the console's). Stops at the first damage.
/// When the front of the log was archived, every base must be signed by the
/// console, and the newest one needs its signed checkpoint, which the live
/// chain then starts from; without it the front was removed, not archived.
/// `Err` only for a failure to run the queries at all; a file that fails
/// part-way is reported as damage.
pub fn verify_chain(
    conn: &Connection,
    from: VerifyFrom,
    anchor: Option<&Checkpoint>,
    expect_key: Option<&[u8; 32]>,
) -> rusqlite::Result<Report> {
    let bases = load_bases(conn)?;
    let mut start = match from {
        VerifyFrom::Genesis => Head::EMPTY,
        VerifyFrom::After(head) => head,
    };
    if let Some(base) = bases.last().filter(|b| b.seq >= start.seq) {
        start = base.head();
    }
    let mut report = Report {
        first_seq: 0,
        verified_through: start,
        records: 0,
        checkpoints: 0,
        last_checkpoint: None,
        public_key: expect_key.copied(),
        archived: Vec::new(),
        damage: None,
    };
    if let Some(damage) = check_bases(conn, &bases, &mut report.public_key)? {
        report.damage = Some(damage);
        return Ok(report);
    }
    report.archived = bases;
    let mut checkpoints = load_checkpoints(conn, start.seq)?;
    if let Some(a) = anchor {
        if a.seq > start.seq {
            checkpoints.push(Pending { checkpoint: a.clone(), from_anchor: true });
            checkpoints.sort_by_key(|p| p.checkpoint.seq);
        }
    }
    let mut next_checkpoint = 0usize;
    let mut last_good_checkpoint = start.seq;

    let mut stmt = conn.prepare(
        "SELECT seq, at_us, actor, kind, body, prev_hash, hash FROM audit_log WHERE seq > ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([start.seq as i64])?;
    let mut prev = start;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                report.damage = Some(Damage {
                    seq: prev.seq + 1,
                    kind: DamageKind::Unreadable,
                    detail: format!("the file cannot be read after record {}: {e}", prev.seq),
                });
                return Ok(report);
            }
        };
        let fields = (|| -> rusqlite::Result<_> {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get_ref(2)?.as_bytes()?,
                row.get_ref(3)?.as_bytes()?,
                row.get_ref(4)?.as_bytes()?,
                row.get_ref(5)?.as_bytes()?,
                row.get_ref(6)?.as_bytes()?,
            ))
        })();
        let expected = prev.seq + 1;
        let Ok((seq, at_us, actor, kind, body, prev_hash, hash)) = fields else {
            report.damage = Some(Damage {
                seq: expected,
                kind: DamageKind::Modified,
                detail: format!("record {expected} has a field of the wrong type"),
            });
            return Ok(report);
        };
        if report.first_seq == 0 {
            report.first_seq = seq as u64;
        }
        let seq = seq as u64;
        if seq != expected {
            report.damage = Some(Damage {
                seq: expected,
                kind: DamageKind::Missing,
                detail: if seq == expected + 1 {
                    format!("record {expected} is missing (the next record found is {seq})")
                } else {
                    format!("records {expected} to {} are missing (the next record found is {seq})", seq - 1)
                },
            });
            return Ok(report);
        }
        let (Ok(prev_hash), Ok(hash)) = (<Hash>::try_from(prev_hash), <Hash>::try_from(hash)) else {
            report.damage = Some(Damage {
                seq,
                kind: DamageKind::Modified,
                detail: format!("record {seq}'s hashes are not 32 bytes long"),
            });
            return Ok(report);
        };
        if record_hash(&prev_hash, at_us, actor, kind, body) != hash {
            report.damage = Some(Damage {
                seq,
                kind: DamageKind::Modified,
                detail: format!("record {seq}'s contents do not match its hash"),
            });
            return Ok(report);
        }
        if prev_hash != prev.hash {
            report.damage = Some(broken_link(conn, seq, &prev_hash, start.seq)?);
            return Ok(report);
        }
        // Checkpoints at this record.
        while let Some(p) = checkpoints.get(next_checkpoint).filter(|p| p.checkpoint.seq <= seq) {
            if let Some(damage) = check_checkpoint(p, hash, last_good_checkpoint, &mut report.public_key) {
                report.damage = Some(damage);
                return Ok(report);
            }
            if !p.from_anchor {
                report.checkpoints += 1;
                report.last_checkpoint = Some(seq);
            }
            last_good_checkpoint = seq;
            next_checkpoint += 1;
        }
        prev = Head { seq, hash };
        report.verified_through = prev;
        report.records += 1;
    }
    if let Some(p) = checkpoints.get(next_checkpoint) {
        let c = &p.checkpoint;
        // A signature over records that are gone: the end of the chain was
        // cut off (or the file rolled back). A forged checkpoint would be
        // reported as such.
        if let Some(damage) = check_signature(p, &mut report.public_key) {
            report.damage = Some(damage);
        } else {
            let from = if p.from_anchor { "the anchor beside the database" } else { "a checkpoint" };
            report.damage = Some(Damage {
                seq: prev.seq + 1,
                kind: DamageKind::Truncated,
                detail: format!(
                    "{from} was signed at record {} but the chain ends at record {}: records {} to {} are gone \
                     (the file was truncated or rolled back to an older copy)",
                    c.seq,
                    prev.seq,
                    prev.seq + 1,
                    c.seq
                ),
            });
        }
    }
    Ok(report)
}

struct Pending {
    checkpoint: Checkpoint,
    from_anchor: bool,
}

/// Every base signed by the console, each following the one before, and the
/// signed checkpoint of the newest base's hash still there.
fn check_bases(
    conn: &Connection,
    bases: &[Base],
    console_key: &mut Option<[u8; 32]>,
) -> rusqlite::Result<Option<Damage>> {
    let Some(newest) = bases.last() else { return Ok(None) };
    let mut prev: u64 = 0;
    for b in bases {
        let bad = |detail: String| Some(Damage { seq: b.seq, kind: DamageKind::BadSignature, detail });
        if b.first_seq != prev.saturating_add(1) {
            return Ok(Some(Damage {
                seq: prev.saturating_add(1),
                kind: DamageKind::Missing,
                detail: format!(
                    "the archived segments do not follow each other: one ends at record {prev}, the next \
                     ({}) starts at record {}",
                    b.archive_file, b.first_seq
                ),
            }));
        }
        if !b.signature_ok() {
            return Ok(bad(format!(
                "the base at record {} (archive {}): the signature does not verify",
                b.seq, b.archive_file
            )));
        }
        match console_key {
            Some(k) if *k != b.public_key => {
                return Ok(bad(format!(
                    "the base at record {} (archive {}) is signed by {}, not by this console's key {}",
                    b.seq,
                    b.archive_file,
                    super::key_fingerprint(&b.public_key),
                    super::key_fingerprint(k)
                )))
            }
            Some(_) => {}
            None => *console_key = Some(b.public_key),
        }
        prev = b.seq;
    }
    let mut checkpoints = load_checkpoints(conn, newest.seq.saturating_sub(1))?;
    checkpoints.retain(|p| p.checkpoint.seq == newest.seq);
    let Some(p) = checkpoints.first() else {
        return Ok(Some(Damage {
            seq: newest.seq,
            kind: DamageKind::Missing,
            detail: format!(
                "the live log starts after record {} (archived in {}), but the signed checkpoint at \
                 record {} is gone: the front of the log was removed, or its checkpoint deleted",
                newest.seq, newest.archive_file, newest.seq
            ),
        }));
    };
    if let Some(damage) = check_signature(p, console_key) {
        return Ok(Some(damage));
    }
    Ok((p.checkpoint.head_hash != newest.hash).then(|| Damage {
        seq: newest.seq,
        kind: DamageKind::Modified,
        detail: format!(
            "the base at record {} names a hash its signed checkpoint does not: the base was changed",
            newest.seq
        ),
    }))
}

fn load_checkpoints(conn: &Connection, after: u64) -> rusqlite::Result<Vec<Pending>> {
    let mut stmt = conn.prepare(
        "SELECT seq, head_hash, at_us, public_key, signature FROM audit_checkpoints
         WHERE seq > ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([after as i64], |r| {
        let blob = |i: usize| -> rusqlite::Result<Vec<u8>> { r.get(i) };
        Ok((r.get::<_, i64>(0)?, blob(1)?, r.get::<_, i64>(2)?, blob(3)?, blob(4)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, head, at_us, key, sig) = row?;
        // A malformed field makes a checkpoint whose signature cannot verify.
        out.push(Pending {
            checkpoint: Checkpoint {
                seq: seq as u64,
                head_hash: head.try_into().unwrap_or([0xff; 32]),
                at_us,
                public_key: key.try_into().unwrap_or([0; 32]),
                signature: sig.try_into().unwrap_or([0; 64]),
            },
            from_anchor: false,
        });
    }
    Ok(out)
}

fn check_signature(p: &Pending, console_key: &mut Option<[u8; 32]>) -> Option<Damage> {
    let c = &p.checkpoint;
    let what = if p.from_anchor { "the anchor's checkpoint" } else { "checkpoint" };
    if !c.signature_ok() {
        return Some(Damage {
            seq: c.seq,
            kind: DamageKind::BadSignature,
            detail: format!("{what} at record {}: the signature does not verify", c.seq),
        });
    }
    match console_key {
        Some(k) if *k != c.public_key => Some(Damage {
            seq: c.seq,
            kind: DamageKind::BadSignature,
            detail: format!(
                "{what} at record {} is signed by {}, not by this console's key {}",
                c.seq,
                super::key_fingerprint(&c.public_key),
                super::key_fingerprint(k)
            ),
        }),
        Some(_) => None,
        None => {
            *console_key = Some(c.public_key);
            None
        }
    }
}

fn check_checkpoint(
    p: &Pending,
    hash_at_seq: Hash,
    last_good: u64,
    console_key: &mut Option<[u8; 32]>,
) -> Option<Damage> {
    if let Some(d) = check_signature(p, console_key) {
        return Some(d);
    }
    let c = &p.checkpoint;
    (c.head_hash != hash_at_seq).then(|| Damage {
        seq: last_good + 1,
        kind: DamageKind::Modified,
        detail: format!(
            "the chain was rewritten: record {}'s hash differs from the one signed at {}; \
             a record from {} to {} was changed and the hashes after it recomputed",
            c.seq,
            if p.from_anchor { "the anchor" } else { "its checkpoint" },
            last_good + 1,
            c.seq
        ),
    })
}

/// Record `seq` is intact but does not follow the record before it.
fn broken_link(conn: &Connection, seq: u64, prev_hash: &Hash, start: u64) -> rusqlite::Result<Damage> {
    let follows: Option<i64> = conn
        .query_row("SELECT seq FROM audit_log WHERE hash = ?1", [&prev_hash[..]], |r| r.get(0))
        .optional()?;
    Ok(match follows {
        Some(other) => Damage {
            seq,
            kind: DamageKind::Reordered,
            detail: format!(
                "record {seq} belongs after the record now numbered {other}, not after {}",
                seq - 1
            ),
        },
        None if seq - 1 <= start => Damage {
            seq,
            kind: DamageKind::Modified,
            detail: format!("record {seq} does not follow the trusted record {start}"),
        },
        None => Damage {
            seq: seq - 1,
            kind: DamageKind::Modified,
            detail: format!(
                "record {seq} does not follow record {}: record {} was changed and its hash recomputed, \
                 or records between them were removed and the rest renumbered",
                seq - 1,
                seq - 1
            ),
        },
    })
}
