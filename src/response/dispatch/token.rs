//! Webhook bearer tokens in the OS keyring: service `wardwatch`, user
//! `webhook-<console id>-<token name>`, beside the console's keys (see
//! [`crate::keys`]): the Secret Service when one answers, else the Linux
//! kernel keyring; `WARDWATCH_KEYRING=secret-service|kernel` forces one, as
//! for the keys. The configuration only names a token; the token is read at
//! each attempt, so setting a new one takes effect without a restart.
//!
//! A token is never logged, printed or serialised: [`WebhookToken`] redacts
//! `Debug`, has no `Clone` or `Serialize`, and is wiped when dropped; errors
//! name the token, never show it.

use std::path::{Path, PathBuf};

use keyring::keyutils::KeyutilsCredential;
use keyring::secret_service::SsCredential;
use keyring::Entry;
use zeroize::Zeroizing;

use super::config::check_name;
use crate::keys::{Backend, ConsoleId, KeyError};

/// The keyring service of every Wardwatch entry.
pub const SERVICE: &str = "wardwatch";
/// Forces a keyring: `secret-service` or `kernel` (as for the console's keys).
pub const KEYRING_ENV: &str = "WARDWATCH_KEYRING";
/// The longest token accepted.
pub const MAX_TOKEN: usize = 4096;
const RUN_UNDER: &str =
    "run in a desktop session, under `keyctl session -`, or (tests) under scripts/with-desktop-session.sh";

/// A webhook's bearer token. `Debug` prints `WebhookToken(redacted)`; no
/// `Clone`, no `Serialize`; wiped when dropped. Reading it is spelled
/// [`WebhookToken::expose_secret`].
pub struct WebhookToken(Zeroizing<String>);

impl std::fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookToken(redacted)")
    }
}

impl WebhookToken {
    /// Refuses an empty token, one over [`MAX_TOKEN`] bytes and one with
    /// characters other than visible ASCII (it goes in a header as
    /// `Bearer TOKEN`). The error never shows the token.
    pub fn new(token: String) -> Result<Self, TokenError> {
        let token = Zeroizing::new(token);
        if token.is_empty() {
            return Err(TokenError::BadToken { reason: "the token is empty" });
        }
        if token.len() > MAX_TOKEN {
            return Err(TokenError::BadToken { reason: "the token is longer than 4096 bytes" });
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::BadToken {
                reason: "the token has characters other than visible ASCII (spaces, line ends, control or non-ASCII characters)",
            });
        }
        Ok(Self(token))
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// Why a token could not be stored, read or deleted. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token {name} is not in the keyring: set it with `wardwatch response token set {name}`")]
    Missing { name: String },
    #[error("token name {name:?}: {reason}")]
    BadName { name: String, reason: String },
    #[error("{reason}")]
    BadToken { reason: &'static str },
    #[error("no console id in {data_dir}: webhook tokens are kept in the OS keyring under the console id, which only a data directory whose keys are in the keyring has")]
    NoConsoleId { data_dir: PathBuf },
    #[error("no OS keyring: {reason}")]
    NoKeyring { reason: String },
    #[error("{backend}: {reason}")]
    Keyring { backend: Backend, reason: String },
    #[error("{backend} entry of token {name} is not a usable token: {reason}")]
    BadEntry { backend: Backend, name: String, reason: &'static str },
    #[error(transparent)]
    Console(#[from] KeyError),
}

impl TokenError {
    /// The dotted code shown over IPC and by the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "response.token_missing",
            Self::BadName { .. } | Self::BadToken { .. } => "response.token_invalid",
            Self::NoConsoleId { .. } | Self::Console(_) => "response.token_no_console",
            Self::NoKeyring { .. } => "response.keyring_unavailable",
            Self::Keyring { .. } | Self::BadEntry { .. } => "response.keyring_error",
        }
    }
}

/// Which keyring to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringChoice {
    /// The Secret Service when one answers, else the kernel keyring.
    Auto,
    SecretService,
    Kernel,
}

impl KeyringChoice {
    /// From `WARDWATCH_KEYRING`: unset or empty is `Auto`.
    pub fn from_env() -> Result<Self, TokenError> {
        match std::env::var(KEYRING_ENV) {
            Err(_) => Ok(Self::Auto),
            Ok(v) => Self::parse(&v),
        }
    }

    fn parse(v: &str) -> Result<Self, TokenError> {
        match v {
            "" => Ok(Self::Auto),
            "secret-service" => Ok(Self::SecretService),
            "kernel" => Ok(Self::Kernel),
            other => Err(TokenError::NoKeyring {
                reason: format!("{KEYRING_ENV}={other:?} is not one of secret-service, kernel"),
            }),
        }
    }
}

/// The webhook tokens of one console. Cheap to clone (it holds no token).
#[derive(Debug, Clone)]
pub struct TokenStore {
    console: Result<ConsoleId, PathBuf>,
    /// `None`: read `WARDWATCH_KEYRING` at each use.
    choice: Option<KeyringChoice>,
}

