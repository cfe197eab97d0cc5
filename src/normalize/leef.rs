//! LEEF records as alerts.
//!
//! | alert | from |
//! |---|---|
//! | vendor, product | Vendor, Product (`None` when empty) |
//! | event_class | `cat`, else EventID |
//! | name | `name`, else `msg`, else EventID, cut to 120 characters |
//! | severity | `sev` (LEEF's 1–10 taken as it is, held to 0–10); 5 when missing or not a number |
//! | src_ip, dst_ip, src_port, dst_port, proto | `src`, `dst`, `srcPort`, `dstPort`, `proto` (unparseable ignored) |
//! | message | `msg`, else the name |
//! | hostname | `identHostName`, else the envelope's host |
//! | event_time | `devTime` read with `devTimeFormat` (default `MMM dd yyyy HH:mm:ss`) or as epoch ms, UTC when no zone; else the envelope's time |

use std::net::IpAddr;

use chrono::{DateTime, FixedOffset};

use super::{
    decode_embedded, first_of, first_parsed, time, truncate_chars, Decoded, Receipt, NAME_MAX_CHARS,
};
use crate::codec::leef::{self, LeefRecord};
use crate::codec::ParseError;
use crate::model::{Alert, AlertDetails, Format, ParseMode, RawMessage, Severity};

/// The severity an alert gets when its record gives none it can read.
const UNKNOWN_SEVERITY: i64 = 5;

/// LEEF's `devTime` format when `devTimeFormat` does not name one.
const DEFAULT_TIME_FORMAT: &str = "MMM dd yyyy HH:mm:ss";

/// Decodes a message holding one LEEF record: bare, in an RFC 5424
/// envelope, or after any prefix (such as an RFC 3164 header).
pub fn decode(raw: &[u8], receipt: &Receipt) -> Result<Decoded<LeefRecord>, ParseError> {
    decode_embedded(raw, receipt, Format::Leef, leef::find, leef::parse, from_leef)
}

