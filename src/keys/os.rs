//! The OS keyring: the Secret Service (desktops) or the Linux kernel keyring
//! (keyutils: headless servers). Entries are service `wardwatch`, user
//! `console-<console id>` (and `console-<console id>.pending` during a key
//! rotation); the secret is the bundle's text encoding.
//!
//! The raw-secret primitives ([`read_secret`], [`write_secret`], [`delete`],
//! [`locate_with`]) also keep the webhook bearer tokens
//! ([`crate::response::dispatch::token`]), beside the console's keys. Secrets
//! stay in [`Zeroizing`] buffers; errors never hold them.

use keyring::keyutils::KeyutilsCredential;
use keyring::secret_service::SsCredential;
use keyring::Entry;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::files::ConsoleId;
use super::secret::KeyBundle;
use super::{Backend, KeyError};

pub const SERVICE: &str = "wardwatch";
/// Forces a backend: `secret-service` or `kernel`.
pub const ENV: &str = "WARDWATCH_KEYRING";
/// How to get a keyring, for the reasons of [`KeyError::NoKeyring`].
pub(crate) const RUN_UNDER: &str =
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
    /// From `WARDWATCH_KEYRING`: unset or empty is `Auto`.
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
/// carry key or token bytes).
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

/// The secret in entry `user`; `None` when there is no entry.
pub(crate) fn read_secret(backend: Backend, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
    match entry(backend, user)?.get_secret() {
        Ok(secret) => Ok(Some(Zeroizing::new(secret))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(failure(backend, &e)),
    }
}

/// The secret in entry `user` as `decode` reads it; `None` when there is no
/// entry, [`KeyError::BadKeyringEntry`] with `decode`'s reason when it
/// refuses the secret.
fn read_as<T>(
    backend: Backend,
    user: &str,
    decode: impl Fn(&[u8]) -> Result<T, &'static str>,
) -> Result<Option<T>, KeyError> {
    read_secret(backend, user)?
        .map(|secret| {
            decode(&secret).map_err(|reason| KeyError::BadKeyringEntry {
                backend,
                user: user.to_owned(),
                reason,
            })
        })
        .transpose()
}

/// Reads the bundle in entry `user`; `None` when there is no entry.
pub fn read(backend: Backend, user: &str) -> Result<Option<KeyBundle>, KeyError> {
    read_as(backend, user, KeyBundle::from_text)
}

/// Writes `secret` to entry `user` (replacing any), then reads it back and
/// compares in constant time: a keyring that accepts a secret without
/// keeping it must not cost the data.
pub(crate) fn write_secret(backend: Backend, user: &str, secret: &[u8]) -> Result<(), KeyError> {
    write_checked(backend, user, secret, |back| back.ct_eq(secret).into())
}

/// Writes `bundle` to entry `user`, then reads it back as a bundle.
pub fn write(backend: Backend, user: &str, bundle: &KeyBundle) -> Result<(), KeyError> {
    write_checked(backend, user, bundle.to_text().as_bytes(), |back| {
        KeyBundle::from_text(back).is_ok_and(|b| b.same_as(bundle))
    })
}

/// Writes `secret` to entry `user`, then reads it back: `kept` says whether
/// what came back is what was written.
fn write_checked(
    backend: Backend,
    user: &str,
    secret: &[u8],
    kept: impl FnOnce(&[u8]) -> bool,
) -> Result<(), KeyError> {
    entry(backend, user)?.set_secret(secret).map_err(|e| failure(backend, &e))?;
    match read_secret(backend, user)? {
        Some(back) if kept(&back) => Ok(()),
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
/// in the kernel keyring), else the kernel keyring. The entry is read as
/// `decode` reads it; where the Secret Service has none, a kernel keyring
/// that fails (or holds an entry `decode` refuses) is passed over.
pub(crate) fn locate_with<T>(
    choice: Choice,
    user: &str,
    decode: impl Fn(&[u8]) -> Result<T, &'static str>,
) -> Result<(Backend, Option<T>), KeyError> {
    let at = |backend| read_as(backend, user, &decode).map(|t| (backend, t));
    match choice {
        Choice::SecretService => at(Backend::SecretService),
        Choice::Kernel => at(Backend::KernelKeyring),
        Choice::Auto => match at(Backend::SecretService) {
            Ok((ss, Some(t))) => Ok((ss, Some(t))),
            Ok((ss, None)) => match at(Backend::KernelKeyring) {
                Ok((kernel, Some(t))) => Ok((kernel, Some(t))),
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

/// [`locate_with`] for a key bundle.
pub fn locate(choice: Choice, user: &str) -> Result<(Backend, Option<KeyBundle>), KeyError> {
    locate_with(choice, user, KeyBundle::from_text)
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