impl TokenStore {
    /// The tokens of console `console`, in the keyring `WARDWATCH_KEYRING` names.
    pub fn new(console: ConsoleId) -> Self {
        Self { console: Ok(console), choice: None }
    }

    /// The same, in the keyring `choice` names.
    pub fn with_choice(console: ConsoleId, choice: KeyringChoice) -> Self {
        Self { console: Ok(console), choice: Some(choice) }
    }

    /// The tokens of the console of `data_dir` (its `console-id` file). A
    /// data directory without one gives a store each of whose uses fails
    /// with [`TokenError::NoConsoleId`], so that adapters without tokens
    /// still work.
    pub fn for_data_dir(data_dir: &Path) -> Result<Self, TokenError> {
        Ok(Self { console: ConsoleId::read(data_dir)?.ok_or_else(|| data_dir.to_owned()), choice: None })
    }

    /// The keyring user of token `name`: `webhook-<console id>-<name>`.
    pub fn account(&self, name: &str) -> Result<String, TokenError> {
        check_name(name).map_err(|reason| TokenError::BadName { name: name.to_owned(), reason })?;
        match &self.console {
            Ok(id) => Ok(format!("webhook-{}-{name}", id.as_str())),
            Err(dir) => Err(TokenError::NoConsoleId { data_dir: dir.clone() }),
        }
    }

    fn choice(&self) -> Result<KeyringChoice, TokenError> {
        self.choice.map_or_else(KeyringChoice::from_env, Ok)
    }

    /// Stores `token` as token `name` (replacing any), then reads it back;
    /// says which keyring holds it. Blocks (D-Bus): call it from a blocking
    /// context.
    pub fn set(&self, name: &str, token: &WebhookToken) -> Result<Backend, TokenError> {
        let user = self.account(name)?;
        let (backend, _) = locate(self.choice()?, name, &user)?;
        entry(backend, &user)?
            .set_secret(token.expose_secret().as_bytes())
            .map_err(|e| failure(backend, &e))?;
        match read(backend, name, &user)? {
            Some(back) if same(&back, token) => {
                tracing::info!(token = %name, %backend, "Webhook token stored.");
                Ok(backend)
            }
            _ => Err(TokenError::Keyring {
                backend,
                reason: format!("entry {user} did not read back as written"),
            }),
        }
    }

    /// Reads token `name`; [`TokenError::Missing`] when there is none.
    /// Blocks (D-Bus).
    pub fn get(&self, name: &str) -> Result<WebhookToken, TokenError> {
        let user = self.account(name)?;
        match locate(self.choice()?, name, &user)? {
            (_, Some(token)) => Ok(token),
            (_, None) => Err(TokenError::Missing { name: name.to_owned() }),
        }
    }

    /// Deletes token `name`; `false` when there was none. Blocks (D-Bus).
    pub fn delete(&self, name: &str) -> Result<bool, TokenError> {
        let user = self.account(name)?;
        let (backend, found) = locate(self.choice()?, name, &user)?;
        if found.is_none() {
            return Ok(false);
        }
        match entry(backend, &user)?.delete_credential() {
            // A kernel keyring outside a session can say "no entry" for an
            // entry it has just read: only a read tells whether it is gone.
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(failure(backend, &e)),
        }
        if read(backend, name, &user)?.is_some() {
            return Err(TokenError::Keyring {
                backend,
                reason: format!("entry {user} is still there after deleting it; {RUN_UNDER}"),
            });
        }
        tracing::info!(token = %name, %backend, "Webhook token deleted.");
        Ok(true)
    }
}

fn same(a: &WebhookToken, b: &WebhookToken) -> bool {
    use subtle::ConstantTimeEq;
    a.expose_secret().as_bytes().ct_eq(b.expose_secret().as_bytes()).into()
}

fn entry(backend: Backend, user: &str) -> Result<Entry, TokenError> {
    match backend {
        Backend::SecretService => SsCredential::new_with_target(None, SERVICE, user)
            .map(|c| Entry::new_with_credential(Box::new(c)))
            .map_err(|e| failure(backend, &e)),
        // Without a session keyring the crate reports "no entry": it is no keyring at all.
        Backend::KernelKeyring => KeyutilsCredential::new_with_target(None, SERVICE, user)
            .map(|c| Entry::new_with_credential(Box::new(c)))
            .map_err(|e| TokenError::NoKeyring {
                reason: format!("no kernel session keyring ({e}): {RUN_UNDER}"),
            }),
        Backend::RecoveryFile => {
            Err(TokenError::NoKeyring { reason: "the recovery file is not a keyring".into() })
        }
    }
}

