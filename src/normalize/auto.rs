//! What a syslog listener does with a message whatever its sender speaks:
//! a CEF or LEEF record inside it wins; otherwise RFC 5424 when the message
//! is valid RFC 5424 (strict: this is what conformance means), then RFC 5424
//! read leniently when it starts `<PRI>VERSION` (the alert's `parse_mode` is
//! then `lenient`, with its deviations), otherwise BSD syslog read leniently
//! (RFC 3164 accepts any line, so nearly everything is ingested). The alert's
//! `format` and `parse_mode` record which reading applied.
//!
//! Whichever syslog reading applied, a MSG that is a Suricata EVE record is
//! EVE: Suricata writes each record as one message when its `eve-log` has
//! `filetype: syslog` (`openlog(identity, LOG_PID, facility)`, then the
//! record, after the optional `prefix`, as the whole MSG:
//! `<134>Dec  2 12:00:00 ids-01 suricata[1234]: {"timestamp": ...}`), and
//! relays such as rsyslog pass it on in RFC 3164 or RFC 5424. The MSG, after
//! leading spaces, a BOM and the CEE cookie `@cee:` (the `prefix` Suricata's
//! documentation suggests), must be one JSON object that [`eve::parse`]
//! accepts; anything else (JSON that is not EVE, a record cut short) stays a
//! syslog alert. An `alert` or `anomaly` record is an alert exactly as
//! [`from_eve`] makes it, with the envelope's hostname when the record has no
//! `host`, and the whole message as `raw`; any other record is device
//! context ([`AutoDecoded::Context`], see [`context_of`]), not an alert.

use serde::Serialize;

use crate::codec::cef::{self, CefRecord};
use crate::codec::eve::{self, EveRecord};
use crate::codec::leef::{self, LeefRecord};
use crate::codec::rfc3164::{self, BsdMessage};
use crate::codec::rfc5424::{self, SyslogMessage};
use crate::codec::ParseError;
use crate::model::{Alert, DeviceContext, ParseMode};

use super::{context_of, from_eve, from_rfc3164, from_rfc5424, Receipt};

/// What [`decode_auto`] made of a message.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every message is an alert: boxing it would cost an allocation per message"
)]
pub enum AutoDecoded {
    /// An alert, with the layers it was read from.
    Alert(Layers, Alert),
    /// A Suricata EVE record that is device context rather than an alert
    /// (`flow`, `dns`, `tls`, `http`, `fileinfo`, `stats`, ...), in its
    /// syslog envelope, with the sightings it shows ([`context_of`]: none,
    /// one or two).
    Context { envelope: Envelope, record: EveRecord, sightings: Vec<DeviceContext> },
}

impl AutoDecoded {
    /// The alert, when the message made one.
    pub fn into_alert(self) -> Option<Alert> {
        match self {
            Self::Alert(_, alert) => Some(alert),
            Self::Context { .. } => None,
        }
    }
}

/// The layers found in a message, outermost first.
#[derive(Debug, Clone, PartialEq)]
pub enum Layers {
    Rfc5424(SyslogMessage),
    Rfc3164(BsdMessage),
    /// A CEF record, with its RFC 5424 envelope when it had one.
    Cef(Option<SyslogMessage>, CefRecord<'static>),
    /// A LEEF record, with its RFC 5424 envelope when it had one.
    Leef(Option<SyslogMessage>, LeefRecord),
    /// A Suricata EVE `alert` or `anomaly` record, the MSG of its envelope.
    Eve(Envelope, Box<EveRecord>),
}

/// The syslog header around a record, as whichever reading decoded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Envelope {
    Rfc5424(SyslogMessage),
    Rfc3164(BsdMessage),
}

impl Envelope {
    fn hostname(&self) -> Option<&str> {
        match self {
            Self::Rfc5424(m) => m.hostname.as_deref(),
            Self::Rfc3164(m) => m.hostname.as_deref(),
        }
    }

    fn message(&self) -> Option<&str> {
        match self {
            Self::Rfc5424(m) => m.message.as_deref(),
            Self::Rfc3164(m) => m.message.as_deref(),
        }
    }

    fn into_layers(self) -> Layers {
        match self {
            Self::Rfc5424(m) => Layers::Rfc5424(m),
            Self::Rfc3164(m) => Layers::Rfc3164(m),
        }
    }
}

