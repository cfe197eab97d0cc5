//! The console's check of its audit log at start: incremental, from the
//! last record a previous check verified, to the head.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{key_fingerprint, verify_chain, Anchor, Damage, Head, VerifyFrom};
use crate::keys::SecretKey;
use crate::store::Store;

/// Where the last successful check ended (not secret; a stale or edited
/// marker only makes the next check start earlier or from the beginning).
pub const VERIFIED_FILE: &str = "audit-verified.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditState {
    /// The check is running.
    Verifying,
    /// Every record checked is intact.
    Verified,
    /// The chain is damaged: see `damage`.
    Damaged,
    /// The check could not run: see `error`.
    Failed,
}

/// What the console knows of its audit log's integrity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditStatus {
    pub state: AuditState,
    /// The last record moved into an archive (the live chain starts after
    /// it, at its signed checkpoint); 0 when none was.
    pub archived_through: u64,
    /// The first record this check verified (earlier ones were verified by
    /// an earlier check, or archived); 0 when none.
    pub verified_from: u64,
    pub verified_through: u64,
    pub records: u64,
    pub checkpoints: u64,
    /// The console's signing key, as people compare it.
    pub key_fingerprint: String,
    pub damage: Option<Damage>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    seq: u64,
    hash: String,
}

impl AuditStatus {
    pub fn verifying(public_key: &[u8; 32]) -> Self {
        Self {
            state: AuditState::Verifying,
            archived_through: 0,
            verified_from: 0,
            verified_through: 0,
            records: 0,
            checkpoints: 0,
            key_fingerprint: key_fingerprint(public_key),
            damage: None,
            error: None,
        }
    }

    /// Verifies the chain of `data_dir` from the last verified record on (or
    /// from the base, when the front of the log was archived since).
    pub fn check_at_start(data_dir: &Path, key: &SecretKey, public_key: &[u8; 32]) -> Self {
        let mut status = Self::verifying(public_key);
        let failed = |mut s: Self, e: String| {
            s.state = AuditState::Failed;
            s.error = Some(e);
            s
        };
        let store = match Store::open_read_only(data_dir, key) {
            Ok(s) => s,
            Err(e) => return failed(status, e.to_string()),
        };
        let anchor = match Anchor::read(data_dir) {
            Ok(a) => a.and_then(|a| a.checkpoint()),
            Err(e) => return failed(status, format!("audit anchor: {e}")),
        };
        let from = read_marker(data_dir, &store).map_or(VerifyFrom::Genesis, VerifyFrom::After);
        let report = match verify_chain(store.connection(), from, anchor.as_ref(), Some(public_key)) {
            Ok(r) => r,
            Err(e) => return failed(status, e.to_string()),
        };
        status.archived_through = report.archived.last().map_or(0, |b| b.seq);
        status.verified_from = report.first_seq;
        status.verified_through = report.verified_through.seq;
        status.records = report.records;
        status.checkpoints = report.checkpoints;
        status.state = if report.damage.is_some() { AuditState::Damaged } else { AuditState::Verified };
        status.damage = report.damage;
        if status.state == AuditState::Verified {
            let marker =
                Marker { seq: report.verified_through.seq, hash: hex::encode(report.verified_through.hash) };
            if let Err(e) = write_marker(data_dir, &marker) {
                tracing::warn!(error = %e, "Could not note how far the audit log was verified; the next start checks it all.");
            }
        }
        status
    }
}

/// The marker, if the record it names is still there with the same hash.
fn read_marker(data_dir: &Path, store: &Store) -> Option<Head> {
    let bytes = std::fs::read(data_dir.join(VERIFIED_FILE)).ok()?;
    let marker: Marker = serde_json::from_slice(&bytes).ok()?;
    let hash: [u8; 32] = hex::decode(&marker.hash).ok()?.try_into().ok()?;
    let stored: Vec<u8> = store
        .connection()
        .query_row("SELECT hash FROM audit_log WHERE seq = ?1", [marker.seq as i64], |r| r.get(0))
        .ok()?;
    (stored == hash).then_some(Head { seq: marker.seq, hash })
}

fn write_marker(data_dir: &Path, marker: &Marker) -> std::io::Result<()> {
    let tmp = data_dir.join(format!(".{VERIFIED_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(marker).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, data_dir.join(VERIFIED_FILE))
}
