//! Bytes in, records out. Pure functions: no sockets, no files, no clocks
//! (the receive time is passed in where a codec needs one).

pub mod cef;
pub mod eve;
pub mod framing;
pub mod hl7;
pub mod json;
pub mod leef;
pub mod mllp;
pub mod rfc3164;
pub mod rfc5424;

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Serialize, Serializer};

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
/// Key-value pairs kept in the order they were sent, serialised as one JSON
/// object: when a key repeats, the last value wins (as it does for lookups).
pub(crate) fn serialize_pairs<S: Serializer, K: AsRef<str>, V: AsRef<str>>(
    pairs: &[(K, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<&str, &str> = pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    map.serialize(s)
}

/// The value of the last pair named `key`.
pub(crate) fn last_value<'a, K: AsRef<str>, V: AsRef<str>>(
    pairs: &'a [(K, V)],
    key: &str,
) -> Option<&'a str> {
    pairs.iter().rev().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v.as_ref())
}

/// One `|`-terminated header field of CEF or LEEF starting at `from`, with
/// `\|` and `\\` unescaped (any other backslash is kept). Returns the value,
/// where the field ended (the `|` or the end of input) and whether a `|`
/// ended it.
/// The value borrows from `text` unless it had an escape.
pub(crate) fn header_field(text: &str, from: usize) -> (Cow<'_, str>, usize, bool) {
    let bytes = text.as_bytes();
    let mut value: Option<String> = None; // only once an escape is met
    let mut run = from; // start of the literal run not yet copied
    let mut i = from;
    fn take(value: Option<String>, tail: &str) -> Cow<'_, str> {
        match value {
            None => Cow::Borrowed(tail),
            Some(mut v) => {
                v.push_str(tail);
                Cow::Owned(v)
            }
        }
    }
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'|' || b == b'\\') {
        i += at;
        if bytes[i] == b'|' {
            return (take(value, &text[run..i]), i, true);
        }
        if matches!(bytes.get(i + 1), Some(b'|' | b'\\')) {
            value.get_or_insert_with(String::new).push_str(&text[run..i]);
            run = i + 1; // the escaped character starts the next run
            i += 2;
        } else {
            i += 1;
        }
    }
    (take(value, &text[run..]), bytes.len(), false)
}

/// The offset of the first `marker` for which `follows` accepts the bytes after it.
pub(crate) fn find_marker(bytes: &[u8], marker: &[u8], follows: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = bytes.get(from..)?.windows(marker.len()).position(|w| w == marker) {
        let at = from + i;
        if follows(&bytes[at + marker.len()..]) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}
