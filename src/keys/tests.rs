//! Tests of the key store over real files and, for the keyring, real
//! keyrings: run them under `scripts/with-desktop-session.sh`, which gives a
//! kernel session keyring and an unlocked gnome-keyring Secret Service.

use std::path::Path;

use super::os::Choice;
use super::*;

type R = Result<(), Box<dyn std::error::Error>>;

fn pass(s: &str) -> Result<KeySource, KeyError> {
    Ok(KeySource::Passphrase(Passphrase::new(s.into())?))
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0)
}

/// A keyring test that finds no keyring fails, and says how to give it one.
fn need_keyring<T>(r: Result<T, KeyError>) -> Result<T, String> {
    r.map_err(|e| match e {
        KeyError::NoKeyring { reason } => {
            format!(
                "no keyring for this test ({reason}): run the tests under scripts/with-desktop-session.sh"
            )
        }
        other => other.to_string(),
    })
}

#[test]
fn the_recovery_file_round_trips() -> R {
    let dir = tempfile::tempdir()?;
    let made = load_with(dir.path(), &pass("pw one")?, true, Choice::Auto)?;
    assert!(made.created);
    assert_eq!(made.backend, Backend::RecoveryFile);
    assert!(made.pending.is_none());
    assert!(has_recovery_passphrase(dir.path()));
    let again = load_with(dir.path(), &pass("pw one")?, false, Choice::Auto)?;
    assert!(!again.created);
    assert!(again.current.same_as(&made.current));
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir.path().join(RECOVERY_FILE)), 0o600);
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
    }
    // No temp file is left beside it.
    let names: Vec<_> =
        std::fs::read_dir(dir.path().join("keys"))?.flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("recovery.json")]);
    // Another passphrase over the same keys.
    set_recovery_passphrase(dir.path(), &made.current, &Passphrase::new("pw two".into())?)?;
    let reopened = load_with(dir.path(), &pass("pw two")?, false, Choice::Auto)?;
    assert!(reopened.current.same_as(&made.current));
    Ok(())
}

#[test]
fn a_wrong_passphrase_is_a_key_mismatch() -> R {
    let dir = tempfile::tempdir()?;
    load_with(dir.path(), &pass("right")?, true, Choice::Auto)?;
    let err = load_with(dir.path(), &pass("wrong")?, true, Choice::Auto).err();
    assert!(matches!(err, Some(KeyError::WrongPassphrase { .. })), "{err:?}");
    assert_eq!(err.map(|e| e.code()), Some("audit.key_mismatch"));
    Ok(())
}

#[test]
fn a_damaged_recovery_file_is_not_a_wrong_passphrase() -> R {
    let dir = tempfile::tempdir()?;
    load_with(dir.path(), &pass("pw")?, true, Choice::Auto)?;
    let path = dir.path().join(RECOVERY_FILE);
    let text = std::fs::read_to_string(&path)?;
    let damaged = text.replacen("\"t_cost\": 2", "\"t_cost\": 3", 1);
    assert_ne!(damaged, text);
    std::fs::write(&path, damaged)?;
    let err = load_with(dir.path(), &pass("pw")?, true, Choice::Auto).err();
    assert!(matches!(err, Some(KeyError::BadRecoveryFile { .. })), "{err:?}");
    assert_eq!(err.map(|e| e.code()), Some("audit.recovery_file_invalid"));
    // And it was not replaced by new keys.
    assert!(std::fs::read_to_string(&path)?.contains("\"t_cost\": 3"));
    Ok(())
}

#[test]
fn no_keys_is_key_missing() -> R {
    let dir = tempfile::tempdir()?;
    for source in [pass("pw")?, KeySource::Keyring] {
        let err = load_with(dir.path(), &source, false, Choice::Auto).err();
        assert!(matches!(err, Some(KeyError::Missing { .. })), "{err:?}");
        assert_eq!(err.map(|e| e.code()), Some("audit.key_missing"));
    }
    // Nothing was made by looking.
    assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    Ok(())
}