/// Which syslog reading decoded the envelope, for a syslog alert's parse mode.
enum Reading {
    Strict,
    /// Lenient RFC 5424, with its deviations.
    Lenient(Vec<String>),
    /// BSD syslog; with the strict RFC 5424 error when the message claimed
    /// RFC 5424 (`<PRI>VERSION`) and is not even lenient RFC 5424.
    Bsd(Option<ParseError>),
}

/// Decodes `raw` by what it is, see the module docs.
pub fn decode_auto(raw: &[u8], receipt: &Receipt) -> Result<AutoDecoded, ParseError> {
    if cef::find(raw).is_some() {
        // A CEF record that does not parse is still a syslog message: fall
        // through and keep it as one rather than reject it.
        if let Ok(d) = super::cef::decode(raw, receipt) {
            return Ok(AutoDecoded::Alert(Layers::Cef(d.syslog, d.record), d.alert));
        }
    }
    if leef::find(raw).is_some() {
        if let Ok(d) = super::leef::decode(raw, receipt) {
            return Ok(AutoDecoded::Alert(Layers::Leef(d.syslog, d.record), d.alert));
        }
    }
    let (envelope, reading) = envelope(raw, receipt)?;
    if let Some(record) = envelope.message().and_then(eve_record) {
        return Ok(eve_in_syslog(envelope, record, raw, receipt));
    }
    let alert = syslog_alert(&envelope, reading, raw, receipt);
    Ok(AutoDecoded::Alert(envelope.into_layers(), alert))
}

/// The syslog header and MSG: strict RFC 5424, else lenient RFC 5424, else
/// lenient BSD syslog; neither reading working is an error.
fn envelope(raw: &[u8], receipt: &Receipt) -> Result<(Envelope, Reading), ParseError> {
    let strict = match rfc5424::parse(raw) {
        Ok(m) => return Ok((Envelope::Rfc5424(m), Reading::Strict)),
        Err(e) => e,
    };
    // `<PRI>VERSION` but not the RFC's grammar: what real devices send.
    if let Ok(l) = rfc5424::parse_lenient(raw) {
        return Ok((Envelope::Rfc5424(l.message), Reading::Lenient(l.deviations)));
    }
    match rfc3164::parse(raw, receipt.received_at) {
        Ok(m) => {
            // It claimed RFC 5424 and is not even lenient RFC 5424: say so.
            let claimed = claims_rfc5424(raw).then_some(strict);
            Ok((Envelope::Rfc3164(m), Reading::Bsd(claimed)))
        }
        // Neither reading works (an empty message, a priority over 191): the
        // RFC 5424 reason is the one that names what a sender should fix.
        Err(_) => Err(strict),
    }
}

/// The envelope as a syslog alert, its parse mode saying how it was read.
fn syslog_alert(envelope: &Envelope, reading: Reading, raw: &[u8], receipt: &Receipt) -> Alert {
    let mut alert = match envelope {
        Envelope::Rfc5424(m) => from_rfc5424(m, raw, receipt),
        Envelope::Rfc3164(m) => from_rfc3164(m, raw, receipt),
    };
    match reading {
        Reading::Strict | Reading::Bsd(None) => {}
        Reading::Lenient(deviations) => alert.parse_mode = ParseMode::from_deviations(deviations),
        Reading::Bsd(Some(strict)) => {
            let mut d = alert.parse_mode.deviations().to_vec();
            d.insert(0, format!("not RFC 5424 ({strict}): read as BSD syslog"));
            alert.parse_mode = ParseMode::Lenient(d);
        }
    }
    alert
}

/// The EVE record a syslog MSG is, when it is one (see the module docs).
fn eve_record(msg: &str) -> Option<EveRecord> {
    let text = msg.strip_prefix('\u{feff}').unwrap_or(msg).trim();
    let text = text.strip_prefix("@cee:").map_or(text, str::trim_start);
    // Only what looks like one JSON object is handed to the JSON parser.
    if !(text.starts_with('{') && text.ends_with('}')) {
        return None;
    }
    eve::parse(text.as_bytes()).ok()
}