/// A LEEF record as an alert; `envelope_time` and `envelope_host` come from
/// the syslog header around the record, if any, and are used when the record
/// does not say.
pub fn from_leef(
    l: &LeefRecord,
    raw: &[u8],
    receipt: &Receipt,
    envelope_time: Option<DateTime<FixedOffset>>,
    envelope_host: Option<&str>,
) -> Alert {
    let attr = |k: &str| l.attribute(k);
    let msg = first_of(attr, &["msg"]);
    let event_id = Some(l.event_id.trim()).filter(|s| !s.is_empty());
    let name = first_of(attr, &["name"]).or(msg).or(event_id).unwrap_or("LEEF event");
    let severity = Severity::clamped(first_parsed::<i64>(attr, &["sev"]).unwrap_or(UNKNOWN_SEVERITY));
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    let event_time = first_of(attr, &["devTime"]).and_then(|t| {
        let format = first_of(attr, &["devTimeFormat"]).unwrap_or(DEFAULT_TIME_FORMAT);
        time::java_time(t, format, receipt.received_at).or_else(|| time::epoch_millis(t))
    });
    Alert {
        id: None,
        received_at: receipt.received_at,
        event_time: event_time.or(envelope_time),
        source_addr: receipt.source_addr,
        listener: receipt.listener.clone(),
        format: Format::Leef,
        parse_mode: ParseMode::Strict,
        severity,
        severity_label: severity.label(),
        vendor: non_empty(&l.vendor),
        product: non_empty(&l.product),
        event_class: first_of(attr, &["cat"]).or(event_id).unwrap_or("leef").to_owned(),
        name: truncate_chars(name, NAME_MAX_CHARS),
        message: msg.unwrap_or(name).to_owned(),
        hostname: first_of(attr, &["identHostName"]).or(envelope_host).map(str::to_owned),
        src_ip: first_parsed::<IpAddr>(attr, &["src"]),
        dst_ip: first_parsed::<IpAddr>(attr, &["dst"]),
        src_port: first_parsed(attr, &["srcPort"]),
        dst_port: first_parsed(attr, &["dstPort"]),
        proto: first_of(attr, &["proto"]).map(str::to_owned),
        details: AlertDetails {
            src_mac: first_of(attr, &["srcMAC"]).map(str::to_owned),
            dst_mac: first_of(attr, &["dstMAC"]).map(str::to_owned),
            category: first_of(attr, &["cat"]).map(str::to_owned),
            ..AlertDetails::default()
        },
        raw: RawMessage(raw.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeverityLabel;

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_714_557_600, 0).unwrap_or_default(), // 2024-05-01T10:00:00Z
            source_addr: None,
            listener: None,
        }
    }

    fn alert(raw: &str) -> Alert {
        match decode(raw.as_bytes(), &receipt()) {
            Ok(d) => d.alert,
            Err(e) => panic!("{raw:?}: {e}"),
        }
    }

    #[test]
    fn leef1_fields_land_where_the_model_says() {
        let raw = "LEEF:1.0|Cynerio|Healthcare IoT|3.1|ANOMALY-12|cat=Anomalous traffic\tsev=9\tsrc=10.30.4.2\tdst=198.51.100.20\tsrcPort=40001\tdstPort=22\tproto=TCP\tidentHostName=infusion-07\tdevTime=Apr 30 2024 23:59:01\tmsg=Infusion pump opened SSH to the internet";
        let a = alert(raw);
        assert_eq!(a.format, Format::Leef);
        assert_eq!(a.vendor.as_deref(), Some("Cynerio"));
        assert_eq!(a.product.as_deref(), Some("Healthcare IoT"));
        assert_eq!(a.event_class, "Anomalous traffic");
        assert_eq!(a.name, "Infusion pump opened SSH to the internet");
        assert_eq!(a.message, "Infusion pump opened SSH to the internet");
        assert_eq!((a.severity.value(), a.severity_label), (9, SeverityLabel::Critical));
        assert_eq!(a.src_ip, "10.30.4.2".parse().ok());
        assert_eq!(a.dst_ip, "198.51.100.20".parse().ok());
        assert_eq!((a.src_port, a.dst_port), (Some(40001), Some(22)));
        assert_eq!(a.proto.as_deref(), Some("TCP"));
        assert_eq!(a.hostname.as_deref(), Some("infusion-07"));
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-04-30T23:59:01+00:00"));
        assert_eq!(a.raw.as_bytes(), raw.as_bytes());
    }

    #[test]
    fn names_classes_and_severities_fall_back() {
        let a = alert("LEEF:2.0|V|P|1|LOGIN-FAIL|^|src=10.0.0.1^sev=15");
        assert_eq!(
            (a.name.as_str(), a.event_class.as_str(), a.message.as_str()),
            ("LOGIN-FAIL", "LOGIN-FAIL", "LOGIN-FAIL")
        );
        assert_eq!(a.severity.value(), 10, "held to the scale");
        let a = alert("LEEF:2.0|V|P|1|E|^|name=Short name^msg=Longer message^sev=0");
        assert_eq!((a.name.as_str(), a.message.as_str()), ("Short name", "Longer message"));
        assert_eq!(a.severity.value(), 0);
        assert_eq!(alert("LEEF:1.0|V|P|1|E|sev=high").severity.value(), 5);
        assert_eq!(alert("LEEF:1.0|V|P|1|E|").severity.value(), 5);
        let a = alert("LEEF:1.0||||");
        assert_eq!(
            (a.vendor, a.product, a.event_class.as_str(), a.name.as_str()),
            (None, None, "leef", "LEEF event")
        );
    }

    #[test]
    fn dev_time_formats_and_the_envelope() {
        let t = |raw: &str| alert(raw).event_time.map(|t| t.to_rfc3339());
        assert_eq!(t("LEEF:1.0|V|P|1|E|devTime=1714557000000").as_deref(), Some("2024-05-01T09:50:00+00:00"));
        assert_eq!(
            t("LEEF:2.0|V|P|1|E|^|devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ^devTime=2024-04-30T10:00:00.250+0200").as_deref(),
            Some("2024-04-30T10:00:00.250+02:00")
        );
        assert_eq!(
            t("LEEF:1.0|V|P|1|E|devTimeFormat=dd/MM/yyyy HH:mm\tdevTime=30/04/2024 08:15").as_deref(),
            Some("2024-04-30T08:15:00+00:00")
        );
        assert_eq!(t("LEEF:1.0|V|P|1|E|devTime=whenever"), None);
        let raw = "<134>1 2024-05-01T09:59:58Z qradar-fwd leef - - - LEEF:1.0|V|P|1|E|devTime=whenever";
        let d = decode(raw.as_bytes(), &receipt()).map_err(|e| e.to_string());
        assert_eq!(d.as_ref().map(|d| d.alert.hostname.as_deref()), Ok(Some("qradar-fwd")));
        assert_eq!(
            d.as_ref().map(|d| d.alert.event_time.map(|t| t.to_rfc3339())),
            Ok(Some("2024-05-01T09:59:58+00:00".to_owned()))
        );
        assert_eq!(d.as_ref().map(|d| d.record.event_id.as_str()), Ok("E"));
    }

    #[test]
    fn from_leef_takes_the_envelope_as_given() {
        let record = leef::parse("LEEF:2.0|V|P|1|E|^|sev=2^dst=2001:db8::1").map_err(|e| e.to_string());
        let record = match record {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let when = DateTime::parse_from_rfc3339("2024-04-30T08:00:00+02:00").ok();
        let a = from_leef(&record, b"raw bytes", &receipt(), when, Some("relay-1"));
        assert_eq!(a.event_time, when);
        assert_eq!(a.hostname.as_deref(), Some("relay-1"));
        assert_eq!(a.dst_ip, "2001:db8::1".parse().ok());
        assert_eq!((a.severity.value(), a.severity_label), (2, SeverityLabel::Low));
        let a = from_leef(&record, b"", &receipt(), None, None);
        assert_eq!((a.event_time, a.hostname), (None, None));
    }

    #[test]
    fn missing_records_are_errors() {
        let e = decode(b"Nov 16 21:24:18 host LEEF-ish text", &receipt()).map_err(|e| e.to_string());
        assert!(e.as_ref().is_err_and(|e| e.contains("no LEEF record")), "{e:?}");
        let e = decode(b"x LEEF:3.0|V|P|1|E|", &receipt()).map_err(|e| e.offset);
        assert_eq!(e.map(|_| ()), Err(7));
    }
}
