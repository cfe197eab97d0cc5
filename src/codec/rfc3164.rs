//! BSD syslog (RFC 3164) as real devices send it: leniently, in the spirit of
//! the RFC's section 4.3 (a receiver makes what sense it can of what arrives).
//!
//! The shape is `[<PRI>] [TIMESTAMP SP [HOSTNAME SP]] [TAG[\[PID\]]: ] MSG`,
//! and the record has the same JSON keys as an RFC 5424 one (`version`,
//! `msgid` and `structured_data` always `null`), plus Cisco's `sequence`.
//!
//! Only what cannot be read at all is an error: an empty message, `<` without
//! a number, a PRI over 191 or one not closed by `>`. Everything else parses,
//! and a part that is not where it should be is left in the message.
//!
//! # How the ambiguous cases are read
//!
//! - **No PRI.** The record's `priority`, `facility` and `severity` are `null`
//!   (what was sent); normalize applies RFC 3164's default, PRI 13
//!   (user.notice). `<PRI>` directly followed by the message (Python's
//!   `SysLogHandler`: `<14>message\0`) is a message with no header. One NUL at
//!   the very end is dropped. A PRI with leading zeros (`<013>`) is accepted.
//! - **Timestamps.** `Mmm dd hh:mm:ss`, the day space-padded (`Feb  5`),
//!   zero-padded or bare (`Mar 1`), the month in any case, with an optional
//!   fraction (`.123`, up to nine digits kept) and an optional Cisco mark
//!   before it (`*` clock not synchronised, `.` synchronisation lost; both are
//!   dropped). A year may stand before the month (`1990 Oct 22 ...`, RFC 3164
//!   5.4 example 4), between the day and the time (Cisco and ASA
//!   `Jan 05 2024 10:00:00`), or after the time and zone (date(1)'s
//!   `Aug 24 05:34:00 CST 1987`, example 3). An RFC 3339 timestamp may stand
//!   in its place (rsyslog's high-precision format); one without an offset is
//!   read as UTC.
//! - **Year-less timestamps** get the latest year that puts them no more than
//!   31 days after `received_at` (the nearest such year), so `Dec 31` received
//!   on 1 January is last year's and `Jan  1` received on 31 December (a
//!   sender a little ahead) is next year's. `Feb 29` goes to the latest leap
//!   year so allowed, several years back if need be; it is never an error.
//! - **Time zones.** BSD timestamps are read as UTC (`+00:00`). A zone after
//!   the time is recognised so that it is not mistaken for the hostname: a
//!   common upper-case abbreviation (`UTC`, `GMT`, `CET`, `EST`, ...) or
//!   letters with an offset (`TZ-6`, `GMT+1`). The time is still kept as UTC
//!   and nothing records the zone: abbreviations are ambiguous (`CST`, `IST`)
//!   and signs after `GMT`/`TZ` go both ways (POSIX `TZ-6` is UTC+6), so no
//!   offset is guessed. The raw message keeps what was sent.
//! - **Impossible dates and times** (`Feb 30`, `25:00:00`) are no timestamp:
//!   as RFC 3164 4.3.2 says of a relay, the header is then not a header and
//!   the text stays in the message.
//! - **Hostname.** The token after the timestamp, when a space follows it and
//!   it does not end in `:` or hold `[` (then it is the TAG of a sender that
//!   leaves out its hostname: `<13>Feb  5 17:32:18 su: msg`). A timestamp
//!   followed by `:` (Cisco IOS, ASA) has no hostname after it. There is no
//!   hostname without a timestamp, except Cisco's origin id below. A lone
//!   `:` after the hostname (ASA `fw01 : %ASA-...`) is skipped.
//! - **Cisco prefixes.** Before the timestamp (or before a
//!   `%FACILITY-SEVERITY-MNEMONIC` when there is none) IOS may put
//!   `SEQ: ` and `ORIGIN-HOST: `. They are taken only when a Cisco timestamp
//!   (one followed by `:`) or a mnemonic comes next; all digits is the
//!   sequence, anything else the hostname. When a relay put its own header in
//!   front of such a line (`<187>Mar  1 00:00:00 10.0.0.1 123: *Mar  1
//!   00:00:00.123: %LINK-...`), the header's timestamp and hostname are kept
//!   and the device's sequence and stamp are read past.
//! - **TAG.** 1 to 32 characters from letters, digits and `-_./%` (up to 64
//!   for a Cisco mnemonic, which can be longer), ended by `[PID]` or `:`, and
//!   holding something other than digits (`10:00` is no TAG). The message
//!   starts after `: ` or, with no space, right after `:`, except when `/`,
//!   `:` or a digit follows the colon (`http://...`, `fe80::1`, `at:10:00`,
//!   `2023-02-29T08:15:30Z`: a message that happens to contain a colon). With no TAG, the whole rest is the message. A Cisco
//!   mnemonic (`%ASA-6-302013`) is kept as the TAG, `%` included.
//! - **RFC 3164 5.4 example 4** (`<0>1990 Oct 22 10:52:01 TZ-6
//!   scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!`): the
//!   timestamp and hostname are read, then `10.1.2.3` is no TAG, so the
//!   message is `10.1.2.3 sched[0]: That's All Folks!` with no app name.
//! - **Encoding.** The message is decoded as UTF-8, other bytes replaced.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::{Serialize, Serializer};

