use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, FixedOffset, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{AlertId, Severity, SeverityLabel};

/// The wire format an alert arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Rfc5424,
    /// BSD syslog (RFC 3164) and the variants real devices send.
    Rfc3164,
    /// Suricata EVE JSON, one record per line.
    Eve,
    /// ArcSight Common Event Format, bare or inside a syslog envelope.
    Cef,
    /// IBM QRadar Log Event Extended Format (1.0 and 2.0).
    Leef,
    /// HL7 version 2 (IHE PCD device observations and alarms, over MLLP).
    Hl7,
    /// Wardwatch's JSON alert format, posted by gateways over HTTP.
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Eve => "eve",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::Hl7 => "hl7",
            Format::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rfc5424" => Some(Format::Rfc5424),
            "rfc3164" => Some(Format::Rfc3164),
            "eve" => Some(Format::Eve),
            "cef" => Some(Format::Cef),
            "leef" => Some(Format::Leef),
            "hl7" => Some(Format::Hl7),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bytes of a message exactly as they arrived, kept so that any alert can be
/// re-read at the source. Serialised as `raw` (the text, or hex when the bytes
/// are not UTF-8) with `raw_encoding` saying which.
#[derive(Clone, PartialEq, Eq)]
pub struct RawMessage(pub Vec<u8>);

impl fmt::Debug for RawMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawMessage({} bytes)", self.0.len())
    }
}

impl RawMessage {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Serialize for RawMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        match std::str::from_utf8(&self.0) {
            Ok(text) => {
                map.serialize_entry("raw", text)?;
                map.serialize_entry("raw_encoding", "utf8")?;
            }
            Err(_) => {
                map.serialize_entry("raw", &to_hex(&self.0))?;
                map.serialize_entry("raw_encoding", "hex")?;
            }
        }
        map.end()
    }
}

/// Whether a message met its format's grammar as written, or was read the
/// lenient way real senders need, and how it departed. Serialised as
/// `"parse_mode": "strict"`, or `"lenient"` with `"deviations": [...]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "parse_mode", content = "deviations", rename_all = "snake_case")]
pub enum ParseMode {
    #[default]
    Strict,
    /// One plain sentence per departure.
    Lenient(Vec<String>),
}

impl ParseMode {
    /// `Strict` when there is nothing to say, else `Lenient`.
    pub fn from_deviations(deviations: Vec<String>) -> Self {
        if deviations.is_empty() {
            Self::Strict
        } else {
            Self::Lenient(deviations)
        }
    }

    pub fn deviations(&self) -> &[String] {
        match self {
            Self::Strict => &[],
            Self::Lenient(d) => d,
        }
    }
}

/// What some senders say about an alert beyond the common fields: CEF's
/// `smac`, `dmac`, `dhost`, `act`, `cat` and vendors' custom fields, LEEF's
/// and EVE's equivalents, the extensions of posted JSON. Empty by default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertDetails {
    pub src_mac: Option<String>,
    pub dst_mac: Option<String>,
    /// The destination's host name (the source's is `hostname`).
    pub dst_hostname: Option<String>,
    /// What the sender did about it (`act`: blocked, allowed, ...).
    pub action: Option<String>,
    /// The sender's category (`cat`, EVE's category).
    pub category: Option<String>,
    /// Vendor fields kept by name: CEF custom strings and numbers under their
    /// labels (`cs1Label=deviceType cs1=Patient monitor` as `deviceType`),
    /// JSON `extensions` and device identifiers.
    pub fields: BTreeMap<String, String>,
}

impl AlertDetails {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One security alert, normalized from whatever format it came in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `None` until the store has made it durable.
    pub id: Option<AlertId>,
    /// When this console received it.
    pub received_at: DateTime<Utc>,
    /// When the sender says it happened, if it says.
    pub event_time: Option<DateTime<FixedOffset>>,
    /// The network peer that sent it (the gateway or sensor, not the device).
    pub source_addr: Option<SocketAddr>,
    /// The listener it came through, as its URL.
    pub listener: Option<String>,
    pub format: Format,
    /// Strict when the message met its format's grammar; lenient otherwise.
    #[serde(flatten)]
    pub parse_mode: ParseMode,
    pub severity: Severity,
    pub severity_label: SeverityLabel,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// The sender's name of the kind of event (signature id, CEF class id, MSGID).
    pub event_class: String,
    /// A short human-readable name of the event.
    pub name: String,
    pub message: String,
    /// The host the sender says the event is about.
    pub hostname: Option<String>,
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub proto: Option<String>,
    #[serde(flatten)]
    pub details: AlertDetails,
    #[serde(flatten)]
    pub raw: RawMessage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip_and_match_serde() {
        for f in [
            Format::Rfc5424,
            Format::Rfc3164,
            Format::Cef,
            Format::Leef,
            Format::Eve,
            Format::Hl7,
            Format::Json,
        ] {
            assert_eq!(Format::parse(f.as_str()), Some(f));
            assert_eq!(serde_json::to_value(f).ok(), Some(serde_json::json!(f.as_str())));
        }
        assert_eq!(Format::parse("rfc 3164"), None);
        assert_eq!(Format::parse("CEF"), None);
    }

    #[test]
    fn parse_mode_serialises_flat_with_its_deviations() {
        #[derive(Serialize)]
        struct Holder {
            #[serde(flatten)]
            mode: ParseMode,
        }
        let strict = serde_json::to_value(Holder { mode: ParseMode::from_deviations(Vec::new()) }).ok();
        assert_eq!(strict, Some(serde_json::json!({"parse_mode": "strict"})));
        let lenient =
            serde_json::to_value(Holder { mode: ParseMode::from_deviations(vec!["x".into()]) }).ok();
        assert_eq!(lenient, Some(serde_json::json!({"parse_mode": "lenient", "deviations": ["x"]})));
    }

    #[test]
    fn raw_bytes_serialise_as_text_when_utf8_and_as_hex_otherwise() {
        let text = serde_json::to_value(RawMessage(b"<1>1 - - - - - - hi".to_vec())).ok();
        assert_eq!(text, Some(serde_json::json!({"raw": "<1>1 - - - - - - hi", "raw_encoding": "utf8"})));
        let bin = serde_json::to_value(RawMessage(vec![0x3c, 0xff, 0x00])).ok();
        assert_eq!(bin, Some(serde_json::json!({"raw": "3cff00", "raw_encoding": "hex"})));
    }
}
