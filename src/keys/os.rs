//! The OS keyring: the Secret Service (desktops) or the Linux kernel keyring
//! (keyutils: headless servers). Entries are service `wardwatch`, user
//! `console-<console id>` (and `console-<console id>.pending` during a key
//! rotation); the secret is the bundle's text encoding.

use keyring::keyutils::KeyutilsCredential;
use keyring::secret_service::SsCredential;
use keyring::Entry;
use zeroize::Zeroizing;

use super::files::ConsoleId;
use super::secret::KeyBundle;
use super::{Backend, KeyError};

pub const SERVICE: &str = "wardwatch";
/// Forces a backend: `secret-service` or `kernel`.
pub const ENV: &str = "WARDWATCH_KEYRING";
const RUN_UNDER: &str =
    "run in a desktop session, under `keyctl session -`, or (tests) under scripts/with-desktop-session.sh";

/// Which keyring to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The Secret Service when one answers, else the kernel keyring.
    Auto,
    SecretService,
    Kernel,
}

impl Choice {
    pub fn from_env() -> Result<Self, KeyError> {
        match std::env::var(ENV) {
            Err(_) => Ok(Self::Auto),
            Ok(v) => Self::parse(&v),
        }
    }

    fn parse(v: &str) -> Result<Self, KeyError> {
        match v {
            "" => Ok(Self::Auto),
            "secret-service" => Ok(Self::SecretService),
            "kernel" => Ok(Self::Kernel),
            other => Err(KeyError::NoKeyring {
                reason: format!("{ENV}={other:?} is not one of secret-service, kernel"),
            }),
        }
    }
}

/// A keyring entry name for a data directory.
pub fn account(id: &ConsoleId, pending: bool) -> String {
    if pending {
        format!("console-{}.pending", id.as_str())
    } else {
        format!("console-{}", id.as_str())
    }
}

fn entry(backend: Backend, user: &str) -> Result<Entry, KeyError> {
    match backend {
        Backend::SecretService => SsCredential::new_with_target(None, SERVICE, user)
            .map(|c| Entry::new_with_credential(Box::new(c)))
            .map_err(|e| failure(backend, &e)),
        // Without a session keyring the crate reports "no entry": it is no keyring at all.
        Backend::KernelKeyring => KeyutilsCredential::new_with_target(None, SERVICE, user)
            .map(|c| Entry::new_with_credential(Box::new(c)))
            .map_err(|e| KeyError::NoKeyring {
                reason: format!("no kernel session keyring ({e}): {RUN_UNDER}"),
            }),
        Backend::RecoveryFile => {
            Err(KeyError::NoKeyring { reason: "the recovery file is not a keyring".into() })
        }
    }
}

/// A keyring error, phrased without any secret (the crate's errors hold none
/// of ours: we never read an entry as a password, so `BadEncoding` cannot
/// carry key bytes).
fn failure(backend: Backend, e: &keyring::Error) -> KeyError {
    match e {
        // No bus, or no Secret Service on it.
        keyring::Error::PlatformFailure(_) if backend == Backend::SecretService => {
            KeyError::NoKeyring { reason: format!("Secret Service: {e}; {RUN_UNDER}") }
        }
        // A Secret Service that is locked: no quiet fallback to another keyring,
        // where keys made now would be missed once it is unlocked.
        keyring::Error::NoStorageAccess(_) => {
            KeyError::Keyring { backend, reason: format!("{e} (is the keyring locked?)") }
        }
        keyring::Error::BadEncoding(_) => KeyError::Keyring { backend, reason: "entry is not text".into() },
        _ => KeyError::Keyring { backend, reason: e.to_string() },
    }
}

/// Reads the bundle in entry `user`; `None` when there is no entry.
pub fn read(backend: Backend, user: &str) -> Result<Option<KeyBundle>, KeyError> {
    match entry(backend, user)?.get_secret() {
        Ok(secret) => {
            let secret = Zeroizing::new(secret);
            KeyBundle::from_text(&secret).map(Some).map_err(|reason| KeyError::BadKeyringEntry {
                backend,
                user: user.to_owned(),
                reason,
            })
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(failure(backend, &e)),
    }
}

/// Writes `bundle` to entry `user`, then reads it back: a keyring that
/// accepts a secret without keeping it must not cost the data.
pub fn write(backend: Backend, user: &str, bundle: &KeyBundle) -> Result<(), KeyError> {
    let text = bundle.to_text();
    entry(backend, user)?.set_secret(text.as_bytes()).map_err(|e| failure(backend, &e))?;
    match read(backend, user)? {
        Some(back) if back.same_as(bundle) => Ok(()),
        _ => Err(KeyError::Keyring { backend, reason: format!("entry {user} did not read back as written") }),
    }
}

/// Deletes entry `user`; nothing to do when there is none.
pub fn delete(backend: Backend, user: &str) -> Result<(), KeyError> {
    match entry(backend, user)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(failure(backend, &e)),
    }
}

/// Finds the keyring holding entry `user`, or the one a new entry goes to:
/// with `Auto`, the Secret Service when it answers (unless the entry is only
/// in the kernel keyring), else the kernel keyring.
pub fn locate(choice: Choice, user: &str) -> Result<(Backend, Option<KeyBundle>), KeyError> {
    let at = |backend| read(backend, user).map(|b| (backend, b));
    match choice {
        Choice::SecretService => at(Backend::SecretService),
        Choice::Kernel => at(Backend::KernelKeyring),
        Choice::Auto => match at(Backend::SecretService) {
            Ok((ss, Some(b))) => Ok((ss, Some(b))),
            Ok((ss, None)) => match at(Backend::KernelKeyring) {
                Ok((kernel, Some(b))) => Ok((kernel, Some(b))),
                _ => Ok((ss, None)),
            },
            Err(KeyError::NoKeyring { reason: ss_reason }) => {
                tracing::debug!(reason = %ss_reason, "No Secret Service; trying the kernel keyring.");
                at(Backend::KernelKeyring).map_err(|e| match e {
                    KeyError::NoKeyring { reason } => KeyError::NoKeyring {
                        reason: format!("no Secret Service ({ss_reason}) and {reason}"),
                    },
                    other => other,
                })
            }
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_names_a_backend() {
        let check = |v: &str, expected: Option<Choice>| assert_eq!(Choice::parse(v).ok(), expected, "{v}");
        check("", Some(Choice::Auto));
        check("secret-service", Some(Choice::SecretService));
        check("kernel", Some(Choice::Kernel));
        check("gnome", None);
    }
}
