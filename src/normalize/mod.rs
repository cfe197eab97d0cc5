//! Records to alerts: one place that decides what each format's fields mean
//! on the common [`Alert`] model.

mod auto;
pub mod cef;
mod eve;
pub mod hl7;
pub mod json;
pub mod leef;
mod time;

use std::net::SocketAddr;

use chrono::{DateTime, FixedOffset, Utc};

pub use self::eve::{context_of, from_eve, is_device_address};
use crate::codec::{self, rfc5424, ParseError};
use crate::model::{Alert, Format, ParseMode, RawMessage, Severity};

mod rfc3164;

pub use auto::{decode_auto, AutoDecoded, Envelope, Layers};
pub use cef::from_cef;
pub use leef::from_leef;
pub use rfc3164::from_rfc3164;

/// Where and when a message was received: what the transport knows.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub received_at: DateTime<Utc>,
    pub source_addr: Option<SocketAddr>,
    pub listener: Option<String>,
}

/// The longest alert name kept; the full text stays in `message`.
pub(crate) const NAME_MAX_CHARS: usize = 120;

/// Decodes a message in `format` into an alert.
///
/// EVE records that are context rather than alerts (flows, DNS, TLS, HTTP,
/// files, stats: see [`from_eve`]) are refused here with a reason that says
/// so, pointing at their `event_type`: device context ([`context_of`]) is
/// kept by the listeners that read EVE (`eve://` files, and syslog through
/// [`decode_auto`]), and a refusal keeps the record raw rather than losing
/// it. `wardwatch parse` shows them decoded, through [`codec::eve::parse`].
pub fn decode(format: Format, raw: &[u8], receipt: &Receipt) -> Result<Alert, ParseError> {
    match format {
        Format::Rfc5424 => rfc5424::parse(raw).map(|m| from_rfc5424(&m, raw, receipt)),
        Format::Rfc3164 => {
            crate::codec::rfc3164::parse(raw, receipt.received_at).map(|m| from_rfc3164(&m, raw, receipt))
        }
        Format::Eve => {
            let record = codec::eve::parse(raw)?;
            from_eve(&record, raw, receipt).ok_or_else(|| ParseError {
                format: Format::Eve,
                offset: codec::eve::event_type_offset(raw),
                reason: format!(
                    "EVE {:?} record is device context, not an alert; device context is kept from eve:// file listeners and from EVE in syslog",
                    record.event_type
                )
                .into(),
            })
        }
        Format::Cef => cef::decode(raw, receipt).map(|d| d.alert),
        Format::Leef => leef::decode(raw, receipt).map(|d| d.alert),
        Format::Hl7 => Err(ParseError {
            format: Format::Hl7,
            offset: 0,
            reason: "HL7 messages describe devices, not alerts: they come in through mllp:// listeners"
                .into(),
        }),
        // One alert per call: a document of several is refused here (the
        // HTTP listener decodes whole documents with `json::decode`).
        Format::Json => {
            let mut alerts = json::decode(raw, receipt)?;
            match (alerts.pop(), alerts.is_empty()) {
                (Some((_, alert)), true) => Ok(alert),
                (last, _) => Err(ParseError {
                    format: Format::Json,
                    offset: 0,
                    reason: format!(
                        "expected one alert, found {}",
                        alerts.len() + usize::from(last.is_some())
                    )
                    .into(),
                }),
            }
        }
    }
}

/// A record decoded from a message, with the RFC 5424 envelope it came in
/// (if it came in one) and the alert made of both.
#[derive(Debug, Clone)]
pub struct Decoded<R> {
    pub syslog: Option<rfc5424::SyslogMessage>,
    pub record: R,
    pub alert: Alert,
}

/// Maps a record found inside a message to an alert, given the envelope's
/// time and host (used where the record does not say).
pub(crate) type EmbeddedToAlert<R> =
    fn(&R, &[u8], &Receipt, Option<DateTime<FixedOffset>>, Option<&str>) -> Alert;

/// Decodes a record of `format` held in a message (bare, in an RFC 5424
/// envelope, or after any prefix) and maps it with `to_alert`, which gets the
/// envelope's time and host for what the record does not say.
pub(crate) fn decode_embedded<R>(
    raw: &[u8],
    receipt: &Receipt,
    format: Format,
    find: fn(&[u8]) -> Option<usize>,
    parse: fn(&str) -> Result<R, ParseError>,
    to_alert: EmbeddedToAlert<R>,
) -> Result<Decoded<R>, ParseError> {
    let found = locate(raw, format, find)?;
    let record = parse(&found.text).map_err(|e| found.place(raw, e))?;
    let envelope = found.syslog.as_ref();
    let alert = to_alert(
        &record,
        raw,
        receipt,
        envelope.and_then(|m| m.timestamp),
        envelope.and_then(|m| m.hostname.as_deref()),
    );
    Ok(Decoded { syslog: found.syslog, record, alert })
}

