//! Patient privacy: the console keeps a keyed hash of a patient identifier,
//! never the identifier itself, and never a name.
//!
//! The key is a per-console 256-bit secret, part of the console's
//! [`crate::keys::KeyBundle`] (in the OS keyring and/or the passphrase-wrapped
//! recovery file). Builds before the bundle kept it in
//! `<data_dir>/keys/patient-id.key` (mode 0600, directory 0700); `keys::load`
//! adopts that file's bytes into a new bundle and then removes the file, so
//! every stored hash still links to its patient.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::codec::hl7::PatientId;
use crate::model::PatientKeyHash;

/// The key file, relative to the data directory.
pub const KEY_FILE: &str = "keys/patient-id.key";
const KEY_LEN: usize = 32;
/// Domain separation: a hash made for this purpose is never equal to any
/// other HMAC made with the same key.
const CONTEXT: &[u8] = b"wardwatch patient-id v1\0";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("patient-id key {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("patient-id key {path} is {len} bytes long, not {KEY_LEN}: refusing to use or replace it")]
    BadLength { path: PathBuf, len: usize },
    #[error("no secure random numbers for a new patient-id key: {0}")]
    Random(getrandom::Error),
}

/// The console's key for hashing patient identifiers. Its `Debug` prints
/// nothing of it; it cannot be serialised or cloned; it is wiped from memory
/// when dropped.
pub struct PatientIdKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for PatientIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientIdKey(redacted)")
    }
}

impl PatientIdKey {
    /// A key from its bytes (tests, and a later keyring store).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads the console's key from `data_dir`, creating it at random when
    /// there is none. A new key file is written beside its final name and
    /// linked into place, so a crash never leaves a half-written key and two
    /// consoles starting at once agree on one key.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io { path: path.clone(), source };
        match Self::read(&path) {
            Ok(key) => return Ok(key),
            Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let dir = path.parent().unwrap_or(data_dir);
        create_private_dir(dir).map_err(io)?;
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(bytes.as_mut()).map_err(KeyError::Random)?;
        let tmp = dir.join(format!(".patient-id.key.{}.tmp", std::process::id()));
        let written = write_private(&tmp, bytes.as_ref()).and_then(|()| std::fs::hard_link(&tmp, &path));
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "Patient-id key created (file, mode 0600).");
                Ok(Self(bytes))
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(&path),
            Err(e) => Err(io(e)),
        }
    }

    fn read(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        Read::take(&mut file, KEY_LEN as u64 + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() != KEY_LEN {
            return Err(KeyError::BadLength { path: path.to_owned(), len: bytes.len() });
        }
        tighten(path, &file);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    /// HMAC-SHA256 of the identifier and its assigning authority, each
    /// length-prefixed (so `("12", "3")` and `("1", "23")` differ), as hex.
    pub fn hash(&self, patient: &PatientId) -> PatientKeyHash {
        let (id, authority) = patient.expose_for_hashing();
        self.hash_parts(id, authority)
    }

    pub(crate) fn hash_parts(&self, id: &str, authority: &str) -> PatientKeyHash {
        // HMAC accepts keys of any length: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.as_ref()) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(CONTEXT);
        for part in [id, authority] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let hex = crate::model::to_hex(&mac.finalize().into_bytes());
        PatientKeyHash::from_hex(&hex).unwrap_or_else(|| unreachable!("64 hex digits"))
    }
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

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A key file others can read is made private again, and the log says so.
#[cfg(unix)]
fn tighten(path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata() {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "Patient-id key was readable by others; set to 0600.");
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: &std::fs::File) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_keyed_and_stable() {
        let a = PatientIdKey::from_bytes([7; 32]);
        let b = PatientIdKey::from_bytes([8; 32]);
        let h = |k: &PatientIdKey, id: &str, auth: &str| k.hash_parts(id, auth).as_str().to_owned();
        assert_eq!(h(&a, "HED12", "PID"), h(&a, "HED12", "PID"), "same id, same key: same hash");
        assert_ne!(h(&a, "HED12", "PID"), h(&b, "HED12", "PID"), "another key: another hash");
        assert_ne!(h(&a, "HED12", "PID"), h(&a, "HED12", "MPI"), "the authority counts");
        assert_ne!(h(&a, "12", "3"), h(&a, "1", "23"), "parts are length-prefixed");
        assert!(!h(&a, "HED12", "PID").contains("HED12"));
        // Pinned: a change here changes every stored hash (the same patient
        // would no longer match across a console upgrade).
        assert_eq!(h(&a, "HED12", "PID"), PINNED);
    }

    /// HMAC-SHA256(key 32 × 0x07, "wardwatch patient-id v1\0" || u64be(5) "HED12" || u64be(3) "PID"),
    /// checked with Python's `hmac` module.
    const PINNED: &str = "dc4139900bcc36a48943009f07e50b4849e1d3aac04727211c4d1621040f14ca";

    #[test]
    fn debug_shows_nothing_of_the_key() {
        assert_eq!(format!("{:?}", PatientIdKey::from_bytes([0xab; 32])), "PatientIdKey(redacted)");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_private_once_and_reused() -> Result<(), KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| KeyError::Io { path: "tmp".into(), source: e })?;
        let first = PatientIdKey::load_or_create(dir.path())?;
        let again = PatientIdKey::load_or_create(dir.path())?;
        assert_eq!(first.hash_parts("x", "y"), again.hash_parts("x", "y"));
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode(&dir.path().join(KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
        let other = tempfile::tempdir().map_err(|e| KeyError::Io { path: "tmp".into(), source: e })?;
        assert_ne!(
            PatientIdKey::load_or_create(other.path())?.hash_parts("x", "y"),
            first.hash_parts("x", "y")
        );
        Ok(())
    }

    #[test]
    fn a_damaged_key_file_is_refused_not_replaced() -> Result<(), KeyError> {
        let dir = tempfile::tempdir().map_err(|e| KeyError::Io { path: "tmp".into(), source: e })?;
        let path = dir.path().join(KEY_FILE);
        std::fs::create_dir_all(dir.path().join("keys"))
            .map_err(|e| KeyError::Io { path: path.clone(), source: e })?;
        std::fs::write(&path, b"short").map_err(|e| KeyError::Io { path: path.clone(), source: e })?;
        assert!(matches!(PatientIdKey::load_or_create(dir.path()), Err(KeyError::BadLength { len: 5, .. })));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"short"[..]));
        Ok(())
    }
}
