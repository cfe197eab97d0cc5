//! What a running `wardwatch serve` tells `wardwatch status`: a small JSON
//! file in the data directory, rewritten every second and once more, with
//! `running: false`, when it stops. Replaced atomically (write, then rename),
//! so a reader never sees half a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ingest::ListenerStatus;

/// The file's name inside the data directory.
pub const STATUS_FILE: &str = "status.json";
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

/// Writes `status` into `data_dir`, replacing the previous one atomically.
pub fn write(data_dir: &Path, status: &ServeStatus) -> Result<(), StatusError> {
    let path = data_dir.join(STATUS_FILE);
    let tmp = data_dir.join(format!("{STATUS_FILE}.tmp"));
    let io = |source| StatusError::Io { path: path.clone(), source };
    let bytes = serde_json::to_vec_pretty(status).map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// Reads the status a console left in `data_dir`.
pub fn read(data_dir: &Path) -> Result<ServeStatus, StatusError> {
    let path = data_dir.join(STATUS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StatusError::Missing(data_dir.to_owned()))
        }
        Err(source) => return Err(StatusError::Io { path, source }),
    };
    serde_json::from_slice(&bytes).map_err(|source| StatusError::Corrupt { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(updated_at: DateTime<Utc>, running: bool) -> ServeStatus {
        ServeStatus { pid: 42, started_at: updated_at, updated_at, running, listeners: Vec::new() }
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
    fn a_console_that_stopped_writing_or_stopped_cleanly_is_not_live() {
        let now = Utc::now();
        assert!(sample(now, true).is_live(now));
        assert!(!sample(now - chrono::Duration::seconds(30), true).is_live(now));
        assert!(!sample(now, false).is_live(now));
    }
}
