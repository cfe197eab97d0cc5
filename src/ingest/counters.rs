use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A listener's counters. Every frame it sees ends in exactly one of parsed,
/// rejected, oversize or dropped; `received` counts them all.
#[derive(Debug, Default)]
pub struct Counters {
    received: AtomicU64,
    parsed: AtomicU64,
    rejected: AtomicU64,
    oversize: AtomicU64,
    dropped: AtomicU64,
    connections: AtomicU64,
    refused: AtomicU64,
    unauthorized: AtomicU64,
    bad_requests: AtomicU64,
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
    /// Connections open now (TCP).
    pub connections: u64,
    /// Connections refused because `max_connections` were open (TCP).
    pub refused: u64,
    /// HTTP requests refused for a missing, unknown or disabled token (401, 403).
    #[serde(default)]
    pub unauthorized: u64,
    /// HTTP requests refused before their body was read: unknown path, method
    /// or content type, or a body that did not arrive in time (404, 405, 415, 408).
    #[serde(default)]
    pub bad_requests: u64,
}

impl Counters {
    pub(super) fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn parsed(&self) {
        self.parsed.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
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
    /// Counts a request refused for its token and returns how many there have been.
    pub(super) fn unauthorized(&self) -> u64 {
        self.unauthorized.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(super) fn bad_request(&self) {
        self.bad_requests.fetch_add(1, Ordering::Relaxed);
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
            unauthorized: self.unauthorized.load(Ordering::Relaxed),
            bad_requests: self.bad_requests.load(Ordering::Relaxed),
        }
    }
}
