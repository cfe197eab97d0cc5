//! `wardwatch audit verify|export|archive` and `wardwatch key rotate|recovery`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;
use wardwatch::audit::export::{self, Archive};
use wardwatch::audit::open::{actor, open_store, rotate_key, OpenError, Opened};
use wardwatch::audit::retention::{self, RetentionError};
use wardwatch::audit::{key_fingerprint, kind, verify_chain, Anchor, Entry, Report, VerifyFrom};
use wardwatch::keys::{self, KeySource, Passphrase};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain and every checkpoint signature; print the verified
    /// range, or the first bad record and the kind of damage (exit status 1).
    Verify {
        /// A console's data directory.
        #[arg(long, conflicts_with = "archive", required_unless_present = "archive")]
        data_dir: Option<PathBuf>,
        /// An archive made by `wardwatch audit export` (needs --passphrase-file).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// The console's key fingerprint (ed25519:...) the signatures must be made with.
        #[arg(long)]
        expect_key: Option<String>,
        /// One JSON object instead of sentences.
        #[arg(long)]
        json: bool,
    },
    /// Write the records received from --from to --to into an encrypted archive
    /// for offline review, opened with the --passphrase-file passphrase alone.
    Export {
        #[arg(long)]
        data_dir: PathBuf,
        /// Start (RFC 3339, such as 2026-11-01T00:00:00Z); default: the first record.
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// End, inclusive (RFC 3339); default: the last record.
        #[arg(long)]
        to: Option<DateTime<Utc>>,
        /// The archive to write (never overwritten), such as review.wwa.
        #[arg(long)]
        out: PathBuf,
    },
    /// List the newest audit records (who did what, when), or with --kinds how
    /// many of each kind the live log holds.
    Log {
        #[arg(long)]
        data_dir: PathBuf,
        /// Only records whose kind starts with this, such as incident. or alert.received.
        #[arg(long, default_value = "")]
        kind: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Count the records of each kind instead.
        #[arg(long)]
        kinds: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Retention: move the records up to the newest signed checkpoint older than
    /// --before out of the live log, into an encrypted archive (as export writes
    /// one, with the --passphrase-file passphrase). The archive is verified
    /// before anything leaves the live log; the console must be stopped.
    Archive {
        #[arg(long)]
        data_dir: PathBuf,
        /// Archive only records before this time (RFC 3339, such as 2026-01-01T00:00:00Z).
        #[arg(long)]
        before: DateTime<Utc>,
        /// The archive to write (never overwritten), such as audit-2025.wwa.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Re-key the database with a new random key (the console must be stopped).
    Rotate {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Set or replace the recovery passphrase: the keys, wrapped by it, are kept in
    /// DATA_DIR/keys/recovery.json so that the data survives the loss of the keyring.
    Recovery {
        #[arg(long)]
        data_dir: PathBuf,
        /// A file holding the new passphrase (its first line).
        #[arg(long)]
        new_passphrase_file: PathBuf,
    },
}

/// Where the keys come from: the recovery file when a passphrase is given,
/// else the OS keyring.
pub fn key_source(passphrase_file: Option<&Path>) -> anyhow::Result<KeySource> {
    Ok(match passphrase_file {
        Some(p) => KeySource::Passphrase(Passphrase::from_file(p).map_err(coded)?),
        None => KeySource::Keyring,
    })
}

/// An error with its code in front, as people and scripts see it.
pub fn coded<E: Into<OpenError>>(e: E) -> anyhow::Error {
    let e = e.into();
    anyhow::anyhow!("[{}] {e}", e.code())
}

pub fn open(data_dir: &Path, passphrase_file: Option<&Path>, write: bool) -> anyhow::Result<Opened> {
    let source = key_source(passphrase_file)?;
    open_store(data_dir, &source, write).map_err(coded)
}

pub fn run(command: AuditCommand, passphrase_file: Option<&Path>) -> anyhow::Result<bool> {
    match command {
        AuditCommand::Verify { data_dir, archive, expect_key, json } => {
            let expect = expect_key.as_deref().map(parse_fingerprint).transpose()?;
            match (data_dir, archive) {
                (Some(dir), _) => verify_data_dir(&dir, passphrase_file, expect.as_deref(), json),
                (None, Some(path)) => {
                    let Some(pf) = passphrase_file else {
                        bail!("an archive opens with its passphrase: add --passphrase-file FILE");
                    };
                    verify_archive(&path, pf, expect.as_deref(), json)
                }
                (None, None) => bail!("say what to verify: --data-dir DIR or --archive FILE"),
            }
        }
        AuditCommand::Export { data_dir, from, to, out } => {
            let Some(pf) = passphrase_file else {
                bail!("an archive is encrypted with a passphrase: add --passphrase-file FILE");
            };
            export_archive(&data_dir, pf, from, to, &out)?;
            Ok(true)
        }
        AuditCommand::Log { data_dir, kind, limit, kinds, json } => {
            log(&data_dir, &kind, limit, kinds, json, passphrase_file)?;
            Ok(true)
        }
        AuditCommand::Archive { data_dir, before, out } => {
            let Some(pf) = passphrase_file else {
                bail!("an archive is encrypted with a passphrase: add --passphrase-file FILE");
            };
            archive_segment(&data_dir, pf, before, &out)?;
            Ok(true)
        }
    }
}

pub fn run_key(command: KeyCommand, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    match command {
        KeyCommand::Rotate { data_dir } => {
            let source = key_source(passphrase_file)?;
            rotate_key(&data_dir, &source).map_err(coded)?;
            println!("The database of {} is now encrypted with a new key.", data_dir.display());
            if keys::has_recovery_passphrase(&data_dir) {
                println!("The recovery file was updated: the same recovery passphrase opens it.");
            }
            Ok(())
        }
        KeyCommand::Recovery { data_dir, new_passphrase_file } => {
            let Opened { mut store, keys: bundle, .. } = open(&data_dir, passphrase_file, true)?;
            let new = Passphrase::from_file(&new_passphrase_file).map_err(coded)?;
            keys::set_recovery_passphrase(&data_dir, &bundle, &new).map_err(coded)?;
            store
                .record([Entry::new(Utc::now(), actor(), kind::RECOVERY_SET, &json!({}))?])
                .map_err(coded)?;
            store.checkpoint().map_err(coded)?;
            println!(
                "Recovery passphrase set for {}: {} opens the data without the keyring.",
                data_dir.display(),
                data_dir.join(keys::RECOVERY_FILE).display()
            );
            Ok(())
        }
    }
}

fn parse_fingerprint(s: &str) -> anyhow::Result<String> {
    if !s.starts_with("ed25519:") || s.len() != "ed25519:".len() + 32 {
        bail!("--expect-key takes a fingerprint as `audit verify` prints it: ed25519: and 32 hex digits");
    }
    Ok(s.to_ascii_lowercase())
}

fn verify_data_dir(
    dir: &Path,
    passphrase_file: Option<&Path>,
    expect: Option<&str>,
    json: bool,
) -> anyhow::Result<bool> {
    let Opened { store, keys: bundle, .. } = open(dir, passphrase_file, false)?;
    let anchor = Anchor::read(dir).with_context(|| format!("the audit anchor in {}", dir.display()))?;
    let console_key = bundle.verifying_key().to_bytes();
    let anchor_checkpoint = anchor.as_ref().and_then(|a| a.checkpoint());
    let report =
        verify_chain(store.connection(), VerifyFrom::Genesis, anchor_checkpoint.as_ref(), Some(&console_key))
            .context("reading the audit log")?;
    let mismatch = expect.filter(|e| *e != key_fingerprint(&console_key));
    print_report(
        &format!("audit log {}", dir.display()),
        &report,
        &console_key,
        mismatch,
        anchor.is_some(),
        json,
    )
}

fn verify_archive(
    path: &Path,
    passphrase_file: &Path,
    expect: Option<&str>,
    json: bool,
) -> anyhow::Result<bool> {
    let pass = Passphrase::from_file(passphrase_file).map_err(coded)?;
    let archive = Archive::open(path, &pass).map_err(|e| match &e {
        export::ExportError::WrongPassphrase { .. } => anyhow::anyhow!("[audit.key_mismatch] {e}"),
        _ => anyhow::anyhow!(e),
    })?;
    let report = archive.verify(None).context("reading the archive")?;
    let key = archive.meta.public_key;
    let mismatch = expect.filter(|e| *e != key_fingerprint(&key));
    if !json {
        println!(
            "archive {}: exported {} from console {}",
            path.display(),
            archive.meta.exported_at.format("%Y-%m-%d %H:%M:%S UTC"),
            archive.meta.console_id
        );
    }
    print_report(&format!("archive {}", path.display()), &report, &key, mismatch, true, json)
}

fn print_report(
    what: &str,
    r: &Report,
    key: &[u8; 32],
    key_mismatch: Option<&str>,
    anchored: bool,
    json: bool,
) -> anyhow::Result<bool> {
    let fingerprint = key_fingerprint(key);
    let ok = r.damage.is_none() && key_mismatch.is_none();
    let mut out = io::stdout().lock();
    if json {
        let v = json!({
            "ok": ok,
            "first_seq": r.first_seq,
            "verified_through": r.verified_through.seq,
            "head_hash": hex::encode(r.verified_through.hash),
            "records": r.records,
            "checkpoints": r.checkpoints,
            "last_checkpoint": r.last_checkpoint,
            "key": fingerprint,
            "expected_key": key_mismatch,
            "archived": r.archived.iter().map(|b| json!({
                "first_seq": b.first_seq,
                "last_seq": b.seq,
                "file": b.archive_file,
                "sha256": hex::encode(b.archive_sha256),
            })).collect::<Vec<_>>(),
            "damage": r.damage,
        });
        writeln!(out, "{v}")?;
        return Ok(ok);
    }
    for b in &r.archived {
        writeln!(
            out,
            "{what}: records {} to {} are archived in {} (sha256 {})",
            b.first_seq,
            b.seq,
            b.archive_file,
            hex::encode(b.archive_sha256)
        )?;
    }
    if r.records == 0 && r.damage.is_none() {
        writeln!(out, "{what}: no records yet.")?;
    } else if r.records > 0 {
        writeln!(
            out,
            "{what}: records {} to {} verified ({} record{}, {} signed checkpoint{}{})",
            r.first_seq,
            r.verified_through.seq,
            r.records,
            if r.records == 1 { "" } else { "s" },
            r.checkpoints,
            if r.checkpoints == 1 { "" } else { "s" },
            r.last_checkpoint.map(|c| format!(", the last at record {c}")).unwrap_or_default()
        )?;
        writeln!(
            out,
            "head: record {} hash {}",
            r.verified_through.seq,
            hex::encode(r.verified_through.hash)
        )?;
    }
    writeln!(out, "signed by: {fingerprint}")?;
    if !anchored {
        writeln!(
            out,
            "note: no anchor file beside the database yet, so a rollback of the whole file would not show"
        )?;
    }
    if let Some(unsigned) = r.last_checkpoint.map(|c| r.verified_through.seq - c).filter(|n| *n > 0) {
        writeln!(out, "note: the last {unsigned} records are after the last checkpoint: their chain is intact, no signature covers them yet")?;
    }
    if let Some(expected) = key_mismatch {
        writeln!(out, "DAMAGED: the signatures are by {fingerprint}, not by the expected {expected}")?;
    }
    if let Some(d) = &r.damage {
        writeln!(out, "DAMAGED: first bad record {} ({}): {}", d.seq, d.kind, d.detail)?;
    } else if ok {
        writeln!(out, "OK")?;
    }
    Ok(ok)
}

/// A data directory opened to write an archive from it (export, retention):
/// with the keyring when it has the keys, else with the recovery file and
/// the archive's passphrase.
fn open_to_archive(dir: &Path, passphrase_file: &Path) -> anyhow::Result<Opened> {
    match open_store(dir, &KeySource::Keyring, true) {
        Ok(o) => Ok(o),
        Err(OpenError::Key(_)) => open(dir, Some(passphrase_file), true),
        Err(e) => Err(coded(e)),
    }
}

fn export_archive(
    dir: &Path,
    passphrase_file: &Path,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: &Path,
) -> anyhow::Result<()> {
    let Opened { mut store, keys: bundle, .. } = open_to_archive(dir, passphrase_file)?;
    // Never sign an export of a damaged chain.
    let anchor = Anchor::read(dir)?.and_then(|a| a.checkpoint());
    let key = bundle.verifying_key().to_bytes();
    let report = verify_chain(store.connection(), VerifyFrom::Genesis, anchor.as_ref(), Some(&key))?;
    if let Some(d) = &report.damage {
        bail!(
            "the audit log is damaged (first bad record {}, {}: {}); run `wardwatch audit verify` and keep the data directory as evidence",
            d.seq,
            d.kind,
            d.detail
        );
    }
    let pass = Passphrase::from_file(passphrase_file).map_err(coded)?;
    // The console id (keyring mode); a data directory keyed only by its
    // recovery file is named by its signing key.
    let console_id = match keys::ConsoleId::read(dir).map_err(coded)? {
        Some(id) => id.as_str().to_owned(),
        None => key_fingerprint(&key),
    };
    let summary =
        export::export(store.connection(), out, &pass, from, to, &bundle.signing_key(), &console_id)?;
    store
        .record([Entry::new(
            Utc::now(),
            actor(),
            kind::AUDIT_EXPORTED,
            &json!({
                "first_seq": summary.first_seq,
                "last_seq": summary.last_seq,
                "file": out.file_name().map(|f| f.to_string_lossy().into_owned()),
            }),
        )?])
        .map_err(coded)?;
    store.checkpoint().map_err(coded)?;
    println!(
        "{}: records {} to {} ({} record{}, {} signed checkpoint{}), signed by {}",
        out.display(),
        summary.first_seq,
        summary.last_seq,
        summary.records,
        if summary.records == 1 { "" } else { "s" },
        summary.checkpoints,
        if summary.checkpoints == 1 { "" } else { "s" },
        key_fingerprint(&key)
    );
    println!(
        "Verify it anywhere with: wardwatch audit verify --archive {} --passphrase-file FILE",
        out.display()
    );
    Ok(())
}

/// An error of `audit archive` with its code in front.
fn retention_coded(e: RetentionError) -> anyhow::Error {
    anyhow::anyhow!("[{}] {e}", e.code())
}

fn archive_segment(
    dir: &Path,
    passphrase_file: &Path,
    before: DateTime<Utc>,
    out: &Path,
) -> anyhow::Result<()> {
    let Opened { mut store, keys: bundle, .. } = open_to_archive(dir, passphrase_file)?;
    let pass = Passphrase::from_file(passphrase_file).map_err(coded)?;
    let key = bundle.verifying_key().to_bytes();
    let console_id = match keys::ConsoleId::read(dir).map_err(coded)? {
        Some(id) => id.as_str().to_owned(),
        None => key_fingerprint(&key),
    };
    let done = retention::archive(&mut store, dir, out, &pass, before, &bundle.signing_key(), &console_id)
        .map_err(retention_coded)?;
    let b = &done.base;
    println!(
        "{}: records {} to {} ({} record{}, {} signed checkpoint{}) archived and verified, signed by {}",
        out.display(),
        b.first_seq,
        b.seq,
        done.retired.records,
        if done.retired.records == 1 { "" } else { "s" },
        done.checkpoints_in_archive,
        if done.checkpoints_in_archive == 1 { "" } else { "s" },
        key_fingerprint(&key)
    );
    println!("sha256 {}", hex::encode(b.archive_sha256));
    println!(
        "The live log now starts after record {} ({} alerts, {} rejected messages, {} device observations moved with it).",
        b.seq, done.retired.alerts, done.retired.rejected, done.retired.observations
    );
    println!(
        "Keep the archive and its passphrase: wardwatch audit verify --archive {} --passphrase-file FILE",
        out.display()
    );
    Ok(())
}

fn log(
    data_dir: &Path,
    kind: &str,
    limit: usize,
    kinds: bool,
    json: bool,
    pf: Option<&Path>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let store = open(data_dir, pf, false)?.store;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if kinds {
        for (k, n) in store.audit_kind_counts()? {
            if json {
                writeln!(out, "{}", serde_json::json!({"kind": k, "records": n}))?;
            } else {
                writeln!(out, "{n:>10}  {k}")?;
            }
        }
    } else {
        for r in store.audit_records(kind, limit)? {
            if json {
                serde_json::to_writer(&mut out, &r)?;
                writeln!(out)?;
            } else {
                let at = r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let body = match &r.body {
                    serde_json::Value::Object(m) => m
                        .iter()
                        .filter(|(_, v)| !v.is_object() && !v.is_array())
                        .map(|(k, v)| format!("{k}={v}"))
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" "),
                    _ => String::new(),
                };
                writeln!(out, "{:>8}  {at}  {:<24} {:<22} {body}", r.seq, r.kind, r.actor)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
