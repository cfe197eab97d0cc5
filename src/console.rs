//! The console: owner of the store, the listeners and the alert bus.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::{kind, AuditStatus, Entry};
use crate::config::ConsoleConfig;
use crate::ingest::{self, IngestConfig, Ingested, Listener, ListenerStatus};
use crate::keys::{KeyBundle, SecretKey};
use crate::model::{Alert, DeviceObservation};
use crate::privacy::PatientIdKey;
use crate::store::{DeviceSeen, DeviceSummary, Store, StoreError, StoredRejected};

/// How many alerts a slow subscriber may fall behind before it is told it lagged.
const BUS_CAPACITY: usize = 4096;
/// The most messages written in one transaction.
const BATCH_MAX: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the console's writer thread could not start: {0}")]
    Writer(std::io::Error),
}

/// A running console. Cheap to share behind an `Arc`; [`Console::shutdown`]
/// stops it and waits until everything received is stored.
pub struct Console {
    data_dir: PathBuf,
    reader: Mutex<Store>,
    bus: broadcast::Sender<Arc<Alert>>,
    listeners: Vec<Arc<Listener>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    audit: Arc<Mutex<AuditStatus>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

impl Console {
    /// Opens the store and starts every listener. A listener that cannot bind
    /// is reported in [`Console::listeners`]; only a store that cannot open
    /// stops the start.
    pub async fn start(config: ConsoleConfig, keys: &KeyBundle) -> Result<Self, ConsoleError> {
        let mut writer_store = Store::open(&config.data_dir, &keys.database)?;
        writer_store.set_signer(keys.signing_key());
        let started = Entry::new(
            chrono::Utc::now(),
            "console",
            kind::CONSOLE_STARTED,
            &serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "listen": config.listen.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
            }),
        )
        .map_err(StoreError::from)?;
        writer_store.record([started])?;
        let reader = Store::open_read_only(&config.data_dir, &keys.database)?;
        let audit = Arc::new(Mutex::new(AuditStatus::verifying(&keys.verifying_key().to_bytes())));
        {
            let (audit, dir) = (audit.clone(), config.data_dir.clone());
            let key = SecretKey::from_bytes(*keys.database.expose());
            let public_key = keys.verifying_key().to_bytes();
            std::thread::Builder::new()
                .name("wardwatch-audit-check".into())
                .spawn(move || {
                    let status = AuditStatus::check_at_start(&dir, &key, &public_key);
                    match &status.damage {
                        None => tracing::info!(through = status.verified_through, "Audit log verified."),
                        Some(d) => tracing::error!(seq = d.seq, kind = %d.kind, detail = %d.detail, "Audit log damaged."),
                    }
                    *audit.lock().unwrap_or_else(PoisonError::into_inner) = status;
                })
                .map_err(ConsoleError::Writer)?;
        }
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let writer = {
            let bus = bus.clone();
            std::thread::Builder::new()
                .name("wardwatch-writer".into())
                .spawn(move || write_loop(writer_store, rx, &bus))
                .map_err(ConsoleError::Writer)?
        };
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let ingest_config = IngestConfig {
            data_dir: Some(config.data_dir.clone()),
            patient_key: Some(Arc::new(PatientIdKey::from_bytes(*keys.patient_id.expose()))),
            ..config.ingest.clone()
        };
        let mut listeners = Vec::with_capacity(config.listen.len());
        for url in &config.listen {
            listeners.push(
                ingest::spawn(url.clone(), ingest_config.clone(), tx.clone(), shutdown.clone(), &tasks).await,
            );
        }
        // From here on only the listeners hold senders: when they have all
        // stopped, the writer sees the channel close and finishes.
        drop(tx);
        Ok(Self {
            data_dir: config.data_dir,
            reader: Mutex::new(reader),
            bus,
            listeners,
            shutdown,
            tasks,
            writer: Mutex::new(Some(writer)),
            audit,
        })
    }

    /// What the check of the audit log at start found (or that it is running).
    pub fn audit_status(&self) -> AuditStatus {
        self.audit.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Every alert stored from now on, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Alert>> {
        self.bus.subscribe()
    }

    /// The newest `limit` stored alerts, newest first.
    pub fn recent_alerts(&self, limit: usize) -> Result<Vec<Alert>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.recent_alerts(limit)?)
    }

    /// The newest `limit` messages that could not be decoded, newest first.
    pub fn recent_rejected(&self, limit: usize) -> Result<Vec<StoredRejected>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.recent_rejected(limit)?)
    }

    /// What is known of the device at `ip` from records that are not alerts
    /// (last seen, event types, its `peer_limit` most recent peers).
    pub fn device_context(
        &self,
        ip: IpAddr,
        peer_limit: usize,
    ) -> Result<Option<DeviceSummary>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.device_context(ip, peer_limit)?)
    }

    /// The `limit` most recently seen devices, most recent first.
    pub fn devices(&self, limit: usize) -> Result<Vec<DeviceSeen>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.devices(limit)?)
    }

    /// The newest stored observation of each device (from HL7 device gateways).
    pub fn latest_device_observations(&self) -> Result<Vec<DeviceObservation>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.latest_device_observations()?)
    }

    /// Each listener's state and counters.
    pub fn listeners(&self) -> Vec<ListenerStatus> {
        self.listeners.iter().map(|l| l.status()).collect()
    }

    /// Stops listening, stores everything already received, and returns when
    /// the store is closed. Calling it again does nothing.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(writer) = writer {
            let joined = tokio::task::spawn_blocking(move || writer.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("The writer thread ended abnormally; see the log above.");
            }
        }
    }
}

/// The writer: takes what the listeners queued, in batches, appends each
/// batch in one transaction (alerts, rejected messages and device
/// observations alike), then announces the stored alerts.
fn write_loop(mut store: Store, mut rx: mpsc::Receiver<Ingested>, bus: &broadcast::Sender<Arc<Alert>>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        append_with_retry(&mut store, &mut batch, rx.is_closed());
        for item in batch.drain(..) {
            if let Ingested::Alert(alert) = item {
                // No subscribers is fine: the alert is stored.
                let _ = bus.send(Arc::new(alert));
            }
        }
    }
    stop(&mut store);
    tracing::info!("Writer stopped: everything received is stored.");
}

/// Appends `batch`, retrying with back-off while the store fails (a full disk,
/// a locked file): the listeners wait meanwhile, so nothing is lost. When the
/// console is stopping, it gives up after a few tries and says how much was lost.
fn append_with_retry(store: &mut Store, batch: &mut Vec<Ingested>, stopping: bool) {
    let mut delay = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match store.append(batch) {
            Ok(()) => return,
            Err(e) => {
                tries += 1;
                if stopping && tries >= 5 {
                    tracing::error!(error = %e, lost = batch.len(), "Store failed while stopping; messages lost.");
                    batch.clear();
                    return;
                }
                tracing::error!(error = %e, pending = batch.len(), retry_in_ms = delay.as_millis() as u64, "Store write failed; will retry.");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// A clean stop: a last record saying so, and a checkpoint signing the head.
fn stop(store: &mut Store) {
    let entry = Entry::new(chrono::Utc::now(), "console", kind::CONSOLE_STOPPED, &serde_json::json!({}));
    let recorded = match entry {
        Ok(entry) => store.record([entry]).map(|_| ()),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = recorded.and_then(|()| store.checkpoint().map(|_| ())) {
        tracing::error!(error = %e, "Could not sign the audit log's head at stop; the next start will verify it.");
    }
}
