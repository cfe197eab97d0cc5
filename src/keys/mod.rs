//! The console's keys: where they live, how they are made, wrapped, rotated.
//!
//! A data directory has one [`KeyBundle`]: the SQLCipher database key, the
//! Ed25519 seed that signs audit checkpoints, and the patient-id hash key.
//! It is kept in one or both of:
//! - **the OS keyring** ([`KeySource::Keyring`]): the Secret Service when a
//!   session bus with one answers, else the Linux kernel keyring (keyutils:
//!   the persistent keyring, linked into the session keyring). Service
//!   `wardwatch`, user `console-<console id>`, where the console id is a random
//!   id in `DATA_DIR/console-id`, so the entry follows the directory when it
//!   moves. **A kernel keyring does not survive a reboot**: there, set a
//!   recovery passphrase. `WARDWATCH_KEYRING=secret-service|kernel` forces one.
//! - **the recovery file** `DATA_DIR/keys/recovery.json` ([`KeySource::Passphrase`]):
//!   the bundle wrapped by a passphrase (Argon2id, ChaCha20-Poly1305), so the
//!   data survives the loss of the keyring and opens on another machine.
//!
//! Rotation is crash-safe: [`save_pending`] stores the next bundle beside the
//! current one, the store re-keys, [`promote_pending`] makes it current.
//! Until then [`load`] returns both and the store tries each database key.
//!
//! No key or passphrase is ever logged, printed, formatted or serialised:
//! the types redact `Debug`, have no `Clone` or `Serialize`, and zeroize on drop.

mod files;
pub(crate) mod os;
mod recovery;
mod secret;

use std::path::{Path, PathBuf};

pub use files::{ConsoleId, CONSOLE_ID_FILE};
pub use recovery::KdfParams;
pub use secret::{KeyBundle, Passphrase, SecretKey, KEY_LEN};

/// The recovery file, relative to the data directory.
pub const RECOVERY_FILE: &str = "keys/recovery.json";
/// The next bundle during a key rotation, wrapped like the recovery file.
pub const RECOVERY_PENDING_FILE: &str = "keys/recovery.pending.json";

/// Where a data directory's keys are taken from.
#[derive(Debug)]
pub enum KeySource {
    /// The OS keyring (Secret Service, else the kernel keyring).
    Keyring,
    /// The recovery file, opened with this passphrase.
    Passphrase(Passphrase),
}

/// Where the keys were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    SecretService,
    KernelKeyring,
    RecoveryFile,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SecretService => "Secret Service",
            Self::KernelKeyring => "kernel keyring",
            Self::RecoveryFile => "recovery file",
        })
    }
}

/// A data directory's keys, as [`load`] found them.
#[derive(Debug)]
pub struct Keys {
    pub current: KeyBundle,
    /// The next bundle of an unfinished key rotation: the database may be
    /// keyed with either.
    pub pending: Option<KeyBundle>,
    /// Whether `load` has just made the keys (a new data directory).
    pub created: bool,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no keys for data directory {data_dir}: {hint}")]
    Missing { data_dir: PathBuf, hint: String },
    #[error("the passphrase does not open {path}")]
    WrongPassphrase { path: PathBuf },
    #[error("no OS keyring: {reason}")]
    NoKeyring { reason: String },
    #[error("{backend}: {reason}")]
    Keyring { backend: Backend, reason: String },
    #[error("{backend} entry {user} is damaged: {reason}")]
    BadKeyringEntry { backend: Backend, user: String, reason: &'static str },
    #[error("recovery file {path} is damaged or not one: {reason}")]
    BadRecoveryFile { path: PathBuf, reason: String },
    #[error("key file {path} is damaged: {reason}")]
    BadKeyFile { path: PathBuf, reason: String },
    #[error("console id file {path} is damaged (expected 32 lowercase hex digits)")]
    BadConsoleId { path: PathBuf },
    #[error("{reason}")]
    BadPassphrase { reason: String },
    #[error("data directory {data_dir} has a recovery passphrase: give it (--passphrase-file) so that the recovery file is kept in step")]
    PassphraseRequired { data_dir: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no secure random numbers: {0}")]
    Random(getrandom::Error),
}

impl KeyError {
    /// The dotted code shown over IPC and by the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "audit.key_missing",
            Self::WrongPassphrase { .. } => "audit.key_mismatch",
            Self::NoKeyring { .. } => "audit.keyring_unavailable",
            Self::Keyring { .. } | Self::BadKeyringEntry { .. } => "audit.keyring_error",
            Self::BadRecoveryFile { .. } => "audit.recovery_file_invalid",
            Self::BadPassphrase { .. } => "audit.passphrase_invalid",
            Self::PassphraseRequired { .. } => "audit.passphrase_required",
            Self::BadKeyFile { .. } | Self::BadConsoleId { .. } | Self::Io { .. } | Self::Random(_) => {
                "audit.key_error"
            }
        }
    }
}

