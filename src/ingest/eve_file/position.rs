//! Where a followed file was read up to, kept across restarts.
//!
//! One small JSON file per followed path in `<data_dir>/eve-positions/`,
//! named by a hash of the path, rewritten atomically (write, sync, rename):
//! `{"path": "/var/log/suricata/eve.json", "dev": 2049, "ino": 1835021, "offset": 48213}`.
//! The offset only ever covers lines already handed to the console.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The directory, inside the data directory, holding the positions.
pub(super) const DIR: &str = "eve-positions";

/// Which file a path named: device and inode, as `stat` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub(super) fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self { dev: meta.dev(), ino: meta.ino() }
    }
}

/// How far a file was read: every line before `offset` was handed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    /// The followed path, for people reading the file (and a check on load).
    pub path: String,
    #[serde(flatten)]
    pub file: FileId,
    pub offset: u64,
}

/// Where to start reading the file `file`, now `size` bytes long, given
/// the position saved for its path.
///
/// The saved offset counts only when it is the same file and it is not
/// longer than the offset: a different file (rotated while Wardwatch was
/// stopped) or a shorter one (truncated) is read from the start. Reading a
/// file again may store some records twice; skipping ahead could lose
/// records for good, and only the first is recoverable.
pub(super) fn resume_at(saved: Option<&Position>, file: FileId, size: u64) -> u64 {
    match saved {
        Some(p) if p.file == file && p.offset <= size => p.offset,
        _ => 0,
    }
}

/// The position file for `followed` inside `dir`.
pub(super) fn file_for(dir: &Path, followed: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    // FNV-1a, 64 bits: stable across Rust versions and builds.
    let hash = followed
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    dir.join(format!("{hash:016x}.json"))
}

pub(super) fn encode(p: &Position) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(p).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

pub(super) fn decode(bytes: &[u8]) -> Result<Position, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// The position saved for `followed`, if any. A file that cannot be read
/// or is for another path is reported and ignored: the file is then read
/// from the start.
pub(super) fn load(dir: &Path, followed: &Path) -> Option<Position> {
    let file = file_for(dir, followed);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "Saved EVE position unreadable; reading from the start.");
            return None;
        }
    };
    match decode(&bytes) {
        Ok(p) if Path::new(&p.path) == followed => Some(p),
        Ok(_) => {
            tracing::warn!(file = %file.display(), "Saved EVE position is for another path; reading from the start.");
            None
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "Saved EVE position is corrupt; reading from the start.");
            None
        }
    }
}

/// Saves `p` atomically: a reader (or a crash) sees the old position or the
/// new one, never half of one.
pub(super) fn save(dir: &Path, followed: &Path, p: &Position) -> std::io::Result<()> {
    let file = file_for(dir, followed);
    let tmp = file.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&encode(p))?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(dev: u64, ino: u64, offset: u64) -> Position {
        Position { path: "/var/log/suricata/eve.json".into(), file: FileId { dev, ino }, offset }
    }

    #[test]
    fn encoding_is_pinned_and_round_trips() -> Result<(), serde_json::Error> {
        let p = pos(2049, 1_835_021, 48_213);
        let bytes = encode(&p);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "{\"path\":\"/var/log/suricata/eve.json\",\"dev\":2049,\"ino\":1835021,\"offset\":48213}\n"
        );
        assert_eq!(decode(&bytes)?, p);
        assert!(decode(b"{\"path\":\"/x\",\"dev\":1}").is_err(), "missing fields are an error");
        Ok(())
    }

    #[test]
    fn resumes_only_in_the_same_file_not_past_its_end() {
        let saved = pos(1, 7, 500);
        let check = |saved: Option<&Position>, dev, ino, size, want| {
            assert_eq!(
                resume_at(saved, FileId { dev, ino }, size),
                want,
                "{saved:?} {dev}/{ino} size {size}"
            );
        };
        check(Some(&saved), 1, 7, 800, 500);
        check(Some(&saved), 1, 7, 500, 500);
        check(Some(&saved), 1, 7, 499, 0); // truncated while stopped
        check(Some(&saved), 1, 8, 800, 0); // rotated while stopped
        check(Some(&saved), 2, 7, 800, 0); // another filesystem
        check(None, 1, 7, 800, 0);
    }

    #[test]
    fn saved_positions_load_back_for_their_path_only() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let followed = Path::new("/var/log/suricata/eve.json");
        assert_eq!(load(dir.path(), followed), None);
        save(dir.path(), followed, &pos(1, 7, 10))?;
        save(dir.path(), followed, &pos(1, 7, 20))?;
        assert_eq!(load(dir.path(), followed), Some(pos(1, 7, 20)));
        assert_eq!(load(dir.path(), Path::new("/other/eve.json")), None);
        // Only the position file is left, no temporary.
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        std::fs::write(file_for(dir.path(), followed), b"{not json")?;
        assert_eq!(load(dir.path(), followed), None);
        Ok(())
    }
}
