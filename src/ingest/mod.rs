//! Listeners: sockets in, [`Ingested`] records out on a bounded channel.
//!
//! Listeners never parse by hand: they frame with [`crate::codec::framing`]
//! and decode with [`crate::normalize`]. TCP applies back-pressure when the
//! channel is full (it stops reading); UDP cannot, so it counts each datagram
//! it could not queue. Every frame is accounted for in [`Counters`].

mod counters;
mod eve_file;
mod http;
mod mllp;
mod sources;
mod tcp;
mod tls;
mod udp;
mod url;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use counters::{CounterSnapshot, Counters};
pub use http::{sha256_hex, HttpConfig, NewToken, TokenConfigError, TokenEntry, ALERTS_PATH, TOKEN_PREFIX};
use sources::{Outcome, Tables};
pub use sources::{ReasonCount, SourceCounts, SourceStatus, MAX_REASONS, MAX_SOURCES, OTHER_REASONS};
pub use tls::{server_config as tls_server_config, TlsError, TlsFiles};
// Read PEM files for the ATNA client (src/atna), with the same errors as the listeners.
pub(crate) use tls::{read_certs as tls_read_certs, read_key as tls_read_key};
pub use url::{Endpoint, ListenUrl, ListenUrlError, Transport};

use crate::model::{Alert, DeviceContext, DeviceObservation, Format, RawMessage};
use crate::normalize::{self, AutoDecoded, Receipt};

/// Limits that apply to every listener.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Longest message accepted, in bytes; longer ones are counted as oversize.
    pub max_message_bytes: usize,
    /// Most TCP connections open at once per listener; more are refused and counted.
    pub max_connections: usize,
    /// A TCP connection that sends nothing for this long is closed (the
    /// sender reconnects when it has something to say); `None` never closes.
    pub idle_timeout: Option<std::time::Duration>,
    /// The console's data directory, for listeners that keep state of their
    /// own (a followed file's position, keys); set by the console.
    pub data_dir: Option<std::path::PathBuf>,
    /// The server certificate and key (and optional client CA) for `tls://`
    /// listeners, from the `[tls]` table; a `tls://` listener without them
    /// fails to start.
    pub tls: Option<TlsFiles>,
    /// The HTTP listener's bearer tokens.
    pub http: HttpConfig,
    /// The console's key for hashing patient identifiers (MLLP listeners);
    /// set by the console from its key bundle.
    pub patient_key: Option<std::sync::Arc<crate::privacy::PatientIdKey>>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            max_connections: 1024,
            idle_timeout: Some(std::time::Duration::from_secs(600)),
            data_dir: None,
            patient_key: None,
            tls: None,
            http: HttpConfig::default(),
        }
    }
}

/// A message that could not be decoded, kept raw with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub received_at: DateTime<Utc>,
    pub source_addr: Option<SocketAddr>,
    pub listener: Option<String>,
    pub format: Option<Format>,
    pub error: String,
    #[serde(flatten)]
    pub raw: RawMessage,
}

/// The store could not make what was queued durable: the console is
/// stopping and gave up on a batch that kept failing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the store is unavailable: {0}")]
pub struct StoreUnavailable(pub String);

/// How the writer answers an [`Ingested::Flush`].
pub type FlushReply = oneshot::Sender<Result<(), StoreUnavailable>>;

/// What listeners hand on to the store.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every item is an alert: boxing it would cost an allocation per message to save space only on the rare rejection"
)]
pub enum Ingested {
    Alert(Alert),
    Rejected(Rejected),
    /// A device seen on the network by a record that is not an alert
    /// (Suricata flows, DNS, TLS, ...): kept as context on the device.
    Context(DeviceContext),
    /// What a device gateway said about a device (HL7 over MLLP): context
    /// for the device's clinical-use state, not an alert.
    Device(DeviceObservation),
    /// Not a record: asks the writer to answer once everything queued
    /// before it by the same sender is durable. The writer answers after the
    /// transaction of the batch holding it has committed; a channel keeps
    /// each sender's order, so what that sender queued earlier is in that
    /// batch or an earlier one. The store ignores it. Send one per request
    /// or message to acknowledge, not one per record: see [`durable`].
    Flush(FlushReply),
}

/// What one syslog frame puts on the queue, in order: nearly always one
/// item (an alert, a rejection); an EVE record of device context gives its
/// sightings instead (none, one or two). The listener counts the frame once,
/// and at most one drop for it, whatever the number of items.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every frame is one alert: boxing it would cost an allocation per message"
)]
enum FrameItems {
    One(Option<Ingested>),
    Context(std::vec::IntoIter<DeviceContext>),
}

impl FrameItems {
    fn one(item: Ingested) -> Self {
        Self::One(Some(item))
    }
}

impl Iterator for FrameItems {
    type Item = Ingested;

