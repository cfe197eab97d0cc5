//! Bytes in, records out. Pure functions: no sockets, no files, no clocks
//! (the receive time is passed in where a codec needs one).

pub mod eve;
pub mod framing;
pub mod rfc3164;
pub mod rfc5424;

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};
use serde::Serializer;

use crate::model::Format;

/// Why a message could not be decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format}: {reason} at byte {offset}")]
pub struct ParseError {
    pub format: Format,
    /// Byte offset into the message where decoding stopped.
    pub offset: usize,
    pub reason: Cow<'static, str>,
}

/// A record's timestamp as RFC 3339 (`Z` for UTC, as many fraction digits as
/// it has), or `null`: one style for every syslog record.
pub(crate) fn serialize_timestamp<S: Serializer>(
    ts: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}