/// Whether `DATA_DIR/keys/recovery.json` exists.
pub fn has_recovery_passphrase(data_dir: &Path) -> bool {
    data_dir.join(RECOVERY_FILE).exists()
}

/// Loads the keys of `data_dir`. When there are none and `create` is true,
/// makes a bundle and saves it (in the keyring, or in the recovery file
/// wrapped by the passphrase) and sets `created`; when there are none and
/// `create` is false: [`KeyError::Missing`].
///
/// Keys are made only for a data directory that never had any: none where
/// the other source keeps them (a recovery file for `Keyring`; a console id,
/// the mark of keyring keys, for `Passphrase`), and none in a keyring that
/// lost its entry (a kernel keyring after a reboot): `Missing` then says
/// where to look. Pass `create = false` for a directory that has a database.
pub fn load(data_dir: &Path, source: &KeySource, create: bool) -> Result<Keys, KeyError> {
    load_with(data_dir, source, create, os::Choice::from_env()?)
}

/// Writes `DATA_DIR/keys/recovery.json`: `bundle` wrapped by `passphrase`
/// (Argon2id with [`KdfParams::DEFAULT`], ChaCha20-Poly1305), atomically.
pub fn set_recovery_passphrase(
    data_dir: &Path,
    bundle: &KeyBundle,
    passphrase: &Passphrase,
) -> Result<(), KeyError> {
    write_recovery(data_dir, RECOVERY_FILE, bundle, passphrase)?;
    tracing::info!(data_dir = %data_dir.display(), "Recovery passphrase set.");
    Ok(())
}

/// Stores `bundle` as the pending bundle of a key rotation, beside the
/// current one: keyring entry `console-<id>.pending`, and/or
/// `keys/recovery.pending.json` wrapped by the passphrase. With
/// `KeySource::Keyring` and a recovery file, refuses
/// ([`KeyError::PassphraseRequired`]): the recovery file would fall behind.
pub fn save_pending(data_dir: &Path, source: &KeySource, bundle: &KeyBundle) -> Result<(), KeyError> {
    save_pending_with(data_dir, source, bundle, os::Choice::from_env()?)
}

/// Makes the pending bundle current in every copy (recovery file, keyring)
/// and removes it. Nothing to do when there is none. Each step leaves a
/// state that [`load`] reads (at worst: current and pending both the new keys).
pub fn promote_pending(data_dir: &Path, source: &KeySource) -> Result<(), KeyError> {
    promote_pending_with(data_dir, source, os::Choice::from_env()?)
}

/// Drops the pending bundle from every copy.
pub fn discard_pending(data_dir: &Path, source: &KeySource) -> Result<(), KeyError> {
    discard_pending_with(data_dir, source, os::Choice::from_env()?)
}

fn missing(data_dir: &Path, hint: impl Into<String>) -> KeyError {
    KeyError::Missing { data_dir: data_dir.to_owned(), hint: hint.into() }
}

