//! Opening the database with SQLCipher: the whole file (pages, indexes,
//! metadata) and its WAL are encrypted with a raw 256-bit key (no key
//! derivation: the key is random, not a password).
//!
//! The console's database uses 16 KiB pages and HMAC-SHA256 page
//! authentication ([`CIPHER_SETTINGS`]; AES-256-CBC as SQLCipher always
//! does). Against SQLCipher 4's defaults (4 KiB, HMAC-SHA512) that is about
//! 1.6x the durable appends and 2.3x the verification speed here (`wardwatch
//! bench`: SHA-256 has CPU instructions, SHA-512 does not, and a page's
//! IV and HMAC are paid per page). The settings are part of the file format:
//! a database written with others does not open (`audit.key_mismatch`).
//! Archives for offline review keep SQLCipher 4's defaults, so that any
//! SQLCipher 4 tool opens them.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use super::StoreError;
use crate::keys::SecretKey;

/// The first 16 bytes of an unencrypted SQLite file.
const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The console database's cipher settings, applied right after the key.
/// Changing them makes every existing database unreadable: pinned by a test.
pub(crate) const CIPHER_SETTINGS: &[(&str, &str)] =
    &[("cipher_page_size", "16384"), ("cipher_hmac_algorithm", "HMAC_SHA256")];

/// `PRAGMA [schema.]name = value;` for each of [`CIPHER_SETTINGS`].
fn cipher_settings(schema: Option<&str>) -> String {
    let prefix = schema.map(|s| format!("{s}.")).unwrap_or_default();
    CIPHER_SETTINGS.iter().map(|(name, value)| format!("PRAGMA {prefix}{name} = {value};")).collect()
}

/// `PRAGMA key` (or `rekey`) with a raw key, in a string wiped after use.
pub(crate) fn key_pragma(pragma: &str, key: &SecretKey) -> Zeroizing<String> {
    let mut hex = Zeroizing::new([0u8; 64]);
    // 32 bytes always fit in 64 hex digits.
    let _ = hex::encode_to_slice(key.expose(), hex.as_mut());
    let mut sql = Zeroizing::new(String::with_capacity(100));
    sql.push_str("PRAGMA ");
    sql.push_str(pragma);
    sql.push_str(" = \"x'");
    sql.extend(hex.iter().map(|&b| char::from(b)));
    sql.push_str("'\";");
    sql
}

/// SQLCipher logs a failed page check (a wrong key) to stderr by itself;
/// the error it returns is reported with its meaning instead. Call it after
/// `PRAGMA key`: SQLCipher sets its default log level when first keyed.
pub(crate) fn quiet_cipher_log(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA cipher_log_level = NONE;") {
        tracing::debug!(error = %e, "SQLCipher's own log level could not be set.");
    }
}

/// Opens `path` with `key` and checks that the key opens it.
pub(crate) fn open(path: &Path, key: &SecretKey, flags: OpenFlags) -> Result<Connection, StoreError> {
    let sqlite = |source| StoreError::Sqlite { path: path.to_owned(), source };
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.execute_batch(&key_pragma("key", key)).map_err(sqlite)?;
    conn.execute_batch(&cipher_settings(None)).map_err(sqlite)?;
    quiet_cipher_log(&conn);
    check_key(&conn, path)?;
    Ok(conn)
}

/// The first read decrypts page 1: a wrong key fails it as "not a database".
pub(crate) fn check_key(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(StoreError::KeyMismatch { path: path.to_owned() })
        }
        Err(source) => Err(StoreError::Sqlite { path: path.to_owned(), source }),
    }
}

/// Whether `path` is an unencrypted SQLite database.
///
/// Asked through SQLite, never with a file handle of our own: closing one
/// drops every POSIX lock this process holds on the file, so the console's
/// open connections would look gone to other processes, and the next of
/// them to close (the CLI acting beside a running console) would take the
/// database as unused and delete its live WAL, hiding every later commit.
pub(super) fn is_plaintext(path: &Path) -> bool {
    if std::fs::metadata(path).map_or(true, |m| m.len() < PLAINTEXT_HEADER.len() as u64) {
        return false;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
        .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)))
        .is_ok()
}

/// Encrypts a database written by a build without encryption: exports it
/// into an encrypted copy beside it, makes the copy durable, then renames it
/// over the original and removes the old WAL. A crash before the rename
/// leaves the original untouched (the copy is redone next time).
pub(super) fn encrypt_plaintext(path: &Path, key: &SecretKey) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::Encrypt { path: path.to_owned(), reason };
    let tmp = sibling(path, ".encrypting");
    let _ = std::fs::remove_file(&tmp);
    let conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
    let version: i64 =
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| fail(e.to_string()))?;
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE").map_err(|e| fail(e.to_string()))?;
    let tmp_str = tmp.to_str().ok_or_else(|| fail("the path is not UTF-8".into()))?;
    let mut attach =
        Zeroizing::new(format!("ATTACH DATABASE '{}' AS encrypted KEY ", tmp_str.replace('\'', "''")));
    let pragma = key_pragma("key", key);
    // `PRAGMA key = "x'..'";` → the quoted key literal for ATTACH ... KEY.
    attach.push_str(pragma.trim_start_matches("PRAGMA key = ").trim_end_matches(';'));
    attach.push(';');
    conn.execute_batch(&attach).map_err(|e| fail(e.to_string()))?;
    conn.execute_batch(&cipher_settings(Some("encrypted"))).map_err(|e| fail(e.to_string()))?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))
        .map_err(|e| fail(e.to_string()))?;
    conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"))
        .map_err(|e| fail(e.to_string()))?;
    drop(conn);
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(e.to_string()))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(path, suffix));
    }
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| fail(e.to_string()))?;
    }
    tracing::warn!(
        path = %path.display(),
        "The unencrypted database was encrypted. Its old blocks may remain on the disk until overwritten."
    );
    Ok(())
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