/// An EVE record found in a syslog message: an alert (`alert`, `anomaly`)
/// or device context.
fn eve_in_syslog(envelope: Envelope, record: EveRecord, raw: &[u8], receipt: &Receipt) -> AutoDecoded {
    match from_eve(&record, raw, receipt) {
        Some(mut alert) => {
            if alert.hostname.is_none() {
                alert.hostname = envelope.hostname().map(str::to_owned);
            }
            AutoDecoded::Alert(Layers::Eve(envelope, Box::new(record)), alert)
        }
        None => {
            let sightings = context_of(&record);
            AutoDecoded::Context { envelope, record, sightings }
        }
    }
}

/// `<PRI>` then a version digit: the sender meant RFC 5424.
fn claims_rfc5424(raw: &[u8]) -> bool {
    let Some(rest) = raw.strip_prefix(b"<") else { return false };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (1..=3).contains(&digits)
        && rest.get(digits) == Some(&b'>')
        && rest.get(digits + 1).is_some_and(|b| (b'1'..=b'9').contains(b))
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::model::Format;

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            source_addr: None,
            listener: None,
        }
    }

    /// The format each input is read as, or the error's text.
    #[track_caller]
    fn check(input: &str, want: Result<Format, &str>) {
        let got = decode_auto(input.as_bytes(), &receipt())
            .map(|d| d.into_alert().map(|a| a.format))
            .map_err(|e| e.to_string());
        match want {
            Ok(f) => assert_eq!(got, Ok(Some(f)), "input {input:?}"),
            Err(text) => assert!(got.as_ref().is_err_and(|e| e.contains(text)), "input {input:?}: {got:?}"),
        }
    }

    #[test]
    fn each_dialect_is_read_as_itself() {
        check("<13>1 2026-11-28T15:45:20Z host gw - - - pump IP-3 beacon", Ok(Format::Rfc5424));
        check("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", Ok(Format::Rfc3164));
        check("<14>python logging handler message", Ok(Format::Rfc3164));
        check("<134>1 2024-05-01T10:00:00Z gw relay - - - CEF:0|Medigate|IoMT|2|42|Default credentials|8|src=10.1.2.3", Ok(Format::Cef));
        check("<134>Oct 11 22:14:15 gw CEF:0|Medigate|IoMT|2|42|Default credentials|High|", Ok(Format::Cef));
        check("CEF:0|Medigate|IoMT|2|42|Default credentials|8|", Ok(Format::Cef));
        check(
            "<13>1 - - - - - - LEEF:1.0|Cynerio|IoMT|1.0|BEACON|src=10.0.0.1\tdst=1.2.3.4",
            Ok(Format::Leef),
        );
        check("LEEF:2.0|Cynerio|IoMT|1.0|BEACON|^|src=10.0.0.1^dst=1.2.3.4", Ok(Format::Leef));
    }

    #[test]
    fn broken_rfc5424_is_still_ingested_leniently_and_says_so() {
        check("<14>1 2024-13-01T00:00:00Z h a - - - bad month", Ok(Format::Rfc3164));
        check("a line with no priority at all", Ok(Format::Rfc3164));
        // A CEF marker whose record does not parse stays a syslog message.
        check("<14>1 - h a - - - CEF:0|only|three", Ok(Format::Rfc5424));
    }

    /// The parse mode and deviations an input is read with.
    #[track_caller]
    fn mode(input: &str) -> (Format, ParseMode) {
        match decode_auto(input.as_bytes(), &receipt()) {
            Ok(AutoDecoded::Alert(_, a)) => (a.format, a.parse_mode),
            Ok(other) => panic!("{input:?} is no alert: {other:?}"),
            Err(e) => panic!("{input:?} rejected: {e}"),
        }
    }

    #[test]
    fn the_alert_records_whether_strict_or_lenient_applied() {
        assert_eq!(mode("<13>1 2026-11-28T15:45:20Z host gw - - - ok"), (Format::Rfc5424, ParseMode::Strict));
        assert_eq!(
            mode("<13>1  2026-11-28T15:45:20Z host gw - - - two spaces"),
            (Format::Rfc5424, ParseMode::Lenient(vec!["2 spaces after the version".into()]))
        );
        assert_eq!(
            mode("<34>Oct 11 22:14:15 mymachine su: 'su root' failed"),
            (Format::Rfc3164, ParseMode::Strict)
        );
        assert_eq!(
            mode("<14>python logging handler message"),
            (Format::Rfc3164, ParseMode::Lenient(vec!["no timestamp".into(), "no hostname".into()]))
        );
        let (format, broken) = mode("<14>1 2024-13-01T00:00:00Z h a - - - bad month");
        assert_eq!(format, Format::Rfc3164);
        assert!(
            broken
                .deviations()
                .first()
                .is_some_and(|d| d.starts_with("not RFC 5424 (rfc5424: date out of range")),
            "{broken:?}"
        );
    }

    #[test]
    fn what_neither_reading_takes_is_rejected_with_the_rfc5424_reason() {
        check("<192>1 - - - - - - x", Err("rfc5424: priority is over 191"));
        check("", Err("rfc5424: expected '<'"));
    }

    #[test]
    fn layers_keep_the_envelope() {
        let raw = "<134>1 2024-05-01T10:00:00Z gw relay - - - CEF:0|Medigate|IoMT|2|42|Beacon|8|src=10.1.2.3";
        match decode_auto(raw.as_bytes(), &receipt()) {
            Ok(AutoDecoded::Alert(
                Layers::Cef(Some(env), rec),
                Alert { hostname: host, src_ip: src, .. },
            )) => {
                assert_eq!(env.appname.as_deref(), Some("relay"));
                assert_eq!(rec.name, "Beacon");
                assert_eq!(host.as_deref(), Some("gw"));
                assert_eq!(src.map(|s| s.to_string()).as_deref(), Some("10.1.2.3"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// An EVE record as Suricata writes it (compact, in its field order),
    /// with the given event type and type-specific object.
    fn eve_json(event_type: &str, src: &str, dest: &str, object: &str) -> String {
        format!(
            r#"{{"timestamp":"2026-12-02T12:00:00.000412+0000","flow_id":1402356894671843,"in_iface":"ens1f0","event_type":"{event_type}","src_ip":"{src}","src_port":50311,"dest_ip":"{dest}","dest_port":445,"proto":"TCP",{object}}}"#
        )
    }

    fn eve_alert() -> String {
        eve_json(
            "alert",
            "10.20.30.12",
            "10.20.4.17",
            r#""alert":{"action":"allowed","gid":1,"signature_id":2024218,"rev":3,"signature":"ET EXPLOIT ETERNALBLUE Probe","category":"Attempted Administrator Privilege Gain","severity":1}"#,
        )
    }

    /// What a message becomes, in short: `eve alert NAME @HOST` (the alert's
    /// hostname), `context TYPE DEVICE<-PEER ...`, or the format of the
    /// syslog alert it stayed.
    fn eve(input: &str) -> String {
        match decode_auto(input.as_bytes(), &receipt()) {
            Ok(AutoDecoded::Alert(Layers::Eve(_, record), a)) => {
                assert_eq!(a.raw.as_bytes(), input.as_bytes(), "raw is the whole message");
                assert_eq!((a.format, &a.parse_mode), (Format::Eve, &ParseMode::Strict));
                assert_eq!(a.event_time, Some(record.timestamp));
                format!("eve alert {} @{}", a.name, a.hostname.unwrap_or_default())
            }
            Ok(AutoDecoded::Alert(_, a)) => a.format.as_str().to_owned(),
            Ok(AutoDecoded::Context { record, sightings, .. }) => {
                let seen: Vec<String> = sightings
                    .iter()
                    .map(|c| format!("{}<-{}", c.device, c.peer.map(|p| p.to_string()).unwrap_or_default()))
                    .collect();
                format!("context {} {}", record.event_type, seen.join(" ")).trim_end().to_owned()
            }
            Err(e) => format!("rejected: {e}"),
        }
    }

    #[test]
    fn eve_in_an_rfc3164_envelope_as_suricata_writes_it() {
        let alert = eve_alert();
        // Through a relay, which puts its hostname in.
        assert_eq!(
            eve(&format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @ids-01"
        );
        // As syslog(3) writes it to /dev/log: no hostname.
        assert_eq!(
            eve(&format!("<134>Dec  2 12:00:00 suricata[1234]: {alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @"
        );
        // With the `prefix: "@cee: "` Suricata's documentation suggests.
        assert_eq!(
            eve(&format!("<190>Dec  2 12:00:00 ids-01 suricata[1234]: @cee: {alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @ids-01"
        );
        // A bare record, as from a forwarder of Suricata's unix socket.
        assert_eq!(eve(&alert), "eve alert ET EXPLOIT ETERNALBLUE Probe @");
    }

    #[test]
    fn eve_in_an_rfc5424_envelope_strict_or_lenient() {
        let alert = eve_alert();
        // rsyslog's RSYSLOG_SyslogProtocol23Format (its %msg% keeps the space after the colon).
        assert_eq!(
            eve(&format!("<134>1 2026-12-02T12:00:00.000497+00:00 ids-01 suricata 1234 - -  {alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @ids-01"
        );
        assert_eq!(
            eve(&format!("<134>1 2026-12-02T12:00:00Z ids-01 suricata 1234 - - \u{feff}{alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @ids-01"
        );
        // No structured-data field: lenient RFC 5424, the record still read.
        assert_eq!(
            eve(&format!("<134>1 2026-12-02T12:00:00Z ids-01 suricata 1234 - {alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @ids-01"
        );
    }

    #[test]
    fn the_sensor_name_in_the_record_wins_over_the_envelope_host() {
        let alert = eve_alert().replacen(r#""proto":"TCP""#, r#""proto":"TCP","host":"ids-icu-1""#, 1);
        assert_eq!(
            eve(&format!("<134>Dec  2 12:00:00 relay-7 suricata[1234]: {alert}")),
            "eve alert ET EXPLOIT ETERNALBLUE Probe @ids-icu-1"
        );
    }

    #[test]
    fn an_anomaly_is_an_alert() {
        let anomaly = eve_json(
            "anomaly",
            "10.20.8.52",
            "10.20.0.80",
            r#""anomaly":{"type":"applayer","event":"UNABLE_TO_MATCH_RESPONSE_TO_REQUEST","layer":"proto_parser"}"#,
        );
        assert_eq!(
            eve(&format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {anomaly}")),
            "eve alert Protocol anomaly: UNABLE_TO_MATCH_RESPONSE_TO_REQUEST @ids-01"
        );
    }

    #[test]
    fn other_eve_records_are_device_context_not_alerts() {
        let flow =
            eve_json("flow", "10.20.8.41", "10.20.0.53", r#""flow":{"pkts_toserver":1,"state":"closed"}"#);
        assert_eq!(
            eve(&format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {flow}")),
            "context flow 10.20.8.41<-10.20.0.53 10.20.0.53<-10.20.8.41"
        );
        let dns = eve_json(
            "dns",
            "10.20.8.52",
            "198.51.100.53",
            r#""dns":{"type":"query","rrname":"pump-gw.example"}"#,
        );
        assert_eq!(
            eve(&format!("<134>1 2026-12-02T12:00:00Z ids-01 suricata 1234 - - {dns}")),
            "context dns 10.20.8.52<-198.51.100.53"
        );
        // Records without addresses show no device, and are still no alert.
        let stats =
            r#"{"timestamp":"2026-12-02T12:00:00.000412+0000","event_type":"stats","stats":{"uptime":60}}"#;
        assert_eq!(eve(&format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {stats}")), "context stats");
    }

    #[test]
    fn json_that_is_not_eve_stays_a_syslog_message() {
        let alert = eve_alert();
        let cut = &alert[..alert.len() - 20];
        for input in [
            r#"<134>Dec  2 12:00:00 gw app[1]: {"level":"info","msg":"pump online"}"#.to_owned(),
            // No event_type, an event_type of the wrong type, no timestamp.
            format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {}", alert.replace("event_type", "kind")),
            format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {}", alert.replace(r#""alert","#, "7,")),
            format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {}", alert.replace("timestamp", "ts")),
            // Cut short (a sender's line limit), or more than one object.
            format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {cut}"),
            format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {alert} {alert}"),
            format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: EVE {alert}"),
        ] {
            assert_eq!(eve(&input), "rfc3164", "{input}");
        }
        assert_eq!(eve(&format!("<134>1 - ids-01 suricata - - - {cut}")), "rfc5424");
    }

    /// One EVE alert from syslog, whole, reviewed once and pinned.
    #[test]
    fn eve_in_syslog_alert_snapshot() {
        let raw = format!("<134>Dec  2 12:00:00 ids-01 suricata[1234]: {}", eve_alert());
        match decode_auto(raw.as_bytes(), &receipt()) {
            Ok(AutoDecoded::Alert(Layers::Eve(Envelope::Rfc3164(_), _), alert)) => {
                insta::assert_json_snapshot!(alert)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
