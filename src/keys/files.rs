//! Files of the key store: the console id, private directories, atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::KeyError;

/// The console id, relative to the data directory (plain text, not secret).
pub const CONSOLE_ID_FILE: &str = "console-id";
/// The keys directory (mode 0700), relative to the data directory.
pub const KEYS_DIR: &str = "keys";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

/// A random 128-bit id naming this data directory's keyring entries, so that
/// they follow the directory when it is moved or renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleId(String);

impl ConsoleId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parse(text: &str) -> Option<Self> {
        let id = text.trim_end_matches(['\n', '\r']);
        (id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Self(id.to_owned()))
    }

    /// Reads `DATA_DIR/console-id`; `None` when there is none.
    pub fn read(data_dir: &Path) -> Result<Option<Self>, KeyError> {
        let path = data_dir.join(CONSOLE_ID_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map(Some).ok_or(KeyError::BadConsoleId { path }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// A new random id (not yet saved: see [`ConsoleId::publish`]).
    pub fn random() -> Result<Self, KeyError> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(KeyError::Random)?;
        Ok(Self(hex::encode(raw)))
    }

    /// Saves this id as the data directory's, unless it has one already.
    /// `true`: this id is now the directory's; `false`: another was there
    /// first (two processes starting at once agree on one id).
    pub fn publish(&self, data_dir: &Path) -> Result<bool, KeyError> {
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let path = data_dir.join(CONSOLE_ID_FILE);
        let made = create_new(&path, format!("{}\n", self.0).as_bytes(), 0o644)?;
        if made {
            tracing::info!(path = %path.display(), "Console id created.");
        }
        Ok(made)
    }
}

/// `DATA_DIR/keys`, created with mode 0700 (and made 0700 if it was not).
pub fn keys_dir(data_dir: &Path) -> Result<PathBuf, KeyError> {
    let dir = data_dir.join(KEYS_DIR);
    create_private_dir(&dir).map_err(io(&dir))?;
    Ok(dir)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A fresh temp file name beside `name`: random, so that neither processes
/// nor threads writing at once share one.
fn temp_name(dir: &Path, name: &str) -> Result<PathBuf, KeyError> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(KeyError::Random)?;
    Ok(dir.join(format!(".{name}.{}.tmp", hex::encode(raw))))
}

/// Writes `bytes` to `path` unless it exists, so that a crash leaves either
/// no file or the whole of it, and two writers never overwrite each other:
/// a temp file beside it, fsync, hard link, fsync of the directory.
/// `false` when `path` was already there (and is left as it was).
pub fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = temp_name(dir, &name)?;
    let linked = write_new(&tmp, bytes, mode).and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked.and_then(|()| sync_dir(dir)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

/// Replaces `path` by `bytes` so that a crash leaves either the old or the
/// new content: a temp file (mode 0600) beside it, fsync, rename, fsync of
/// the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = temp_name(dir, &name)?;
    let written =
        write_new(&tmp, bytes, 0o600).and_then(|()| std::fs::rename(&tmp, path)).and_then(|()| sync_dir(dir));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io(path))
}

/// Renames `from` over `to` and makes it durable.
pub fn rename_durably(from: &Path, to: &Path) -> Result<(), KeyError> {
    std::fs::rename(from, to).map_err(io(to))?;
    sync_dir(to.parent().unwrap_or(Path::new("."))).map_err(io(to))
}

/// Removes `path` (nothing to do when it is gone) and makes it durable.
pub fn remove_durably(path: &Path) -> Result<(), KeyError> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_ids_are_checked() {
        let check = |text: &str, ok: bool| assert_eq!(ConsoleId::parse(text).is_some(), ok, "{text:?}");
        check("0123456789abcdef0123456789abcdef", true);
        check("0123456789abcdef0123456789abcdef\n", true);
        check("0123456789ABCDEF0123456789abcdef", false);
        check("0123456789abcdef0123456789abcde", false);
        check("0123456789abcdef0123456789abcdeg", false);
        check("", false);
    }

    #[test]
    fn the_first_console_id_published_stays() -> Result<(), KeyError> {
        let dir = tempfile::tempdir().map_err(io(Path::new("tmp")))?;
        let data = dir.path().join("data");
        assert_eq!(ConsoleId::read(&data)?, None);
        let (first, second) = (ConsoleId::random()?, ConsoleId::random()?);
        assert_ne!(first, second);
        assert!(first.publish(&data)?);
        assert!(!second.publish(&data)?);
        assert_eq!(ConsoleId::read(&data)?, Some(first));
        let names: Vec<_> =
            std::fs::read_dir(&data).map_err(io(&data))?.flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(CONSOLE_ID_FILE)], "no temp file left");
        std::fs::write(data.join(CONSOLE_ID_FILE), "junk").map_err(io(&data))?;
        assert!(matches!(ConsoleId::read(&data), Err(KeyError::BadConsoleId { .. })));
        Ok(())
    }
}
