//! The background task that delivers audit messages to the repository.
//!
//! The caller's side is [`AtnaForwarder::offer`]: a `try_send` on a bounded
//! queue, which never waits; a full queue counts a drop. The task takes
//! what is queued (up to [`BATCH`] events), formats each as one
//! octet-counted frame, and writes them, then flushes, on a TLS connection
//! it keeps open. When the connection cannot be made or breaks, the batch
//! is kept and retried after a back-off that doubles from
//! [`MIN_BACKOFF`] to [`MAX_BACKOFF`]. At shutdown, what is queued is sent
//! within the configured bound; what is left is counted as dropped.
//!
//! Syslog has no acknowledgements: a frame counts as sent once the TLS
//! stream has flushed it to the kernel. Before each write the task checks
//! whether the repository closed the connection, so a restarted repository
//! does not swallow the next event; a frame written into a connection that
//! dies at that very moment can still be lost (RFC 5425 cannot tell).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::message::{audit_message_xml, octet_counted, syslog_message};
use super::{AtnaConfig, AtnaEvent};
use crate::ingest::{tls_read_certs, tls_read_key, TlsError};

/// The first wait after a failed attempt.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a TCP connection and TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many frames are written before one flush.
pub const BATCH: usize = 64;
/// How long one batch of frames may take to write.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After a handshake, how long to watch for the repository refusing this
/// node (with TLS 1.3 a refused client certificate shows only after the
/// client's side of the handshake has finished).
pub const SETTLE: Duration = Duration::from_millis(200);
/// At most one warning per this long for drops, and for repeated failures.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Why the forwarder could not start. Names the file and the problem; never
/// shows key material.
#[derive(Debug, thiserror::Error)]
pub enum AtnaError {
    #[error("{0}")]
    Config(String),
    #[error("atna: {0}")]
    Tls(#[from] TlsError),
}

/// What the forwarder has done since it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtnaStatus {
    /// The repository, `tls://HOST:PORT`.
    pub url: String,
    /// Whether a connection to the repository is open now.
    pub connected: bool,
    /// Events waiting in the queue.
    pub queued: usize,
    /// Messages written to the repository.
    pub sent: u64,
    /// Attempts that failed (connection, handshake or write); the event
    /// concerned is retried.
    pub failed: u64,
    /// Events that will never be sent: the queue was full, or shutdown's
    /// bound passed before they went. They remain in the audit log.
    pub dropped: u64,
    /// The last failure, for a person to read.
    pub last_error: Option<String>,
}