pub(crate) fn load_with(
    data_dir: &Path,
    source: &KeySource,
    create: bool,
    choice: os::Choice,
) -> Result<Keys, KeyError> {
    let (backend, current, pending) = match source {
        KeySource::Keyring => {
            let Some(id) = ConsoleId::read(data_dir)? else {
                if create && !has_recovery_passphrase(data_dir) {
                    return create_in_keyring(data_dir, choice);
                }
                return Err(missing(data_dir, keyring_hint(data_dir)));
            };
            let (backend, current) = os::locate(choice, &os::account(&id, false)).map_err(|e| match e {
                KeyError::NoKeyring { reason } if has_recovery_passphrase(data_dir) => KeyError::NoKeyring {
                    reason: format!("{reason}; or open it with its recovery passphrase (--passphrase-file)"),
                },
                other => other,
            })?;
            (backend, current, os::read(backend, &os::account(&id, true))?)
        }
        KeySource::Passphrase(p) => {
            let current = recovery::read(&data_dir.join(RECOVERY_FILE), p)?;
            let pending = recovery::read(&data_dir.join(RECOVERY_PENDING_FILE), p)?;
            (Backend::RecoveryFile, current, pending)
        }
    };
    match (current, pending, source) {
        (Some(current), pending, _) => {
            tracing::info!(%backend, pending = pending.is_some(), "Keys loaded.");
            Ok(Keys { current, pending, created: false, backend })
        }
        (None, Some(pending), _) => {
            tracing::warn!(%backend, "Only a pending key bundle was found; using it.");
            Ok(Keys { current: pending, pending: None, created: false, backend })
        }
        // A console id is written only once its keys are saved: they were
        // lost (a kernel keyring after a reboot, another user or machine).
        (None, None, KeySource::Keyring) => Err(missing(
            data_dir,
            format!(
                "its keys were saved in an OS keyring but the {backend} has none \
                 (a kernel keyring is emptied by a reboot){}",
                if has_recovery_passphrase(data_dir) {
                    "; open it with its recovery passphrase (--passphrase-file)"
                } else {
                    "; without a recovery passphrase they cannot be recovered"
                }
            ),
        )),
        (None, None, KeySource::Passphrase(_)) if ConsoleId::read(data_dir)?.is_some() => Err(missing(
            data_dir,
            format!("no {RECOVERY_FILE}: its keys were made in the OS keyring; open it without a passphrase, then set one"),
        )),
        (None, None, KeySource::Passphrase(_)) if !create => Err(missing(data_dir, format!("no {RECOVERY_FILE}"))),
        (None, None, KeySource::Passphrase(p)) => {
            let (bundle, adopted) = new_bundle(data_dir)?;
            files::keys_dir(data_dir)?;
            let text = recovery::wrap(&bundle, p, KdfParams::DEFAULT)?;
            if !files::create_new(&data_dir.join(RECOVERY_FILE), text.as_bytes(), 0o600)? {
                // Another process made them first: use theirs.
                return load_with(data_dir, source, false, choice);
            }
            created(data_dir, bundle, adopted, Backend::RecoveryFile)
        }
    }
}

/// New keys in the keyring of a data directory that has none anywhere. The
/// console id is published only once the keys are saved under it, so an id
/// on disk always means keys were saved.
fn create_in_keyring(data_dir: &Path, choice: os::Choice) -> Result<Keys, KeyError> {
    let id = ConsoleId::random()?;
    let user = os::account(&id, false);
    let (backend, _) = os::locate(choice, &user)?;
    let (bundle, adopted) = new_bundle(data_dir)?;
    os::write(backend, &user, &bundle)?;
    if !id.publish(data_dir)? {
        // Another process made keys first: use theirs.
        os::delete(backend, &user)?;
        return load_with(data_dir, &KeySource::Keyring, false, choice);
    }
    created(data_dir, bundle, adopted, backend)
}

fn created(
    data_dir: &Path,
    bundle: KeyBundle,
    adopted: Option<PathBuf>,
    backend: Backend,
) -> Result<Keys, KeyError> {
    if let Some(old) = adopted {
        files::remove_durably(&old)?;
        tracing::info!(path = %old.display(), "Patient-id key moved into the key bundle; its file is removed.");
    }
    tracing::info!(%backend, data_dir = %data_dir.display(), "Keys created.");
    if backend == Backend::KernelKeyring {
        tracing::warn!("Keys are in the kernel keyring, which a reboot empties: set a recovery passphrase.");
    }
    Ok(Keys { current: bundle, pending: None, created: true, backend })
}

fn keyring_hint(data_dir: &Path) -> String {
    if has_recovery_passphrase(data_dir) {
        format!("none in the OS keyring, but {RECOVERY_FILE} exists: open it with its passphrase (--passphrase-file)")
    } else {
        format!("no {CONSOLE_ID_FILE}, so none in the OS keyring")
    }
}

