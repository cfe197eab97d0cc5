//! BSD syslog (RFC 3164) records as alerts.

use super::{syslog_alert, Receipt, SyslogFields};
use crate::codec::rfc3164::BsdMessage;
use crate::model::{Alert, Format, ParseMode};

/// The severity of a message without PRI: RFC 3164 4.3.3 has a relay give it
/// PRI 13, user.notice.
const DEFAULT_SEVERITY: u8 = 13 & 7;

/// A BSD syslog message as an alert, mapped as RFC 5424 ones are: the TAG is
/// the product, the first line of the message the name. The event class is
/// the Cisco mnemonic without its `%` (`LINK-3-UPDOWN`, `ASA-6-302013`) when
/// the TAG is one, else `syslog`. No PRI counts as user.notice.
///
/// RFC 3164 describes what senders do rather than a grammar; a message with
/// the PRI, timestamp and hostname it describes is read as strict, one
/// without them as lenient, saying what was missing.
pub fn from_rfc3164(m: &BsdMessage, raw: &[u8], receipt: &Receipt) -> Alert {
    let mut deviations = Vec::new();
    if m.priority.is_none() {
        deviations.push("no PRI: read as user.notice".to_owned());
    }
    if m.timestamp.is_none() {
        deviations.push("no timestamp".to_owned());
    }
    if m.hostname.is_none() {
        deviations.push("no hostname".to_owned());
    }
    let mnemonic = m.appname.as_deref().and_then(|t| t.strip_prefix('%')).filter(|t| !t.is_empty());
    syslog_alert(
        SyslogFields {
            format: Format::Rfc3164,
            severity: m.severity.unwrap_or(DEFAULT_SEVERITY),
            timestamp: m.timestamp,
            hostname: m.hostname.as_deref(),
            appname: m.appname.as_deref(),
            event_class: mnemonic,
            message: m.message.as_deref().unwrap_or_default(),
            parse_mode: ParseMode::from_deviations(deviations),
        },
        raw,
        receipt,
    )
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::model::SeverityLabel;
    use crate::normalize::decode;

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_735_787_045, 0).unwrap_or_default(), // 2025-01-02T03:04:05Z
            source_addr: "127.0.0.1:40000".parse().ok(),
            listener: Some("udp://127.0.0.1:5514".into()),
        }
    }

    fn alert(raw: &[u8]) -> Alert {
        match decode(Format::Rfc3164, raw, &receipt()) {
            Ok(a) => a,
            Err(e) => panic!("{:?} rejected: {e}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn bsd_fields_land_where_the_model_says() {
        let raw = b"<34>Oct 11 22:14:15 mymachine su[812]: 'su root' failed for lonvick on /dev/pts/8\nmore";
        let a = alert(raw);
        assert_eq!(a.format, Format::Rfc3164);
        assert_eq!(a.severity.value(), 8, "syslog crit (2) is 8 on the 0-10 scale");
        assert_eq!(a.severity_label, SeverityLabel::High);
        assert_eq!(a.product.as_deref(), Some("su"));
        assert_eq!(a.hostname.as_deref(), Some("mymachine"));
        assert_eq!(a.event_class, "syslog");
        assert_eq!(a.name, "'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(a.message, "'su root' failed for lonvick on /dev/pts/8\nmore");
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-10-11T22:14:15+00:00"));
        assert_eq!(a.received_at, receipt().received_at);
        assert_eq!(a.raw.as_bytes(), raw);
        assert_eq!(a.listener.as_deref(), Some("udp://127.0.0.1:5514"));
    }

    #[test]
    fn cisco_mnemonics_are_the_event_class() {
        let a =
            alert(b"<189>123: Mar  1 00:00:00.123: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down");
        assert_eq!((a.event_class.as_str(), a.product.as_deref()), ("LINK-3-UPDOWN", Some("%LINK-3-UPDOWN")));
        assert_eq!(a.severity.value(), 3, "PRI 189 is local7.notice");
        let a = alert(b"<166>Jan 05 2024 10:00:00: %ASA-6-302013: Built outbound TCP connection");
        assert_eq!(a.event_class, "ASA-6-302013");
        assert_eq!(a.name, "Built outbound TCP connection");
        assert_eq!(alert(b"<14>%: x").event_class, "syslog", "a bare % is no mnemonic");
    }

    #[test]
    fn no_pri_is_user_notice() {
        let a = alert(b"plain line from a file");
        assert_eq!(a.severity, crate::model::Severity::from_syslog(5));
        assert_eq!((a.product, a.hostname, a.event_time), (None, None, None));
        assert_eq!(a.name, "plain line from a file");
    }

    #[test]
    fn empty_messages_are_named_by_mnemonic_or_as_syslog() {
        assert_eq!(alert(b"<13>Feb  5 17:32:18 host %SYS-5-CONFIG_I:").name, "SYS-5-CONFIG_I");
        assert_eq!(alert(b"<13>Feb  5 17:32:18 host su:").name, "syslog message");
        assert_eq!(alert(b"<13>").name, "syslog message");
    }

    #[test]
    fn long_names_are_cut_like_rfc5424_ones() {
        let raw = format!("<13>app: {}", "é".repeat(200));
        let a = alert(raw.as_bytes());
        assert_eq!(a.name.chars().count(), 121);
        assert!(a.name.ends_with('…'));
        assert_eq!(a.message.chars().count(), 200);
    }
}