use super::{serialize_timestamp, ParseError};
use crate::model::Format;

/// One BSD syslog message, decoded. `None` is a part the sender left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BsdMessage {
    pub priority: Option<u8>,
    pub facility: Option<u8>,
    pub severity: Option<u8>,
    pub version: Absent,
    #[serde(serialize_with = "serialize_timestamp")]
    pub timestamp: Option<DateTime<FixedOffset>>,
    pub hostname: Option<String>,
    /// The TAG, `%` included for a Cisco mnemonic.
    pub appname: Option<String>,
    /// The PID in `TAG[PID]:`.
    pub procid: Option<String>,
    pub msgid: Absent,
    pub structured_data: Absent,
    pub message: Option<String>,
    /// Cisco IOS's message sequence number (`service sequence-numbers`).
    pub sequence: Option<u64>,
}

/// A field RFC 3164 does not have: always `null`, so that a BSD record has
/// the keys of an RFC 5424 one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Absent;

impl Serialize for Absent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

/// How far after the receive time a year-less timestamp may lie (a sender's
/// clock a little ahead) before it is taken to be from the year before.
const MAX_AHEAD_DAYS: i64 = 31;

/// The longest TAG RFC 3164 allows.
const TAG_MAX: usize = 32;
/// The longest Cisco mnemonic taken as a TAG (some are over 32).
const MNEMONIC_MAX: usize = 64;
/// RFC 5424's limits, so that the two records hold the same.
const HOSTNAME_MAX: usize = 255;
const PROCID_MAX: usize = 128;

/// Zone abbreviations recognised after a BSD time (see the module docs: the
/// time is kept as UTC whatever they say).
const ZONES: &[&str] = &[
    "UTC", "UT", "GMT", "Z", "WET", "WEST", "CET", "CEST", "MET", "MEST", "EET", "EEST", "BST", "IST", "MSK",
    "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST", "AST", "ADT", "NST",
    "NDT", "JST", "KST", "HKT", "SGT", "AWST", "ACST", "ACDT", "AEST", "AEDT", "NZST", "NZDT", "SAST",
];

const MONTHS: [&[u8; 3]; 12] =
    [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];

/// Decodes one message (one frame: no trailing delimiter). `received_at`
/// gives year-less timestamps their year.
pub fn parse(input: &[u8], received_at: DateTime<Utc>) -> Result<BsdMessage, ParseError> {
    let input = input.strip_suffix(b"\0").unwrap_or(input);
    Parser { input, pos: 0, received_at }.message()
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    received_at: DateTime<Utc>,
}

/// A timestamp, and whether a `:` followed it (Cisco's way).
struct Stamp {
    time: DateTime<FixedOffset>,
    colon: bool,
}

/// Cisco's `SEQ: ` and `ORIGIN-HOST: ` before a timestamp.
#[derive(Default)]
struct CiscoPrefix {
    sequence: Option<u64>,
    hostname: Option<String>,
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<Cow<'static, str>>) -> ParseError {
        ParseError { format: Format::Rfc3164, offset: self.pos, reason: reason.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.input.get(self.pos + ahead).copied()
    }

