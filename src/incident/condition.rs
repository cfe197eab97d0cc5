//! An alert's condition: what behaviour it reports, the same key whichever
//! source reported it (Suricata's `ET SCAN ...` and an IoMT platform's
//! "Network scan against medical devices" are both `scan`).

use super::rules::ConditionRule;
use crate::model::Alert;

/// The condition of a storm incident.
pub const STORM: &str = "storm";

/// A condition's key and its title for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub key: String,
    pub title: String,
}

/// Rule-set prefixes that say who wrote a signature, not what it detects.
const PREFIXES: [&str; 6] = ["et ", "etpro ", "gpl ", "suricata ", "snort ", "sid "];
const MAX_KEY: usize = 64;

/// The condition of `alert`: the first rule one of whose patterns its name
/// or event class contains, or else its name, normalized (lower case,
/// rule-set prefix dropped, runs of other characters one `-`).
pub fn of(alert: &Alert, rules: &[ConditionRule]) -> Condition {
    let name = alert.name.to_lowercase();
    let class = alert.event_class.to_lowercase();
    for rule in rules {
        if rule.patterns.iter().any(|p| {
            let p = p.to_lowercase();
            name.contains(&p) || class.contains(&p)
        }) {
            return Condition { key: rule.key.clone(), title: rule.title.clone() };
        }
    }
    // A syslog record's MSGID names its type (RFC 5424 6.2.7); its text
    // varies from one message to the next.
    let syslog = matches!(alert.format, crate::model::Format::Rfc5424 | crate::model::Format::Rfc3164);
    if syslog && !class.trim().is_empty() && class != "syslog" {
        return Condition { key: normalized(&class), title: alert.event_class.trim().to_owned() };
    }
    Condition { key: normalized(&name), title: alert.name.trim().to_owned() }
}

fn normalized(name: &str) -> String {
    let mut rest = name.trim();
    for p in PREFIXES {
        if let Some(r) = rest.strip_prefix(p) {
            rest = r;
            break;
        }
    }
    let mut key = String::new();
    for c in rest.chars() {
        if c.is_alphanumeric() {
            if key.len() + c.len_utf8() > MAX_KEY {
                break;
            }
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
    }
    let key = key.trim_end_matches('-').to_owned();
    if key.is_empty() || key == STORM {
        "unnamed".to_owned()
    } else {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_records_fold_by_their_msgid_not_their_varying_text() {
        let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
        let of_raw =
            |raw: &str| match normalize::decode(crate::model::Format::Rfc5424, raw.as_bytes(), &receipt) {
                Ok(a) => of(&a, &Rules::default().conditions),
                Err(e) => panic!("{e}"),
            };
        let a = of_raw("<11>1 2024-05-01T10:00:00Z gw app 12 BEACON - beacon 1");
        let b = of_raw("<11>1 2024-05-01T10:00:00Z gw app 12 BEACON - beacon 2 from elsewhere");
        assert_eq!((a.key.as_str(), a.title.as_str()), ("beacon", "BEACON"));
        assert_eq!(a, b);
        let plain = of_raw("<11>1 2024-05-01T10:00:00Z gw app 12 - - disk almost full");
        assert_eq!(plain.key, "disk-almost-full");
    }
    use crate::incident::Rules;
    use crate::normalize::{self, Receipt};

    /// A CEF alert named `name` of class `class`.
    fn alert(name: &str, class: Option<&str>) -> Alert {
        let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
        let esc = name.replace('\\', "\\\\").replace('|', "\\|");
        let raw = format!("CEF:0|Sim|IDS|1|{}|{esc}|5|src=10.0.0.1", class.unwrap_or("100"));
        match normalize::decode_auto(raw.as_bytes(), &receipt).map(normalize::AutoDecoded::into_alert) {
            Ok(Some(a)) => a,
            other => panic!("fixture does not decode: {other:?}"),
        }
    }

    #[test]
    fn the_ids_and_the_iomt_platform_name_one_scan_alike() {
        let rules = Rules::default().conditions;
        let ids = of(&alert("ET SCAN Vulnerability scanner probe (simulated)", None), &rules);
        let iomt = of(&alert("Network scan against medical devices", Some("IOMT-SCAN")), &rules);
        assert_eq!(
            (ids.key.as_str(), iomt.key.as_str(), ids.title.as_str()),
            ("scan", "scan", "Network scan")
        );
    }

    #[test]
    fn the_event_class_matches_too() {
        let rules = Rules::default().conditions;
        assert_eq!(of(&alert("Rule 77 fired", Some("Malware.Trojan")), &rules).key, "malware");
    }

    #[test]
    fn an_unmatched_name_is_normalized() {
        let c = of(&alert("  ET POLICY  Outbound TFTP -- Write!", None), &[]);
        assert_eq!(
            (c.key.as_str(), c.title.as_str()),
            ("policy-outbound-tftp-write", "ET POLICY  Outbound TFTP -- Write!")
        );
    }

    #[test]
    fn keys_are_bounded_and_never_empty_or_storm() {
        assert_eq!(of(&alert("!!!", None), &[]).key, "unnamed");
        assert_eq!(of(&alert("storm", None), &[]).key, "unnamed");
        let long = normalized(&"é".repeat(100));
        assert_eq!(long.len(), 64);
    }

    proptest::proptest! {
        #[test]
        fn any_name_gives_a_short_key_of_letters_digits_and_dashes(name in ".{0,300}") {
            let key = normalized(&name.to_lowercase());
            proptest::prop_assert!(!key.is_empty() && key.len() <= MAX_KEY);
            proptest::prop_assert!(!key.starts_with('-') && !key.ends_with('-') && !key.contains("--"));
        }
    }
}