#[test]
fn keys_are_not_made_where_the_other_source_has_some() -> R {
    // A recovery file and no keyring entry: the keyring makes no new keys.
    let dir = tempfile::tempdir()?;
    load_with(dir.path(), &pass("pw")?, true, Choice::Auto)?;
    let err = load_with(dir.path(), &KeySource::Keyring, true, Choice::Auto).err();
    assert!(matches!(&err, Some(KeyError::Missing { hint, .. }) if hint.contains("passphrase")), "{err:?}");
    assert!(!dir.path().join(CONSOLE_ID_FILE).exists());
    // A console id (keyring keys) and no recovery file: the passphrase makes none.
    let dir = tempfile::tempdir()?;
    ConsoleId::random()?.publish(dir.path())?;
    let err = load_with(dir.path(), &pass("pw")?, true, Choice::Auto).err();
    assert!(matches!(&err, Some(KeyError::Missing { hint, .. }) if hint.contains("OS keyring")), "{err:?}");
    assert!(!has_recovery_passphrase(dir.path()));
    Ok(())
}

#[test]
fn rotation_through_the_recovery_file_is_crash_safe() -> R {
    let dir = tempfile::tempdir()?;
    let source = pass("pw")?;
    let old = load_with(dir.path(), &source, true, Choice::Auto)?.current;
    let next = old.with_new_database_key()?;
    save_pending_with(dir.path(), &source, &next, Choice::Auto)?;
    // A crash here: both are there, and the store can try each.
    let both = load_with(dir.path(), &source, false, Choice::Auto)?;
    assert!(both.current.same_as(&old));
    assert!(both.pending.as_ref().is_some_and(|p| p.same_as(&next)));
    assert_eq!(mode(&dir.path().join(RECOVERY_PENDING_FILE)), 0o600);
    // A pending bundle under another passphrase is refused.
    let err = save_pending_with(dir.path(), &pass("other")?, &next, Choice::Auto).err();
    assert!(matches!(err, Some(KeyError::WrongPassphrase { .. })), "{err:?}");
    promote_pending_with(dir.path(), &source, Choice::Auto)?;
    let after = load_with(dir.path(), &source, false, Choice::Auto)?;
    assert!(after.current.same_as(&next));
    assert!(after.pending.is_none());
    // Promoting again is a no-op.
    promote_pending_with(dir.path(), &source, Choice::Auto)?;
    // A discarded rotation leaves the current keys.
    let third = next.with_new_database_key()?;
    save_pending_with(dir.path(), &source, &third, Choice::Auto)?;
    discard_pending_with(dir.path(), &source, Choice::Auto)?;
    let kept = load_with(dir.path(), &source, false, Choice::Auto)?;
    assert!(kept.current.same_as(&next) && kept.pending.is_none());
    assert!(!dir.path().join(RECOVERY_PENDING_FILE).exists());
    Ok(())
}

#[test]
fn the_old_patient_id_key_file_is_adopted_then_removed() -> R {
    let dir = tempfile::tempdir()?;
    let old = dir.path().join(crate::privacy::KEY_FILE);
    // The file as privacy.rs made it.
    let before = crate::privacy::PatientIdKey::load_or_create(dir.path())?;
    let bytes = std::fs::read(&old)?;
    let keys = load_with(dir.path(), &pass("pw")?, true, Choice::Auto)?;
    assert_eq!(&keys.current.patient_id.expose()[..], &bytes[..]);
    assert!(!old.exists());
    let reloaded = load_with(dir.path(), &pass("pw")?, false, Choice::Auto)?;
    let after = crate::privacy::PatientIdKey::from_bytes(*reloaded.current.patient_id.expose());
    let (a, b) = (before.hash_parts("HED12", "PID"), after.hash_parts("HED12", "PID"));
    assert_eq!(a, b, "patient hashes still match after the move");
    Ok(())
}

#[test]
fn a_damaged_patient_id_key_file_is_neither_adopted_nor_lost() -> R {
    let dir = tempfile::tempdir()?;
    let old = dir.path().join(crate::privacy::KEY_FILE);
    std::fs::create_dir_all(dir.path().join("keys"))?;
    std::fs::write(&old, b"short")?;
    let err = load_with(dir.path(), &pass("pw")?, true, Choice::Auto).err();
    assert!(matches!(err, Some(KeyError::BadKeyFile { .. })), "{err:?}");
    assert_eq!(std::fs::read(&old)?, b"short");
    assert!(!has_recovery_passphrase(dir.path()));
    Ok(())
}

