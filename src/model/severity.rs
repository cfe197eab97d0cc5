use std::fmt;

use serde::{Deserialize, Serialize};

/// Severity on the one scale every source is mapped to: 0 (least) to 10 (most),
/// the scale CEF uses, so that syslog, CEF, LEEF and EVE severities compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

/// The words shown beside a severity (never colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityLabel {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const MAX: u8 = 10;

    /// A severity from 0 to 10; `None` outside that range.
    pub fn new(value: u8) -> Option<Self> {
        (value <= Self::MAX).then_some(Self(value))
    }

    /// A severity from any number, held to 0–10.
    pub fn clamped(value: i64) -> Self {
        Self(value.clamp(0, i64::from(Self::MAX)) as u8)
    }

    /// Maps a syslog severity (0 emergency .. 7 debug) onto the 0–10 scale.
    pub fn from_syslog(severity: u8) -> Self {
        Self(match severity {
            0 => 10,
            1 => 9,
            2 => 8,
            3 => 7,
            4 => 5,
            5 => 3,
            6 => 2,
            _ => 0,
        })
    }

    /// Maps a Suricata alert severity (the rule's priority: 1 is the most
    /// severe) onto the 0–10 scale: 1 → 8 (high), 2 → 6 and 3 → 4 (medium).
    /// Those three are the priorities of Suricata's default classtypes. Any
    /// other priority (4 to 255, set by a rule's `priority` keyword or a local
    /// classification) or none at all is 5: the middle of medium, because the
    /// rule's author meant something we cannot rank, and guessing low would
    /// bury it.
    pub fn from_suricata(priority: Option<u8>) -> Self {
        Self(match priority {
            Some(1) => 8,
            Some(2) => 6,
            Some(3) => 4,
            _ => 5,
        })
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// Low 0–3, medium 4–6, high 7–8, critical 9–10 (the CEF bands).
    pub fn label(self) -> SeverityLabel {
        match self.0 {
            0..=3 => SeverityLabel::Low,
            4..=6 => SeverityLabel::Medium,
            7..=8 => SeverityLabel::High,
            _ => SeverityLabel::Critical,
        }
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value).ok_or_else(|| format!("severity {value} is outside 0..=10"))
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl SeverityLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLabel::Low => "low",
            SeverityLabel::Medium => "medium",
            SeverityLabel::High => "high",
            SeverityLabel::Critical => "critical",
        }
    }
}

impl fmt::Display for SeverityLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_bands_have_their_edges_where_cef_puts_them() {
        let check = |v: u8, want: SeverityLabel| {
            assert_eq!(Severity::new(v).map(Severity::label), Some(want), "severity {v}")
        };
        check(0, SeverityLabel::Low);
        check(3, SeverityLabel::Low);
        check(4, SeverityLabel::Medium);
        check(6, SeverityLabel::Medium);
        check(7, SeverityLabel::High);
        check(8, SeverityLabel::High);
        check(9, SeverityLabel::Critical);
        check(10, SeverityLabel::Critical);
        assert_eq!(Severity::new(11), None);
    }

    #[test]
    fn clamped_holds_any_number_to_the_scale() {
        let got: Vec<u8> =
            [-3, 0, 7, 10, 11, 1_000].into_iter().map(|v| Severity::clamped(v).value()).collect();
        assert_eq!(got, vec![0, 0, 7, 10, 10, 10]);
    }

    #[test]
    fn syslog_severities_keep_their_order_on_the_common_scale() {
        let mapped: Vec<u8> = (0..=7).map(|s| Severity::from_syslog(s).value()).collect();
        assert_eq!(mapped, vec![10, 9, 8, 7, 5, 3, 2, 0]);
        assert_eq!(Severity::from_syslog(0).label(), SeverityLabel::Critical);
        assert_eq!(Severity::from_syslog(3).label(), SeverityLabel::High);
        assert_eq!(Severity::from_syslog(4).label(), SeverityLabel::Medium);
        assert_eq!(Severity::from_syslog(6).label(), SeverityLabel::Low);
    }

    #[test]
    fn suricata_priorities_map_by_the_table() {
        let check = |priority: Option<u8>, want: u8, label: SeverityLabel| {
            let s = Severity::from_suricata(priority);
            assert_eq!((s.value(), s.label()), (want, label), "priority {priority:?}");
        };
        check(Some(1), 8, SeverityLabel::High);
        check(Some(2), 6, SeverityLabel::Medium);
        check(Some(3), 4, SeverityLabel::Medium);
        check(Some(4), 5, SeverityLabel::Medium);
        check(Some(255), 5, SeverityLabel::Medium);
        check(Some(0), 5, SeverityLabel::Medium);
        check(None, 5, SeverityLabel::Medium);
    }
}
