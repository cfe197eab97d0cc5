//! CEF records as alerts.
//!
//! | alert | from |
//! |---|---|
//! | vendor, product | Device Vendor, Device Product (`None` when empty) |
//! | event_class | Device Event Class ID |
//! | name | Name (else `msg`, else the class id), cut to 120 characters |
//! | severity | [`CefRecord::severity_value`]; 5 when the record's is unknown |
//! | src_ip, dst_ip | `src` / `sourceAddress`, `dst` / `destinationAddress` (unparseable ignored) |
//! | src_port, dst_port | `spt` / `sourcePort`, `dpt` / `destinationPort` |
//! | proto | `proto` / `transportProtocol` |
//! | message | `msg` / `message`, else the name |
//! | hostname | `dvchost` / `deviceHostName`, `shost` / `sourceHostName`, else the envelope's host |
//! | event_time | `rt` / `deviceReceiptTime` (epoch ms or ArcSight's date formats, UTC when no zone), else the envelope's time |
//! | details.src_mac, dst_mac | `smac` / `sourceMacAddress`, `dmac` / `destinationMacAddress` |
//! | details.dst_hostname | `dhost` / `destinationHostName` |
//! | details.action, category | `act` / `deviceAction`, `cat` / `deviceEventCategory` |
//! | details.fields | `cs1`-`cs6`, `cn1`-`cn3`, `cfp1`-`cfp4`, `flexString1`-`2`, `flexNumber1`-`2` (and long names) under their `...Label`, else their key |

use std::net::IpAddr;

use chrono::{DateTime, FixedOffset};

use super::{
    decode_embedded, first_of, first_parsed, time, truncate_chars, Decoded, Receipt, NAME_MAX_CHARS,
};
use crate::codec::cef::{self, CefRecord};
use crate::codec::ParseError;
use crate::model::{Alert, AlertDetails, Format, ParseMode, RawMessage, Severity};

/// The severity an alert gets when its record's severity is not one CEF defines.
const UNKNOWN_SEVERITY: u8 = 5;

/// Decodes a message holding one CEF record: bare, in an RFC 5424 envelope,
/// or after any prefix (such as an RFC 3164 header).
pub fn decode(raw: &[u8], receipt: &Receipt) -> Result<Decoded<CefRecord<'static>>, ParseError> {
    decode_embedded(
        raw,
        receipt,
        Format::Cef,
        cef::find,
        |t| cef::parse(t).map(CefRecord::into_owned),
        from_cef,
    )
}

/// A CEF record as an alert; `envelope_time` and `envelope_host` come from
/// the syslog header around the record, if any, and are used when the record
/// does not say.
pub fn from_cef(
    c: &CefRecord,
    raw: &[u8],
    receipt: &Receipt,
    envelope_time: Option<DateTime<FixedOffset>>,
    envelope_host: Option<&str>,
) -> Alert {
    let ext = |k: &str| c.extension(k);
    let msg = first_of(ext, &["msg", "message"]);
    let name = [Some(c.name.trim()), msg, Some(c.device_event_class_id.trim())]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .unwrap_or("CEF event");
    let severity = Severity::clamped(c.severity_value().unwrap_or(UNKNOWN_SEVERITY).into());
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    Alert {
        id: None,
        received_at: receipt.received_at,
        event_time: first_of(ext, &["rt", "deviceReceiptTime"])
            .and_then(|t| time::cef_time(t, receipt.received_at))
            .or(envelope_time),
        source_addr: receipt.source_addr,
        listener: receipt.listener.clone(),
        format: Format::Cef,
        parse_mode: ParseMode::Strict,
        severity,
        severity_label: severity.label(),
        vendor: non_empty(&c.device_vendor),
        product: non_empty(&c.device_product),
        event_class: if c.device_event_class_id.trim().is_empty() {
            "cef".to_owned()
        } else {
            c.device_event_class_id.to_string()
        },
        name: truncate_chars(name, NAME_MAX_CHARS),
        message: msg.unwrap_or(name).to_owned(),
        hostname: first_of(ext, &["dvchost", "deviceHostName", "shost", "sourceHostName"])
            .or(envelope_host)
            .map(str::to_owned),
        src_ip: first_parsed::<IpAddr>(ext, &["src", "sourceAddress"]),
        dst_ip: first_parsed::<IpAddr>(ext, &["dst", "destinationAddress"]),
        src_port: first_parsed(ext, &["spt", "sourcePort"]),
        dst_port: first_parsed(ext, &["dpt", "destinationPort"]),
        proto: first_of(ext, &["proto", "transportProtocol"]).map(str::to_owned),
        details: cef_details(c),
        raw: RawMessage(raw.to_vec()),
    }
}

