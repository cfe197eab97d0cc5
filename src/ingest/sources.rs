//! Counts per sending host and per rejection reason, bounded: a flood of
//! spoofed source addresses or of distinct error texts cannot grow memory
//! without limit. What does not fit is counted under one overflow row.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Most distinct sources counted one by one per listener.
pub const MAX_SOURCES: usize = 1024;
/// Most distinct rejection reasons counted one by one per listener.
pub const MAX_REASONS: usize = 64;
/// The reason under which rejections past [`MAX_REASONS`] are counted.
pub const OTHER_REASONS: &str = "other reasons";

/// What one source sent to one listener.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    pub received: u64,
    pub parsed: u64,
    pub rejected: u64,
    pub oversize: u64,
    pub dropped: u64,
}

/// One row of per-source counters. `source` is `None` for what came from no
/// network peer (a followed file) and for the overflow row (`overflow` true).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub source: Option<IpAddr>,
    #[serde(default)]
    pub overflow: bool,
    #[serde(flatten)]
    pub counts: SourceCounts,
}

/// How many messages were rejected for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome {
    Received,
    Parsed,
    Rejected,
    Oversize,
    Dropped,
}

#[derive(Debug, Default)]
pub(super) struct Tables {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sources: HashMap<Option<IpAddr>, SourceCounts>,
    overflow: SourceCounts,
    reasons: HashMap<String, u64>,
}

impl Tables {
    pub(super) fn count(&self, source: Option<IpAddr>, outcome: Outcome) {
        self.count_all(source, &[outcome]);
    }

    /// Counts several outcomes for one source under one lock (a message's
    /// arrival and its fate, on the per-message path).
    pub(super) fn count_all(&self, source: Option<IpAddr>, outcomes: &[Outcome]) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *inner;
        let full = inner.sources.len() >= MAX_SOURCES;
        let counts = match inner.sources.get_mut(&source) {
            Some(c) => c,
            None if full => &mut inner.overflow,
            None => inner.sources.entry(source).or_default(),
        };
        for outcome in outcomes {
            match outcome {
                Outcome::Received => counts.received += 1,
                Outcome::Parsed => counts.parsed += 1,
                Outcome::Rejected => counts.rejected += 1,
                Outcome::Oversize => counts.oversize += 1,
                Outcome::Dropped => counts.dropped += 1,
            }
        }
    }

    /// Counts a rejection under `reason` (a short category, such as
    /// `rfc5424: priority is over 191`).
    pub(super) fn reason(&self, reason: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = inner.reasons.get_mut(reason) {
            *n += 1;
        } else if inner.reasons.len() < MAX_REASONS {
            inner.reasons.insert(reason.to_owned(), 1);
        } else {
            *inner.reasons.entry(OTHER_REASONS.to_owned()).or_default() += 1;
        }
    }

    /// Sources, most received first (then by address), the overflow row last.
    pub(super) fn sources(&self) -> Vec<SourceStatus> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rows: Vec<SourceStatus> = inner
            .sources
            .iter()
            .map(|(source, counts)| SourceStatus { source: *source, overflow: false, counts: *counts })
            .collect();
        rows.sort_by(|a, b| b.counts.received.cmp(&a.counts.received).then(a.source.cmp(&b.source)));
        if inner.overflow != SourceCounts::default() {
            rows.push(SourceStatus { source: None, overflow: true, counts: inner.overflow });
        }
        rows
    }

    /// Reasons, most frequent first (then by text).
    pub(super) fn reasons(&self) -> Vec<ReasonCount> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rows: Vec<ReasonCount> = inner
            .reasons
            .iter()
            .map(|(reason, count)| ReasonCount { reason: reason.clone(), count: *count })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn counts_each_source_and_sorts_the_busiest_first() {
        let t = Tables::default();
        for _ in 0..3 {
            t.count(ip(2), Outcome::Received);
            t.count(ip(2), Outcome::Parsed);
        }
        t.count(ip(1), Outcome::Received);
        t.count(ip(1), Outcome::Rejected);
        t.count(None, Outcome::Received);
        t.count(None, Outcome::Oversize);
        let rows = t.sources();
        let order: Vec<Option<IpAddr>> = rows.iter().map(|r| r.source).collect();
        assert_eq!(order, [ip(2), None, ip(1)]);
        assert_eq!(rows[0].counts, SourceCounts { received: 3, parsed: 3, ..Default::default() });
        assert_eq!(rows[2].counts, SourceCounts { received: 1, rejected: 1, ..Default::default() });
        assert_eq!(rows[1].counts.oversize, 1);
    }

    #[test]
    fn sources_past_the_limit_share_one_overflow_row() {
        let t = Tables::default();
        for i in 0..(MAX_SOURCES + 10) {
            let source = Some(IpAddr::from([10, 1, (i / 256) as u8, (i % 256) as u8]));
            t.count(source, Outcome::Received);
        }
        let rows = t.sources();
        assert_eq!(rows.len(), MAX_SOURCES + 1);
        let last = rows.last().map(|r| (r.overflow, r.counts.received));
        assert_eq!(last, Some((true, 10)));
        // A source already known keeps its own row when the table is full.
        t.count(rows[0].source, Outcome::Dropped);
        assert_eq!(
            t.sources().iter().find(|r| r.source == rows[0].source).map(|r| r.counts.dropped),
            Some(1)
        );
    }

    #[test]
    fn reasons_are_counted_and_bounded() {
        let t = Tables::default();
        t.reason("rfc5424: priority is over 191");
        t.reason("rfc5424: priority is over 191");
        t.reason("framing: bad octet count");
        for i in 0..(MAX_REASONS + 5) {
            t.reason(&format!("cef: distinct {i}"));
        }
        let rows = t.reasons();
        assert_eq!(rows.len(), MAX_REASONS + 1);
        assert_eq!(rows[0], ReasonCount { reason: OTHER_REASONS.into(), count: 7 });
        assert_eq!(rows[1], ReasonCount { reason: "rfc5424: priority is over 191".into(), count: 2 });
    }
}
