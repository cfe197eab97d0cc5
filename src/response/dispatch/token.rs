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

use zeroize::Zeroizing;

use super::config::check_name;
use crate::keys::os::{self, RUN_UNDER};
use crate::keys::{Backend, ConsoleId, KeyError};

/// Which keyring to use (`WARDWATCH_KEYRING`), as for the console's keys.
pub use crate::keys::os::Choice as KeyringChoice;
/// The keyring service of every Wardwatch entry; the variable that forces a
/// keyring (`secret-service` or `kernel`), as for the console's keys.
pub use crate::keys::os::{ENV as KEYRING_ENV, SERVICE};

/// The longest token accepted.
pub const MAX_TOKEN: usize = 4096;

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

    /// The keyring holding token `name` (entry `user`), or the one a new
    /// token goes to, and the token when there is one.
    fn locate(&self, name: &str, user: &str) -> Result<(Backend, Option<WebhookToken>), TokenError> {
        let choice = self.choice.map_or_else(KeyringChoice::from_env, Ok);
        choice.and_then(|c| os::locate_with(c, user, decode)).map_err(|e| keyring_error(name, e))
    }

    /// Stores `token` as token `name` (replacing any), then reads it back;
    /// says which keyring holds it. Blocks (D-Bus): call it from a blocking
    /// context.
    pub fn set(&self, name: &str, token: &WebhookToken) -> Result<Backend, TokenError> {
        let user = self.account(name)?;
        let (backend, _) = self.locate(name, &user)?;
        os::write_secret(backend, &user, token.expose_secret().as_bytes())
            .map_err(|e| keyring_error(name, e))?;
        tracing::info!(token = %name, %backend, "Webhook token stored.");
        Ok(backend)
    }

    /// Reads token `name`; [`TokenError::Missing`] when there is none.
    /// Blocks (D-Bus).
    pub fn get(&self, name: &str) -> Result<WebhookToken, TokenError> {
        let user = self.account(name)?;
        match self.locate(name, &user)? {
            (_, Some(token)) => Ok(token),
            (_, None) => Err(TokenError::Missing { name: name.to_owned() }),
        }
    }

    /// Deletes token `name`; `false` when there was none. Blocks (D-Bus).
    pub fn delete(&self, name: &str) -> Result<bool, TokenError> {
        let user = self.account(name)?;
        let (backend, found) = self.locate(name, &user)?;
        if found.is_none() {
            return Ok(false);
        }
        // A kernel keyring outside a session can say "no entry" for an
        // entry it has just read: only a read tells whether it is gone.
        os::delete(backend, &user).map_err(|e| keyring_error(name, e))?;
        if os::read_secret(backend, &user).map_err(|e| keyring_error(name, e))?.is_some() {
            return Err(TokenError::Keyring {
                backend,
                reason: format!("entry {user} is still there after deleting it; {RUN_UNDER}"),
            });
        }
        tracing::info!(token = %name, %backend, "Webhook token deleted.");
        Ok(true)
    }
}

/// A token entry's secret as a token; why not, when it is not one (never
/// showing it).
fn decode(secret: &[u8]) -> Result<WebhookToken, &'static str> {
    let text = std::str::from_utf8(secret).map_err(|_| "not UTF-8 text")?;
    // `new` wraps the copy at once, so it is wiped with the token.
    WebhookToken::new(text.to_owned()).map_err(|e| match e {
        TokenError::BadToken { reason } => reason,
        _ => "not a token",
    })
}

/// An error of the keyring entry of token `name`, in the token store's
/// words. Not `?`: that would make every one a [`TokenError::Console`].
fn keyring_error(name: &str, e: KeyError) -> TokenError {
    match e {
        KeyError::NoKeyring { reason } => TokenError::NoKeyring { reason },
        KeyError::Keyring { backend, reason } => TokenError::Keyring { backend, reason },
        KeyError::BadKeyringEntry { backend, reason, .. } => {
            TokenError::BadEntry { backend, name: name.to_owned(), reason }
        }
        other => TokenError::Console(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn keyring_errors_keep_the_token_store_words_and_codes() {
        let check = |e: KeyError, message: &str, code: &str| {
            let e = keyring_error("nac", e);
            assert_eq!((e.to_string().as_str(), e.code()), (message, code), "{e:?}");
        };
        check(
            KeyError::NoKeyring { reason: "no session".into() },
            "no OS keyring: no session",
            "response.keyring_unavailable",
        );
        check(
            KeyError::Keyring { backend: Backend::KernelKeyring, reason: "locked".into() },
            "kernel keyring: locked",
            "response.keyring_error",
        );
        check(
            KeyError::BadKeyringEntry {
                backend: Backend::SecretService,
                user: "webhook-x-nac".into(),
                reason: "not UTF-8 text",
            },
            "Secret Service entry of token nac is not a usable token: not UTF-8 text",
            "response.keyring_error",
        );
    }

    #[test]
    fn entries_decode_to_tokens_or_say_why_not() {
        let check = |secret: &[u8], expected: Result<&str, &str>| {
            let got = decode(secret);
            assert_eq!(got.as_ref().map(WebhookToken::expose_secret).map_err(|r| *r), expected);
        };
        check(b"ww-token", Ok("ww-token"));
        check(b"\xff\xfe", Err("not UTF-8 text"));
        check(b"", Err("the token is empty"));
        check(b"two words", Err("the token has characters other than visible ASCII (spaces, line ends, control or non-ASCII characters)"));
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
