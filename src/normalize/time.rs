//! Event times as security devices write them in CEF and LEEF: epoch
//! milliseconds, or dates in a Java `SimpleDateFormat` pattern. A time with
//! no zone is taken as UTC; a date with no year gets the year that puts it
//! closest before the receive time.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};

/// Milliseconds since the epoch, as CEF's `rt` and LEEF's `devTime` allow.
pub(crate) fn epoch_millis(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = s.parse().ok()?;
    DateTime::from_timestamp_millis(ms).map(|t| t.fixed_offset())
}

/// The formats ArcSight documents for CEF timestamps (`rt`, `start`, `end`),
/// besides epoch milliseconds.
const CEF_PATTERNS: &[&str] = &[
    "MMM dd yyyy HH:mm:ss.SSS zzz",
    "MMM dd yyyy HH:mm:ss.SSS",
    "MMM dd yyyy HH:mm:ss zzz",
    "MMM dd yyyy HH:mm:ss",
    "MMM dd HH:mm:ss.SSS zzz",
    "MMM dd HH:mm:ss.SSS",
    "MMM dd HH:mm:ss zzz",
    "MMM dd HH:mm:ss",
];

/// A CEF timestamp: epoch milliseconds, or one of the spec's date formats.
pub(crate) fn cef_time(s: &str, received: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    epoch_millis(s).or_else(|| CEF_PATTERNS.iter().find_map(|p| java_time(s, p, received)))
}

/// `s` read with the Java `SimpleDateFormat` `pattern`. Supported letters:
/// `yyyy` `yy` `M` `MM` `MMM` `MMMM` `d` `dd` `H` `HH` `h` `hh` `a` `m` `mm`
/// `s` `ss` `S..` `E..` `Z` `X..`, and `z` for the zone names `UTC`, `GMT`
/// and `Z` only. Quoted text is literal. Anything else gives `None`.
pub(crate) fn java_time(s: &str, pattern: &str, received: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    let mut value = s.trim().to_owned();
    let mut pattern = pattern.trim().to_owned();
    // Named zones chrono cannot read: only the ones that mean UTC.
    if pattern.ends_with('z') {
        let base = pattern.trim_end_matches('z').trim_end();
        let (rest, zone) = value.rsplit_once(' ')?;
        if !matches!(zone, "UTC" | "GMT" | "Z") {
            return None;
        }
        value = rest.trim_end().to_owned();
        pattern = base.to_owned();
    }
    let spec = Spec::from_java(&pattern)?;
    if spec.year {
        spec.parse(&value)
    } else {
        // Put the receive year in front, and the year before when that
        // would place the event more than a day after it was received.
        let year = received.year();
        let at = |y: i32| {
            Spec { format: format!("%Y {}", spec.format), ..spec.clone() }.parse(&format!("{y} {value}"))
        };
        match at(year) {
            Some(t)
                if t.with_timezone(&Utc)
                    > received.checked_add_signed(Duration::days(1)).unwrap_or(received) =>
            {
                at(year - 1)
            }
            None => at(year - 1),
            t => t,
        }
    }
}

#[derive(Clone)]
struct Spec {
    format: String,
    year: bool,
    zone: bool,
}

impl Spec {
    fn from_java(pattern: &str) -> Option<Spec> {
        let mut out = String::new();
        let (mut year, mut zone) = (false, false);
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let run = chars[i..].iter().take_while(|&&d| d == c).count();
            if c == '\'' {
                // 'literal' ('' is a quote)
                let close = chars[i + 1..].iter().position(|&d| d == '\'')?;
                if close == 0 {
                    out.push('\'');
                }
                for &d in &chars[i + 1..i + 1 + close] {
                    push_literal(&mut out, d);
                }
                i += close + 2;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                push_literal(&mut out, c);
                i += 1;
                continue;
            }
            let piece = match (c, run) {
                ('y', 2) => "%y",
                ('y', _) => "%Y",
                ('M', 1 | 2) => "%m",
                ('M', 3) => "%b",
                ('M', _) => "%B",
                ('d', _) => "%d",
                ('H', _) => "%H",
                ('h', _) => "%I",
                ('a', _) => "%p",
                ('m', _) => "%M",
                ('s', _) => "%S",
                ('S', 3) => "%3f",
                ('S', 6) => "%6f",
                ('S', 9) => "%9f",
                ('E', 1..=3) => "%a",
                ('E', _) => "%A",
                ('Z' | 'X', _) => "%z",
                _ => return None,
            };
            year |= c == 'y';
            zone |= matches!(c, 'Z' | 'X');
            out.push_str(piece);
            i += run;
        }
        Some(Spec { format: out, year, zone })
    }

    fn parse(&self, value: &str) -> Option<DateTime<FixedOffset>> {
        if self.zone {
            DateTime::parse_from_str(value, &self.format).ok()
        } else {
            NaiveDateTime::parse_from_str(value, &self.format)
                .ok()
                .map(|t| Utc.from_utc_datetime(&t).fixed_offset())
        }
    }
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).single().unwrap_or_default()
    }

    #[track_caller]
    fn check(got: Option<DateTime<FixedOffset>>, want: Option<&str>) {
        assert_eq!(got.map(|t| t.to_rfc3339()).as_deref(), want);
    }

    #[test]
    fn cef_times() {
        let cef = |s: &str| cef_time(s, received());
        check(cef("1709913600000"), Some("2024-03-08T16:00:00+00:00"));
        check(cef("1709913600123"), Some("2024-03-08T16:00:00.123+00:00"));
        check(cef("Sep 07 2018 14:50:39"), Some("2018-09-07T14:50:39+00:00"));
        check(cef("Sep 7 2018 14:50:39"), Some("2018-09-07T14:50:39+00:00"));
        check(cef("Sep 07 2018 14:50:39.250"), Some("2018-09-07T14:50:39.250+00:00"));
        check(cef("Sep 07 2018 14:50:39 UTC"), Some("2018-09-07T14:50:39+00:00"));
        check(cef("Mar 09 23:59:59"), Some("2024-03-09T23:59:59+00:00"));
        check(cef("Mar 11 11:00:00"), Some("2024-03-11T11:00:00+00:00")); // within a day ahead: this year
        check(cef("Dec 31 23:00:00"), Some("2023-12-31T23:00:00+00:00")); // far ahead: last year
        check(cef("Sep 07 2018 14:50:39 EST"), None);
        check(cef("yesterday"), None);
        check(cef(""), None);
        check(cef("Feb 30 2018 10:00:00"), None);
    }

    #[test]
    fn java_patterns() {
        let j = |s: &str, p: &str| java_time(s, p, received());
        check(j("2024-03-01 10:11:12", "yyyy-MM-dd HH:mm:ss"), Some("2024-03-01T10:11:12+00:00"));
        check(
            j("2024-03-01T10:11:12.345+0200", "yyyy-MM-dd'T'HH:mm:ss.SSSZ"),
            Some("2024-03-01T10:11:12.345+02:00"),
        );
        check(j("01/03/24 10:11", "dd/MM/yy HH:mm"), Some("2024-03-01T10:11:00+00:00"));
        check(j("Mar 01 2024 10:11:12 GMT", "MMM dd yyyy HH:mm:ss z"), Some("2024-03-01T10:11:12+00:00"));
        check(j("100% 2024", "'100%' yyyy"), None);
        check(j("2024-03-01", "yyyy-MM-dd Q"), None);
        check(j("2024-03-01", "yyyy-MM-dd 'open"), None);
    }
}
