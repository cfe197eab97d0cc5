//! SQLite storage of alerts, of rejected messages, and of what device
//! gateways say about devices (`device_observations`).
//!
//! One writer (the console's writer thread) appends in batches, one
//! transaction each; readers open their own connections, which WAL lets run
//! beside the writer. Alerts and rejected messages are only ever appended
//! (and removed only with their audit records, once archived: `audit::retention`);
//! device context is kept as summaries, upserted (`context.rs`).

mod audit_log;
mod cipher;
mod context;
mod hospital;
mod incidents;
mod migrations;
mod people;
mod responses;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};

use crate::audit::{kind, Anchor, Base, Checkpoint, Entry, Head, ANCHOR_FILE, CHECKPOINT_EVERY};
use crate::ingest::{Ingested, Rejected};
use crate::keys::SecretKey;
use crate::model::{
    Alert, AlertDetails, AlertId, DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation, Format,
    ParseMode, PatientKeyHash, RawMessage, Severity,
};

pub(crate) use cipher::{key_pragma, quiet_cipher_log};
pub use context::{DeviceSeen, DeviceSummary, EventTypeSeen, PeerSeen};
pub use hospital::{Assignment, HospitalView, IdentityPeriod, ImportApplied, ViewRules};
pub use incidents::{
    assess_incident, incident_key, Incident, IncidentEvent, IncidentFilter, IncidentRecord, MaintenanceScope,
    MaintenanceWindow, Mute, NotifierChanges, MAX_MAINTENANCE,
};
pub use migrations::MIGRATIONS;
pub use people::{AuthError, Person, Proof};
pub use responses::{
    AttemptOutcome, ChecklistItem, Claim, NewRequest, ResponseError, ResponseEvent, ResponseRequest,
};

/// The database's file name inside the data directory.
pub const DB_FILE: &str = "wardwatch.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("no Wardwatch data at {0} (nothing has been stored there yet)")]
    Missing(PathBuf),
    #[error("database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("database {path} is at schema version {found}, newer than this build knows ({known}); use a newer Wardwatch")]
    TooNew { path: PathBuf, found: i64, known: usize },
    #[error("stored row {id} is unreadable: {reason}")]
    Corrupt { id: i64, reason: String },
    #[error("the key does not open {path} (a wrong key, or not a Wardwatch database)")]
    KeyMismatch { path: PathBuf },
    #[error("{path} is not encrypted and this build reads only encrypted databases; open it for writing once to encrypt it")]
    Plaintext { path: PathBuf },
    #[error("could not encrypt the unencrypted database {path}: {reason}")]
    Encrypt { path: PathBuf, reason: String },
    #[error("audit record: {0}")]
    Audit(#[from] crate::audit::AuditError),
    #[error("audit anchor {path}: {source}")]
    Anchor { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} was written by another process meanwhile (is the console running?): nothing was changed"
    )]
    Busy { path: PathBuf },
    #[error("there is no device {0} in the inventory")]
    UnknownDevice(String),
    #[error("there is no ward {0}")]
    UnknownWard(String),
    #[error(transparent)]
    Incident(#[from] crate::incident::ActionError),
    #[error(transparent)]
    Response(#[from] responses::ResponseError),
}

impl StoreError {
    /// A stable code for the error, for people and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyMismatch { .. } => "audit.key_mismatch",
            Self::Missing(_) => "audit.missing",
            Self::Busy { .. } => "audit.busy",
            Self::UnknownDevice(_) => "hospital.unknown_device",
            Self::UnknownWard(_) => "hospital.unknown_ward",
            Self::Incident(e) => e.code(),
            Self::Response(e) => e.code(),
            Self::Sqlite { source, .. } if audit_log::is_disk_full(source) => "store.disk_full",
            _ => "store.error",
        }
    }
}

/// A rejected message as stored, with its row id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredRejected {
    pub id: i64,
    #[serde(flatten)]
    pub rejected: Rejected,
}

/// A connection to the store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    data_dir: PathBuf,
    /// The chain's last committed record.
    head: Head,
    /// The newest signed checkpoint's record.
    last_checkpoint: u64,
    signer: Option<SigningKey>,
    /// Told of every audit record once its transaction has committed.
    on_commit: Option<CommitHook>,
    /// How alerts fold into incidents.
    folding: incidents::Folding,
}