/// A record's text inside a message, and where in the message it starts.
pub(crate) struct Located {
    pub syslog: Option<rfc5424::SyslogMessage>,
    /// The record as text (bytes that are not UTF-8 replaced).
    pub text: String,
    /// Where the record starts in the raw message.
    pub offset: usize,
}

impl Located {
    /// `e`, its offset into [`Located::text`] turned into one into `raw`.
    pub(crate) fn place(&self, raw: &[u8], e: ParseError) -> ParseError {
        let tail = raw.get(self.offset..).unwrap_or_default();
        let at = self.offset + raw_offset(tail, e.offset);
        ParseError { offset: at.min(raw.len()), ..e }
    }
}

/// The offset in `raw` of byte `offset` of `String::from_utf8_lossy(raw)`:
/// each run of bytes that is not UTF-8 became one U+FFFD (3 bytes) there.
pub(crate) fn raw_offset(raw: &[u8], offset: usize) -> usize {
    let (mut lossy, mut orig) = (0, 0);
    for chunk in raw.utf8_chunks() {
        let valid = chunk.valid().len();
        if offset <= lossy + valid {
            return orig + (offset - lossy);
        }
        lossy += valid;
        orig += valid;
        let bad = chunk.invalid().len();
        if bad > 0 {
            if offset < lossy + '\u{fffd}'.len_utf8() {
                return orig;
            }
            lossy += '\u{fffd}'.len_utf8();
            orig += bad;
        }
    }
    orig
}

pub(crate) fn locate(
    raw: &[u8],
    format: Format,
    find: fn(&[u8]) -> Option<usize>,
) -> Result<Located, ParseError> {
    let missing = |offset| ParseError {
        format,
        offset,
        reason: match format {
            Format::Leef => "no LEEF record (\"LEEF:<version>|\") in the message".into(),
            _ => "no CEF record (\"CEF:<version>|\") in the message".into(),
        },
    };
    if raw.first() == Some(&b'<') {
        if let Ok(m) = rfc5424::parse(raw) {
            let msg = m.message.as_deref().unwrap_or_default();
            let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
            // MSG is the tail of the message (unless bytes that were not
            // UTF-8 were replaced): error offsets count from its start.
            let at = find(msg.as_bytes()).ok_or_else(|| missing(raw.len().saturating_sub(msg.len())))?;
            let text = msg[at..].to_owned();
            // Where the record starts in the raw bytes: the occurrence of the
            // marker whose tail reads as the same text (MSG is the message's tail).
            let fast = raw.len().checked_sub(text.len()).filter(|&o| raw[o..] == *text.as_bytes());
            let offset = fast
                .or_else(|| {
                    (0..raw.len()).rev().find(|&o| {
                        raw[o..].starts_with(&text.as_bytes()[..4.min(text.len())])
                            && String::from_utf8_lossy(&raw[o..]) == text
                    })
                })
                .unwrap_or(0);
            return Ok(Located { syslog: Some(m), text, offset });
        }
    }
    let at = find(raw).ok_or_else(|| missing(0))?;
    Ok(Located { syslog: None, text: String::from_utf8_lossy(&raw[at..]).into_owned(), offset: at })
}

/// The first present, non-empty value among `keys` looked up with `get`.
pub(crate) fn first_of<'a>(get: impl Fn(&str) -> Option<&'a str>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().filter_map(|k| get(k)).map(str::trim).find(|v| !v.is_empty())
}

/// The first value among `keys` that parses as a `T`.
pub(crate) fn first_parsed<'a, T: std::str::FromStr>(
    get: impl Fn(&str) -> Option<&'a str>,
    keys: &[&str],
) -> Option<T> {
    keys.iter().filter_map(|k| get(k)).find_map(|v| v.trim().parse().ok())
}

/// An RFC 5424 message as an alert: the app-name is the product, the MSGID
/// the event class, the first line of MSG the name.
pub fn from_rfc5424(m: &rfc5424::SyslogMessage, raw: &[u8], receipt: &Receipt) -> Alert {
    // The BOM only says MSG is UTF-8; it is no part of the text.
    let message = m.message.as_deref().map(|s| s.strip_prefix('\u{feff}').unwrap_or(s)).unwrap_or_default();
    syslog_alert(
        SyslogFields {
            format: Format::Rfc5424,
            severity: m.severity,
            timestamp: m.timestamp,
            hostname: m.hostname.as_deref(),
            appname: m.appname.as_deref(),
            event_class: m.msgid.as_deref(),
            message,
            parse_mode: ParseMode::Strict,
        },
        raw,
        receipt,
    )
}

/// What the syslog formats share, as an alert shows it.
struct SyslogFields<'a> {
    format: Format,
    /// The syslog severity, 0 (emergency) to 7 (debug).
    severity: u8,
    timestamp: Option<DateTime<FixedOffset>>,
    hostname: Option<&'a str>,
    appname: Option<&'a str>,
    /// The sender's event kind; also names an alert with no text.
    event_class: Option<&'a str>,
    message: &'a str,
    parse_mode: ParseMode,
}