/// A keyring error, phrased without any secret (the crate's errors hold
/// none: a token that is not text is reported as such, not shown).
fn failure(backend: Backend, e: &keyring::Error) -> TokenError {
    match e {
        keyring::Error::PlatformFailure(_) if backend == Backend::SecretService => {
            TokenError::NoKeyring { reason: format!("Secret Service: {e}; {RUN_UNDER}") }
        }
        keyring::Error::NoStorageAccess(_) => {
            TokenError::Keyring { backend, reason: format!("{e} (is the keyring locked?)") }
        }
        keyring::Error::BadEncoding(_) => TokenError::Keyring { backend, reason: "entry is not text".into() },
        _ => TokenError::Keyring { backend, reason: e.to_string() },
    }
}

/// The token in entry `user`, `None` when there is no entry.
fn read(backend: Backend, name: &str, user: &str) -> Result<Option<WebhookToken>, TokenError> {
    match entry(backend, user)?.get_secret() {
        Ok(secret) => {
            let secret = Zeroizing::new(secret);
            let text = std::str::from_utf8(&secret).map_err(|_| TokenError::BadEntry {
                backend,
                name: name.to_owned(),
                reason: "not UTF-8 text",
            })?;
            let mut owned = Zeroizing::new(String::with_capacity(text.len()));
            owned.push_str(text);
            WebhookToken::new(std::mem::take(&mut *owned)).map(Some).map_err(|e| TokenError::BadEntry {
                backend,
                name: name.to_owned(),
                reason: match e {
                    TokenError::BadToken { reason } => reason,
                    _ => "not a token",
                },
            })
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(failure(backend, &e)),
    }
}

/// The keyring holding entry `user`, or the one a new entry goes to: with
/// `Auto`, the Secret Service when it answers (unless the entry is only in
/// the kernel keyring), else the kernel keyring. As [`crate::keys`] does.
fn locate(
    choice: KeyringChoice,
    name: &str,
    user: &str,
) -> Result<(Backend, Option<WebhookToken>), TokenError> {
    let at = |backend| read(backend, name, user).map(|t| (backend, t));
    match choice {
        KeyringChoice::SecretService => at(Backend::SecretService),
        KeyringChoice::Kernel => at(Backend::KernelKeyring),
        KeyringChoice::Auto => match at(Backend::SecretService) {
            Ok((ss, Some(t))) => Ok((ss, Some(t))),
            Ok((ss, None)) => match at(Backend::KernelKeyring) {
                Ok((kernel, Some(t))) => Ok((kernel, Some(t))),
                _ => Ok((ss, None)),
            },
            Err(TokenError::NoKeyring { reason: ss_reason }) => {
                tracing::debug!(reason = %ss_reason, "No Secret Service; trying the kernel keyring.");
                at(Backend::KernelKeyring).map_err(|e| match e {
                    TokenError::NoKeyring { reason } => TokenError::NoKeyring {
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
    fn the_env_names_a_keyring() {
        let check = |v: &str, expected: Option<KeyringChoice>| {
            assert_eq!(KeyringChoice::parse(v).ok(), expected, "{v}");
        };
        check("", Some(KeyringChoice::Auto));
        check("secret-service", Some(KeyringChoice::SecretService));
        check("kernel", Some(KeyringChoice::Kernel));
        check("gnome", None);
    }

    #[test]
    fn tokens_are_checked_and_never_shown() {
        let check = |t: &str, ok: bool| {
            let got = WebhookToken::new(t.to_owned());
            assert_eq!(got.is_ok(), ok, "{t:?}");
            if let Err(e) = got {
                assert!(t.is_empty() || !e.to_string().contains(t), "{e} shows the token");
            }
        };
        check("s3cr3t-Token_value.~+/=", true);
        check("", false);
        check("with space", false);
        check("line\nend", false);
        check("caf\u{e9}", false);
        check(&"x".repeat(MAX_TOKEN), true);
        check(&"x".repeat(MAX_TOKEN + 1), false);
        let token = WebhookToken::new("hunter2-token".into());
        let shown = format!("{token:?} {:#?}", token);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("WebhookToken(redacted)"), "{shown}");
    }

    #[test]
    fn accounts_name_the_console_and_the_token() -> Result<(), TokenError> {
        let id = ConsoleId::random()?;
        let store = TokenStore::new(id.clone());
        assert_eq!(store.account("nac")?, format!("webhook-{}-nac", id.as_str()));
        assert!(matches!(store.account("a b"), Err(TokenError::BadName { .. })));
        assert!(matches!(store.account(""), Err(TokenError::BadName { .. })));
        let dir = tempfile::tempdir().map_err(|source| KeyError::Io { path: "tmp".into(), source })?;
        let none = TokenStore::for_data_dir(dir.path())?;
        let err = none.get("nac").err();
        assert!(matches!(err, Some(TokenError::NoConsoleId { .. })), "{err:?}");
        assert_eq!(err.map(|e| e.code()), Some("response.token_no_console"));
        Ok(())
    }

    #[test]
    fn the_missing_token_error_says_how_to_set_it() {
        let e = TokenError::Missing { name: "nac".into() };
        assert_eq!(
            e.to_string(),
            "token nac is not in the keyring: set it with `wardwatch response token set nac`"
        );
        assert_eq!(e.code(), "response.token_missing");
    }
}