    fn rest(&self) -> &[u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    /// Steps over `byte` when it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Runs `f`, and puts the cursor back where it was when `f` finds nothing.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let start = self.pos;
        let found = f(self);
        if found.is_none() {
            self.pos = start;
        }
        found
    }

    /// The bytes from the cursor while `keep` holds, at most `max` of them.
    fn take_while(&mut self, max: usize, keep: impl Fn(u8) -> bool) -> &[u8] {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        self.input.get(start..self.pos).unwrap_or_default()
    }

    /// `min..=max` ASCII digits as a number, or nothing.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        self.attempt(|p| {
            let d = p.take_while(max, |b| b.is_ascii_digit());
            (d.len() >= min).then(|| d.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        })
    }

    fn message(mut self) -> Result<BsdMessage, ParseError> {
        if self.input.is_empty() {
            return Err(self.error("empty message"));
        }
        let priority = self.priority()?;
        let prefix = self.cisco_prefix();
        let mut sequence = prefix.sequence;
        let mut hostname = prefix.hostname;
        let stamp = self.timestamp();
        if let Some(stamp) = &stamp {
            if !stamp.colon && hostname.is_none() {
                hostname = self.hostname();
            }
            // A relay's header in front of a Cisco line: read past the
            // device's own sequence number and stamp.
            if sequence.is_none() {
                sequence = self.attempt(|p| {
                    let inner = p.cisco_prefix().sequence?;
                    p.attempt(|p| p.timestamp().filter(|s| s.colon));
                    Some(inner)
                });
            }
        }
        if hostname.is_some() && self.rest().starts_with(b": ") {
            self.pos += 2;
        }
        let (appname, procid) = self.tag().unzip();
        let rest = self.rest();
        let message = (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned());
        Ok(BsdMessage {
            priority,
            facility: priority.map(|p| p >> 3),
            severity: priority.map(|p| p & 7),
            version: Absent,
            timestamp: stamp.map(|s| s.time),
            hostname,
            appname,
            procid: procid.flatten(),
            msgid: Absent,
            structured_data: Absent,
            message,
            sequence,
        })
    }

    /// `<N>` with N from 0 to 191, or nothing when the message does not
    /// start with `<`.
    fn priority(&mut self) -> Result<Option<u8>, ParseError> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let start = self.pos;
        let Some(value) = self.number(1, 3) else {
            return Err(self.error("expected a priority value (0-191) after '<'"));
        };
        if value > 191 {
            self.pos = start;
            return Err(self.error("priority is over 191"));
        }
        if !self.eat(b'>') {
            return Err(self.error("expected '>' after the priority"));
        }
        Ok(u8::try_from(value).ok())
    }

    /// Cisco's `SEQ: ` and `ORIGIN-HOST: `, in either order, taken only when
    /// a Cisco timestamp or a mnemonic follows them.
    fn cisco_prefix(&mut self) -> CiscoPrefix {
        self.attempt(|p| {
            let mut prefix = CiscoPrefix::default();
            for _ in 0..2 {
                if p.at_mnemonic() {
                    break;
                }
                let item = p.attempt(|p| {
                    let token = p.take_while(HOSTNAME_MAX, |b| b.is_ascii_graphic() && b != b':');
                    let token = String::from_utf8_lossy(token).into_owned();
                    (!token.is_empty() && p.rest().starts_with(b": ")).then(|| {
                        p.pos += 2;
                        token
                    })
                });
                let Some(item) = item else { break };
                if item.bytes().all(|b| b.is_ascii_digit()) && prefix.sequence.is_none() {
                    prefix.sequence = Some(item.parse().ok()?);
                } else if !item.contains('[') && prefix.hostname.is_none() {
                    prefix.hostname = Some(item);
                } else {
                    return None;
                }
            }
            let found = prefix.sequence.is_some() || prefix.hostname.is_some();
            (found && (p.at_cisco_stamp() || p.at_mnemonic())).then_some(prefix)
        })
        .unwrap_or_default()
    }

    /// Whether a timestamp followed by `:` comes next (the cursor stays).
    fn at_cisco_stamp(&mut self) -> bool {
        let start = self.pos;
        let found = self.timestamp().is_some_and(|s| s.colon);
        self.pos = start;
        found
    }

    fn at_mnemonic(&self) -> bool {
        let rest = self.rest();
        let end = rest.iter().position(|&b| b == b':').unwrap_or(rest.len());
        is_mnemonic(rest.get(..end).unwrap_or_default())
    }

    /// A timestamp in any of the forms the module docs list, with what ends
    /// it: an optional `:`, then a space (stepped over) or the end.
    fn timestamp(&mut self) -> Option<Stamp> {
        self.attempt(|p| {
            if matches!(p.peek(), Some(b'*' | b'.')) {
                p.pos += 1;
            }
            let time = match p.attempt(Self::rfc3339) {
                Some(t) => t,
                None => p.bsd_timestamp()?,
            };
            let colon = p.eat(b':');
            if !p.eat(b' ') && p.peek().is_some() {
                return None;
            }
            Some(Stamp { time, colon })
        })
    }

    /// An RFC 3339 timestamp up to the next space (a `:` right before the
    /// space is left for the caller). No offset means UTC.
    fn rfc3339(&mut self) -> Option<DateTime<FixedOffset>> {
        let rest = self.rest();
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let token = rest.get(..end)?;
        let token = token.strip_suffix(b":").unwrap_or(token);
        if !(token.len() >= 19
            && token.get(4) == Some(&b'-')
            && token.get(..4)?.iter().all(u8::is_ascii_digit))
        {
            return None;
        }
        let text = std::str::from_utf8(token).ok()?;
        let time = DateTime::parse_from_rfc3339(text).ok().or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().fixed_offset())
        })?;
        self.pos += token.len();
        Some(time)
    }

    /// `[YYYY ]Mmm dd [YYYY ]hh:mm:ss[.fff][ ZONE][ YYYY]`, as UTC.
    fn bsd_timestamp(&mut self) -> Option<DateTime<FixedOffset>> {
        let year_before = self.attempt(Self::year_and_space);
        let month = self.month()?;
        if !self.eat(b' ') {
            return None;
        }
        self.eat(b' ');
        let day = self.number(1, 2)?;
        if !self.eat(b' ') {
            return None;
        }
        let year_inside = self.attempt(Self::year_and_space);
        let time = self.clock()?;
        self.attempt(Self::zone);
        let year_after = self.attempt(|p| {
            p.eat(b' ').then_some(())?;
            let year = p.number(4, 4)?;
            matches!(p.peek(), None | Some(b' ' | b':')).then_some(year)
        });
        let date = match year_before.or(year_inside).or(year_after) {
            Some(year) => NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?.and_time(time),
            None => resolve_year(month, day, time, self.received_at)?,
        };
        Some(date.and_utc().fixed_offset())
    }

    fn year_and_space(&mut self) -> Option<u32> {
        let year = self.number(4, 4)?;
        self.eat(b' ').then_some(year)
    }

    /// A month's English abbreviation, in any case, as 1 to 12.
    fn month(&mut self) -> Option<u32> {
        let name = self.rest().get(..3)?.to_ascii_lowercase();
        let index = MONTHS.iter().position(|m| m.as_slice() == name)?;
        self.pos += 3;
        u32::try_from(index + 1).ok()
    }

    /// `hh:mm:ss` with an optional fraction; a leap second is kept.
    fn clock(&mut self) -> Option<NaiveTime> {
        let hour = self.number(2, 2)?;
        self.eat(b':').then_some(())?;
        let minute = self.number(2, 2)?;
        self.eat(b':').then_some(())?;
        let second = self.number(2, 2)?;
        let mut nanos = 0;
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            let frac = self.take_while(usize::MAX, |b| b.is_ascii_digit());
            nanos = frac
                .iter()
                .chain(std::iter::repeat(&b'0'))
                .take(9)
                .fold(0, |n, d| n * 10 + u32::from(d - b'0'));
        }
        let (second, nanos) = if second == 60 { (59, nanos + 1_000_000_000) } else { (second, nanos) };
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
    }

    /// ` ZONE` after the time: a known abbreviation, or upper-case letters
    /// with an offset (`TZ-6`, `GMT+1`, `UTC+05:30`), ended by a space, `:`
    /// or the end.
    fn zone(&mut self) -> Option<()> {
        self.eat(b' ').then_some(())?;
        let letters = self.take_while(5, |b| b.is_ascii_uppercase()).to_vec();
        if letters.is_empty() {
            return None;
        }
        let with_offset = self
            .attempt(|p| {
                (p.eat(b'+') || p.eat(b'-')).then_some(())?;
                p.number(1, 2)?;
                p.attempt(|p| {
                    p.eat(b':');
                    p.number(2, 2)
                });
                Some(())
            })
            .is_some();
        let known = with_offset || ZONES.iter().any(|z| z.as_bytes() == letters.as_slice());
        (known && matches!(self.peek(), None | Some(b' ' | b':'))).then_some(())
    }

    /// The token after the timestamp, when a space follows and it is not the
    /// TAG of a sender that leaves out its hostname.
    fn hostname(&mut self) -> Option<String> {
        self.attempt(|p| {
            let token = p.take_while(HOSTNAME_MAX + 1, |b| b.is_ascii_graphic());
            let is_tag = token.ends_with(b":") || token.contains(&b'[');
            if token.is_empty() || token.len() > HOSTNAME_MAX || is_tag {
                return None;
            }
            let token = String::from_utf8_lossy(token).into_owned();
            p.eat(b' ').then_some(token)
        })
    }

    /// `TAG[PID]: ` or `TAG: `: the TAG and the PID if any. Nothing (and the
    /// cursor stays) when the text does not start with a TAG.
    fn tag(&mut self) -> Option<(String, Option<String>)> {
        self.attempt(|p| {
            let max = if p.peek() == Some(b'%') { MNEMONIC_MAX } else { TAG_MAX };
            let tag = p.take_while(max + 1, is_tag_byte);
            if tag.is_empty() || tag.len() > max || tag.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let tag = String::from_utf8_lossy(tag).into_owned();
            let procid = if p.eat(b'[') {
                let pid = p.take_while(PROCID_MAX, |b| b.is_ascii_graphic() && b != b']');
                let pid = (!pid.is_empty()).then(|| String::from_utf8_lossy(pid).into_owned());
                p.eat(b']').then_some(())?;
                // `su[12] msg` without the colon is still a TAG.
                if !p.eat(b':') {
                    return (p.eat(b' ') || p.peek().is_none()).then_some((tag, pid));
                }
                pid
            } else {
                p.eat(b':').then_some(())?;
                None
            };
            match p.peek() {
                Some(b'/' | b':' | b'0'..=b'9') => return None,
                Some(b' ') => p.pos += 1,
                _ => {}
            }
            Some((tag, procid))
        })
    }
}

fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'%')
}

/// Cisco's `%FACILITY[-SUBFACILITY]-SEVERITY-MNEMONIC`: parts of letters,
/// digits and `_`, one of the middle ones a severity digit 0 to 7.
fn is_mnemonic(tag: &[u8]) -> bool {
    let Some(body) = tag.strip_prefix(b"%") else { return false };
    let parts: Vec<&[u8]> = body.split(|&b| b == b'-').collect();
    let well_formed =
        parts.iter().all(|p| !p.is_empty() && p.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_'));
    let middle = parts.get(1..parts.len().saturating_sub(1)).unwrap_or_default();
    parts.len() >= 3 && well_formed && middle.iter().any(|p| matches!(p, [b'0'..=b'7']))
}

/// The date a year-less timestamp stands for: the latest year that puts it
/// no more than [`MAX_AHEAD_DAYS`] after `received_at`. Looks back far
/// enough for a 29 February (leap years can be eight years apart).
fn resolve_year(month: u32, day: u32, time: NaiveTime, received_at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let latest = received_at
        .naive_utc()
        .checked_add_signed(TimeDelta::days(MAX_AHEAD_DAYS))
        .unwrap_or(NaiveDateTime::MAX);
    let year = received_at.year();
    (year.saturating_sub(8)..=year.saturating_add(1))
        .rev()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .map(|d| d.and_time(time))
        .find(|t| *t <= latest)
}

#[cfg(test)]
mod tests;