/// A syslog record as an alert: the app name is the product, the event class
/// (or `syslog`) the class, the first line of the message (or the event
/// class, or `syslog message`) the name.
fn syslog_alert(f: SyslogFields<'_>, raw: &[u8], receipt: &Receipt) -> Alert {
    let severity = Severity::from_syslog(f.severity);
    Alert {
        id: None,
        received_at: receipt.received_at,
        event_time: f.timestamp,
        source_addr: receipt.source_addr,
        listener: receipt.listener.clone(),
        format: f.format,
        parse_mode: f.parse_mode,
        severity,
        severity_label: severity.label(),
        vendor: None,
        product: f.appname.map(str::to_owned),
        event_class: f.event_class.unwrap_or("syslog").to_owned(),
        name: alert_name(f.message, f.event_class),
        message: f.message.to_owned(),
        hostname: f.hostname.map(str::to_owned),
        src_ip: None,
        dst_ip: None,
        src_port: None,
        dst_port: None,
        proto: None,
        details: Default::default(),
        raw: RawMessage(raw.to_vec()),
    }
}

/// The first line of `message` with text, cut to [`NAME_MAX_CHARS`]; else
/// `fallback`, else `syslog message`.
fn alert_name(message: &str, fallback: Option<&str>) -> String {
    let first_line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if first_line.is_empty() {
        fallback.unwrap_or("syslog message").to_owned()
    } else {
        truncate_chars(first_line, NAME_MAX_CHARS)
    }
}

pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeverityLabel;

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            source_addr: "127.0.0.1:40000".parse().ok(),
            listener: Some("udp://127.0.0.1:5514".into()),
        }
    }

    #[test]
    fn rfc5424_fields_land_where_the_model_says() {
        let raw = "<131>1 2024-05-01T10:00:00Z gw-icu-1 iomt-sentinel - BEACON - \u{feff}pump IP-3 beacon\nsecond line".as_bytes();
        let a = decode(Format::Rfc5424, raw, &receipt()).map_err(|e| e.to_string());
        let a = match a {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(a.severity.value(), 7, "syslog err (3) is 7 on the 0-10 scale");
        assert_eq!(a.severity_label, SeverityLabel::High);
        assert_eq!(a.product.as_deref(), Some("iomt-sentinel"));
        assert_eq!(a.hostname.as_deref(), Some("gw-icu-1"));
        assert_eq!(a.event_class, "BEACON");
        assert_eq!(a.name, "pump IP-3 beacon");
        assert_eq!(a.message, "pump IP-3 beacon\nsecond line");
        assert_eq!(a.raw.as_bytes(), raw);
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-01T10:00:00+00:00"));
        assert_eq!(a.listener.as_deref(), Some("udp://127.0.0.1:5514"));
    }

    #[test]
    fn empty_message_is_named_by_its_msgid_or_as_syslog() {
        let a = decode(Format::Rfc5424, b"<14>1 - - - - LOGIN - ", &receipt()).map(|a| a.name);
        assert_eq!(a.as_deref(), Ok("LOGIN"));
        let a = decode(Format::Rfc5424, b"<14>1 - - - - - -", &receipt()).map(|a| (a.name, a.event_class));
        assert_eq!(a, Ok(("syslog message".into(), "syslog".into())));
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let long = "é".repeat(200);
        assert_eq!(truncate_chars(&long, 120).chars().count(), 121);
        assert_eq!(truncate_chars("short", 120), "short");
    }
}

#[cfg(test)]
mod offset_tests {
    use super::*;

    #[test]
    fn lossy_offsets_map_back_to_raw_bytes() {
        // "ab", two bytes that are never UTF-8 (one U+FFFD each), then "cd".
        let raw = b"ab\xfa\xfacd";
        let lossy = String::from_utf8_lossy(raw);
        assert_eq!(lossy, "ab\u{fffd}\u{fffd}cd");
        let map: Vec<usize> = (0..=lossy.len()).map(|o| raw_offset(raw, o)).collect();
        assert_eq!(map, [0, 1, 2, 2, 2, 3, 3, 3, 4, 5, 6]);
        // A three-byte sequence cut short is one U+FFFD for its two bytes.
        assert_eq!(raw_offset(b"\xe2\x82x", 3), 2);
    }

    #[test]
    fn errors_in_records_with_bad_bytes_point_inside_the_message() {
        // Found by `make fuzz` (cef target): the offset used to count in the
        // longer lossy text and fell past the end of the message.
        let mut raw = b"CEF:0|security|threatmanager|1.fully stopped|10|moo=this\\|has an escaped".to_vec();
        raw.extend_from_slice(&[0xfa; 18]);
        raw.extend_from_slice(b" pipe");
        let receipt = Receipt { received_at: Utc::now(), source_addr: None, listener: None };
        let e = cef::decode(&raw, &receipt).err();
        assert!(e.as_ref().is_some_and(|e| e.offset <= raw.len()), "{e:?}");
    }
}