    fn next(&mut self) -> Option<Ingested> {
        match self {
            Self::One(item) => item.take(),
            Self::Context(sightings) => sightings.next().map(Ingested::Context),
        }
    }
}

/// Why [`durable`] could not confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotDurable {
    /// The store did not write within the bound (it is failing: a full disk,
    /// a locked file; or the queue stayed full). What was queued stays
    /// queued and is written when the store recovers.
    TimedOut,
    /// The console is stopping: the writer is gone or gave up.
    Stopped(String),
}

/// Queues `items` and then a [`Ingested::Flush`], and waits until the writer
/// says they are durable, at most until `deadline`. Returns how many of
/// `items` were queued along with the outcome (all of them on success).
pub(crate) async fn queue_durably(
    tx: &mpsc::Sender<Ingested>,
    items: impl IntoIterator<Item = Ingested>,
    deadline: tokio::time::Instant,
) -> (usize, Result<(), NotDurable>) {
    let mut queued = 0;
    for item in items {
        match tokio::time::timeout_at(deadline, tx.send(item)).await {
            Ok(Ok(())) => queued += 1,
            Ok(Err(_)) => return (queued, Err(NotDurable::Stopped("the store has stopped".into()))),
            Err(_) => return (queued, Err(NotDurable::TimedOut)),
        }
    }
    (queued, durable(tx, deadline).await)
}

/// Waits until everything `tx` queued so far is durable, at most until `deadline`.
pub(crate) async fn durable(
    tx: &mpsc::Sender<Ingested>,
    deadline: tokio::time::Instant,
) -> Result<(), NotDurable> {
    let (reply, answer) = oneshot::channel();
    match tokio::time::timeout_at(deadline, tx.send(Ingested::Flush(reply))).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(NotDurable::Stopped("the store has stopped".into())),
        Err(_) => return Err(NotDurable::TimedOut),
    }
    match tokio::time::timeout_at(deadline, answer).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(NotDurable::Stopped(e.0)),
        Ok(Err(_)) => Err(NotDurable::Stopped("the store has stopped".into())),
        Err(_) => Err(NotDurable::TimedOut),
    }
}

/// A listener's life, as shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    Starting,
    Listening,
    Failed,
    Stopped,
}

/// A listener's state and counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ListenerStatus {
    pub url: String,
    pub bound_addr: Option<SocketAddr>,
    pub state: ListenerState,
    pub error: Option<String>,
    pub counters: CounterSnapshot,
    /// The same counts per sending host, busiest first (bounded, see [`MAX_SOURCES`]).
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    /// Rejections by reason, most frequent first (bounded, see [`MAX_REASONS`]).
    #[serde(default)]
    pub rejected_by_reason: Vec<ReasonCount>,
}

/// One listener's shared state: what it is bound to, how it is, what it counted.
#[derive(Debug)]
pub struct Listener {
    url: ListenUrl,
    inner: Mutex<ListenerInner>,
    counters: Counters,
    tables: Tables,
}

#[derive(Debug)]
struct ListenerInner {
    bound_addr: Option<SocketAddr>,
    state: ListenerState,
    error: Option<String>,
}

impl Listener {
    fn new(url: ListenUrl) -> Self {
        Self {
            url,
            inner: Mutex::new(ListenerInner {
                bound_addr: None,
                state: ListenerState::Starting,
                error: None,
            }),
            counters: Counters::default(),
            tables: Tables::default(),
        }
    }

