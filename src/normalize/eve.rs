//! Suricata EVE records as alerts.

use std::net::IpAddr;

use chrono::Utc;
use serde_json::Value;

use super::Receipt;
use crate::codec::eve::{EveAlert, EveRecord};
use crate::model::{Alert, AlertDetails, DeviceContext, Format, ParseMode, RawMessage, Severity};

const VENDOR: &str = "OISF";
const PRODUCT: &str = "Suricata";

/// An EVE record as an alert, when it is one: `alert` records (a rule fired)
/// and `anomaly` records (a protocol or decoder anomaly).
///
/// Every other event type (`flow`, `netflow`, `dns`, `tls`, `http`,
/// `fileinfo`, `smb`, `stats`, ...) returns `None`: those records say what
/// the devices on the network do, not that something is wrong. They are
/// context about devices ([`context_of`]), never alerts.
///
/// For alerts: the signature id is the event class, the signature the name
/// (whole: it is what analysts know and search for), `"{category}:
/// {signature}"` the message (the signature alone when the rule has no
/// classtype), and the rule's priority the severity by
/// [`Severity::from_suricata`]. The sensor's `host` is the hostname.
pub fn from_eve(e: &EveRecord, raw: &[u8], receipt: &Receipt) -> Option<Alert> {
    let (severity, event_class, name, message) = match (e.event_type.as_str(), &e.alert, &e.anomaly) {
        ("alert", Some(a), _) => alert(a),
        ("anomaly", _, Some(a)) => anomaly(a),
        _ => return None,
    };
    Some(Alert {
        id: None,
        received_at: receipt.received_at,
        event_time: Some(e.timestamp),
        source_addr: receipt.source_addr,
        listener: receipt.listener.clone(),
        format: Format::Eve,
        parse_mode: ParseMode::Strict,
        severity,
        severity_label: severity.label(),
        vendor: Some(VENDOR.to_owned()),
        product: Some(PRODUCT.to_owned()),
        event_class,
        name,
        message,
        hostname: e.host.clone(),
        src_ip: e.src_ip,
        dst_ip: e.dest_ip,
        src_port: e.src_port,
        dst_port: e.dest_port,
        proto: e.proto.clone(),
        details: AlertDetails {
            action: e.alert.as_ref().and_then(|a| a.action.clone()),
            category: e.alert.as_ref().and_then(|a| a.category.clone()).filter(|c| !c.trim().is_empty()),
            ..AlertDetails::default()
        },
        raw: RawMessage(raw.to_vec()),
    })
}

