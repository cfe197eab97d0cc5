//! The recovery file: the key bundle wrapped by a passphrase, so that the
//! data survives the loss of the keyring and opens on another machine.
//!
//! Argon2id (parameters and salt stored in the file) turns the passphrase into
//! a 256-bit key; ChaCha20-Poly1305 (random nonce) encrypts the 96-byte bundle
//! with the file's header fields as associated data. A SHA-256 checksum over
//! header and ciphertext tells a damaged file from a wrong passphrase (it is no
//! defence against a forger, who can recompute it: the AEAD tag is, and a
//! forged file then reads as a wrong passphrase, never as keys).

use std::path::Path;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::secret::{KeyBundle, Passphrase, BUNDLE_LEN, KEY_LEN};
use super::KeyError;

const FORMAT: &str = "wardwatch-recovery";
const VERSION: u32 = 1;
const KDF: &str = "argon2id";
const KDF_VERSION: u32 = 0x13;
const CIPHER: &str = "chacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The OWASP minimum for Argon2id (19 MiB, 2 passes, 1 lane): an open
    /// costs well under a second.
    pub const DEFAULT: Self = Self { m_cost_kib: 19 * 1024, t_cost: 2, p_cost: 1 };

    /// Bounds on what a file may ask for, so that a damaged or hostile file
    /// cannot make an open take gigabytes or hours.
    fn check(&self) -> Result<argon2::Params, String> {
        if self.m_cost_kib > 4 * 1024 * 1024 || self.t_cost > 64 || self.p_cost > 64 {
            return Err(format!(
                "Argon2id parameters m={} KiB t={} p={} exceed the limits (4 GiB, 64, 64)",
                self.m_cost_kib, self.t_cost, self.p_cost
            ));
        }
        argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(KEY_LEN)).map_err(|e| {
            format!("Argon2id parameters m={} t={} p={}: {e}", self.m_cost_kib, self.t_cost, self.p_cost)
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    algorithm: String,
    version: u32,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    algorithm: String,
    nonce: String,
}

/// The file as stored (versioned JSON).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryFile {
    format: String,
    version: u32,
    kdf: Kdf,
    cipher: Cipher,
    /// Hex of the encrypted bundle and its tag.
    ciphertext: String,
    /// Hex SHA-256 of the associated data and the ciphertext.
    checksum: String,
}

/// The associated data: every header field, in a fixed order.
fn header(params: &KdfParams, salt: &[u8], nonce: &[u8]) -> Vec<u8> {
    format!(
        "{FORMAT}\0v{VERSION}\0{KDF}\0v{KDF_VERSION}\0m={}\0t={}\0p={}\0salt={}\0{CIPHER}\0nonce={}",
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        hex::encode(salt),
        hex::encode(nonce)
    )
    .into_bytes()
}

fn checksum(header: &[u8], ciphertext: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(header);
    h.update(ciphertext);
    hex::encode(h.finalize())
}

fn derive(
    passphrase: &Passphrase,
    params: &KdfParams,
    salt: &[u8],
) -> Result<Zeroizing<[u8; KEY_LEN]>, String> {
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params.check()?);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase.expose().as_bytes(), salt, key.as_mut())
        .map_err(|e| format!("Argon2id: {e}"))?;
    Ok(key)
}

/// The file's text for `bundle` wrapped by `passphrase`, with a new random
/// salt and nonce.
pub fn wrap(bundle: &KeyBundle, passphrase: &Passphrase, params: KdfParams) -> Result<String, KeyError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).map_err(KeyError::Random)?;
    getrandom::fill(&mut nonce).map_err(KeyError::Random)?;
    wrap_with(bundle, passphrase, params, &salt, &nonce)
}