#[test]
fn error_messages_and_codes() {
    let check = |e: KeyError, code: &str| assert_eq!(e.code(), code, "{e}");
    check(KeyError::Missing { data_dir: "d".into(), hint: "h".into() }, "audit.key_missing");
    check(KeyError::WrongPassphrase { path: "p".into() }, "audit.key_mismatch");
    check(KeyError::NoKeyring { reason: "r".into() }, "audit.keyring_unavailable");
    check(KeyError::Keyring { backend: Backend::SecretService, reason: "r".into() }, "audit.keyring_error");
    check(KeyError::BadRecoveryFile { path: "p".into(), reason: "r".into() }, "audit.recovery_file_invalid");
    check(KeyError::BadPassphrase { reason: "r".into() }, "audit.passphrase_invalid");
    check(KeyError::PassphraseRequired { data_dir: "d".into() }, "audit.passphrase_required");
    check(KeyError::Io { path: "p".into(), source: std::io::ErrorKind::Other.into() }, "audit.key_error");
    assert_eq!(Backend::KernelKeyring.to_string(), "kernel keyring");
    assert_eq!(Backend::SecretService.to_string(), "Secret Service");
    assert_eq!(Backend::RecoveryFile.to_string(), "recovery file");
}

/// Removes what a test left in a keyring: kernel keyring entries are also
/// linked into the user's persistent keyring, which outlives the test session.
fn forget(dir: &Path) -> R {
    if let Some(id) = ConsoleId::read(dir)? {
        for backend in [Backend::KernelKeyring, Backend::SecretService] {
            for pending in [false, true] {
                // A backend that is not there holds nothing to remove.
                let _ = os::delete(backend, &os::account(&id, pending));
            }
        }
    }
    Ok(())
}

/// The whole life of keyring keys in one backend: create, reload, move the
/// directory, rotate (with a crash before promotion), discard.
fn keyring_life(choice: Choice, expected: Backend) -> R {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("data");
    let made = need_keyring(load_with(&dir, &KeySource::Keyring, true, choice))?;
    assert!(made.created);
    assert_eq!(made.backend, expected);
    let id = ConsoleId::read(&dir)?.ok_or("no console id")?;
    // The keys follow the directory: the entry is named by its console id.
    let moved = root.path().join("moved");
    std::fs::rename(&dir, &moved)?;
    let again = load_with(&moved, &KeySource::Keyring, false, choice)?;
    assert!(!again.created);
    assert_eq!(again.backend, expected);
    assert!(again.current.same_as(&made.current));
    // Nothing of the keys is on disk.
    let hex = hex::encode(made.current.database.expose());
    for entry in std::fs::read_dir(&moved)?.flatten() {
        if entry.path().is_file() {
            let content = std::fs::read(entry.path())?;
            assert!(!String::from_utf8_lossy(&content).contains(&hex));
            assert!(!content.windows(KEY_LEN).any(|w| w == made.current.database.expose()));
        }
    }
    // Rotation.
    let next = made.current.with_new_database_key()?;
    save_pending_with(&moved, &KeySource::Keyring, &next, choice)?;
    let both = load_with(&moved, &KeySource::Keyring, false, choice)?;
    assert!(both.current.same_as(&made.current));
    assert!(both.pending.as_ref().is_some_and(|p| p.same_as(&next)));
    promote_pending_with(&moved, &KeySource::Keyring, choice)?;
    let after = load_with(&moved, &KeySource::Keyring, false, choice)?;
    assert!(after.current.same_as(&next));
    assert!(after.pending.is_none(), "pending entry still there after promotion");
    let third = next.with_new_database_key()?;
    save_pending_with(&moved, &KeySource::Keyring, &third, choice)?;
    discard_pending_with(&moved, &KeySource::Keyring, choice)?;
    let kept = load_with(&moved, &KeySource::Keyring, false, choice)?;
    assert!(kept.current.same_as(&next) && kept.pending.is_none());
    os::delete(expected, &os::account(&id, false))?;
    assert!(load_with(&moved, &KeySource::Keyring, false, choice).is_err(), "the entry is gone");
    Ok(())
}

#[test]
fn keyring_keys_live_in_the_secret_service() -> R {
    keyring_life(Choice::SecretService, Backend::SecretService)
}

#[test]
fn keyring_keys_live_in_the_kernel_keyring() -> R {
    keyring_life(Choice::Kernel, Backend::KernelKeyring)
}

