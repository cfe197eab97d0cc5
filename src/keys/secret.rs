//! The secret types: a key, the console's bundle of keys, a passphrase.
//! None of them can be printed, cloned or serialised, and each is wiped from
//! memory when dropped.

use std::path::Path;

use zeroize::Zeroizing;

use super::KeyError;

/// Length of every key in bytes (256 bits).
pub const KEY_LEN: usize = 32;
/// Length of a bundle's binary encoding: database, signing, patient-id keys.
pub(crate) const BUNDLE_LEN: usize = 3 * KEY_LEN;
/// Prefix of a bundle's text encoding (the secret kept in a keyring entry).
const TEXT_PREFIX: &str = "wardwatch-keys v1 ";

/// 32 secret bytes. `Debug` prints `SecretKey(redacted)`; there is no
/// `Clone` and no `Serialize`; the bytes are zeroed when dropped. Reading them
/// is spelled [`SecretKey::expose`].
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

impl SecretKey {
    pub fn from_bytes(b: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(b))
    }

    /// A new key from the operating system's random numbers.
    pub fn random() -> Result<Self, KeyError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(key.as_mut()).map_err(KeyError::Random)?;
        Ok(Self(key))
    }

    /// The key's bytes: the only way to read them.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn copy(&self) -> Self {
        Self(Zeroizing::new(*self.0))
    }
}

/// The console's keys: the database key (SQLCipher), the Ed25519 seed that
/// signs audit checkpoints, and the key of the patient-identifier hash.
/// `Debug` shows none of them.
pub struct KeyBundle {
    pub database: SecretKey,
    /// An Ed25519 seed: see [`KeyBundle::signing_key`].
    pub signing: SecretKey,
    pub patient_id: SecretKey,
}

impl std::fmt::Debug for KeyBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyBundle(redacted)")
    }
}

impl KeyBundle {
    /// Three new random keys.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self {
            database: SecretKey::random()?,
            signing: SecretKey::random()?,
            patient_id: SecretKey::random()?,
        })
    }

    /// For `key rotate`: the same signing and patient-id keys (checkpoints
    /// still verify, patient hashes still match) with a new database key.
    pub fn with_new_database_key(&self) -> Result<KeyBundle, KeyError> {
        Ok(Self {
            database: SecretKey::random()?,
            signing: self.signing.copy(),
            patient_id: self.patient_id.copy(),
        })
    }

    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(self.signing.expose())
    }

    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.signing_key().verifying_key()
    }

    /// The 96-byte binary encoding: database, signing, patient-id.
    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; BUNDLE_LEN]> {
        let mut out = Zeroizing::new([0u8; BUNDLE_LEN]);
        for (chunk, key) in
            out.chunks_exact_mut(KEY_LEN).zip([&self.database, &self.signing, &self.patient_id])
        {
            chunk.copy_from_slice(key.expose());
        }
        out
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != BUNDLE_LEN {
            return None;
        }
        let key = |i: usize| {
            let mut k = [0u8; KEY_LEN];
            k.copy_from_slice(&bytes[i * KEY_LEN..(i + 1) * KEY_LEN]);
            SecretKey::from_bytes(k)
        };
        Some(Self { database: key(0), signing: key(1), patient_id: key(2) })
    }

    /// The text kept in a keyring entry: `wardwatch-keys v1 <192 hex digits>`.
    pub(crate) fn to_text(&self) -> Zeroizing<String> {
        let bytes = self.to_bytes();
        let mut hex = Zeroizing::new([0u8; 2 * BUNDLE_LEN]);
        // Both lengths are fixed: this cannot fail.
        let _ = hex::encode_to_slice(bytes.as_ref(), hex.as_mut());
        let mut text = Zeroizing::new(String::with_capacity(TEXT_PREFIX.len() + hex.len()));
        text.push_str(TEXT_PREFIX);
        for &c in hex.iter() {
            text.push(char::from(c));
        }
        text
    }

    /// Parses [`KeyBundle::to_text`]. The error says what is wrong, never
    /// what the text holds.
    pub(crate) fn from_text(text: &[u8]) -> Result<Self, &'static str> {
        let Some(hex) = text.strip_prefix(TEXT_PREFIX.as_bytes()) else {
            return Err("not a wardwatch-keys v1 entry");
        };
        let mut bytes = Zeroizing::new([0u8; BUNDLE_LEN]);
        hex::decode_to_slice(hex, bytes.as_mut()).map_err(|_| "the keys are not 192 hex digits")?;
        Self::from_slice(bytes.as_ref()).ok_or("the keys are not 96 bytes")
    }

    /// Whether two bundles hold the same keys (constant time).
    pub(crate) fn same_as(&self, other: &KeyBundle) -> bool {
        use subtle::ConstantTimeEq;
        self.to_bytes().ct_eq(other.to_bytes().as_ref()).into()
    }
}

/// A recovery passphrase. `Debug` shows nothing of it; wiped when dropped.
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(redacted)")
    }
}

