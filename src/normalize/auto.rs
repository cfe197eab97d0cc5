//! What a syslog listener does with a message whatever its sender speaks:
//! a CEF or LEEF record inside it wins; otherwise RFC 5424 when the message
//! is valid RFC 5424 (strict: this is what conformance means), then RFC 5424
//! read leniently when it starts `<PRI>VERSION` (the alert's `parse_mode` is
//! then `lenient`, with its deviations), otherwise BSD syslog read leniently
//! (RFC 3164 accepts any line, so nearly everything is ingested). The alert's
//! `format` and `parse_mode` record which reading applied.

use crate::codec::cef::{self, CefRecord};
use crate::codec::leef::{self, LeefRecord};
use crate::codec::rfc3164::{self, BsdMessage};
use crate::codec::rfc5424::{self, SyslogMessage};
use crate::codec::ParseError;
use crate::model::{Alert, ParseMode};

use super::{from_rfc3164, from_rfc5424, Receipt};

/// The layers found in a message, outermost first.
#[derive(Debug, Clone, PartialEq)]
pub enum Layers {
    Rfc5424(SyslogMessage),
    Rfc3164(BsdMessage),
    /// A CEF record, with its RFC 5424 envelope when it had one.
    Cef(Option<SyslogMessage>, CefRecord<'static>),
    /// A LEEF record, with its RFC 5424 envelope when it had one.
    Leef(Option<SyslogMessage>, LeefRecord),
}

/// Decodes `raw` by what it is, see the module docs.
pub fn decode_auto(raw: &[u8], receipt: &Receipt) -> Result<(Layers, Alert), ParseError> {
    if cef::find(raw).is_some() {
        // A CEF record that does not parse is still a syslog message: fall
        // through and keep it as one rather than reject it.
        if let Ok(d) = super::cef::decode(raw, receipt) {
            return Ok((Layers::Cef(d.syslog, d.record), d.alert));
        }
    }
    if leef::find(raw).is_some() {
        if let Ok(d) = super::leef::decode(raw, receipt) {
            return Ok((Layers::Leef(d.syslog, d.record), d.alert));
        }
    }
    let strict = match rfc5424::parse(raw) {
        Ok(m) => {
            let alert = from_rfc5424(&m, raw, receipt);
            return Ok((Layers::Rfc5424(m), alert));
        }
        Err(e) => e,
    };
    // `<PRI>VERSION` but not the RFC's grammar: what real devices send.
    if let Ok(l) = rfc5424::parse_lenient(raw) {
        let mut alert = from_rfc5424(&l.message, raw, receipt);
        alert.parse_mode = ParseMode::from_deviations(l.deviations);
        return Ok((Layers::Rfc5424(l.message), alert));
    }
    match rfc3164::parse(raw, receipt.received_at) {
        Ok(m) => {
            let mut alert = from_rfc3164(&m, raw, receipt);
            if claims_rfc5424(raw) {
                // It claimed RFC 5424 and is not even lenient RFC 5424: say so.
                let mut d = alert.parse_mode.deviations().to_vec();
                d.insert(0, format!("not RFC 5424 ({strict}): read as BSD syslog"));
                alert.parse_mode = ParseMode::Lenient(d);
            }
            Ok((Layers::Rfc3164(m), alert))
        }
        // Neither reading works (an empty message, a priority over 191): the
        // RFC 5424 reason is the one that names what a sender should fix.
        Err(_) => Err(strict),
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
        let got = decode_auto(input.as_bytes(), &receipt()).map(|(_, a)| a.format).map_err(|e| e.to_string());
        match want {
            Ok(f) => assert_eq!(got, Ok(f), "input {input:?}"),
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
            Ok((_, a)) => (a.format, a.parse_mode),
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
        let got = decode_auto(raw.as_bytes(), &receipt()).map(|(l, a)| (l, a.hostname, a.src_ip));
        match got {
            Ok((Layers::Cef(Some(env), rec), host, src)) => {
                assert_eq!(env.appname.as_deref(), Some("relay"));
                assert_eq!(rec.name, "Beacon");
                assert_eq!(host.as_deref(), Some("gw"));
                assert_eq!(src.map(|s| s.to_string()).as_deref(), Some("10.1.2.3"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
