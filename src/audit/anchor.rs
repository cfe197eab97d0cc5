//! The anchor: a copy of the latest checkpoint kept beside the database, in
//! its own file. Rolling the database back to an older copy (or cutting
//! records off its end) leaves the anchor ahead of the chain, which
//! verification reports as truncation.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Checkpoint;

/// The anchor's file name in the data directory.
pub const ANCHOR_FILE: &str = "audit-anchor.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub seq: u64,
    pub head_hash: String,
    pub at_us: i64,
    pub public_key: String,
    pub signature: String,
}

impl Anchor {
    pub fn from_checkpoint(c: &Checkpoint) -> Self {
        Self {
            seq: c.seq,
            head_hash: hex::encode(c.head_hash),
            at_us: c.at_us,
            public_key: hex::encode(c.public_key),
            signature: hex::encode(c.signature),
        }
    }

    /// The checkpoint it holds, if its fields are well formed.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        Some(Checkpoint {
            seq: self.seq,
            head_hash: hex_array(&self.head_hash)?,
            at_us: self.at_us,
            public_key: hex_array(&self.public_key)?,
            signature: hex_array(&self.signature)?,
        })
    }

    /// Reads the anchor of `data_dir`; `None` when there is none yet.
    pub fn read(data_dir: &Path) -> std::io::Result<Option<Self>> {
        match std::fs::read(data_dir.join(ANCHOR_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the anchor atomically and durably: a temp file, fsync,
    /// rename, fsync of the directory.
    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        let tmp = data_dir.join(format!(".{ANCHOR_FILE}.{}.tmp", std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, data_dir.join(ANCHOR_FILE))?;
        std::fs::File::open(data_dir)?.sync_all()
    }
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s).ok()?.try_into().ok()
}