fn wrap_with(
    bundle: &KeyBundle,
    passphrase: &Passphrase,
    params: KdfParams,
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Result<String, KeyError> {
    let bad = |reason| KeyError::BadPassphrase { reason };
    let key = derive(passphrase, &params, salt).map_err(bad)?;
    let aad = header(&params, salt, nonce);
    let mut buf = Zeroizing::new(Vec::with_capacity(BUNDLE_LEN + TAG_LEN));
    buf.extend_from_slice(bundle.to_bytes().as_ref());
    ChaCha20Poly1305::new(key.as_ref().into())
        .encrypt_in_place(nonce.into(), &aad, &mut *buf)
        .map_err(|_| bad("ChaCha20-Poly1305 encryption failed".into()))?;
    let file = RecoveryFile {
        format: FORMAT.into(),
        version: VERSION,
        kdf: Kdf { algorithm: KDF.into(), version: KDF_VERSION, params, salt: hex::encode(salt) },
        cipher: Cipher { algorithm: CIPHER.into(), nonce: hex::encode(nonce) },
        checksum: checksum(&aad, &buf),
        ciphertext: hex::encode(&*buf),
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| bad(format!("JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Why a recovery file did not open.
#[derive(Debug)]
pub enum UnwrapError {
    /// The file is damaged or not a recovery file (the reason says how).
    Bad(String),
    /// The file is sound but the passphrase does not open it.
    WrongPassphrase,
}

/// Opens the file's text with `passphrase`.
pub fn unwrap(text: &str, passphrase: &Passphrase) -> Result<KeyBundle, UnwrapError> {
    let bad = |s: String| UnwrapError::Bad(s);
    let file: RecoveryFile =
        serde_json::from_str(text).map_err(|e| bad(format!("not a recovery file: {e}")))?;
    if file.format != FORMAT {
        return Err(bad(format!("format is {:?}, not {FORMAT:?}", file.format)));
    }
    if file.version != VERSION {
        return Err(bad(format!(
            "version {} is not supported (this program reads version {VERSION})",
            file.version
        )));
    }
    if file.kdf.algorithm != KDF || file.kdf.version != KDF_VERSION {
        return Err(bad(format!(
            "key derivation {} v{} is not supported",
            file.kdf.algorithm, file.kdf.version
        )));
    }
    if file.cipher.algorithm != CIPHER {
        return Err(bad(format!("cipher {} is not supported", file.cipher.algorithm)));
    }
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    hex::decode_to_slice(&file.kdf.salt, &mut salt)
        .map_err(|_| bad(format!("salt is not {SALT_LEN} bytes of hex")))?;
    hex::decode_to_slice(&file.cipher.nonce, &mut nonce)
        .map_err(|_| bad(format!("nonce is not {NONCE_LEN} bytes of hex")))?;
    let ciphertext = hex::decode(&file.ciphertext).map_err(|_| bad("ciphertext is not hex".into()))?;
    if ciphertext.len() != BUNDLE_LEN + TAG_LEN {
        return Err(bad(format!("ciphertext is {} bytes, not {}", ciphertext.len(), BUNDLE_LEN + TAG_LEN)));
    }
    let aad = header(&file.kdf.params, &salt, &nonce);
    if checksum(&aad, &ciphertext) != file.checksum {
        return Err(bad("checksum mismatch: the file was changed or damaged".into()));
    }
    let key = derive(passphrase, &file.kdf.params, &salt).map_err(bad)?;
    let mut buf = Zeroizing::new(ciphertext);
    ChaCha20Poly1305::new(key.as_ref().into())
        .decrypt_in_place((&nonce).into(), &aad, &mut *buf)
        .map_err(|_| UnwrapError::WrongPassphrase)?;
    KeyBundle::from_slice(&buf).ok_or_else(|| bad("the decrypted keys are not 96 bytes".into()))
}

/// Reads and opens the recovery file at `path`; `Ok(None)` when there is none.
pub fn read(path: &Path, passphrase: &Passphrase) -> Result<Option<KeyBundle>, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(KeyError::Io { path: path.to_owned(), source }),
    };
    match unwrap(&text, passphrase) {
        Ok(b) => Ok(Some(b)),
        Err(UnwrapError::WrongPassphrase) => Err(KeyError::WrongPassphrase { path: path.to_owned() }),
        Err(UnwrapError::Bad(reason)) => Err(KeyError::BadRecoveryFile { path: path.to_owned(), reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    /// Cheap parameters: the format, not the cost, is under test here.
    const CHEAP: KdfParams = KdfParams { m_cost_kib: 64, t_cost: 1, p_cost: 1 };

    fn bundle() -> KeyBundle {
        KeyBundle {
            database: SecretKey::from_bytes([1; 32]),
            signing: SecretKey::from_bytes([2; 32]),
            patient_id: SecretKey::from_bytes([3; 32]),
        }
    }

    fn pass(s: &str) -> Result<Passphrase, KeyError> {
        Passphrase::new(s.into())
    }

    #[test]
    fn wrap_then_unwrap() -> Result<(), KeyError> {
        let text = wrap(&bundle(), &pass("correct horse")?, CHEAP)?;
        let back = unwrap(&text, &pass("correct horse")?);
        assert!(matches!(&back, Ok(b) if b.same_as(&bundle())));
        assert!(matches!(unwrap(&text, &pass("correct horsE")?), Err(UnwrapError::WrongPassphrase)));
        // Two wraps of the same keys share neither salt nor nonce.
        assert_ne!(text, wrap(&bundle(), &pass("correct horse")?, CHEAP)?);
        for needle in ["0101", "0202", "0303", "correct"] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
        Ok(())
    }

    /// Pinned: recovery files written by this version must open in every later one.
    #[test]
    fn the_file_format_is_pinned() -> Result<(), KeyError> {
        let text = wrap_with(&bundle(), &pass("pinned")?, CHEAP, &[7; SALT_LEN], &[9; NONCE_LEN])?;
        assert_eq!(text, PINNED);
        assert!(matches!(unwrap(PINNED, &pass("pinned")?), Ok(b) if b.same_as(&bundle())));
        Ok(())
    }

    /// Checked independently: Python's argon2-cffi (`hash_secret_raw`, Argon2id v19)
    /// and `cryptography`'s ChaCha20Poly1305 open it to 32×01 32×02 32×03, and
    /// SHA-256(header ‖ ciphertext) is its checksum.
    const PINNED: &str = include_str!("recovery-v1.pinned.json");

    #[test]
    fn damage_is_told_from_a_wrong_passphrase() -> Result<(), KeyError> {
        let text = wrap(&bundle(), &pass("pw")?, CHEAP)?;
        let file: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| KeyError::BadPassphrase { reason: e.to_string() })?;
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = file.clone();
            f(&mut v);
            v.to_string()
        };
        let flip_hex = |s: &str, at: usize| {
            let mut b = s.as_bytes().to_vec();
            b[at] = if b[at] == b'0' { b'1' } else { b'0' };
            String::from_utf8(b).unwrap_or_default()
        };
        let ct = file["ciphertext"].as_str().unwrap_or_default().to_owned();
        let cases: Vec<(&str, String)> = vec![
            ("ciphertext byte", edit(&|v| v["ciphertext"] = flip_hex(&ct, 10).into())),
            ("tag byte", edit(&|v| v["ciphertext"] = flip_hex(&ct, ct.len() - 1).into())),
            ("memory cost", edit(&|v| v["kdf"]["m_cost_kib"] = 128.into())),
            ("passes", edit(&|v| v["kdf"]["t_cost"] = 2.into())),
            ("salt", edit(&|v| v["kdf"]["salt"] = "00".repeat(SALT_LEN).into())),
            ("nonce", edit(&|v| v["cipher"]["nonce"] = "00".repeat(NONCE_LEN).into())),
            ("huge memory", edit(&|v| v["kdf"]["m_cost_kib"] = u32::MAX.into())),
            ("version", edit(&|v| v["version"] = 2.into())),
            ("cipher", edit(&|v| v["cipher"]["algorithm"] = "aes-256-gcm".into())),
            ("unknown field", edit(&|v| v["extra"] = 1.into())),
            ("short ciphertext", edit(&|v| v["ciphertext"] = ct[..ct.len() - 2].into())),
            ("truncated", text[..text.len() / 2].to_owned()),
            ("empty", String::new()),
        ];
        for (what, damaged) in cases {
            match unwrap(&damaged, &pass("pw")?) {
                Err(UnwrapError::Bad(reason)) => assert!(!reason.is_empty()),
                Err(UnwrapError::WrongPassphrase) => panic!("{what}: read as a wrong passphrase"),
                Ok(_) => panic!("{what}: damaged file opened"),
            }
        }
        Ok(())
    }
}
