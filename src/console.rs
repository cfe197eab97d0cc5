//! The console: owner of the store, the listeners and the alert bus.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::atna::{AtnaError, AtnaEvent, AtnaForwarder, AtnaStatus};
use crate::audit::{kind, AuditStatus, Entry};
use crate::config::ConsoleConfig;
use crate::ingest::{self, IngestConfig, Ingested, Listener, ListenerStatus, StoreUnavailable};
use crate::keys::{KeyBundle, SecretKey};
use crate::model::{Alert, DeviceObservation};
use crate::privacy::PatientIdKey;
use crate::store::{Committed, DeviceSeen, DeviceSummary, Store, StoreError, StoredRejected};

mod hospital;
mod incidents;
mod notifications;
mod people;
mod response;
mod simulation;

pub use incidents::IncidentDetail;
pub use notifications::NotifierCounters;
pub use response::{IncidentResponse, RequestDetail, RequestView, MANUAL};

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
    #[error("ATNA forwarding: {0}")]
    Atna(#[from] AtnaError),
    #[error("simulated hospital: {0}")]
    Simulate(String),
    #[error(transparent)]
    Rules(#[from] crate::incident::RulesError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Auth(#[from] crate::store::AuthError),
    #[error(transparent)]
    Catalogue(#[from] crate::response::CatalogueError),
    #[error("response: {0}")]
    Response(String),
}

/// Whether the writer is storing what the listeners queue, as the console
/// shows it (`wardwatch status`, the UI). While it is not, the writer retries
/// the same batch with back-off and the listeners wait: TCP stops reading
/// (back-pressure), UDP counts drops, HTTP answers 503 after a while, MLLP AE.
/// It recovers by itself when the cause goes (space is freed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// The last write succeeded (or none has been tried yet).
    pub ok: bool,
    /// Since when it has been so.
    pub since: DateTime<Utc>,
    /// While failing, what fails, in words (`disk full: ...`).
    pub error: Option<String>,
    /// While failing, how many messages wait: the batch being retried and
    /// what is queued behind it. Zero while writing.
    pub pending: usize,
    /// Records durably written since the console started.
    pub stored: u64,
    /// Transactions committed since the console started (each one fsync):
    /// `stored / batches` is the mean batch size.
    pub batches: u64,
    /// The largest batch committed since the console started.
    pub largest_batch: usize,
}

impl StoreHealth {
    fn new() -> Self {
        Self { ok: true, since: Utc::now(), error: None, pending: 0, stored: 0, batches: 0, largest_batch: 0 }
    }
}

/// A running console. Cheap to share behind an `Arc`; [`Console::shutdown`]
/// stops it and waits until everything received is stored.
pub struct Console {
    data_dir: PathBuf,
    reader: Mutex<Store>,
    /// People's changes (an import, a device assigned): a connection of its
    /// own, beside the writer's.
    people: Mutex<Store>,
    rules: crate::store::ViewRules,
    simulate: Option<String>,
    bus: broadcast::Sender<Arc<Alert>>,
    listeners: Vec<Arc<Listener>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    audit: Arc<Mutex<AuditStatus>>,
    health: Arc<Mutex<StoreHealth>>,
    atna: Option<Arc<AtnaForwarder>>,
    atna_stop: CancellationToken,
    atna_tasks: TaskTracker,
    /// Incidents people changed, for the notifier to evaluate again.
    notify_tx: Mutex<Option<std::sync::mpsc::Sender<Vec<i64>>>>,
    notifier: Mutex<Option<std::thread::JoinHandle<()>>>,
    notifier_stop: Arc<std::sync::atomic::AtomicBool>,
    notifier_counters: Arc<NotifierCounters>,
    /// Told of a click on an incident's desktop notification.
    open_hook: Arc<Mutex<Option<crate::notify::ClickHandler>>>,
    /// The audit log's check at start: joined before a stop returns, so the
    /// process never exits (and tears down the crypto library) under it.
    audit_check: Mutex<Option<std::thread::JoinHandle<()>>>,
    access: crate::config::AccessSettings,
    /// The response catalogue in force.
    catalogue: Arc<crate::response::Catalogue>,
    dispatch: Arc<response::Dispatch>,
    /// Wakes the dispatcher after a step people took.
    dispatch_wake: Arc<tokio::sync::Notify>,
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
        Self::start_with_notifier(config, keys, None).await
    }

    /// [`Console::start`], with notifications shown by `notifier` instead
    /// of the one the configuration says (the desktop, or the log).
    pub async fn start_with_notifier(
        mut config: ConsoleConfig,
        keys: &KeyBundle,
        notifier: Option<Arc<dyn crate::notify::Notifier>>,
    ) -> Result<Self, ConsoleError> {
        let simulation = simulation::prepare(&mut config)?;
        let policy = crate::notify::Policy::new(config.notifications.policy()?);
        let (incident_rules, rules_text) = crate::incident::Rules::load(&config.data_dir)?;
        let mut writer_store = Store::open(&config.data_dir, &keys.database)?;
        writer_store.set_signer(keys.signing_key());
        writer_store.set_incident_rules(incident_rules.clone());
        // The ATNA forwarder has its own stop, after the writer's: the
        // writer's last records (the console stopping) are forwarded too.
        let atna_stop = CancellationToken::new();
        let atna_tasks = TaskTracker::new();
        let atna = match &config.atna {
            None => None,
            Some(cfg) => {
                let forwarder = AtnaForwarder::spawn(cfg.clone(), atna_stop.clone(), &atna_tasks)?;
                let (f, ingest) = (forwarder.clone(), cfg.forward_ingest);
                writer_store.set_on_commit(Box::new(move |records| forward(&f, ingest, records)));
                Some(forwarder)
            }
        };
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
        // A configuration changed since the last start is recorded first.
        let previous = writer_store.last_settings()?;
        let settings = crate::audit::settings::entry(
            previous.as_ref().map(|(seq, body)| (*seq, body.as_slice())),
            writer_store.archived_through()? > 0,
            &config.settings(),
            chrono::Utc::now(),
        )
        .map_err(StoreError::from)?;
        if settings.is_some() && previous.is_some() {
            tracing::info!("The configuration changed since the last start; the change is in the audit log.");
        }
        let rules_changed = incidents::rules_entry(&writer_store, &config.data_dir, &rules_text)?;
        let (catalogue, catalogue_text) = crate::response::Catalogue::load(&config.data_dir)?;
        let catalogue_changed = incidents::file_entry(
            &writer_store,
            kind::RESPONSE_CATALOGUE,
            &config.data_dir.join(crate::response::CATALOGUE_FILE),
            crate::response::DEFAULT_CATALOGUE,
            &catalogue_text,
        )?;
        response::check_routes(&config.response, &catalogue)?;
        let catalogue = Arc::new(catalogue);
        let dispatch = Arc::new(response::Dispatch {
            adapters: crate::response::dispatch::Adapters::new(
                &config.response.adapters,
                &crate::response::dispatch::TokenStore::for_data_dir(&config.data_dir)
                    .map_err(|e| ConsoleError::Response(e.to_string()))?,
            )
            .map_err(|e| ConsoleError::Response(e.to_string()))?,
            routes: config.response.routes.clone(),
            retry: config.response.retry,
        });
        writer_store
            .record(settings.into_iter().chain(rules_changed).chain(catalogue_changed).chain([started]))?;
        let mut reader = Store::open_read_only(&config.data_dir, &keys.database)?;
        reader.set_incident_rules(incident_rules.clone());
        let mut people = Store::open(&config.data_dir, &keys.database)?;
        people.set_incident_rules(incident_rules.clone());
        let mut notices = Store::open(&config.data_dir, &keys.database)?;
        notices.set_incident_rules(incident_rules);
        let open_hook: Arc<Mutex<Option<crate::notify::ClickHandler>>> = Arc::default();
        let notifier: Arc<dyn crate::notify::Notifier> = match notifier {
            Some(n) => n,
            None if config.notifications.desktop => {
                let hook = open_hook.clone();
                Arc::new(crate::notify::DesktopNotifier::with_click_handler(Arc::new(move |id| {
                    if let Some(h) = hook.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                        h(id);
                    }
                })))
            }
            None => Arc::new(crate::notify::LogNotifier),
        };
        let (notify_tx, notify_rx) = std::sync::mpsc::channel();
        let notifier_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let notifier_counters = Arc::new(NotifierCounters::default());
        let notifier_thread = {
            let thread = notifications::NotifierThread {
                store: notices,
                rules: config.hospital.rules(),
                policy,
                notifier,
                stop: notifier_stop.clone(),
                counters: notifier_counters.clone(),
                view: notifications::View::stale(),
            };
            std::thread::Builder::new()
                .name("wardwatch-notifier".into())
                .spawn(move || thread.run(notify_rx))
                .map_err(ConsoleError::Writer)?
        };
        if simulation.is_some() {
            simulation::load_inventory(&mut people)?;
        }
        let audit = Arc::new(Mutex::new(AuditStatus::verifying(&keys.verifying_key().to_bytes())));
        let audit_check = {
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
                .map_err(ConsoleError::Writer)?
        };
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let health = Arc::new(Mutex::new(StoreHealth::new()));
        // The listeners, by URL, for the writer to count what it stored;
        // filled once they are started.
        let by_url: Arc<OnceLock<HashMap<String, Arc<Listener>>>> = Arc::default();
        let writer = {
            let writer = Writer {
                store: writer_store,
                bus: bus.clone(),
                health: health.clone(),
                listeners: by_url.clone(),
                incidents: notify_tx.clone(),
            };
            std::thread::Builder::new()
                .name("wardwatch-writer".into())
                .spawn(move || writer.run(rx))
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
        // Two listeners with the same URL (both on port 0) share one entry:
        // what they stored is counted on the first.
        let mut map = HashMap::new();
        for l in &listeners {
            map.entry(l.url().to_string()).or_insert_with(|| l.clone());
        }
        let _ = by_url.set(map);
        if let Some(p) = simulation {
            simulation::spawn(p, &listeners, shutdown.clone(), &tasks);
        }
        let dispatch_wake = Arc::new(tokio::sync::Notify::new());
        {
            let mut store = Store::open(&config.data_dir, &keys.database)?;
            store.set_incident_rules(crate::incident::Rules::load(&config.data_dir)?.0);
            let dispatcher = response::Dispatcher {
                store,
                catalogue: catalogue.clone(),
                dispatch: dispatch.clone(),
                rules: config.hospital.rules(),
                wake: dispatch_wake.clone(),
                stop: shutdown.clone(),
            };
            tasks.spawn(dispatcher.run());
        }
        // From here on only the listeners hold senders: when they have all
        // stopped, the writer sees the channel close and finishes.
        drop(tx);
        Ok(Self {
            data_dir: config.data_dir,
            reader: Mutex::new(reader),
            people: Mutex::new(people),
            rules: config.hospital.rules(),
            simulate: config.simulate,
            bus,
            listeners,
            shutdown,
            tasks,
            writer: Mutex::new(Some(writer)),
            audit,
            health,
            atna,
            atna_stop,
            atna_tasks,
            notify_tx: Mutex::new(Some(notify_tx)),
            notifier: Mutex::new(Some(notifier_thread)),
            notifier_stop,
            notifier_counters,
            open_hook,
            audit_check: Mutex::new(Some(audit_check)),
            access: config.access,
            catalogue,
            dispatch,
            dispatch_wake,
        })
    }

    /// The ATNA forwarder's state, when one is configured.
    pub fn atna_status(&self) -> Option<AtnaStatus> {
        self.atna.as_ref().map(|a| a.status())
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

    /// Whether the store is writing, and if not why and since when.
    pub fn store_health(&self) -> StoreHealth {
        self.health.lock().unwrap_or_else(PoisonError::into_inner).clone()
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
        // The writer has handed over its last incidents: a last round, then stop.
        self.notifier_stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(self.notify_tx.lock().unwrap_or_else(PoisonError::into_inner).take());
        let notifier = self.notifier.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(n) = notifier {
            if !matches!(tokio::task::spawn_blocking(move || n.join()).await, Ok(Ok(()))) {
                tracing::error!("The notifier thread ended abnormally; see the log above.");
            }
        }
        let check = self.audit_check.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(check) = check {
            if !matches!(tokio::task::spawn_blocking(move || check.join()).await, Ok(Ok(()))) {
                tracing::error!("The audit check thread ended abnormally; see the log above.");
            }
        }
        self.atna_stop.cancel();
        self.atna_tasks.close();
        self.atna_tasks.wait().await;
    }
}

/// How long the writer waits before retrying a failed batch, at first and at most.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The writer thread: takes what the listeners queued, in batches, appends
/// each batch in one transaction (alerts, rejected messages and device
/// observations alike; one fsync per batch: group commit), and only then
/// answers the batch's [`Ingested::Flush`]es, counts what each listener
/// stored and announces the stored alerts. So whatever a listener
/// acknowledges after its flush is answered is durable.
struct Writer {
    store: Store,
    bus: broadcast::Sender<Arc<Alert>>,
    health: Arc<Mutex<StoreHealth>>,
    listeners: Arc<OnceLock<HashMap<String, Arc<Listener>>>>,
    /// The notifier: told of the incidents each batch changed.
    incidents: std::sync::mpsc::Sender<Vec<i64>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Ingested>) {
        let mut batch = Vec::with_capacity(BATCH_MAX);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < BATCH_MAX {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let outcome = self.append_with_retry(&mut batch, &rx);
            let touched = self.store.take_touched_incidents();
            // A notifier that has stopped is fine: the incidents are stored.
            if !touched.is_empty() {
                let _ = self.incidents.send(touched);
            }
            self.settle(&mut batch, &outcome);
        }
        stop(&mut self.store);
        tracing::info!("Writer stopped: everything received is stored.");
    }

    /// Appends `batch`, retrying with back-off while the store fails (a full
    /// disk, a locked file): the listeners wait meanwhile, so nothing is lost.
    /// Health is published when it starts failing, on each retry, and when it
    /// recovers; the failure and the recovery are logged once each. When the
    /// console is stopping, it gives up after a few tries and says how much
    /// was lost.
    fn append_with_retry(
        &mut self,
        batch: &mut [Ingested],
        rx: &mpsc::Receiver<Ingested>,
    ) -> Result<(), StoreUnavailable> {
        let mut delay = RETRY_FIRST;
        let mut tries = 0;
        loop {
            let e = match self.store.append(batch) {
                Ok(()) => {
                    self.recovered(batch.len());
                    return Ok(());
                }
                Err(e) => e,
            };
            tries += 1;
            let why = describe(&e, self.store.path());
            // Flush requests are not messages.
            let pending = batch.iter().filter(|i| !matches!(i, Ingested::Flush(_))).count() + rx.len();
            if rx.is_closed() && tries >= 5 {
                tracing::error!(error = %why, lost = batch.len(), "Store failed while stopping; messages lost.");
                self.failing(&why, pending);
                return Err(StoreUnavailable(why));
            }
            if self.failing(&why, pending) {
                tracing::error!(error = %why, pending, "Store cannot write; ingest waits (TCP back-pressure, UDP drops counted, HTTP 503, MLLP AE) and retries until it can.");
            } else {
                tracing::debug!(error = %why, pending, retry_in_ms = delay.as_millis() as u64, "Store write failed again; will retry.");
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    /// Marks the store failing with `why`; true when it was writing until now.
    fn failing(&self, why: &str, pending: usize) -> bool {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        let started = h.ok;
        if started {
            h.ok = false;
            h.since = Utc::now();
        }
        h.error = Some(why.to_owned());
        h.pending = pending;
        started
    }

    /// Counts a committed batch of `n` items; logs a recovery once.
    fn recovered(&self, n: usize) {
        let mut h = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        h.batches += 1;
        h.largest_batch = h.largest_batch.max(n);
        if !h.ok {
            let failed_for = Utc::now().signed_duration_since(h.since);
            tracing::warn!(
                failed_for_s = failed_for.num_seconds(),
                error = h.error.as_deref().unwrap_or("-"),
                "Store writing again: the waiting messages are stored."
            );
            h.ok = true;
            h.since = Utc::now();
            h.error = None;
            h.pending = 0;
        }
    }

    /// After the batch's transaction: answers its flushes, counts what each
    /// listener stored, announces the alerts; empties the batch.
    fn settle(&self, batch: &mut Vec<Ingested>, outcome: &Result<(), StoreUnavailable>) {
        let listeners = self.listeners.get();
        // Consecutive records mostly come from one listener: look it up once per run.
        let mut run: Option<(String, u64)> = None;
        let mut records = 0u64;
        let count = |run: &mut Option<(String, u64)>, url: Option<&String>| {
            let (Some(map), Some(url)) = (listeners, url) else { return };
            match run {
                Some((u, n)) if u == url => *n += 1,
                _ => {
                    if let Some((u, n)) = run.take() {
                        if let Some(l) = map.get(&u) {
                            l.count_stored(n);
                        }
                    }
                    *run = Some((url.clone(), 1));
                }
            }
        };
        for item in batch.drain(..) {
            match item {
                Ingested::Flush(reply) => {
                    // A listener that stopped waiting is fine: what it queued is stored.
                    let _ = reply.send(outcome.clone());
                }
                _ if outcome.is_err() => {}
                Ingested::Alert(alert) => {
                    records += 1;
                    count(&mut run, alert.listener.as_ref());
                    // No subscribers is fine: the alert is stored.
                    let _ = self.bus.send(Arc::new(alert));
                }
                Ingested::Rejected(r) => {
                    records += 1;
                    count(&mut run, r.listener.as_ref());
                }
                Ingested::Device(d) => {
                    records += 1;
                    count(&mut run, d.listener.as_ref());
                }
                Ingested::Context(_) => records += 1,
            }
        }
        if let (Some((u, n)), Some(map)) = (run, listeners) {
            if let Some(l) = map.get(&u) {
                l.count_stored(n);
            }
        }
        if records > 0 {
            self.health.lock().unwrap_or_else(PoisonError::into_inner).stored += records;
        }
    }
}

/// Offers committed audit records to the ATNA forwarder: what people and
/// the console do, and received messages only when `ingest` is set.
fn forward(forwarder: &AtnaForwarder, ingest: bool, records: &[Committed]) {
    for r in records {
        let is_ingest =
            [kind::ALERT_RECEIVED, kind::ALERT_REJECTED, kind::DEVICE_OBSERVED].contains(&r.kind.as_str());
        if is_ingest && !ingest {
            continue;
        }
        forwarder.offer(AtnaEvent {
            seq: r.seq,
            at: r.at,
            actor: r.actor.clone(),
            kind: r.kind.clone(),
            success: r.kind != kind::ALERT_REJECTED,
            object: r.object.clone(),
            summary: r.summary.clone(),
        });
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

/// A store error in words a person can act on: a full disk says so first.
fn describe(e: &StoreError, db: &Path) -> String {
    if let StoreError::Sqlite { source: rusqlite::Error::SqliteFailure(f, msg), .. } = e {
        let sqlite = msg.clone().unwrap_or_else(|| f.to_string());
        let dir = db.parent().unwrap_or(db).display();
        if f.code == rusqlite::ErrorCode::DiskFull {
            return format!("disk full: no space left on the device holding {dir} (SQLite: {sqlite})");
        }
        if f.code == rusqlite::ErrorCode::SystemIoFailure {
            return format!(
                "disk I/O error writing in {dir} (SQLite: {sqlite}; extended code {})",
                f.extended_code
            );
        }
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;
    use crate::normalize::{self, Receipt};
    use tokio::sync::oneshot;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn alert(text: &str) -> Result<Ingested, Box<dyn std::error::Error>> {
        let receipt = Receipt { received_at: Utc::now(), source_addr: None, listener: None };
        let raw = format!("<11>1 2024-05-01T10:00:00Z gw app 12 BEACON - {text}");
        Ok(Ingested::Alert(normalize::decode(Format::Rfc5424, raw.as_bytes(), &receipt)?))
    }

    #[test]
    fn a_flush_is_answered_once_everything_queued_before_it_is_committed() -> TestResult {
        let dir = tempfile::tempdir()?;
        let health = Arc::new(Mutex::new(StoreHealth::new()));
        let writer = Writer {
            store: Store::open(dir.path(), &crate::keys::SecretKey::from_bytes([3; 32]))?,
            bus: broadcast::channel(16).0,
            health: health.clone(),
            listeners: Arc::default(),
            incidents: std::sync::mpsc::channel().0,
        };
        let (tx, rx) = mpsc::channel(64);
        let thread = std::thread::spawn(move || writer.run(rx));
        for i in 0..3 {
            tx.blocking_send(alert(&format!("a{i}"))?)?;
        }
        let (reply, answer) = oneshot::channel();
        tx.blocking_send(Ingested::Flush(reply))?;
        assert_eq!(answer.blocking_recv()?, Ok(()));
        // Answered: the alerts are committed, visible to another connection.
        assert_eq!(
            Store::open_read_only(dir.path(), &crate::keys::SecretKey::from_bytes([3; 32]))?.counts()?.0,
            3
        );
        let h = health.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert!(h.ok && h.error.is_none(), "{h:?}");
        assert_eq!(h.stored, 3, "a flush is not a record");
        assert!(h.batches >= 1 && h.largest_batch <= 4, "{h:?}");
        drop(tx);
        thread.join().map_err(|_| "the writer panicked")?;
        Ok(())
    }

    #[test]
    fn a_full_disk_is_named_first() {
        let full = StoreError::Sqlite {
            path: "/data/wardwatch.db".into(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                Some("database or disk is full".into()),
            ),
        };
        assert_eq!(
            describe(&full, Path::new("/data/wardwatch.db")),
            "disk full: no space left on the device holding /data (SQLite: database or disk is full)"
        );
        let missing = StoreError::Missing("/nowhere".into());
        assert_eq!(describe(&missing, Path::new("/nowhere/wardwatch.db")), missing.to_string());
    }
}