    pub fn url(&self) -> &ListenUrl {
        &self.url
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Counts `n` records of this listener durably written (by the writer).
    pub(crate) fn count_stored(&self, n: u64) {
        self.counters.stored(n);
    }

    pub fn status(&self) -> ListenerStatus {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        ListenerStatus {
            url: self.url.to_string(),
            bound_addr: inner.bound_addr,
            state: inner.state,
            error: inner.error.clone(),
            counters: self.counters.snapshot(),
            sources: self.tables.sources(),
            rejected_by_reason: self.tables.reasons(),
        }
    }

    fn set(&self, state: ListenerState, bound_addr: Option<SocketAddr>, error: Option<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.state = state;
        if bound_addr.is_some() {
            inner.bound_addr = bound_addr;
        }
        inner.error = error;
    }

    /// Counts one outcome for the listener and for the source it came from
    /// (`None` for no network peer, as a followed file).
    fn count(&self, source: Option<IpAddr>, outcome: Outcome) -> u64 {
        self.tables.count(source, outcome);
        match outcome {
            Outcome::Received => self.counters.received(),
            Outcome::Parsed => self.counters.parsed(),
            Outcome::Rejected => self.counters.rejected(),
            Outcome::Oversize => self.counters.oversize(),
            Outcome::Dropped => return self.counters.dropped(),
        }
        0
    }

    /// Counts a rejection, for the source and under its reason (a category
    /// such as `rfc5424: priority is over 191`, without offsets).
    fn count_rejected(&self, source: Option<IpAddr>, reason: &str) {
        self.count(source, Outcome::Rejected);
        self.tables.reason(reason);
    }

    /// Counts a record parsed into device context (EVE flows, DNS, ...; HL7
    /// device observations) rather than an alert: parsed, and context.
    fn count_context(&self, source: Option<IpAddr>) {
        self.tables.count(source, Outcome::Parsed);
        self.counters.context();
    }

    /// Counts a message that was decoded but could not be queued; returns how
    /// many this listener has dropped.
    fn count_dropped(&self, source: Option<IpAddr>) -> u64 {
        self.count(source, Outcome::Dropped)
    }

    /// Decodes one frame into what goes to the store, counting the outcome:
    /// an alert or a rejection, or for an EVE record of device context
    /// (Suricata writing EVE to syslog) its sightings, counted as parsed and
    /// as context.
    fn decode(&self, raw: &[u8], source_addr: SocketAddr) -> FrameItems {
        let source = Some(source_addr.ip());
        let receipt = Receipt {
            received_at: Utc::now(),
            source_addr: Some(source_addr),
            listener: Some(self.url.to_string()),
        };
        match normalize::decode_auto(raw, &receipt) {
            Ok(AutoDecoded::Alert(_, alert)) => {
                // The common case: arrival and fate under one lock.
                self.tables.count_all(source, &[Outcome::Received, Outcome::Parsed]);
                self.counters.received();
                self.counters.parsed();
                FrameItems::one(Ingested::Alert(alert))
            }
            Ok(AutoDecoded::Context { sightings, .. }) => {
                self.count(source, Outcome::Received);
                self.count_context(source);
                FrameItems::Context(sightings.into_iter())
            }
            Err(e) => {
                self.count(source, Outcome::Received);
                self.count_rejected(source, &format!("{}: {}", e.format, e.reason));
                tracing::debug!(listener = %self.url, peer = %source_addr, offset = e.offset, reason = %e.reason, "Message rejected; kept raw.");
                FrameItems::one(Ingested::Rejected(Rejected {
                    received_at: receipt.received_at,
                    source_addr: receipt.source_addr,
                    listener: receipt.listener,
                    format: Some(e.format),
                    error: e.to_string(),
                    raw: RawMessage(raw.to_vec()),
                }))
            }
        }
    }

    /// Keeps bytes the framer could not frame, with the reason.
    fn malformed(&self, raw: &[u8], source_addr: SocketAddr, reason: &str) -> Ingested {
        self.count(Some(source_addr.ip()), Outcome::Received);
        self.count_rejected(Some(source_addr.ip()), &format!("framing: {reason}"));
        tracing::debug!(listener = %self.url, peer = %source_addr, reason, "Unframeable bytes kept raw.");
        Ingested::Rejected(Rejected {
            received_at: Utc::now(),
            source_addr: Some(source_addr),
            listener: Some(self.url.to_string()),
            format: None,
            error: format!("framing: {reason}"),
            raw: RawMessage(raw.to_vec()),
        })
    }

    fn oversize(&self, len: usize, source_addr: SocketAddr, max: usize) {
        self.count(Some(source_addr.ip()), Outcome::Received);
        self.count(Some(source_addr.ip()), Outcome::Oversize);
        tracing::warn!(listener = %self.url, peer = %source_addr, bytes = len, max, "Message over size limit dropped.");
    }
}

/// Binds `url` and serves it until `shutdown` is cancelled. Binding failures
/// are reported in the listener's status, not returned: one bad listener must
/// not keep the others, or the console, from starting.
pub async fn spawn(
    url: ListenUrl,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Arc<Listener> {
    let listener = Arc::new(Listener::new(url.clone()));
    let l = listener.clone();
    let result = match url.transport {
        Transport::Udp => udp::bind(l, config, tx, shutdown, tasks).await.map(Some),
        Transport::Tcp => tcp::bind(l, config, tx, shutdown, tasks).await.map(Some),
        Transport::Tls => tls::bind(l, config, tx, shutdown, tasks).await.map(Some),
        Transport::Http | Transport::Https => http::bind(l, config, tx, shutdown, tasks).await.map(Some),
        Transport::Mllp => mllp::bind(l, config, tx, shutdown, tasks).await.map(Some),
        Transport::EveFile => eve_file::start(l, config, tx, shutdown, tasks).await.map(|()| None),
    };
    match result {
        Ok(bound) => {
            tracing::info!(listener = %url, bound = ?bound, "Listening.");
            listener.set(ListenerState::Listening, bound, None);
        }
        Err(e) => {
            tracing::error!(listener = %url, error = %e, "Listener could not start.");
            listener.set(ListenerState::Failed, None, Some(format!("could not start {url}: {e}")));
        }
    }
    listener
}

/// The error for a socket listener given a file (a bug in [`spawn`]'s dispatch).
fn not_a_socket() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, "this listener needs a socket address")
}