/// What [`Store::retire_front`] removed from the live tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retired {
    /// The chain's head after the `audit.archived` record.
    pub head: Head,
    pub records: usize,
    pub checkpoints: usize,
    pub alerts: usize,
    pub rejected: usize,
    pub observations: usize,
}

/// An audit record as a reviewer reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub body: serde_json::Value,
}

/// A function told of audit records once they are durable (ATNA forwarding).
pub type CommitHook = Box<dyn FnMut(&[Committed]) + Send>;

/// An audit record just committed, as a forwarder needs it: no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    /// What it concerns (an alert id, a device id), never patient data.
    pub object: Option<String>,
    /// One sentence for a person.
    pub summary: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating when needed) the store in `data_dir` for writing with
    /// the database key `key`, and brings its schema up to date. A database
    /// written by a build without encryption is encrypted in place first.
    pub fn open(data_dir: &Path, key: &SecretKey) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
        let path = data_dir.join(DB_FILE);
        if cipher::is_plaintext(&path) {
            cipher::encrypt_plaintext(&path, key)?;
        }
        let conn = cipher::open(&path, key, OpenFlags::default())?;
        let mut store = Self::new(conn, path, data_dir);
        store.configure().and_then(|()| migrations::apply(&mut store.conn)).map_err(|e| store.wrap(e))?;
        store.load_head()?;
        store.adopt_unrecorded()?;
        Ok(store)
    }

    /// Alerts, rejected messages and device observations stored before the
    /// audit log existed get their audit records, in the order they were
    /// stored, once (actor `migration`).
    fn adopt_unrecorded(&mut self) -> Result<(), StoreError> {
        const ALERTS: &str =
            "SELECT id, received_at_us, event_time, source_addr, listener, format, severity, vendor,
            product, event_class, name, message, hostname, src_ip, dst_ip, src_port, dst_port, proto, raw,
            deviations, details FROM alerts WHERE audit_seq IS NULL ORDER BY id";
        let alerts: Vec<Alert> = {
            let mut stmt = self.conn.prepare(ALERTS).map_err(|e| self.wrap(e))?;
            let rows = stmt.query_map([], |row| Ok(alert_from_row(row))).map_err(|e| self.wrap(e))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(|e| self.wrap(e))??);
            }
            out
        };
        let rejected: Vec<StoredRejected> = self.rejected_where("audit_seq IS NULL ORDER BY id")?;
        if alerts.is_empty() && rejected.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite { path: path.clone(), source };
        let mut head = self.head;
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut stmt = tx.prepare_cached(audit_log::INSERT).map_err(wrap)?;
            for a in &alerts {
                let entry = Entry::new(a.received_at, "migration", kind::ALERT_RECEIVED, a)?;
                head = audit_log::insert(&mut stmt, &head, entry).map_err(wrap)?;
                let id = a.id.map_or(0, |i| i.0);
                tx.execute("UPDATE alerts SET audit_seq = ?1 WHERE id = ?2", params![head.seq, id])
                    .map_err(wrap)?;
            }
            for r in &rejected {
                let entry =
                    Entry::new(r.rejected.received_at, "migration", kind::ALERT_REJECTED, &r.rejected)?;
                head = audit_log::insert(&mut stmt, &head, entry).map_err(wrap)?;
                tx.execute("UPDATE rejected SET audit_seq = ?1 WHERE id = ?2", params![head.seq, r.id])
                    .map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)?;
        tracing::info!(
            alerts = alerts.len(),
            rejected = rejected.len(),
            "Records stored before the audit log now have their audit records."
        );
        self.head = head;
        Ok(())
    }

    /// Opens an existing store for reading only.
    pub fn open_read_only(data_dir: &Path, key: &SecretKey) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::Missing(data_dir.to_owned()));
        }
        let conn =
            cipher::open(&path, key, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let mut store = Self::new(conn, path, data_dir);
        store.conn.busy_timeout(Duration::from_secs(5)).map_err(|e| store.wrap(e))?;
        store.conn.pragma_update(None, "temp_store", "MEMORY").map_err(|e| store.wrap(e))?;
        let version = migrations::version(&store.conn).map_err(|e| store.wrap(e))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew { path: store.path, found: version, known: MIGRATIONS.len() });
        }
        if version >= audit_log::SCHEMA_VERSION {
            store.load_head()?;
        }
        Ok(store)
    }

    fn new(conn: Connection, path: PathBuf, data_dir: &Path) -> Self {
        Self {
            conn,
            path,
            data_dir: data_dir.to_owned(),
            head: Head::EMPTY,
            last_checkpoint: 0,
            signer: None,
            on_commit: None,
            folding: incidents::Folding::new(crate::incident::Rules::default()),
        }
    }

    fn wrap(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Per-connection settings: they are not stored in the file, so every
    /// connection sets them. Temporary tables and indexes stay in memory:
    /// nothing of the database is ever written to disk unencrypted.
    fn configure(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(Duration::from_secs(5))?;
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        // A batch of 2,048 alerts and their audit records is some MiB of
        // pages: a cache that holds it avoids spilling pages mid-transaction.
        self.conn.pragma_update(None, "cache_size", -65_536)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    /// The console's signing key: from now on a checkpoint is signed every
    /// [`CHECKPOINT_EVERY`] records and by [`Store::checkpoint`].
    pub fn set_signer(&mut self, key: SigningKey) {
        self.signer = Some(key);
    }

    /// Calls `hook` with the audit records of each committed transaction.
    pub fn set_on_commit(&mut self, hook: CommitHook) {
        self.on_commit = Some(hook);
    }

    /// The chain's last record.
    pub fn head(&self) -> Head {
        self.head
    }

    /// Opens the database file of `data_dir` with `key` as a plain
    /// connection, with no settings and no migrations (tests that damage a
    /// log on purpose, key rotation).
    pub fn open_raw(data_dir: &Path, key: &SecretKey) -> Result<Connection, StoreError> {
        cipher::open(&data_dir.join(DB_FILE), key, OpenFlags::default())
    }

    /// The raw connection, for verification and export (reads only).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a batch in one transaction and gives each alert its id.
    ///
    /// Each alert, rejected message and device observation is also an audit
    /// record, in the same transaction: either both are stored or neither.
    #[tracing::instrument(skip_all, fields(n = batch.len()))]
    pub fn append(&mut self, batch: &mut [Ingested]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite { path: path.clone(), source };
        let mut committed = Vec::new();
        let tell = self.on_commit.is_some();
        // Immediate: other connections (a person's change from the window or
        // the CLI) append too; the head is read under the write lock.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(wrap)?;
        let mut head = audit_log::head_of(&tx).map_err(wrap)?;
        incidents::begin(&mut self.folding);
        {
            let mut audit_stmt = tx.prepare_cached(audit_log::INSERT).map_err(wrap)?;
            let mut alert_stmt = tx
                .prepare_cached(
                    "INSERT INTO alerts (received_at_us, event_time, source_addr, listener, format, severity,
                        vendor, product, event_class, name, message, hostname, src_ip, dst_ip, src_port,
                        dst_port, proto, raw, deviations, details, audit_seq, device_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                        ?21, ?22)",
                )
                .map_err(wrap)?;
            let mut device_stmt = tx
                .prepare_cached(
                    "INSERT INTO device_observations (received_at_us, observed_at, device_id, point_of_care,
                        room, bed, facility, patient_associated, patient_key_hash, message_type, control_id,
                        sending_application, sending_facility, source_addr, listener, observation_count,
                        alarm_code, alarm_priority, alarm_state, alarm_phase, audit_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                        ?19, ?20, ?21)",
                )
                .map_err(wrap)?;
            let mut rejected_stmt = tx
                .prepare_cached(
                    "INSERT INTO rejected (received_at_us, source_addr, listener, format, error, raw, audit_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(wrap)?;
            let mut seen_stmt = tx.prepare_cached(context::UPSERT_SEEN).map_err(wrap)?;
            let mut type_stmt = tx.prepare_cached(context::UPSERT_EVENT_TYPE).map_err(wrap)?;
            let mut peer_stmt = tx.prepare_cached(context::UPSERT_PEER).map_err(wrap)?;
            for item in batch.iter_mut() {
                match item {
                    Ingested::Alert(a) => {
                        let attached = hospital::attach_alert(&tx, a)?;
                        alert_stmt
                            .execute(params![
                                a.received_at.timestamp_micros(),
                                a.event_time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
                                a.source_addr.map(|s| s.to_string()),
                                a.listener,
                                a.format.as_str(),
                                a.severity.value(),
                                a.vendor,
                                a.product,
                                a.event_class,
                                a.name,
                                a.message,
                                a.hostname,
                                a.src_ip.map(|s| s.to_string()),
                                a.dst_ip.map(|s| s.to_string()),
                                a.src_port,
                                a.dst_port,
                                a.proto,
                                a.raw.as_bytes(),
                                match &a.parse_mode {
                                    ParseMode::Strict => None,
                                    ParseMode::Lenient(d) => serde_json::to_string(d).ok(),
                                },
                                (!a.details.is_empty())
                                    .then(|| serde_json::to_string(&a.details).ok())
                                    .flatten(),
                                head.seq + 1,
                                attached.primary().map(|d| d.as_str()),
                            ])
                            .map_err(wrap)?;
                        let alert_id = tx.last_insert_rowid();
                        a.id = Some(AlertId(alert_id));
                        hospital::link_alert(&tx, &attached.devices, alert_id)?;
                        let folded =
                            incidents::fold_alert(&tx, &mut self.folding, &attached.devices, a, alert_id)?;
                        let entry =
                            Entry::new(a.received_at, actor(a.listener.as_deref()), kind::ALERT_RECEIVED, a)?;
                        if tell {
                            let object = a.id.map(|i| format!("alert {}", i.0));
                            committed.push(committed_of(&entry, head.seq + 1, object, &a.name));
                        }
                        head = audit_log::insert(&mut audit_stmt, &head, entry).map_err(wrap)?;
                        head = extra(&mut audit_stmt, head, attached.entries, tell.then_some(&mut committed))
                            .map_err(wrap)?;
                        head = extra(&mut audit_stmt, head, folded, tell.then_some(&mut committed))
                            .map_err(wrap)?;
                    }
                    Ingested::Device(d) => {
                        let attached = hospital::observe_device(&tx, d)?;
                        let loc = d.location.clone().unwrap_or_default();
                        let alarm = d.alarm.clone().unwrap_or_default();
                        device_stmt
                            .execute(params![
                                d.received_at.timestamp_micros(),
                                d.observed_at,
                                d.device_id.as_str(),
                                loc.point_of_care,
                                loc.room,
                                loc.bed,
                                loc.facility,
                                d.patient_associated,
                                d.patient_key_hash.as_ref().map(PatientKeyHash::as_str),
                                d.message_type,
                                d.control_id,
                                d.sending_application,
                                d.sending_facility,
                                d.source_addr.map(|s| s.to_string()),
                                d.listener,
                                d.observation_count,
                                d.alarm.as_ref().map(|_| alarm.code),
                                alarm.priority,
                                alarm.state,
                                alarm.phase,
                                head.seq + 1,
                            ])
                            .map_err(wrap)?;
                        d.id = Some(tx.last_insert_rowid());
                        let entry = Entry::new(
                            d.received_at,
                            actor(d.listener.as_deref()),
                            kind::DEVICE_OBSERVED,
                            d,
                        )?;
                        if tell {
                            let device = Some(format!("device {}", d.device_id.as_str()));
                            committed.push(committed_of(&entry, head.seq + 1, device, &d.message_type));
                        }
                        head = audit_log::insert(&mut audit_stmt, &head, entry).map_err(wrap)?;
                        head = extra(&mut audit_stmt, head, attached.entries, tell.then_some(&mut committed))
                            .map_err(wrap)?;
                    }
                    Ingested::Rejected(r) => {
                        rejected_stmt
                            .execute(params![
                                r.received_at.timestamp_micros(),
                                r.source_addr.map(|s| s.to_string()),
                                r.listener,
                                r.format.map(Format::as_str),
                                r.error,
                                r.raw.as_bytes(),
                                head.seq + 1,
                            ])
                            .map_err(wrap)?;
                        let entry =
                            Entry::new(r.received_at, actor(r.listener.as_deref()), kind::ALERT_REJECTED, r)?;
                        if tell {
                            let summary = "a message that could not be read";
                            committed.push(committed_of(&entry, head.seq + 1, None, summary));
                        }
                        head = audit_log::insert(&mut audit_stmt, &head, entry).map_err(wrap)?;
                    }
                    // Not a record: the console's writer answers it after the commit.
                    Ingested::Flush(_) => {}
                    Ingested::Context(c) => {
                        let (ip, at) = (c.device.to_string(), c.seen_at.timestamp_micros());
                        seen_stmt.execute(params![ip, at]).map_err(wrap)?;
                        type_stmt.execute(params![ip, c.event_type, at]).map_err(wrap)?;
                        if let Some(peer) = c.peer {
                            peer_stmt.execute(params![ip, peer.to_string(), at]).map_err(wrap)?;
                        }
                        let attached = hospital::observe_context(&tx, c)?;
                        head = extra(&mut audit_stmt, head, attached.entries, tell.then_some(&mut committed))
                            .map_err(wrap)?;
                    }
                }
            }
        }
        incidents::flush(&tx, &mut self.folding)?;
        tx.commit().map_err(wrap)?;
        self.head = head;
        self.tell(&committed);
        self.checkpoint_if_due()
    }

    fn tell(&mut self, committed: &[Committed]) {
        if let (Some(hook), false) = (&mut self.on_commit, committed.is_empty()) {
            hook(committed);
        }
    }

    /// Appends audit records that are not ingested messages (the console
    /// starting, a key rotated, ...) in one transaction.
    pub fn record(&mut self, entries: impl IntoIterator<Item = Entry>) -> Result<Head, StoreError> {
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite { path: path.clone(), source };
        let mut committed = Vec::new();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(wrap)?;
        let mut head = audit_log::head_of(&tx).map_err(wrap)?;
        {
            let mut stmt = tx.prepare_cached(audit_log::INSERT).map_err(wrap)?;
            for entry in entries {
                if self.on_commit.is_some() {
                    let summary = entry.kind.replace(['.', '_'], " ");
                    committed.push(committed_of(&entry, head.seq + 1, None, &summary));
                }
                head = audit_log::insert(&mut stmt, &head, entry).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)?;
        self.head = head;
        self.tell(&committed);
        self.checkpoint_if_due()?;
        Ok(head)
    }

    /// Applies a person's change with `apply` and appends `entries` (what
    /// was changed, by whom, why) in one immediate transaction: both are
    /// stored or neither. Safe beside a running console's writer: the head
    /// is read under the write lock.
    pub(crate) fn change<T>(
        &mut self,
        entries: Vec<Entry>,
        apply: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<(Head, T), StoreError> {
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite { path: path.clone(), source };
        let mut committed = Vec::new();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(wrap)?;
        let mut head = audit_log::head_of(&tx).map_err(wrap)?;
        let value = apply(&tx)?;
        {
            let mut stmt = tx.prepare_cached(audit_log::INSERT).map_err(wrap)?;
            head = extra(&mut stmt, head, entries, self.on_commit.is_some().then_some(&mut committed))
                .map_err(wrap)?;
        }
        tx.commit().map_err(wrap)?;
        self.head = head;
        self.tell(&committed);
        self.checkpoint_if_due()?;
        Ok((head, value))
    }

    /// The newest `limit` audit records whose kind starts with `kind`,
    /// oldest first, with their bodies as JSON: what a reviewer reads.
    pub fn audit_records(&self, kind: &str, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, at_us, actor, kind, body FROM audit_log WHERE substr(kind, 1, length(?1)) = ?1
                 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map(params![kind, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?, r.get::<_, Vec<u8>>(4)?))
            })
            .map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, actor, kind, body) = row.map_err(|e| self.wrap(e))?;
            let at = micros(at).ok_or(StoreError::Corrupt { id: seq, reason: "time out of range".into() })?;
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            out.push(AuditRecord { seq: seq as u64, at, actor, kind, body });
        }
        out.reverse();
        Ok(out)
    }

    /// How many audit records of each kind the live log holds.
    pub fn audit_kind_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, COUNT(*) FROM audit_log GROUP BY kind ORDER BY kind")
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))
            .map_err(|e| self.wrap(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.wrap(e))
    }

    /// The last record moved to an archive (retention); 0 when none was.
    pub fn archived_through(&self) -> Result<u64, StoreError> {
        let seq: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_base", [], |r| r.get(0))
            .map_err(|e| self.wrap(e))?;
        Ok(seq as u64)
    }

    /// The newest `config.settings` record in the log (number and body).
    pub fn last_settings(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        audit_log::last_settings(&self.conn).map_err(|e| self.wrap(e))
    }

    /// Moves the front of the chain out, up to `base` (whose archive is
    /// written and verified), in one transaction: records the base, deletes
    /// what the archive holds (see `audit_log::retire`) and appends `entry`
    /// (`audit.archived`). Refused, with nothing changed, when another
    /// connection appended since this store read the head.
    #[tracing::instrument(skip_all)]
    pub fn retire_front(&mut self, base: &Base, entry: Entry) -> Result<Retired, StoreError> {
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(wrap)?;
        let (head, _) = audit_log::head(&tx).map_err(wrap)?;
        if head != self.head {
            return Err(StoreError::Busy { path: self.path.clone() });
        }
        let [records, checkpoints, alerts, rejected, observations] =
            audit_log::retire(&tx, base).map_err(wrap)?;
        let committed = self
            .on_commit
            .is_some()
            .then(|| committed_of(&entry, head.seq + 1, None, "audit log segment archived"));
        let head = {
            let mut stmt = tx.prepare_cached(audit_log::INSERT).map_err(wrap)?;
            audit_log::insert(&mut stmt, &head, entry).map_err(wrap)?
        };
        tx.commit().map_err(wrap)?;
        self.head = head;
        if let Some(c) = committed {
            self.tell(&[c]);
        }
        Ok(Retired { head, records, checkpoints, alerts, rejected, observations })
    }

    fn checkpoint_if_due(&mut self) -> Result<(), StoreError> {
        if self.head.seq >= self.last_checkpoint + CHECKPOINT_EVERY {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Signs the chain's head, stores the checkpoint and copies it to the
    /// anchor file beside the database. Does nothing without a signing key
    /// or when the head is already signed.
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        let Some(signer) = &self.signer else { return Ok(None) };
        if self.head.seq == self.last_checkpoint || self.head.seq == 0 {
            return Ok(None);
        }
        let checkpoint = Checkpoint::sign(self.head, Utc::now(), signer);
        audit_log::insert_checkpoint(&self.conn, &checkpoint).map_err(|e| self.wrap(e))?;
        self.last_checkpoint = checkpoint.seq;
        Anchor::from_checkpoint(&checkpoint)
            .write(&self.data_dir)
            .map_err(|source| StoreError::Anchor { path: self.data_dir.join(ANCHOR_FILE), source })?;
        Ok(Some(checkpoint))
    }

    /// Reads the chain's head and newest checkpoint.
    fn load_head(&mut self) -> Result<(), StoreError> {
        let (head, last) = audit_log::head(&self.conn).map_err(|e| self.wrap(e))?;
        self.head = head;
        self.last_checkpoint = last;
        Ok(())
    }

    /// The newest `limit` alerts, newest first.
    pub fn recent_alerts(&self, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, received_at_us, event_time, source_addr, listener, format, severity, vendor,
                    product, event_class, name, message, hostname, src_ip, dst_ip, src_port, dst_port,
                    proto, raw, deviations, details
                 FROM alerts ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map([limit as i64], |row| Ok(alert_from_row(row))).map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(|e| self.wrap(e))??);
        }
        Ok(out)
    }

    /// The newest `limit` rejected messages, newest first.
    pub fn recent_rejected(&self, limit: usize) -> Result<Vec<StoredRejected>, StoreError> {
        self.rejected_where(&format!("1 ORDER BY id DESC LIMIT {limit}"))
    }

    /// Rejected messages matching `condition` (SQL after WHERE, from this module only).
    fn rejected_where(&self, condition: &str) -> Result<Vec<StoredRejected>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, received_at_us, source_addr, listener, format, error, raw FROM rejected WHERE {condition}"
            ))
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([], |row| {
                let id: i64 = row.get(0)?;
                let format: Option<String> = row.get(4)?;
                Ok(StoredRejected {
                    id,
                    rejected: Rejected {
                        received_at: micros(row.get(1)?).unwrap_or_default(),
                        source_addr: row.get::<_, Option<String>>(2)?.and_then(|s| s.parse().ok()),
                        listener: row.get(3)?,
                        format: format.as_deref().and_then(Format::parse),
                        error: row.get(5)?,
                        raw: RawMessage(row.get(6)?),
                    },
                })
            })
            .map_err(|e| self.wrap(e))?;
        rows.map(|r| r.map_err(|e| self.wrap(e))).collect()
    }

    /// The newest observation of each device, ordered by device id.
    pub fn latest_device_observations(&self) -> Result<Vec<DeviceObservation>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, received_at_us, observed_at, device_id, point_of_care, room, bed, facility,
                    patient_associated, patient_key_hash, message_type, control_id, sending_application,
                    sending_facility, source_addr, listener, observation_count, alarm_code, alarm_priority,
                    alarm_state, alarm_phase
                 FROM device_observations
                 WHERE id IN (SELECT MAX(id) FROM device_observations GROUP BY device_id)
                 ORDER BY device_id",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map([], |row| Ok(device_from_row(row))).map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(|e| self.wrap(e))??);
        }
        Ok(out)
    }

    /// How many alerts and rejected messages are stored.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| self.wrap(e))
        };
        Ok((count("alerts")?, count("rejected")?))
    }

    /// The alert with `id`, if stored.
    pub fn alert(&self, id: AlertId) -> Result<Option<Alert>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, received_at_us, event_time, source_addr, listener, format, severity, vendor,
                    product, event_class, name, message, hostname, src_ip, dst_ip, src_port, dst_port,
                    proto, raw, deviations, details
                 FROM alerts WHERE id = ?1",
                [id.0],
                |row| Ok(alert_from_row(row)),
            )
            .optional()
            .map_err(|e| self.wrap(e))?
            .transpose()
    }
}