/// A new bundle; its patient-id key is the old key file's when there is one
/// (whose path is returned, to be removed once the bundle is saved).
fn new_bundle(data_dir: &Path) -> Result<(KeyBundle, Option<PathBuf>), KeyError> {
    let mut bundle = KeyBundle::generate()?;
    let path = data_dir.join(crate::privacy::KEY_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => zeroize::Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((bundle, None)),
        Err(source) => return Err(KeyError::Io { path, source }),
    };
    let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) else {
        let reason = format!("{} bytes long, not {KEY_LEN}: refusing to adopt or replace it", bytes.len());
        return Err(KeyError::BadKeyFile { path, reason });
    };
    bundle.patient_id = SecretKey::from_bytes(key);
    Ok((bundle, Some(path)))
}

fn write_recovery(
    data_dir: &Path,
    file: &str,
    bundle: &KeyBundle,
    passphrase: &Passphrase,
) -> Result<(), KeyError> {
    files::keys_dir(data_dir)?;
    let text = recovery::wrap(bundle, passphrase, KdfParams::DEFAULT)?;
    files::write_atomic(&data_dir.join(file), text.as_bytes())
}

/// The keyring holding the current keys of `data_dir`, when there is one.
/// `required`: a missing keyring or entry is an error, not `None`.
fn keyring_copy(
    data_dir: &Path,
    choice: os::Choice,
    required: bool,
) -> Result<Option<(Backend, ConsoleId)>, KeyError> {
    let Some(id) = ConsoleId::read(data_dir)? else {
        return if required { Err(missing(data_dir, keyring_hint(data_dir))) } else { Ok(None) };
    };
    match os::locate(choice, &os::account(&id, false)) {
        Ok((backend, Some(_))) => Ok(Some((backend, id))),
        Ok((backend, None)) if required => Err(missing(data_dir, format!("no entry in the {backend}"))),
        Ok((_, None)) => Ok(None),
        Err(KeyError::NoKeyring { reason }) if !required => {
            tracing::info!(%reason, "No keyring reachable: only the recovery file changes.");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn save_pending_with(
    data_dir: &Path,
    source: &KeySource,
    bundle: &KeyBundle,
    choice: os::Choice,
) -> Result<(), KeyError> {
    let keyring = match source {
        KeySource::Keyring => {
            if has_recovery_passphrase(data_dir) {
                return Err(KeyError::PassphraseRequired { data_dir: data_dir.to_owned() });
            }
            keyring_copy(data_dir, choice, true)?
        }
        KeySource::Passphrase(p) => {
            // The passphrase must open the current file: one passphrase for both.
            if recovery::read(&data_dir.join(RECOVERY_FILE), p)?.is_none() {
                return Err(missing(data_dir, format!("no {RECOVERY_FILE}")));
            }
            write_recovery(data_dir, RECOVERY_PENDING_FILE, bundle, p)?;
            keyring_copy(data_dir, choice, false)?
        }
    };
    if let Some((backend, id)) = keyring {
        os::write(backend, &os::account(&id, true), bundle)?;
    }
    tracing::info!("Pending key bundle saved.");
    Ok(())
}

pub(crate) fn promote_pending_with(
    data_dir: &Path,
    source: &KeySource,
    choice: os::Choice,
) -> Result<(), KeyError> {
    let file = data_dir.join(RECOVERY_PENDING_FILE);
    if file.exists() {
        if let KeySource::Passphrase(p) = source {
            // Refuse to make current a file this passphrase does not open.
            recovery::read(&file, p)?;
        }
        files::rename_durably(&file, &data_dir.join(RECOVERY_FILE))?;
    }
    if let Some((backend, id)) = keyring_copy(data_dir, choice, matches!(source, KeySource::Keyring))? {
        let pending_user = os::account(&id, true);
        if let Some(pending) = os::read(backend, &pending_user)? {
            os::write(backend, &os::account(&id, false), &pending)?;
            os::delete(backend, &pending_user)?;
        }
    }
    tracing::info!("Pending key bundle made current.");
    Ok(())
}

pub(crate) fn discard_pending_with(
    data_dir: &Path,
    source: &KeySource,
    choice: os::Choice,
) -> Result<(), KeyError> {
    files::remove_durably(&data_dir.join(RECOVERY_PENDING_FILE))?;
    if let Some((backend, id)) = keyring_copy(data_dir, choice, matches!(source, KeySource::Keyring))? {
        os::delete(backend, &os::account(&id, true))?;
    }
    tracing::info!("Pending key bundle discarded.");
    Ok(())
}

#[cfg(test)]
mod tests;