/// Builds the TLS client configuration: the repository must present a
/// certificate that chains to `ca_file` and names the URL's host; this node
/// presents `client_cert_file` when set (ATNA node authentication).
pub fn client_config(cfg: &AtnaConfig) -> Result<Arc<ClientConfig>, AtnaError> {
    const CA: &str = "CA file";
    const CERT: &str = "client certificate file";
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in tls_read_certs(CA, &cfg.ca_file)? {
        roots.add(cert).map_err(|e| TlsError::Invalid {
            what: CA,
            path: cfg.ca_file.clone(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid { what: CA, path: cfg.ca_file.clone(), reason: e.to_string() })?
        .with_root_certificates(roots);
    let config = match (&cfg.client_cert_file, &cfg.client_key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(tls_read_certs(CERT, cert)?, tls_read_key(key)?)
            .map_err(|e| TlsError::Invalid {
                what: "key file",
                path: key.clone(),
                reason: format!("does not go with the certificate in {}: {e}", cert.display()),
            })?,
        _ => {
            return Err(AtnaError::Config(
                "atna.client_cert_file and atna.client_key_file go together: set both or neither".into(),
            ))
        }
    };
    Ok(Arc::new(config))
}

/// Forwards audit events to an IHE Audit Record Repository.
pub struct AtnaForwarder {
    tx: mpsc::Sender<AtnaEvent>,
    shared: Arc<Shared>,
}

struct Shared {
    url: String,
    capacity: usize,
    connected: AtomicBool,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    last_error: Mutex<Option<String>>,
    drop_log: RateLimit,
    fail_log: RateLimit,
}

impl Shared {
    fn dropped(&self, n: u64, why: &'static str) {
        let total = self.dropped.fetch_add(n, Ordering::Relaxed) + n;
        if self.drop_log.allow() {
            tracing::warn!(
                repository = %self.url,
                dropped = total,
                queue_capacity = self.capacity,
                why,
                "ATNA audit events not forwarded; they remain in the audit log."
            );
        }
    }

    fn failed(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.connected.store(false, Ordering::Relaxed);
        let changed = match self.last_error.lock() {
            Ok(mut last) => {
                let changed = last.as_deref() != Some(error.as_str());
                *last = Some(error.clone());
                changed
            }
            Err(_) => true,
        };
        if changed || self.fail_log.allow() {
            tracing::warn!(repository = %self.url, error = %error, "ATNA forwarding failed; retrying.");
        }
    }
}

/// Lets through one call per [`LOG_EVERY`].
struct RateLimit(Mutex<Option<Instant>>);

impl RateLimit {
    fn new() -> Self {
        Self(Mutex::new(None))
    }

    fn allow(&self) -> bool {
        let Ok(mut last) = self.0.lock() else { return true };
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}

impl AtnaForwarder {
    /// Reads the certificate files and starts the task on `tasks`; it runs
    /// until `shutdown`, then sends what is queued within
    /// `cfg.shutdown_flush_ms`. Fails, naming the file and the problem, when
    /// the configuration cannot be used; never fails because the repository
    /// is away (that is retried).
    pub fn spawn(
        cfg: AtnaConfig,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Result<Arc<Self>, AtnaError> {
        cfg.validate().map_err(AtnaError::Config)?;
        let tls = client_config(&cfg)?;
        let server_name = ServerName::try_from(cfg.url.host.clone())
            .map_err(|e| AtnaError::Config(format!("atna.url: {e}")))?;
        let host = cfg.hostname.clone().unwrap_or_else(system_hostname);
        let shared = Arc::new(Shared {
            url: cfg.url.to_string(),
            capacity: cfg.queue_capacity,
            connected: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_error: Mutex::new(None),
            drop_log: RateLimit::new(),
            fail_log: RateLimit::new(),
        });
        let (tx, rx) = mpsc::channel(cfg.queue_capacity);
        let worker = Worker {
            connector: TlsConnector::from(tls),
            server_name,
            host,
            procid: std::process::id(),
            cfg,
            shared: shared.clone(),
            conn: None,
        };
        tasks.spawn(worker.run(rx, shutdown));
        Ok(Arc::new(Self { tx, shared }))
    }

    /// Queues `event` for the repository. Never waits: when the queue is
    /// full, or the forwarder has stopped, the event is counted as dropped.
    pub fn offer(&self, event: AtnaEvent) {
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.shared.dropped(1, "queue full"),
            Err(mpsc::error::TrySendError::Closed(_)) => self.shared.dropped(1, "forwarder stopped"),
        }
    }

    pub fn status(&self) -> AtnaStatus {
        let s = &self.shared;
        AtnaStatus {
            url: s.url.clone(),
            connected: s.connected.load(Ordering::Relaxed),
            queued: s.capacity.saturating_sub(self.tx.capacity()),
            sent: s.sent.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            last_error: s.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}

/// The machine's host name (Linux), or `localhost`.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

struct Worker {
    connector: TlsConnector,
    server_name: ServerName<'static>,
    host: String,
    procid: u32,
    cfg: AtnaConfig,
    shared: Arc<Shared>,
    conn: Option<TlsStream<TcpStream>>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<AtnaEvent>, shutdown: CancellationToken) {
        // Frames taken from the queue and not yet written: kept until they are.
        let mut batch: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
        let mut backoff = MIN_BACKOFF;
        loop {
            if batch.is_empty() {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    event = rx.recv() => match event {
                        Some(event) => batch.push(self.frame(&event)),
                        None => break,
                    },
                }
                while batch.len() < BATCH {
                    let Ok(event) = rx.try_recv() else { break };
                    batch.push(self.frame(&event));
                }
            }
            // Shutdown does not wait for a connection attempt or a stalled
            // write: the flush below has its own bound.
            let delivered = tokio::select! {
                biased;
                r = self.deliver(&batch) => r,
                () = shutdown.cancelled() => {
                    // A frame may be half written: that connection is done.
                    self.conn = None;
                    break;
                }
            };
            match delivered {
                Ok(()) => {
                    batch.clear();
                    backoff = MIN_BACKOFF;
                }
                Err(e) => {
                    self.shared.failed(e);
                    tokio::select! {
                        biased;
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.flush(batch, rx).await;
    }

    /// Sends what is left, within the configured bound; counts the rest as dropped.
    async fn flush(mut self, mut left: Vec<Vec<u8>>, mut rx: mpsc::Receiver<AtnaEvent>) {
        rx.close();
        while let Ok(event) = rx.try_recv() {
            left.push(self.frame(&event));
        }
        let total = left.len();
        let mut done = 0;
        let bound = self.cfg.shutdown_flush();
        let _ = tokio::time::timeout(bound, async {
            let mut backoff = MIN_BACKOFF;
            while done < total {
                let batch = &left[done..total.min(done + BATCH)];
                match self.deliver(batch).await {
                    Ok(()) => done += batch.len(),
                    Err(e) => {
                        self.shared.failed(e);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
            if let Some(conn) = self.conn.as_mut() {
                // close_notify, so the repository sees a clean end.
                let _ = conn.shutdown().await;
            }
        })
        .await;
        self.shared.connected.store(false, Ordering::Relaxed);
        if done < total {
            self.shared.dropped((total - done) as u64, "shutdown bound passed");
        }
        tracing::debug!(repository = %self.shared.url, sent = done, left = total - done, "ATNA forwarder stopped.");
    }

    fn frame(&self, event: &AtnaEvent) -> Vec<u8> {
        let xml = audit_message_xml(event, &self.cfg, &self.host);
        octet_counted(&syslog_message(event, &xml, &self.host, self.procid))
    }

    /// Writes the frames, then flushes once, connecting first when needed.
    /// On error none counts as sent (some may have arrived: the retry may
    /// repeat them).
    async fn deliver(&mut self, frames: &[Vec<u8>]) -> Result<(), String> {
        if let Some(conn) = self.conn.as_mut() {
            if let Some(why) = closed(conn) {
                tracing::debug!(repository = %self.shared.url, why, "ATNA connection closed; reconnecting.");
                self.conn = None;
                self.shared.connected.store(false, Ordering::Relaxed);
            }
        }
        let conn = match self.conn.take() {
            Some(conn) => self.conn.insert(conn),
            None => {
                let conn = tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
                    .await
                    .map_err(|_| format!("connecting to {} timed out", self.shared.url))??;
                self.shared.connected.store(true, Ordering::Relaxed);
                tracing::info!(repository = %self.shared.url, "ATNA connected to the audit record repository.");
                self.conn.insert(conn)
            }
        };
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            for frame in frames {
                conn.write_all(frame).await?;
            }
            conn.flush().await
        })
        .await;
        let error = match written {
            Ok(Ok(())) => {
                self.shared.sent.fetch_add(frames.len() as u64, Ordering::Relaxed);
                return Ok(());
            }
            Ok(Err(e)) => format!("writing to {}: {e}", self.shared.url),
            Err(_) => format!("writing to {} timed out", self.shared.url),
        };
        self.conn = None;
        Err(error)
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, String> {
        let url = &self.shared.url;
        let tcp = TcpStream::connect((self.cfg.url.host.as_str(), self.cfg.url.port))
            .await
            .map_err(|e| format!("connecting to {url}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let mut conn = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS handshake with {url}: {e}"))?;
        // A repository that refuses this node's certificate says so right
        // after the handshake (TLS 1.3) and closes.
        let mut buf = [0u8; 256];
        match tokio::time::timeout(SETTLE, conn.read(&mut buf)).await {
            Err(_) | Ok(Ok(1..)) => Ok(conn),
            Ok(Ok(0)) => Err(format!("{url} closed the connection right after the TLS handshake")),
            Ok(Err(e)) => Err(format!("TLS handshake with {url}: {e}")),
        }
    }
}

/// Whether the repository has closed the connection (it sends nothing
/// otherwise): `Some(why)` when closed. Reads without waiting.
fn closed(conn: &mut TlsStream<TcpStream>) -> Option<String> {
    let mut buf = [0u8; 256];
    loop {
        // One poll, no timer (a zero timeout would still wait for the timer
        // wheel's next tick); `read` is cancel-safe.
        match conn.read(&mut buf).now_or_never() {
            None => return None,
            Some(Ok(0)) => return Some("end of stream".to_owned()),
            Some(Ok(_)) => continue, // unexpected bytes from the repository: ignored
            Some(Err(e)) => return Some(e.to_string()),
        }
    }
}
