//! Figures for the audit log: durable appends per second with encryption and
//! the chain, and the time to verify a chain. Used by `wardwatch bench` and
//! `cargo bench`; prints nothing itself.

use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;

use super::{verify_chain, Anchor, VerifyFrom};
use crate::ingest::Ingested;
use crate::keys::SecretKey;
use crate::model::Alert;
use crate::store::{Store, StoreError};

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct AuditFigures {
    pub records: u64,
    pub batch: usize,
    /// Appending every record, committed (fsync) batch by batch.
    pub append: Duration,
    /// Verifying the whole chain from a fresh connection.
    pub verify: Duration,
    /// The database file and its WAL, in bytes.
    pub bytes: u64,
}

impl AuditFigures {
    pub fn appends_per_sec(&self) -> f64 {
        self.records as f64 / self.append.as_secs_f64()
    }

    pub fn verified_per_sec(&self) -> f64 {
        self.records as f64 / self.verify.as_secs_f64()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("verification: {0}")]
    Verify(#[from] rusqlite::Error),
    #[error("the chain written did not verify: {0}")]
    Damaged(String),
    #[error("anchor: {0}")]
    Anchor(#[from] std::io::Error),
}

/// Appends `records` copies of `alert` (each its own audit record) to a new
/// encrypted store in `dir`, `batch` per transaction, with checkpoints as
/// the console makes them; then verifies the chain.
pub fn run(dir: &Path, alert: &Alert, records: u64, batch: usize) -> Result<AuditFigures, BenchError> {
    // Throw-away keys: the benchmark's store is deleted afterwards.
    let key = SecretKey::from_bytes([0x5a; 32]);
    let signing = SigningKey::from_bytes(&[0xa5; 32]);
    let mut store = Store::open(dir, &key)?;
    store.set_signer(signing.clone());
    // Only the store's work is timed, not making the copies of the alert.
    let mut append = Duration::ZERO;
    let mut written = 0u64;
    let mut items = Vec::with_capacity(batch);
    while written < records {
        let n = (records - written).min(batch as u64);
        items.extend((0..n).map(|_| Ingested::Alert(alert.clone())));
        let started = Instant::now();
        store.append(&mut items)?;
        append += started.elapsed();
        items.clear();
        written += n;
    }
    let started = Instant::now();
    store.checkpoint()?;
    append += started.elapsed();
    drop(store);
    let bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(format!("{}{s}", crate::store::DB_FILE))).ok())
        .map(|m| m.len())
        .sum();
    let started = Instant::now();
    let reader = Store::open_read_only(dir, &key)?;
    let anchor = Anchor::read(dir)?.and_then(|a| a.checkpoint());
    let public = signing.verifying_key().to_bytes();
    let report = verify_chain(reader.connection(), VerifyFrom::Genesis, anchor.as_ref(), Some(&public))?;
    let verify = started.elapsed();
    if let Some(d) = report.damage {
        return Err(BenchError::Damaged(d.detail));
    }
    // The store may add records of its own (the alert's unknown device staged).
    if report.records < records {
        return Err(BenchError::Damaged(format!("{} records verified of {records}", report.records)));
    }
    Ok(AuditFigures { records, batch, append, verify, bytes })
}
