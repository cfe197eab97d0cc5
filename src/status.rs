//! What a running `wardwatch serve` tells `wardwatch status`: a small JSON
//! file in the data directory, rewritten every second and once more, with
//! `running: false`, when it stops. Replaced atomically (write, then rename),
//! so a reader never sees half a file; but when the disk is full there is no
//! room for the new copy, and the file is then overwritten in place, within
//! the space it already holds (it is padded to whole 4 KiB blocks for that),
//! so that `wardwatch status` can still say the store is failing and why. A
//! reader that catches such a write half done reads again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::AuditStatus;
use crate::console::StoreHealth;
use crate::ingest::ListenerStatus;

/// The file's name inside the data directory.
pub const STATUS_FILE: &str = "status.json";
/// The file is padded with spaces to a multiple of this, so that an
/// overwrite in place on a full disk rarely needs a block more.
const BLOCK: usize = 4096;
/// How often a running console rewrites it.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// A console's listeners and counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeStatus {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// False once the console has stopped cleanly.
    pub running: bool,
    pub listeners: Vec<ListenerStatus>,
    /// Whether the store is writing (absent in files from older versions).
    #[serde(default)]
    pub store: Option<StoreHealth>,
    /// What the check of the audit log at start found (absent in files
    /// from older versions).
    #[serde(default)]
    pub audit: Option<AuditStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("no status in {0}: no console has served from this data directory")]
    Missing(PathBuf),
    #[error("could not read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("status file {path} is unreadable: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

impl ServeStatus {
    /// Whether the console still looks alive: it says it is running and has
    /// written within a few intervals (a killed console stops writing).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.running
            && now.signed_duration_since(self.updated_at).num_milliseconds() < 5 * INTERVAL.as_millis() as i64
    }
}

/// Writes `status` into `data_dir`, replacing the previous one atomically;
/// on a full disk, overwriting it in place if the new text fits.
pub fn write(data_dir: &Path, status: &ServeStatus) -> Result<(), StatusError> {
    let path = data_dir.join(STATUS_FILE);
    let tmp = data_dir.join(format!("{STATUS_FILE}.tmp"));
    let io = |source| StatusError::Io { path: path.clone(), source };
    let mut bytes = serde_json::to_vec_pretty(status).map_err(|e| io(std::io::Error::other(e)))?;
    bytes.push(b'\n');
    // Trailing white space is valid JSON.
    bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, b' ');
    let replaced = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path));
    match replaced {
        Ok(()) => Ok(()),
        Err(e) if is_full(&e) => {
            // Give back what the new copy took, then reuse the old one's blocks.
            let _ = std::fs::remove_file(&tmp);
            overwrite_in_place(&path, &bytes).map_err(|_| io(e))
        }
        Err(e) => Err(io(e)),
    }
}

fn is_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

/// Writes `bytes` over the start of the existing file, padding to its length
/// with spaces, without growing it: no new blocks are needed.
fn overwrite_in_place(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    if bytes.len() > len {
        return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
    }
    let mut padded = bytes.to_vec();
    padded.resize(len, b' ');
    file.write_all_at(&padded, 0)
}

/// Reads the status a console left in `data_dir`.
pub fn read(data_dir: &Path) -> Result<ServeStatus, StatusError> {
    let path = data_dir.join(STATUS_FILE);
    let mut tries = 0;
    loop {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StatusError::Missing(data_dir.to_owned()))
            }
            Err(source) => return Err(StatusError::Io { path, source }),
        };
        match serde_json::from_slice(&bytes) {
            Ok(s) => return Ok(s),
            // Perhaps caught during an overwrite in place (disk full): read again.
            Err(_) if tries < 3 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(source) => return Err(StatusError::Corrupt { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(updated_at: DateTime<Utc>, running: bool) -> ServeStatus {
        ServeStatus {
            pid: 42,
            started_at: updated_at,
            updated_at,
            running,
            listeners: Vec::new(),
            store: None,
            audit: None,
        }
    }

    #[test]
    fn written_status_reads_back_and_a_missing_or_torn_one_says_so() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        assert!(matches!(read(dir.path()), Err(StatusError::Missing(_))));
        let s = sample(Utc::now(), true);
        write(dir.path(), &s)?;
        assert_eq!(read(dir.path())?, s);
        std::fs::write(dir.path().join(STATUS_FILE), b"{\"pid\": 4")?;
        assert!(matches!(read(dir.path()), Err(StatusError::Corrupt { .. })));
        Ok(())
    }

    #[test]
    fn the_file_is_padded_to_whole_blocks_and_can_be_overwritten_in_place(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(STATUS_FILE);
        let mut s = sample(Utc::now(), true);
        write(dir.path(), &s)?;
        let len = std::fs::metadata(&path)?.len();
        assert_eq!(len % BLOCK as u64, 0);
        s.pid = 7;
        let bytes = serde_json::to_vec(&s)?;
        overwrite_in_place(&path, &bytes)?;
        assert_eq!(std::fs::metadata(&path)?.len(), len, "the file did not grow");
        assert_eq!(read(dir.path())?, s);
        let too_big = vec![b' '; len as usize + 1];
        assert!(overwrite_in_place(&path, &too_big).is_err());
        Ok(())
    }

    #[test]
    fn a_console_that_stopped_writing_or_stopped_cleanly_is_not_live() {
        let now = Utc::now();
        assert!(sample(now, true).is_live(now));
        assert!(!sample(now - chrono::Duration::seconds(30), true).is_live(now));
        assert!(!sample(now, false).is_live(now));
    }
}
