//! IHE ATNA: audit events forwarded to a hospital's Audit Record Repository
//! as RFC 3881 / DICOM audit messages (PS3.15 A.5) inside RFC 5424 syslog
//! messages over mutual TLS (RFC 5425), the IHE ITI-20 transaction.
//!
//! - [`message`]: the XML and the syslog message, pure.
//! - [`AtnaForwarder`]: a background task with a bounded queue; the audit
//!   log offers each event and never waits for the network.
//!
//! The repository is a copy for the hospital, not the record: the audit log
//! in the data directory is. Events the forwarder cannot deliver are counted
//! (`dropped`), logged, and remain in the audit log.

mod config;
mod forwarder;
pub mod message;

use chrono::{DateTime, Utc};

pub use config::{AtnaConfig, AtnaUrl, AtnaUrlError, DEFAULT_QUEUE_CAPACITY, DEFAULT_SHUTDOWN_FLUSH_MS};
pub use forwarder::{client_config, AtnaError, AtnaForwarder, AtnaStatus};
pub use message::audit_message_xml;

/// One audit event to forward, independent of how the audit log stores it.
/// No field may hold patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtnaEvent {
    /// The audit log's sequence number.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Who did it: a user name, or the console itself.
    pub actor: String,
    /// What happened, such as `alert.received`, `user.login`, `key.rotated`
    /// (see [`message::event_codes`] for how kinds map to DICOM events).
    pub kind: String,
    pub success: bool,
    /// What it was done to: an alert id, a device id, a user name.
    pub object: Option<String>,
    /// One sentence for a person reading the repository.
    pub summary: String,
}