#[test]
fn a_recovery_passphrase_keeps_the_keyring_copy_in_step() -> R {
    let dir = tempfile::tempdir()?;
    let choice = Choice::Kernel;
    let made = need_keyring(load_with(dir.path(), &KeySource::Keyring, true, choice))?;
    let source = pass("recover me")?;
    set_recovery_passphrase(dir.path(), &made.current, &Passphrase::new("recover me".into())?)?;
    let next = made.current.with_new_database_key()?;
    // Without the passphrase the recovery file would fall behind: refused.
    let err = save_pending_with(dir.path(), &KeySource::Keyring, &next, choice).err();
    assert!(matches!(err, Some(KeyError::PassphraseRequired { .. })), "{err:?}");
    assert_eq!(err.map(|e| e.code()), Some("audit.passphrase_required"));
    save_pending_with(dir.path(), &source, &next, choice)?;
    let from_keyring = load_with(dir.path(), &KeySource::Keyring, false, choice)?;
    assert!(from_keyring.pending.as_ref().is_some_and(|p| p.same_as(&next)));
    promote_pending_with(dir.path(), &source, choice)?;
    for source in [&KeySource::Keyring, &source] {
        let keys = load_with(dir.path(), source, false, choice)?;
        assert!(keys.current.same_as(&next), "{:?}", keys.backend);
        assert!(keys.pending.is_none(), "{:?}", keys.backend);
    }
    forget(dir.path())?;
    Ok(())
}

#[test]
fn auto_prefers_the_secret_service_and_finds_kernel_entries() -> R {
    // Under the desktop session both answer; a new entry goes to the Secret Service.
    let first = tempfile::tempdir()?;
    let made = need_keyring(load_with(first.path(), &KeySource::Keyring, true, Choice::Auto))?;
    forget(first.path())?;
    if made.backend != Backend::SecretService {
        return Err("no Secret Service answered: run the tests under scripts/with-desktop-session.sh".into());
    }
    // Keys made in the kernel keyring (say, headless) are still found.
    let dir = tempfile::tempdir()?;
    let made = need_keyring(load_with(dir.path(), &KeySource::Keyring, true, Choice::Kernel))?;
    let found = load_with(dir.path(), &KeySource::Keyring, false, Choice::Auto)?;
    assert_eq!(found.backend, Backend::KernelKeyring);
    assert!(found.current.same_as(&made.current));
    forget(dir.path())?;
    Ok(())
}

#[test]
fn a_keyring_that_lost_its_keys_gets_no_new_ones() -> R {
    let dir = tempfile::tempdir()?;
    let choice = Choice::Kernel;
    need_keyring(load_with(dir.path(), &KeySource::Keyring, true, choice))?;
    let id = ConsoleId::read(dir.path())?.ok_or("no console id")?;
    // What a reboot does to a kernel keyring.
    os::delete(Backend::KernelKeyring, &os::account(&id, false))?;
    let err = load_with(dir.path(), &KeySource::Keyring, true, choice).err();
    assert!(matches!(&err, Some(KeyError::Missing { hint, .. }) if hint.contains("reboot")), "{err:?}");
    assert!(os::read(Backend::KernelKeyring, &os::account(&id, false))?.is_none(), "new keys were made");
    assert_eq!(ConsoleId::read(dir.path())?, Some(id));
    Ok(())
}

/// Consoles started at once on a new data directory agree on one bundle.
fn concurrent_creation(source: impl Fn() -> Result<KeySource, KeyError> + Sync, choice: Choice) -> R {
    let dir = tempfile::tempdir()?;
    let results: Vec<Result<Keys, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| need_keyring(source().and_then(|src| load_with(dir.path(), &src, true, choice))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
    });
    let keys = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    assert!(keys.iter().all(|k| k.current.same_as(&keys[0].current)), "two bundles were made");
    assert!(keys.iter().filter(|k| k.created).count() <= 1);
    let again = load_with(dir.path(), &source()?, false, choice)?;
    assert!(again.current.same_as(&keys[0].current));
    forget(dir.path())?;
    Ok(())
}

#[test]
fn concurrent_creation_in_the_recovery_file_makes_one_bundle() -> R {
    concurrent_creation(|| pass("pw"), Choice::Auto)
}

#[test]
fn concurrent_creation_in_the_kernel_keyring_makes_one_bundle() -> R {
    concurrent_creation(|| Ok(KeySource::Keyring), Choice::Kernel)
}
