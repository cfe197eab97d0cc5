//! Bearer tokens of the HTTP listener.
//!
//! The console keeps only each token's SHA-256 (`[[http.tokens]]` in the
//! configuration file), so a copy of the file gives no way in. A presented
//! token is hashed and compared with every configured hash in constant time.
//! Tokens are never logged; their names are.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A configured token: `[[http.tokens]]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (a gateway), shown in logs.
    pub name: String,
    /// The SHA-256 of the token, 64 hex digits.
    pub sha256: String,
    /// A disabled token is refused with 403.
    #[serde(default)]
    pub disabled: bool,
}

/// The HTTP listener's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpConfig {
    pub tokens: Vec<TokenEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenConfigError {
    #[error("http.tokens: a token has an empty name")]
    EmptyName,
    #[error("http.tokens: the name {0:?} is used twice")]
    DuplicateName(String),
    #[error("http.tokens: token {0:?} has a sha256 that is not 64 hex digits")]
    BadHash(String),
}

impl HttpConfig {
    /// Checks every entry: names present and unique, hashes well formed.
    pub fn validate(&self) -> Result<(), TokenConfigError> {
        let mut seen = std::collections::HashSet::new();
        for t in &self.tokens {
            if t.name.trim().is_empty() {
                return Err(TokenConfigError::EmptyName);
            }
            if !seen.insert(t.name.as_str()) {
                return Err(TokenConfigError::DuplicateName(t.name.clone()));
            }
            if parse_hash(&t.sha256).is_none() {
                return Err(TokenConfigError::BadHash(t.name.clone()));
            }
        }
        Ok(())
    }
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    for (i, pair) in hex.chunks(2).enumerate() {
        let digits = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(out)
}

/// The SHA-256 of a token, as hex.
pub fn sha256_hex(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// What a request's credentials come to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A known, enabled token: its name.
    Allowed(String),
    /// A known token that is disabled: its name.
    Disabled(String),
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer TOKEN`.
    Malformed,
    /// A well-formed token that is not configured.
    Unknown,
}

/// The configured tokens, ready for checking.
pub struct Tokens {
    entries: Vec<(String, [u8; 32], bool)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("count", &self.entries.len()).finish_non_exhaustive()
    }
}

impl Tokens {
    /// Entries whose hash is malformed are left out (validation refuses them first).
    pub fn new(config: &HttpConfig) -> Self {
        let entries = config
            .tokens
            .iter()
            .filter_map(|t| parse_hash(&t.sha256).map(|h| (t.name.clone(), h, t.disabled)))
            .collect();
        Self { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks an `Authorization` header value (`None` when absent).
    pub fn check(&self, header: Option<&[u8]>) -> Auth {
        let Some(header) = header else {
            return Auth::Missing;
        };
        let Some(token) = bearer(header) else {
            return Auth::Malformed;
        };
        let presented: [u8; 32] = Sha256::digest(token).into();
        // Every entry is compared, whatever matched, in constant time.
        let mut found = None;
        for (name, hash, disabled) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some((name, *disabled));
            }
        }
        match found {
            Some((name, false)) => Auth::Allowed(name.clone()),
            Some((name, true)) => Auth::Disabled(name.clone()),
            None => Auth::Unknown,
        }
    }
}

/// The token of `Bearer TOKEN` (RFC 6750: the scheme is case-insensitive,
/// the token is `b64token`: letters, digits and `-._~+/`, then `=` padding).
fn bearer(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    let body_len = token.iter().take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b)).count();
    let ok = body_len > 0 && token[body_len..].iter().all(|&b| b == b'=');
    ok.then_some(token)
}

/// A newly made token. Shown once, to be given to a gateway; its `Debug`
/// hides it and it cannot be serialised.
pub struct NewToken {
    secret: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewToken(redacted)")
    }
}

/// The prefix of every token Wardwatch makes, so that secret scanners and
/// people recognise one.
pub const TOKEN_PREFIX: &str = "ww_";

impl NewToken {
    /// 256 bits from the operating system's random source.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| std::io::Error::other(format!("no randomness from the operating system: {e}")))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self { secret: format!("{TOKEN_PREFIX}{hex}") })
    }

    /// The token itself: print it once, never log it.
    pub fn reveal_secret(&self) -> &str {
        &self.secret
    }

    /// What the configuration file keeps.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(&HttpConfig {
            tokens: vec![
                TokenEntry { name: "gw-a".into(), sha256: sha256_hex("secret-a"), disabled: false },
                TokenEntry {
                    name: "gw-old".into(),
                    sha256: sha256_hex("secret-old").to_uppercase(),
                    disabled: true,
                },
            ],
        })
    }

    #[test]
    fn headers_come_to_what_they_should() {
        let t = tokens();
        let check = |h: Option<&str>| t.check(h.map(str::as_bytes));
        assert_eq!(check(Some("Bearer secret-a")), Auth::Allowed("gw-a".into()));
        assert_eq!(check(Some("bearer  secret-a ")), Auth::Allowed("gw-a".into()));
        assert_eq!(check(Some("Bearer secret-old")), Auth::Disabled("gw-old".into()));
        assert_eq!(check(Some("Bearer secret-b")), Auth::Unknown);
        assert_eq!(check(None), Auth::Missing);
        for bad in
            ["secret-a", "Basic c2VjcmV0", "Bearer", "Bearer ", "Bearer a b", "Bearer =abc", "Bearer é"]
        {
            assert_eq!(check(Some(bad)), Auth::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn new_tokens_are_random_hidden_and_match_their_hash() -> std::io::Result<()> {
        let (a, b) = (NewToken::generate()?, NewToken::generate()?);
        assert_ne!(a.reveal_secret(), b.reveal_secret());
        assert_eq!(a.reveal_secret().len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(format!("{a:?}"), "NewToken(redacted)");
        let t = Tokens::new(&HttpConfig {
            tokens: vec![TokenEntry { name: "n".into(), sha256: a.sha256_hex(), disabled: false }],
        });
        assert_eq!(
            t.check(Some(format!("Bearer {}", a.reveal_secret()).as_bytes())),
            Auth::Allowed("n".into())
        );
        Ok(())
    }

    #[test]
    fn the_sha256_is_the_standard_one() {
        // FIPS 180-2 test vector "abc".
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        let entry = |name: &str, sha256: &str| TokenEntry {
            name: name.into(),
            sha256: sha256.into(),
            disabled: false,
        };
        let ok = sha256_hex("x");
        let cfg = |t: Vec<TokenEntry>| HttpConfig { tokens: t }.validate();
        assert_eq!(cfg(vec![entry("a", &ok)]), Ok(()));
        assert_eq!(cfg(vec![entry("a", "abc")]), Err(TokenConfigError::BadHash("a".into())));
        assert_eq!(cfg(vec![entry("a", &ok[1..])]), Err(TokenConfigError::BadHash("a".into())));
        assert_eq!(cfg(vec![entry(" ", &ok)]), Err(TokenConfigError::EmptyName));
        assert_eq!(
            cfg(vec![entry("a", &ok), entry("a", &ok)]),
            Err(TokenConfigError::DuplicateName("a".into()))
        );
    }
}
