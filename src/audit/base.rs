//! The base of a log whose front was archived: the last record moved out,
//! the archive that holds it, and the console's signature over both.
//!
//! Bases live in the append-only `audit_base` table. The newest one is where
//! the live chain starts: its record's hash is what the first live record
//! links to, and the signed checkpoint at that record stays in the live log.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rusqlite::{Connection, OptionalExtension};

use super::{Hash, Head};

const BASE_DOMAIN: &[u8] = b"wardwatch audit base v1\0";

/// Records `first_seq..=seq` were moved into the archive `archive_file`,
/// whose SHA-256 is `archive_sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The first record of the archived segment (the previous base + 1).
    pub first_seq: u64,
    /// The last archived record: the live chain starts after it.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// The archive's file name (no directory: archives are moved away).
    pub archive_file: String,
    pub archive_sha256: [u8; 32],
    /// When the segment was archived.
    pub at_us: i64,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl Base {
    /// A base signed by `key`.
    pub fn sign(
        first_seq: u64,
        head: Head,
        archive_file: String,
        archive_sha256: [u8; 32],
        at_us: i64,
        key: &SigningKey,
    ) -> Self {
        let mut base = Self {
            first_seq,
            seq: head.seq,
            hash: head.hash,
            archive_file,
            archive_sha256,
            at_us,
            public_key: key.verifying_key().to_bytes(),
            signature: [0; 64],
        };
        base.signature = key.sign(&base.message()).to_bytes();
        base
    }

    /// The live chain's starting point.
    pub fn head(&self) -> Head {
        Head { seq: self.seq, hash: self.hash }
    }

    /// The signed bytes: a domain tag, first and last record numbers (u64,
    /// big-endian), the last record's hash, the archive's SHA-256, the time
    /// (i64 microseconds, big-endian), the public key, then the file name
    /// preceded by its length (u32, big-endian). Pinned by a test.
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(BASE_DOMAIN.len() + 148 + self.archive_file.len());
        m.extend_from_slice(BASE_DOMAIN);
        m.extend_from_slice(&self.first_seq.to_be_bytes());
        m.extend_from_slice(&self.seq.to_be_bytes());
        m.extend_from_slice(&self.hash);
        m.extend_from_slice(&self.archive_sha256);
        m.extend_from_slice(&self.at_us.to_be_bytes());
        m.extend_from_slice(&self.public_key);
        m.extend_from_slice(&(self.archive_file.len() as u32).to_be_bytes());
        m.extend_from_slice(self.archive_file.as_bytes());
        m
    }

    /// Whether the signature is good for the base's own public key.
    pub fn signature_ok(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.public_key) else { return false };
        key.verify(&self.message(), &Signature::from_bytes(&self.signature)).is_ok()
    }
}

/// Every base of `conn`, oldest first; none when the database predates
/// retention (no `audit_base` table, as in an archive or an old file opened
/// read-only). A malformed field makes a base whose signature cannot verify.
pub fn load_bases(conn: &Connection) -> rusqlite::Result<Vec<Base>> {
    let exists: Option<i64> = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_base'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT first_seq, seq, hash, archive_file, archive_sha256, at_us, public_key, signature
         FROM audit_base ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        let blob = |i: usize| -> rusqlite::Result<Vec<u8>> { r.get(i) };
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            blob(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            blob(6)?,
            blob(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (first_seq, seq, hash, archive_file, sha, at_us, key, sig) = row?;
        out.push(Base {
            first_seq: first_seq as u64,
            seq: seq as u64,
            hash: hash.try_into().unwrap_or([0xff; 32]),
            archive_file,
            archive_sha256: hex::decode(sha).ok().and_then(|b| b.try_into().ok()).unwrap_or([0; 32]),
            at_us,
            public_key: key.try_into().unwrap_or([0; 32]),
            signature: sig.try_into().unwrap_or([0; 64]),
        });
    }
    Ok(out)
}