/// The devices a record that is not an alert shows, each with the address
/// on the other end as its peer.
///
/// Both ends of a record are on the wire, so either may be one of ours; an
/// end is a device when [`is_device_address`] says it is a local unicast
/// address. A flow between two ward devices therefore gives two sightings,
/// each seeing the other as its peer; a device talking to the internet gives
/// one, with the public address as its peer (public addresses are never
/// devices: keeping every server on the internet as a "device" would bury
/// the hospital's own). Records without addresses (`stats`) show no device.
pub fn context_of(e: &EveRecord) -> Vec<DeviceContext> {
    let seen_at = e.timestamp.with_timezone(&Utc);
    let sighting = |device: Option<IpAddr>, peer: Option<IpAddr>| {
        let device = device.map(canonical).filter(|ip| is_device_address(*ip))?;
        Some(DeviceContext { device, peer: peer.map(canonical), event_type: e.event_type.clone(), seen_at })
    };
    let (src, dest) = (e.src_ip.map(canonical), e.dest_ip.map(canonical));
    if src.is_some() && src == dest {
        // A device talking to itself: seen, with no peer.
        return sighting(src, None).into_iter().collect();
    }
    [sighting(src, dest), sighting(dest, src)].into_iter().flatten().collect()
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Whether an address can be one of the hospital's devices: a unicast
/// address in a private or link-local range (RFC 1918, RFC 6598 shared
/// space, 169.254/16, IPv6 unique-local fc00::/7 and link-local fe80::/10).
/// Public, multicast, broadcast, loopback and unspecified addresses are not.
pub fn is_device_address(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Severity, event class, name and message of a rule's alert.
fn alert(a: &EveAlert) -> (Severity, String, String, String) {
    let message = match a.category.as_deref().map(str::trim) {
        Some(category) if !category.is_empty() => format!("{category}: {}", a.signature),
        _ => a.signature.clone(),
    };
    (Severity::from_suricata(a.severity), a.signature_id.to_string(), a.signature.clone(), message)
}

/// Severity, event class, name and message of an anomaly: `{type, event,
/// layer?}`, such as `{"type": "applayer", "event":
/// "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST", "layer": "proto_parser"}`.
///
/// An anomaly weighs as much as an alert of Suricata's lowest default
/// priority (3): 4, medium. It says a protocol misbehaved, not that a rule
/// recognised an attack; on a medical-device network that is worth a look,
/// since devices there rarely break protocols by accident.
fn anomaly(a: &Value) -> (Severity, String, String, String) {
    let field = |k: &str| a.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("unknown");
    let (kind, event) = (field("type"), field("event"));
    let mut message = format!("{kind} anomaly: {event}");
    if let Some(layer) = a.get("layer").and_then(Value::as_str) {
        message.push_str(&format!(" (layer {layer})"));
    }
    (
        Severity::from_suricata(Some(3)),
        format!("anomaly:{kind}:{event}"),
        format!("Protocol anomaly: {event}"),
        message,
    )
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use serde_json::{json, Value};

    use super::*;
    use crate::codec::eve;

    const FIXTURE: &str = include_str!("../../tests/fixtures/eve/icu-sensor.jsonl");

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            source_addr: "10.20.0.2:51514".parse().ok(),
            listener: Some("tcp://127.0.0.1:5514".into()),
        }
    }

    /// The alert a record becomes, as JSON; `Null` for none, `"parse: ..."` when it does not parse.
    fn map(line: &str) -> Value {
        match eve::parse(line.as_bytes()) {
            Ok(e) => from_eve(&e, line.as_bytes(), &receipt())
                .map_or(Value::Null, |a| serde_json::to_value(a).unwrap_or_default()),
            Err(e) => Value::from(format!("parse: {e}")),
        }
    }

    /// An alert record with the given `alert` object.
    fn alert_line(alert: Value) -> String {
        json!({"timestamp": "2024-03-01T02:15:00.000100+0100", "event_type": "alert",
               "src_ip": "10.20.4.17", "src_port": 49152, "dest_ip": "10.20.9.3", "dest_port": 104,
               "proto": "TCP", "host": "ids-icu-1", "alert": alert})
        .to_string()
    }

    #[test]
    fn alert_fields_land_where_the_model_says() {
        let line = alert_line(json!({"action": "allowed", "gid": 1, "signature_id": 2200003, "rev": 2,
            "signature": "SURICATA IPv4 truncated packet", "category": "Generic Protocol Command Decode", "severity": 1}));
        let a = map(&line);
        assert_eq!(a["vendor"], "OISF");
        assert_eq!(a["product"], "Suricata");
        assert_eq!(a["format"], "eve");
        assert_eq!(a["event_class"], "2200003");
        assert_eq!(a["name"], "SURICATA IPv4 truncated packet");
        assert_eq!(a["message"], "Generic Protocol Command Decode: SURICATA IPv4 truncated packet");
        assert_eq!(a["severity"], 8);
        assert_eq!(a["severity_label"], "high");
        assert_eq!(a["hostname"], "ids-icu-1");
        assert_eq!((&a["src_ip"], &a["src_port"]), (&json!("10.20.4.17"), &json!(49152)));
        assert_eq!((&a["dst_ip"], &a["dst_port"]), (&json!("10.20.9.3"), &json!(104)));
        assert_eq!(a["proto"], "TCP");
        assert_eq!(a["event_time"], "2024-03-01T02:15:00.000100+01:00");
        assert_eq!(a["received_at"], "2023-11-14T22:13:20Z");
        assert_eq!(a["source_addr"], "10.20.0.2:51514");
        assert_eq!(a["raw"], line.as_str());
        assert_eq!(a["raw_encoding"], "utf8");
    }

    #[test]
    fn severity_follows_the_table() {
        let severity = |s: Value| {
            let a = map(&alert_line(json!({"signature_id": 1, "signature": "x", "severity": s})));
            (a["severity"].clone(), a["severity_label"].clone())
        };
        assert_eq!(severity(json!(1)), (json!(8), json!("high")));
        assert_eq!(severity(json!(2)), (json!(6), json!("medium")));
        assert_eq!(severity(json!(3)), (json!(4), json!("medium")));
        assert_eq!(severity(json!(4)), (json!(5), json!("medium")), "a local classification's priority");
        assert_eq!(severity(json!(255)), (json!(5), json!("medium")));
        assert_eq!(severity(Value::Null), (json!(5), json!("medium")), "no severity at all");
    }

    #[test]
    fn message_is_the_signature_alone_without_a_category() {
        let message = |alert: Value| map(&alert_line(alert))["message"].clone();
        assert_eq!(message(json!({"signature_id": 1, "signature": "Local rule"})), "Local rule");
        assert_eq!(
            message(json!({"signature_id": 1, "signature": "Local rule", "category": ""})),
            "Local rule"
        );
        assert_eq!(
            message(json!({"signature_id": 1, "signature": "Local rule", "category": "Misc activity"})),
            "Misc activity: Local rule"
        );
    }

    #[test]
    fn anomalies_are_named_by_their_type_and_event() {
        let anomaly = |anomaly: Value| {
            let line =
                json!({"timestamp": "2024-03-01T02:15:00Z", "event_type": "anomaly", "anomaly": anomaly})
                    .to_string();
            let a = map(&line);
            [&a["event_class"], &a["name"], &a["message"], &a["severity"], &a["severity_label"]]
                .map(Value::clone)
        };
        assert_eq!(
            anomaly(json!({"type": "decode", "event": "decoder.ipv4.trunc_pkt"})),
            [
                json!("anomaly:decode:decoder.ipv4.trunc_pkt"),
                json!("Protocol anomaly: decoder.ipv4.trunc_pkt"),
                json!("decode anomaly: decoder.ipv4.trunc_pkt"),
                json!(4),
                json!("medium"),
            ]
        );
        assert_eq!(
            anomaly(
                json!({"type": "applayer", "event": "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST", "layer": "proto_parser"})
            ),
            [
                json!("anomaly:applayer:UNABLE_TO_MATCH_RESPONSE_TO_REQUEST"),
                json!("Protocol anomaly: UNABLE_TO_MATCH_RESPONSE_TO_REQUEST"),
                json!("applayer anomaly: UNABLE_TO_MATCH_RESPONSE_TO_REQUEST (layer proto_parser)"),
                json!(4),
                json!("medium"),
            ]
        );
        assert_eq!(
            anomaly(json!({})),
            [
                json!("anomaly:unknown:unknown"),
                json!("Protocol anomaly: unknown"),
                json!("unknown anomaly: unknown"),
                json!(4),
                json!("medium"),
            ]
        );
    }

    #[test]
    fn context_records_make_no_alert() {
        for event_type in ["flow", "netflow", "dns", "tls", "http", "fileinfo", "smb", "stats", "drop"] {
            let line = json!({"timestamp": "2024-03-01T02:15:00Z", "event_type": event_type,
                              "src_ip": "10.20.4.17", "dest_ip": "10.20.9.3", event_type: {}})
            .to_string();
            assert_eq!(map(&line), Value::Null, "{event_type}");
        }
        // Even with an alert object (a drop record logged with its alert).
        let drop = json!({"timestamp": "2024-03-01T02:15:00Z", "event_type": "drop", "drop": {},
                          "alert": {"signature_id": 1, "signature": "x"}});
        assert_eq!(map(&drop.to_string()), Value::Null);
    }

    #[test]
    fn decode_refuses_context_records_with_their_reason() {
        let line = br#"{"timestamp": "2024-03-01T02:15:00Z", "event_type": "flow", "flow": {}}"#;
        let e = super::super::decode(Format::Eve, line, &receipt()).map(|a| a.name);
        let e = e.err();
        assert_eq!(e.as_ref().map(|e| e.offset), Some(52), "at the event type: {e:?}");
        assert!(e.is_some_and(|e| e.reason.contains("\"flow\"") && e.reason.contains("context")));
        let alert = alert_line(json!({"signature_id": 7, "signature": "Pump firmware upload"}));
        let a = super::super::decode(Format::Eve, alert.as_bytes(), &receipt()).map(|a| a.name);
        assert_eq!(a.as_deref(), Ok("Pump firmware upload"));
    }

    /// The sightings a record with these addresses gives, as "device<-peer".
    fn sightings(src: Option<&str>, dest: Option<&str>) -> Vec<String> {
        let mut v = json!({"timestamp": "2024-03-01T02:15:00.5+0100", "event_type": "flow", "flow": {}});
        if let Some(s) = src {
            v["src_ip"] = s.into();
        }
        if let Some(d) = dest {
            v["dest_ip"] = d.into();
        }
        match eve::parse(v.to_string().as_bytes()) {
            Ok(e) => context_of(&e)
                .into_iter()
                .map(|c| {
                    assert_eq!(c.event_type, "flow");
                    assert_eq!(c.seen_at.to_rfc3339(), "2024-03-01T01:15:00.500+00:00");
                    format!("{}<-{}", c.device, c.peer.map(|p| p.to_string()).unwrap_or_default())
                })
                .collect(),
            Err(e) => vec![format!("parse: {e}")],
        }
    }

    #[test]
    fn context_is_kept_for_each_local_end_with_the_other_as_peer() {
        let check = |src, dest, want: &[&str]| assert_eq!(sightings(src, dest), want, "{src:?} -> {dest:?}");
        // Two ward devices: each is a device, each the other's peer.
        check(Some("10.20.8.41"), Some("10.20.0.53"), &["10.20.8.41<-10.20.0.53", "10.20.0.53<-10.20.8.41"]);
        // A device and the internet: only the device; the public address is its peer.
        check(Some("10.20.4.17"), Some("198.51.100.23"), &["10.20.4.17<-198.51.100.23"]);
        check(Some("203.0.113.80"), Some("192.168.1.5"), &["192.168.1.5<-203.0.113.80"]);
        // Multicast, broadcast and unspecified ends are peers, never devices.
        check(Some("fe80::202:b3ff:fe1e:8329"), Some("ff02::fb"), &["fe80::202:b3ff:fe1e:8329<-ff02::fb"]);
        check(Some("0.0.0.0"), Some("255.255.255.255"), &[]);
        check(Some("172.16.0.9"), Some("224.0.0.251"), &["172.16.0.9<-224.0.0.251"]);
        // IPv4-mapped IPv6 is the IPv4 address it carries.
        check(Some("::ffff:10.1.2.3"), None, &["10.1.2.3<-"]);
        check(Some("fd00::1"), Some("100.64.0.7"), &["fd00::1<-100.64.0.7", "100.64.0.7<-fd00::1"]);
        check(Some("8.8.8.8"), Some("1.1.1.1"), &[]);
        check(None, None, &[]);
        // A device talking to itself is seen, with no peer of its own.
        check(Some("10.0.0.1"), Some("10.0.0.1"), &["10.0.0.1<-"]);
    }

    #[test]
    fn device_addresses_are_local_unicast_ones() {
        for (ip, want) in [
            ("10.0.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("192.168.0.1", true),
            ("169.254.10.1", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("127.0.0.1", false),
            ("198.51.100.1", false),
            ("fc00::1", true),
            ("fe80::1", true),
            ("2001:db8::1", false),
            ("::1", false),
            ("::", false),
        ] {
            assert_eq!(is_device_address(ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))), want, "{ip}");
        }
    }

    /// What each record of the fixture file becomes, reviewed once and pinned.
    #[test]
    fn fixture_alerts_snapshot() {
        let alerts: Vec<Value> = FIXTURE
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let a = map(l);
                let event_type = serde_json::from_str::<Value>(l).map(|v| v["event_type"].clone());
                json!({
                    "event_type": event_type.unwrap_or_default(),
                    "alert": if a.is_object() {
                        json!({"event_class": a["event_class"], "name": a["name"], "message": a["message"],
                               "severity": a["severity"], "severity_label": a["severity_label"],
                               "hostname": a["hostname"], "src": [a["src_ip"], a["src_port"]],
                               "dst": [a["dst_ip"], a["dst_port"]], "proto": a["proto"], "event_time": a["event_time"]})
                    } else {
                        a
                    },
                })
            })
            .collect();
        insta::assert_json_snapshot!(alerts);
    }
}
