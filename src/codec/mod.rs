//! Bytes in, records out. Pure functions: no sockets, no files, no clocks
//! (the receive time is passed in where a codec needs one).

pub mod eve;
pub mod framing;
pub mod rfc5424;

use std::borrow::Cow;

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
