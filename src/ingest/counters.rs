use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A listener's counters. Every frame it sees ends in exactly one of parsed,
/// rejected, oversize or dropped; `received` counts them all. `context`
/// counts the parsed records that were device context rather than alerts.
#[derive(Debug, Default)]
pub struct Counters {
    received: AtomicU64,
    parsed: AtomicU64,
    rejected: AtomicU64,
    oversize: AtomicU64,
    dropped: AtomicU64,
    connections: AtomicU64,
    refused: AtomicU64,
    context: AtomicU64,
    handshake_failed: AtomicU64,
    kernel_dropped: AtomicU64,
    unauthorized: AtomicU64,
    bad_requests: AtomicU64,
    stored: AtomicU64,
    store_unavailable: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CounterSnapshot {
    pub received: u64,
    pub parsed: u64,
    pub rejected: u64,
    pub oversize: u64,
    /// Decoded but not queued: the queue was full (UDP only; TCP waits).
    pub dropped: u64,
    /// Connections open now (TCP; TLS once its handshake is done).
    pub connections: u64,
    /// Connections refused because `max_connections` were open (TCP).
    pub refused: u64,
    /// Of `parsed`, the records that were device context, not alerts (EVE
    /// flows, DNS, TLS, ...; HL7 device observations).
    #[serde(default)]
    pub context: u64,
    /// TLS handshakes that failed or timed out (TLS only): no certificate,
    /// an untrusted one, plain TCP bytes, a stalled peer.
    #[serde(default)]
    pub handshake_failed: u64,
    /// Datagrams the kernel dropped before this listener could read them
    /// (its receive buffer was full), as Linux counts them for the socket
    /// (UDP only). They never reached Wardwatch, so they are not in `received`.
    #[serde(default)]
    pub kernel_dropped: u64,
    /// HTTP requests refused for a missing, unknown or disabled token (401, 403).
    #[serde(default)]
    pub unauthorized: u64,
    /// HTTP requests refused before their body was read: unknown path, method
    /// or content type, or a body that did not arrive in time (404, 405, 415, 408).
    #[serde(default)]
    pub bad_requests: u64,
    /// Records from this listener durably written (committed to the store):
    /// alerts, rejected messages kept raw, device observations. For syslog,
    /// which has no acknowledgement, `received` counts what arrived and
    /// `stored` what is safe on disk; the gap is what is queued or being
    /// retried (device context from EVE files is folded into summaries and
    /// not counted here).
    #[serde(default)]
    pub stored: u64,
    /// Requests (HTTP, answered 503) and messages (MLLP, answered AE) that
    /// could not be acknowledged because the store did not write in time.
    #[serde(default)]
    pub store_unavailable: u64,
}

impl Counters {
    /// Sets the kernel's count of datagrams dropped for this socket.
    pub(super) fn set_kernel_dropped(&self, n: u64) {
        self.kernel_dropped.store(n, Ordering::Relaxed);
    }
    pub(super) fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn parsed(&self) {
        self.parsed.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a parsed record that was device context, not an alert.
    pub(super) fn context(&self) {
        self.parsed.fetch_add(1, Ordering::Relaxed);
        self.context.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn oversize(&self) {
        self.oversize.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a drop and returns how many there have been.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(super) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a refused connection and returns how many there have been.
    pub(super) fn refused(&self) -> u64 {
        self.refused.fetch_add(1, Ordering::Relaxed) + 1
    }
    /// Counts a failed TLS handshake and returns how many there have been.
    pub(super) fn handshake_failed(&self) -> u64 {
        self.handshake_failed.fetch_add(1, Ordering::Relaxed) + 1
    }
    /// Counts a request refused for its token and returns how many there have been.
    pub(super) fn unauthorized(&self) -> u64 {
        self.unauthorized.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(super) fn bad_request(&self) {
        self.bad_requests.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts `n` records durably written.
    pub(super) fn stored(&self, n: u64) {
        self.stored.fetch_add(n, Ordering::Relaxed);
    }
    /// Counts a request or message not acknowledged because the store did
    /// not write in time; returns how many there have been.
    pub(super) fn store_unavailable(&self) -> u64 {
        self.store_unavailable.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(super) fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            received: self.received.load(Ordering::Relaxed),
            parsed: self.parsed.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            oversize: self.oversize.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            context: self.context.load(Ordering::Relaxed),
            handshake_failed: self.handshake_failed.load(Ordering::Relaxed),
            kernel_dropped: self.kernel_dropped.load(Ordering::Relaxed),
            unauthorized: self.unauthorized.load(Ordering::Relaxed),
            bad_requests: self.bad_requests.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            store_unavailable: self.store_unavailable.load(Ordering::Relaxed),
        }
    }
}
