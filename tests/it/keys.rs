//! The key store through its public API, over real files and the real OS
//! keyring. Keyring tests need one: run under `scripts/with-desktop-session.sh`
//! (a kernel session keyring and an unlocked gnome-keyring Secret Service),
//! e.g. `scripts/with-desktop-session.sh cargo test -p wardwatch --test it keys`.

use std::path::Path;
use std::time::Instant;

use wardwatch::keys::{self, Backend, KeyError, KeySource, Passphrase, KEY_LEN};

type R = Result<(), Box<dyn std::error::Error>>;

fn passphrase_file(dir: &Path, content: &str) -> Result<KeySource, Box<dyn std::error::Error>> {
    let path = dir.join("passphrase");
    std::fs::write(&path, content)?;
    Ok(KeySource::Passphrase(Passphrase::from_file(&path)?))
}

fn no_key_bytes(shown: &str, bundle: &keys::KeyBundle) {
    for key in [&bundle.database, &bundle.signing, &bundle.patient_id] {
        let hex = hex::encode(key.expose());
        assert!(!shown.contains(&hex), "hex key bytes in {shown}");
        assert!(!shown.contains(&hex.to_uppercase()), "hex key bytes in {shown}");
        assert!(!shown.as_bytes().windows(KEY_LEN).any(|w| w == key.expose()), "raw key bytes in {shown}");
        assert!(!shown.contains(&format!("{:?}", key.expose())), "key as a list of numbers in {shown}");
    }
}

#[test]
fn a_passphrase_file_opens_the_recovery_file() -> R {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    let source = passphrase_file(tmp.path(), "a long recovery passphrase\n")?;
    let made = keys::load(&data, &source, true)?;
    assert!(made.created);
    assert_eq!(made.backend, Backend::RecoveryFile);
    assert!(keys::has_recovery_passphrase(&data));
    no_key_bytes(&format!("{made:?} {made:#?} {source:?}"), &made.current);
    assert!(!format!("{source:?}").contains("long recovery"));
    // The same passphrase, written with a Windows line end, opens it.
    let same = passphrase_file(tmp.path(), "a long recovery passphrase\r\n")?;
    let started = Instant::now();
    let opened = keys::load(&data, &same, false)?;
    eprintln!("recovery file opened in {:?} (Argon2id m=19456 KiB t=2 p=1)", started.elapsed());
    assert_eq!(opened.current.database.expose(), made.current.database.expose());
    assert_eq!(opened.current.verifying_key(), made.current.verifying_key());
    // The file holds none of the keys.
    let text = std::fs::read_to_string(data.join(keys::RECOVERY_FILE))?;
    no_key_bytes(&text, &made.current);
    assert!(!text.contains("passphrase\""));
    Ok(())
}

#[test]
fn wrong_missing_and_damaged_are_told_apart() -> R {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    let missing = keys::load(&data, &passphrase_file(tmp.path(), "pw")?, false).err();
    assert_eq!(missing.as_ref().map(KeyError::code), Some("audit.key_missing"), "{missing:?}");
    keys::load(&data, &passphrase_file(tmp.path(), "pw")?, true)?;
    let wrong = keys::load(&data, &passphrase_file(tmp.path(), "pw2")?, false).err();
    assert_eq!(wrong.as_ref().map(KeyError::code), Some("audit.key_mismatch"), "{wrong:?}");
    // Flip one hex digit of the ciphertext.
    let path = data.join(keys::RECOVERY_FILE);
    let text = std::fs::read_to_string(&path)?;
    let at = text.find("\"ciphertext\": \"").ok_or("no ciphertext")? + 20;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    std::fs::write(&path, &bytes)?;
    let damaged = keys::load(&data, &passphrase_file(tmp.path(), "pw")?, false).err();
    assert!(matches!(damaged, Some(KeyError::BadRecoveryFile { .. })), "{damaged:?}");
    assert_ne!(damaged.as_ref().map(KeyError::code), Some("audit.key_mismatch"));
    Ok(())
}

#[test]
fn the_os_keyring_keeps_the_keys_and_a_rotation() -> R {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    let made = match keys::load(&data, &KeySource::Keyring, true) {
        Err(KeyError::NoKeyring { reason }) => {
            return Err(format!("no OS keyring ({reason}): run under scripts/with-desktop-session.sh").into())
        }
        other => other?,
    };
    assert!(made.created);
    assert!(matches!(made.backend, Backend::SecretService | Backend::KernelKeyring), "{}", made.backend);
    eprintln!("keys created in the {}", made.backend);
    assert!(data.join(keys::CONSOLE_ID_FILE).exists());
    no_key_bytes(&format!("{made:?}"), &made.current);
    // Rotation, with a crash between saving and promoting the new keys.
    let next = made.current.with_new_database_key()?;
    keys::save_pending(&data, &KeySource::Keyring, &next)?;
    let both = keys::load(&data, &KeySource::Keyring, true)?;
    assert!(!both.created);
    assert_eq!(both.current.database.expose(), made.current.database.expose());
    assert_eq!(both.pending.as_ref().map(|p| *p.database.expose()), Some(*next.database.expose()));
    keys::promote_pending(&data, &KeySource::Keyring)?;
    let after = keys::load(&data, &KeySource::Keyring, false)?;
    assert_eq!(after.current.database.expose(), next.database.expose());
    assert!(after.pending.is_none());
    assert_eq!(after.current.verifying_key(), made.current.verifying_key());
    // A recovery passphrase over the keyring's keys opens them elsewhere.
    let moved = tmp.path().join("elsewhere");
    let pass = Passphrase::new("offsite".into())?;
    keys::set_recovery_passphrase(&data, &after.current, &pass)?;
    std::fs::create_dir_all(moved.join("keys"))?;
    std::fs::copy(data.join(keys::RECOVERY_FILE), moved.join(keys::RECOVERY_FILE))?;
    let there = keys::load(&moved, &KeySource::Passphrase(pass), false)?;
    assert_eq!(there.current.database.expose(), next.database.expose());
    Ok(())
}

#[test]
fn the_patient_id_key_file_moves_into_the_bundle() -> R {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("keys"))?;
    std::fs::write(data.join(wardwatch::privacy::KEY_FILE), [0x5a; 32])?;
    let made = keys::load(&data, &passphrase_file(tmp.path(), "pw")?, true)?;
    assert_eq!(made.current.patient_id.expose(), &[0x5a; 32]);
    assert!(!data.join(wardwatch::privacy::KEY_FILE).exists());
    Ok(())
}
