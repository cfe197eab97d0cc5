//! Opening a data directory's audit log with its keys, and re-keying it.

use std::path::Path;

use chrono::Utc;

use super::{kind, Entry};
use crate::keys::{self, Backend, KeyBundle, KeyError, KeySource, Keys};
use crate::store::{Store, StoreError, DB_FILE};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the console is running on {0}: stop it before rotating the key")]
    Busy(std::path::PathBuf),
}

impl OpenError {
    /// A stable code for people and scripts (`audit.key_missing`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Key(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Busy(_) => "audit.busy",
        }
    }
}

/// A data directory's store, opened with the keys that open it.
pub struct Opened {
    pub store: Store,
    pub keys: KeyBundle,
    pub backend: Backend,
    /// Whether the keys (and so the data directory) are new.
    pub created: bool,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("store", &self.store)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Loads the keys of `data_dir` from `source` and opens its store: for
/// writing (making keys for a new data directory) or for reading only. When
/// a key rotation was interrupted after the database was re-keyed, the
/// pending keys open it and the rotation is finished here.
pub fn open_store(data_dir: &Path, source: &KeySource, write: bool) -> Result<Opened, OpenError> {
    if write {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
    }
    let db_exists = data_dir.join(DB_FILE).exists();
    if !write && !db_exists {
        return Err(StoreError::Missing(data_dir.to_owned()).into());
    }
    let Keys { current, pending, created, backend } = keys::load(data_dir, source, write && !db_exists)?;
    let open = |key: &KeyBundle| {
        if write {
            Store::open(data_dir, &key.database)
        } else {
            Store::open_read_only(data_dir, &key.database)
        }
    };
    let (mut store, keys) = match (open(&current), pending) {
        (Ok(store), pending) => {
            if pending.is_some() && write {
                // Re-keying never happened: the pending keys are not needed.
                keys::discard_pending(data_dir, source)?;
            }
            (store, current)
        }
        (Err(StoreError::KeyMismatch { .. }), Some(next)) => {
            let store = open(&next)?;
            if write {
                keys::promote_pending(data_dir, source)?;
                tracing::info!("An interrupted key rotation was finished.");
            }
            (store, next)
        }
        (Err(e), _) => return Err(e.into()),
    };
    if write {
        store.set_signer(keys.signing_key());
        if created {
            store.record([Entry::new(
                Utc::now(),
                actor(),
                kind::KEY_CREATED,
                &serde_json::json!({ "backend": backend.to_string() }),
            )
            .map_err(StoreError::from)?])?;
        }
    }
    Ok(Opened { store, keys, backend, created })
}

/// Who is running this process, for the audit log: the OS user.
pub fn actor() -> String {
    let user =
        std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("cli {user}")
}

/// Re-keys the database of `data_dir` with a new random key, crash-safely:
/// the new keys are saved as pending, the database re-keyed
/// (`PRAGMA rekey`, outside WAL mode, which SQLCipher needs), then the new
/// keys made current. Records `key.rotated` and signs a checkpoint.
/// Refuses while a console has the database open.
pub fn rotate_key(data_dir: &Path, source: &KeySource) -> Result<(), OpenError> {
    let Opened { store, keys: current, .. } = open_store(data_dir, source, true)?;
    drop(store);
    let next = current.with_new_database_key()?;
    let conn = Store::open_raw(data_dir, &current.database)?;
    let sqlite = |source| StoreError::Sqlite { path: data_dir.join(DB_FILE), source };
    conn.busy_timeout(std::time::Duration::ZERO).map_err(sqlite)?;
    // Leaving WAL mode needs the only connection: a running console holds one.
    let mode: String = match conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)) {
        Ok(mode) => mode,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            return Err(OpenError::Busy(data_dir.to_owned()))
        }
        Err(e) => return Err(sqlite(e).into()),
    };
    if mode != "delete" {
        return Err(OpenError::Busy(data_dir.to_owned()));
    }
    keys::save_pending(data_dir, source, &next)?;
    conn.execute_batch(&crate::store::key_pragma("rekey", &next.database)).map_err(sqlite)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).map_err(sqlite)?;
    drop(conn);
    keys::promote_pending(data_dir, source)?;
    let mut store = Store::open(data_dir, &next.database)?;
    store.set_signer(next.signing_key());
    store.record([Entry::new(Utc::now(), actor(), kind::KEY_ROTATED, &serde_json::json!({}))
        .map_err(StoreError::from)?])?;
    store.checkpoint()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Ingested;
    use crate::keys::{Passphrase, SecretKey};
    use crate::model::Format;
    use crate::normalize::{self, Receipt};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn source() -> Result<KeySource, KeyError> {
        Ok(KeySource::Passphrase(Passphrase::new("rotate me".into())?))
    }

    fn alert(n: u32) -> Result<Ingested, Box<dyn std::error::Error>> {
        let receipt = Receipt { received_at: Utc::now(), source_addr: None, listener: None };
        let raw = format!("<11>1 2024-05-01T10:00:00Z gw app - - - alert {n}");
        Ok(Ingested::Alert(normalize::decode(Format::Rfc5424, raw.as_bytes(), &receipt)?))
    }

    fn verify(dir: &Path) -> Result<crate::audit::Report, Box<dyn std::error::Error>> {
        let opened = open_store(dir, &source()?, false)?;
        let anchor = crate::audit::Anchor::read(dir)?.and_then(|a| a.checkpoint());
        let key = opened.keys.verifying_key().to_bytes();
        Ok(crate::audit::verify_chain(
            opened.store.connection(),
            crate::audit::VerifyFrom::Genesis,
            anchor.as_ref(),
            Some(&key),
        )?)
    }

    #[test]
    fn rotation_rekeys_without_losing_a_record_and_the_old_key_stops_working() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut opened = open_store(dir.path(), &source()?, true)?;
        assert!(opened.created);
        for n in 0..50 {
            opened.store.append(&mut [alert(n)?])?;
        }
        let old = SecretKey::from_bytes(*opened.keys.database.expose());
        drop(opened);
        rotate_key(dir.path(), &source()?)?;

        let opened = open_store(dir.path(), &source()?, false)?;
        assert_eq!(opened.store.counts()?, (50, 0));
        assert_ne!(opened.keys.database.expose(), old.expose(), "a new database key");
        drop(opened);
        let report = verify(dir.path())?;
        assert_eq!(report.damage, None);
        // key.created, 50 alerts, key.rotated
        assert_eq!(report.records, 52);
        assert!(matches!(Store::open_read_only(dir.path(), &old), Err(StoreError::KeyMismatch { .. })));
        Ok(())
    }

    #[test]
    fn a_rotation_interrupted_after_rekeying_is_finished_at_the_next_open() -> TestResult {
        let dir = tempfile::tempdir()?;
        let opened = open_store(dir.path(), &source()?, true)?;
        let next = opened.keys.with_new_database_key()?;
        let new_key = *next.database.expose();
        let old_key = SecretKey::from_bytes(*opened.keys.database.expose());
        drop(opened);
        // The steps of `rotate_key` up to the re-keying, then a "crash".
        keys::save_pending(dir.path(), &source()?, &next)?;
        let conn = Store::open_raw(dir.path(), &old_key)?;
        conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        conn.execute_batch(&crate::store::key_pragma("rekey", &next.database))?;
        drop(conn);
        // The current keys no longer open it; the pending ones do, and become current.
        let opened = open_store(dir.path(), &source()?, true)?;
        assert_eq!(opened.keys.database.expose(), &new_key);
        drop(opened);
        let keys = keys::load(dir.path(), &source()?, false)?;
        assert!(keys.pending.is_none(), "promoted");
        assert_eq!(keys.current.database.expose(), &new_key);
        Ok(())
    }

    #[test]
    fn a_rotation_interrupted_before_rekeying_keeps_the_current_keys() -> TestResult {
        let dir = tempfile::tempdir()?;
        let opened = open_store(dir.path(), &source()?, true)?;
        let current = *opened.keys.database.expose();
        let next = opened.keys.with_new_database_key()?;
        drop(opened);
        keys::save_pending(dir.path(), &source()?, &next)?;
        let opened = open_store(dir.path(), &source()?, true)?;
        assert_eq!(opened.keys.database.expose(), &current);
        drop(opened);
        assert!(keys::load(dir.path(), &source()?, false)?.pending.is_none(), "discarded");
        Ok(())
    }

    #[test]
    fn rotation_refuses_while_a_console_has_the_database_open() -> TestResult {
        let dir = tempfile::tempdir()?;
        let opened = open_store(dir.path(), &source()?, true)?;
        // A second connection holding a read transaction, as a running console does.
        let reader = Store::open_read_only(dir.path(), &opened.keys.database)?;
        reader.connection().execute_batch("BEGIN; SELECT count(*) FROM audit_log;")?;
        let err = rotate_key(dir.path(), &source()?);
        assert!(matches!(err, Err(OpenError::Busy(_))), "{err:?}");
        reader.connection().execute_batch("COMMIT;")?;
        Ok(())
    }

    #[test]
    fn a_missing_key_and_a_wrong_passphrase_have_their_codes() -> TestResult {
        let dir = tempfile::tempdir()?;
        drop(open_store(dir.path(), &source()?, true)?);
        let wrong = KeySource::Passphrase(Passphrase::new("not it".into())?);
        assert_eq!(
            open_store(dir.path(), &wrong, false).map(drop).err().map(|e| e.code()),
            Some("audit.key_mismatch")
        );
        // The recovery file lost: the database is there, its keys are not.
        std::fs::remove_file(dir.path().join(keys::RECOVERY_FILE))?;
        for write in [false, true] {
            let missing = open_store(dir.path(), &source()?, write).map(drop).err();
            assert_eq!(missing.as_ref().map(|e| e.code()), Some("audit.key_missing"), "{missing:?}");
        }
        Ok(())
    }
}
