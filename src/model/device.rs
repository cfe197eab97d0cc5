use std::fmt;
use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A medical device's identity: its IEEE EUI-64, as 16 upper-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    /// An EUI-64 from 16 hex digits (any case); `None` for anything else.
    pub fn eui64(s: &str) -> Option<Self> {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The keyed hash (HMAC-SHA256, hex) of a patient identifier: two
/// observations of the same patient on one console hash alike; the hash
/// says nothing of who the patient is without the console's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatientKeyHash(String);

impl PatientKeyHash {
    /// From 64 lower-case hex digits; `None` for anything else.
    pub fn from_hex(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a device is: HL7 PV1-3 (point of care, room, bed, facility).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLocation {
    pub point_of_care: Option<String>,
    pub room: Option<String>,
    pub bed: Option<String>,
    pub facility: Option<String>,
}

/// A device alarm (IHE PCD-04): the event and how the device rates it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAlarm {
    /// The MDC event (`MDC_EVT_HI`), or its code when it has no MDC name.
    pub code: String,
    /// `PH`, `PM`, `PL`, `PN`.
    pub priority: Option<String>,
    /// `active`, `inactive`, `latched`.
    pub state: Option<String>,
    /// `start`, `continue`, `end`, `update`, ...
    pub phase: Option<String>,
}

/// What a device gateway told us about one device: which device, where, and
/// whether it is attached to a patient. Not a security alert: it feeds the
/// device's clinical-use state. Holds no patient name or identifier, only
/// the keyed hash of the identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceObservation {
    /// `None` until stored.
    pub id: Option<i64>,
    pub device_id: DeviceId,
    pub location: Option<DeviceLocation>,
    pub patient_associated: bool,
    pub patient_key_hash: Option<PatientKeyHash>,
    /// MSH-9 as written (`ORU^R01^ORU_R01`).
    pub message_type: String,
    /// MSH-10.
    pub control_id: String,
    pub sending_application: Option<String>,
    pub sending_facility: Option<String>,
    /// When the device says it observed, ISO 8601: with the UTC offset when
    /// the sender gave one, without when it did not (HL7's local time).
    pub observed_at: Option<String>,
    pub received_at: DateTime<Utc>,
    pub source_addr: Option<SocketAddr>,
    pub listener: Option<String>,
    /// How many OBX rows the message held for this device.
    pub observation_count: u32,
    pub alarm: Option<DeviceAlarm>,
}