impl Passphrase {
    /// Refuses an empty passphrase.
    pub fn new(s: String) -> Result<Self, KeyError> {
        let s = Zeroizing::new(s);
        if s.is_empty() {
            return Err(KeyError::BadPassphrase { reason: "the passphrase is empty".into() });
        }
        Ok(Self(s))
    }

    /// Reads a passphrase file: its whole content less one trailing `\n` or
    /// `\r\n`. Refuses an empty passphrase and one that is not UTF-8.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(
            std::fs::read(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?,
        );
        let mut text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(_) => {
                return Err(KeyError::BadPassphrase {
                    reason: format!("passphrase file {} is not UTF-8 text", path.display()),
                })
            }
        };
        text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(text);
        if text.is_empty() {
            return Err(KeyError::BadPassphrase {
                reason: format!("passphrase file {} is empty", path.display()),
            });
        }
        let mut owned = Zeroizing::new(String::with_capacity(text.len()));
        owned.push_str(text);
        Ok(Self(owned))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> KeyBundle {
        KeyBundle {
            database: SecretKey::from_bytes([0xa1; 32]),
            signing: SecretKey::from_bytes([0xb2; 32]),
            patient_id: SecretKey::from_bytes([0xc3; 32]),
        }
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let b = bundle();
        let shown = [
            format!("{b:?}"),
            format!("{:?}", b.database),
            format!("{:#?}", b.signing),
            format!("{:?}", Passphrase::new("hunter2-passphrase".into())),
        ];
        assert_eq!(shown[0], "KeyBundle(redacted)");
        assert_eq!(shown[1], "SecretKey(redacted)");
        for s in &shown {
            for needle in ["a1a1", "b2b2", "c3c3", "A1A1", "161", "hunter2"] {
                assert!(!s.contains(needle), "{s:?} shows {needle}");
            }
            assert!(!s.as_bytes().contains(&0xa1), "raw bytes in {s:?}");
        }
    }

    #[test]
    fn text_encoding_round_trips_and_is_pinned() -> Result<(), &'static str> {
        let b = bundle();
        let text = b.to_text();
        // Pinned: keyring entries written by earlier versions must still be read.
        assert_eq!(
            text.as_str(),
            format!("wardwatch-keys v1 {}{}{}", "a1".repeat(32), "b2".repeat(32), "c3".repeat(32))
        );
        let back = KeyBundle::from_text(text.as_bytes())?;
        assert!(back.same_as(&b));
        assert_eq!(back.patient_id.expose(), &[0xc3; 32]);
        Ok(())
    }

    #[test]
    fn damaged_text_is_refused_without_echoing_it() {
        let check = |text: &str, expected: &str| {
            assert_eq!(KeyBundle::from_text(text.as_bytes()).err(), Some(expected), "{text}");
        };
        check("", "not a wardwatch-keys v1 entry");
        check(&format!("wardwatch-keys v2 {}", "00".repeat(96)), "not a wardwatch-keys v1 entry");
        check(&format!("wardwatch-keys v1 {}", "00".repeat(95)), "the keys are not 192 hex digits");
        check(&format!("wardwatch-keys v1 {}zz", "00".repeat(95)), "the keys are not 192 hex digits");
    }

    #[test]
    fn a_new_database_key_keeps_the_others() -> Result<(), KeyError> {
        let b = KeyBundle::generate()?;
        let r = b.with_new_database_key()?;
        assert_ne!(b.database.expose(), r.database.expose());
        assert_eq!(b.signing.expose(), r.signing.expose());
        assert_eq!(b.patient_id.expose(), r.patient_id.expose());
        assert_eq!(b.verifying_key(), r.verifying_key());
        Ok(())
    }

    #[test]
    fn passphrases_refuse_empty_and_strip_one_line_end() -> Result<(), KeyError> {
        assert!(matches!(Passphrase::new(String::new()), Err(KeyError::BadPassphrase { .. })));
        let dir = tempfile::tempdir().map_err(|source| KeyError::Io { path: "tmp".into(), source })?;
        let check = |content: &[u8], expected: Option<&str>| -> Result<(), KeyError> {
            let path = dir.path().join("p");
            std::fs::write(&path, content).map_err(|source| KeyError::Io { path: path.clone(), source })?;
            let got = Passphrase::from_file(&path);
            assert_eq!(got.as_ref().ok().map(|p| p.expose()), expected, "{content:?}");
            if expected.is_none() {
                assert!(matches!(got, Err(KeyError::BadPassphrase { .. })));
            }
            Ok(())
        };
        check(b"pass\n", Some("pass"))?;
        check(b"pass\r\n", Some("pass"))?;
        check(b"pass\n\n", Some("pass\n"))?;
        check(b"pass", Some("pass"))?;
        check(b" pass \n", Some(" pass "))?;
        check(b"\n", None)?;
        check(b"\r\n", None)?;
        check(b"", None)?;
        check(b"\xff\xfe", None)?;
        Ok(())
    }
}