/// Appends `entries` after `head` (records a batch owes besides its items:
/// a device staged, an address moved), telling `committed` when asked.
fn extra(
    stmt: &mut rusqlite::CachedStatement<'_>,
    mut head: Head,
    entries: Vec<Entry>,
    mut committed: Option<&mut Vec<Committed>>,
) -> rusqlite::Result<Head> {
    for entry in entries {
        if let Some(c) = committed.as_deref_mut() {
            let summary = entry.kind.replace(['.', '_'], " ");
            c.push(committed_of(&entry, head.seq + 1, None, &summary));
        }
        head = audit_log::insert(stmt, &head, entry)?;
    }
    Ok(head)
}

fn committed_of(entry: &Entry, seq: u64, object: Option<String>, summary: &str) -> Committed {
    Committed {
        seq,
        at: entry.at,
        actor: entry.actor.clone(),
        kind: entry.kind.clone(),
        object,
        summary: summary.to_owned(),
    }
}

/// Who an ingested record is from, in the audit log.
fn actor(listener: Option<&str>) -> String {
    match listener {
        Some(l) => format!("listener {l}"),
        None => "listener".to_owned(),
    }
}

fn micros(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

/// Reads an alert row; a value this build cannot read is reported, not guessed.
fn alert_from_row(row: &Row<'_>) -> Result<Alert, StoreError> {
    let id: i64 = row.get(0).map_err(|e| corrupt(0, e))?;
    let get_err = |e: rusqlite::Error| corrupt(id, e);
    let bad = |what: &str| StoreError::Corrupt { id, reason: what.to_owned() };
    let ip = |s: Option<String>| -> Result<Option<IpAddr>, StoreError> {
        s.map(|s| s.parse().map_err(|_| bad("bad IP address"))).transpose()
    };
    let format: String = row.get(5).map_err(get_err)?;
    let severity = Severity::new(row.get(6).map_err(get_err)?).ok_or_else(|| bad("severity out of range"))?;
    let event_time: Option<String> = row.get(2).map_err(get_err)?;
    let event_time = event_time
        .map(|s| DateTime::<FixedOffset>::parse_from_rfc3339(&s).map_err(|_| bad("bad event time")))
        .transpose()?;
    let source_addr: Option<String> = row.get(3).map_err(get_err)?;
    let source_addr =
        source_addr.map(|s| s.parse::<SocketAddr>().map_err(|_| bad("bad source address"))).transpose()?;
    let details: Option<String> = row.get(20).map_err(get_err)?;
    let details = match details {
        None => AlertDetails::default(),
        Some(d) => serde_json::from_str(&d).map_err(|_| bad("bad details"))?,
    };
    let deviations: Option<String> = row.get(19).map_err(get_err)?;
    let parse_mode = match deviations {
        None => ParseMode::Strict,
        Some(d) => ParseMode::Lenient(serde_json::from_str(&d).map_err(|_| bad("bad deviations"))?),
    };
    Ok(Alert {
        id: Some(AlertId(id)),
        received_at: micros(row.get(1).map_err(get_err)?).ok_or_else(|| bad("bad receive time"))?,
        event_time,
        source_addr,
        listener: row.get(4).map_err(get_err)?,
        format: Format::parse(&format).ok_or_else(|| bad("unknown format"))?,
        severity,
        severity_label: severity.label(),
        vendor: row.get(7).map_err(get_err)?,
        product: row.get(8).map_err(get_err)?,
        event_class: row.get(9).map_err(get_err)?,
        name: row.get(10).map_err(get_err)?,
        message: row.get(11).map_err(get_err)?,
        hostname: row.get(12).map_err(get_err)?,
        src_ip: ip(row.get(13).map_err(get_err)?)?,
        dst_ip: ip(row.get(14).map_err(get_err)?)?,
        src_port: row.get(15).map_err(get_err)?,
        dst_port: row.get(16).map_err(get_err)?,
        proto: row.get(17).map_err(get_err)?,
        raw: RawMessage(row.get(18).map_err(get_err)?),
        parse_mode,
        details,
    })
}

/// Reads a device observation row; a value this build cannot read is reported.
fn device_from_row(row: &Row<'_>) -> Result<DeviceObservation, StoreError> {
    let id: i64 = row.get(0).map_err(|e| corrupt(0, e))?;
    let get_err = |e: rusqlite::Error| corrupt(id, e);
    let bad = |what: &str| StoreError::Corrupt { id, reason: what.to_owned() };
    let device: String = row.get(3).map_err(get_err)?;
    let hash: Option<String> = row.get(9).map_err(get_err)?;
    let location = DeviceLocation {
        point_of_care: row.get(4).map_err(get_err)?,
        room: row.get(5).map_err(get_err)?,
        bed: row.get(6).map_err(get_err)?,
        facility: row.get(7).map_err(get_err)?,
    };
    let alarm_code: Option<String> = row.get(17).map_err(get_err)?;
    let source_addr: Option<String> = row.get(14).map_err(get_err)?;
    Ok(DeviceObservation {
        id: Some(id),
        received_at: micros(row.get(1).map_err(get_err)?).ok_or_else(|| bad("bad receive time"))?,
        observed_at: row.get(2).map_err(get_err)?,
        device_id: DeviceId::eui64(&device).ok_or_else(|| bad("bad device id"))?,
        location: (location != DeviceLocation::default()).then_some(location),
        patient_associated: row.get(8).map_err(get_err)?,
        patient_key_hash: hash
            .map(|h| PatientKeyHash::from_hex(&h).ok_or_else(|| bad("bad patient key hash")))
            .transpose()?,
        message_type: row.get(10).map_err(get_err)?,
        control_id: row.get(11).map_err(get_err)?,
        sending_application: row.get(12).map_err(get_err)?,
        sending_facility: row.get(13).map_err(get_err)?,
        source_addr: source_addr.map(|s| s.parse().map_err(|_| bad("bad source address"))).transpose()?,
        listener: row.get(15).map_err(get_err)?,
        observation_count: row.get(16).map_err(get_err)?,
        alarm: match alarm_code {
            Some(code) => Some(DeviceAlarm {
                code,
                priority: row.get(18).map_err(get_err)?,
                state: row.get(19).map_err(get_err)?,
                phase: row.get(20).map_err(get_err)?,
            }),
            None => None,
        },
    })
}

fn corrupt(id: i64, e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt { id, reason: e.to_string() }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hospital_tests;

#[cfg(test)]
mod incidents_tests;

#[cfg(test)]
mod people_tests;
#[cfg(test)]
mod responses_tests;