/// The CEF custom-field keys that carry a label in `<key>Label`, short and
/// long spellings: strings 1-6, numbers 1-3, floating points 1-4, flex strings 1-2.
const CUSTOM_FIELDS: &[(&str, u8)] = &[
    ("cs", 6),
    ("deviceCustomString", 6),
    ("cn", 3),
    ("deviceCustomNumber", 3),
    ("cfp", 4),
    ("deviceCustomFloatingPoint", 4),
    ("flexString", 2),
    ("flexNumber", 2),
];

/// MACs, destination host, action, category, and the vendor's custom
/// fields under their labels (a custom field without a label keeps its key).
fn cef_details(c: &CefRecord) -> AlertDetails {
    let ext = |k: &str| c.extension(k);
    let own = |keys: &[&str]| first_of(ext, keys).map(str::to_owned);
    let mut fields = std::collections::BTreeMap::new();
    for (prefix, count) in CUSTOM_FIELDS {
        for n in 1..=*count {
            let key = format!("{prefix}{n}");
            let Some(value) = ext(&key).map(str::trim).filter(|v| !v.is_empty()) else { continue };
            let label = ext(&format!("{key}Label")).map(str::trim).filter(|l| !l.is_empty());
            fields.insert(label.unwrap_or(&key).to_owned(), value.to_owned());
        }
    }
    AlertDetails {
        src_mac: own(&["smac", "sourceMacAddress"]),
        dst_mac: own(&["dmac", "destinationMacAddress"]),
        dst_hostname: own(&["dhost", "destinationHostName"]),
        action: own(&["act", "deviceAction"]),
        category: own(&["cat", "deviceEventCategory"]),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeverityLabel;

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_714_557_600, 0).unwrap_or_default(), // 2024-05-01T10:00:00Z
            source_addr: "127.0.0.1:40000".parse().ok(),
            listener: Some("udp://127.0.0.1:5514".into()),
        }
    }

    fn alert(raw: &str) -> Alert {
        match decode(raw.as_bytes(), &receipt()) {
            Ok(d) => d.alert,
            Err(e) => panic!("{raw:?}: {e}"),
        }
    }

    #[test]
    fn header_and_network_fields_land_where_the_model_says() {
        let raw = "CEF:0|Medigate|IoMT Sentinel|2.4|INF-PUMP-07|Infusion pump talks to unknown host|8|src=10.20.3.7 dst=203.0.113.9 spt=51515 dpt=443 proto=TCP dvchost=pump-icu-07 rt=1714557000000 msg=Pump IP-3 opened TLS to an address never seen before";
        let a = alert(raw);
        assert_eq!(a.format, Format::Cef);
        assert_eq!(a.vendor.as_deref(), Some("Medigate"));
        assert_eq!(a.product.as_deref(), Some("IoMT Sentinel"));
        assert_eq!(a.event_class, "INF-PUMP-07");
        assert_eq!(a.name, "Infusion pump talks to unknown host");
        assert_eq!(a.message, "Pump IP-3 opened TLS to an address never seen before");
        assert_eq!((a.severity.value(), a.severity_label), (8, SeverityLabel::High));
        assert_eq!(a.src_ip, "10.20.3.7".parse().ok());
        assert_eq!(a.dst_ip, "203.0.113.9".parse().ok());
        assert_eq!((a.src_port, a.dst_port), (Some(51515), Some(443)));
        assert_eq!(a.proto.as_deref(), Some("TCP"));
        assert_eq!(a.hostname.as_deref(), Some("pump-icu-07"));
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-01T09:50:00+00:00"));
        assert_eq!(a.raw.as_bytes(), raw.as_bytes());
        assert_eq!(a.listener.as_deref(), Some("udp://127.0.0.1:5514"));
    }

    #[test]
    fn macs_hosts_action_category_and_vendor_fields_are_kept() {
        let a = alert(
            "CEF:0|Medigate|IoMT|2|42|Default credentials|8|smac=00:1b:63:84:45:e6 dmac=3c:22:fb:00:00:01 \
             shost=pm-4-07 dhost=central-station-4 act=blocked cat=/Authentication/Default \
             cs1Label=deviceType cs1=Patient monitor cs2=ICU-4 cn1Label=riskScore cn1=87 cs3Label=empty cs3=",
        );
        let d = &a.details;
        assert_eq!(d.src_mac.as_deref(), Some("00:1b:63:84:45:e6"));
        assert_eq!(d.dst_mac.as_deref(), Some("3c:22:fb:00:00:01"));
        assert_eq!(a.hostname.as_deref(), Some("pm-4-07"));
        assert_eq!(d.dst_hostname.as_deref(), Some("central-station-4"));
        assert_eq!(d.action.as_deref(), Some("blocked"));
        assert_eq!(d.category.as_deref(), Some("/Authentication/Default"));
        let fields: Vec<(&str, &str)> = d.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // A label names its field; without one the key does; an empty value is no field.
        assert_eq!(fields, [("cs2", "ICU-4"), ("deviceType", "Patient monitor"), ("riskScore", "87")]);
        let long = alert("CEF:0|V|P|1|C|N|3|sourceMacAddress=aa:bb:cc:dd:ee:ff deviceAction=allowed deviceCustomString1Label=ward deviceCustomString1=NICU");
        assert_eq!(long.details.src_mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(long.details.action.as_deref(), Some("allowed"));
        assert_eq!(long.details.fields.get("ward").map(String::as_str), Some("NICU"));
        assert!(alert("CEF:0|V|P|1|C|N|3|src=10.0.0.1").details.is_empty());
    }

    #[test]
    fn long_names_are_fallbacks_and_bad_values_are_ignored() {
        let a = alert("CEF:0|V|P|1|C|N|3|sourceAddress=fe80::1 destinationAddress=192.0.2.1 sourcePort=53 destinationPort=70000 transportProtocol=UDP");
        assert_eq!(a.src_ip, "fe80::1".parse().ok());
        assert_eq!(a.dst_ip, "192.0.2.1".parse().ok());
        assert_eq!((a.src_port, a.dst_port), (Some(53), None), "70000 is no port");
        assert_eq!(a.proto.as_deref(), Some("UDP"));
        let a = alert("CEF:0|V|P|1|C|N|3|src=not-an-ip sourceAddress=10.0.0.1 dst=999.1.1.1 spt=-1");
        assert_eq!(a.src_ip, "10.0.0.1".parse().ok(), "the short name is unparseable: the long one is used");
        assert_eq!((a.dst_ip, a.src_port), (None, None));
    }

    #[test]
    fn severities_words_numbers_and_unknown() {
        let sev = |s: &str| alert(&format!("CEF:0|V|P|1|C|N|{s}|")).severity.value();
        assert_eq!(sev("0"), 0);
        assert_eq!(sev("10"), 10);
        assert_eq!(sev("Low"), 3);
        assert_eq!(sev("MEDIUM"), 6);
        assert_eq!(sev("high"), 8);
        assert_eq!(sev("Very-High"), 10);
        assert_eq!(sev("Unknown"), 5);
        assert_eq!(sev("11"), 5);
        assert_eq!(sev(""), 5);
    }

    #[test]
    fn envelope_supplies_host_and_time_when_the_record_does_not() {
        let raw = "<134>1 2024-05-01T09:59:58.5Z gw-icu-1 cef-relay - - - \u{feff}CEF:0|V|P|1|C|Beacon|5|src=10.1.1.1";
        let d = decode(raw.as_bytes(), &receipt()).map_err(|e| e.to_string());
        let d = match d {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(d.syslog.as_ref().and_then(|m| m.appname.as_deref()), Some("cef-relay"));
        assert_eq!(d.record.name, "Beacon");
        assert_eq!(d.alert.hostname.as_deref(), Some("gw-icu-1"));
        assert_eq!(
            d.alert.event_time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-01T09:59:58.500+00:00")
        );
        assert_eq!(d.alert.raw.as_bytes(), raw.as_bytes(), "the whole message is kept, envelope and all");

        // The record's own host and time win over the envelope's.
        let a = alert("<134>1 2024-05-01T09:59:58Z gw - - - - CEF:0|V|P|1|C|N|5|shost=ward7-mon rt=Apr 30 2024 23:00:00");
        assert_eq!(a.hostname.as_deref(), Some("ward7-mon"));
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-04-30T23:00:00+00:00"));
        // A time with no year is placed in the receive year.
        let a = alert("CEF:0|V|P|1|C|N|5|rt=Apr 30 23:00:00");
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-04-30T23:00:00+00:00"));
        // An unreadable rt falls back to the envelope, then to nothing.
        let a = alert("<134>1 2024-05-01T09:59:58Z gw - - - - CEF:0|V|P|1|C|N|5|rt=soon");
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-01T09:59:58+00:00"));
        assert_eq!(alert("CEF:0|V|P|1|C|N|5|rt=soon").event_time, None);
    }

    #[test]
    fn from_cef_takes_the_envelope_as_given() {
        let record = cef::parse("CEF:0|V|P|1|C|N|Low|src=10.0.0.1").map_err(|e| e.to_string());
        let record = match record {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let when = DateTime::parse_from_rfc3339("2024-04-30T08:00:00+02:00").ok();
        let a = from_cef(&record, b"raw bytes", &receipt(), when, Some("relay-1"));
        assert_eq!(a.event_time, when);
        assert_eq!(a.hostname.as_deref(), Some("relay-1"));
        assert_eq!(a.severity.value(), 3);
        assert_eq!(a.raw.as_bytes(), b"raw bytes");
        let a = from_cef(&record, b"", &receipt(), None, None);
        assert_eq!((a.event_time, a.hostname), (None, None));
    }

    #[test]
    fn prefixes_are_skipped_and_missing_records_are_errors() {
        let a = alert("Nov 16 21:24:18 arcsightfwd.example CEF:0|V|P|1|C|N|5|cs1=CEF:x");
        assert_eq!(a.name, "N");
        assert_eq!(a.hostname, None, "an RFC 3164 prefix is skipped, not read");
        let e = decode(b"<134>1 - host app - - - no record here", &receipt()).map_err(|e| e.to_string());
        assert!(e.as_ref().is_err_and(|e| e.contains("no CEF record") && e.contains("byte 24")), "{e:?}");
        let e = decode(b"CEF:0|V|P", &receipt()).map_err(|e| (e.offset, e.reason.into_owned()));
        assert_eq!(e.map(|_| ()), Err((9, "the header has 3 of its 7 fields".to_owned())));
        let e = decode(b"junk CEF:0|V|P", &receipt()).map_err(|e| e.offset);
        assert_eq!(e.map(|_| ()), Err(14), "offsets count from the start of the message");
    }

    #[test]
    fn empty_header_fields_fall_back() {
        let a = alert("CEF:0|||||||msg=only a message");
        assert_eq!((a.vendor, a.product), (None, None));
        assert_eq!(a.event_class, "cef");
        assert_eq!(a.name, "only a message");
        assert_eq!(a.severity.value(), 5);
        let a = alert("CEF:0|V|P|1|SIG-9||2|");
        assert_eq!((a.name.as_str(), a.message.as_str()), ("SIG-9", "SIG-9"));
        let long = format!("CEF:0|V|P|1|C|{}|2|", "x".repeat(300));
        assert_eq!(alert(&long).name.chars().count(), NAME_MAX_CHARS + 1);
        assert_eq!(alert(&long).message.len(), 300);
    }
}
