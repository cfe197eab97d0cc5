use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One sighting of a device on the network, from a record that is not an
/// alert (a Suricata flow, DNS query, TLS handshake, ...): who, talking to
/// whom, doing what, when. The store folds sightings into per-device
/// summaries (last seen, counts per event type, peers); it does not keep
/// each one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceContext {
    /// The device seen.
    pub device: IpAddr,
    /// The address on the other end, when the record has one.
    pub peer: Option<IpAddr>,
    /// What the device was seen doing: the EVE `event_type` (`flow`, `dns`, `tls`, ...).
    pub event_type: String,
    /// When the sensor saw it (the record's own time).
    pub seen_at: DateTime<Utc>,
}
