//! RFC 5424 syslog messages, strictly by the RFC's ABNF (section 6), or
//! leniently as real devices write them ([`parse_lenient`]).
//!
//! `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
//! STRUCTURED-DATA [SP MSG]`, with the RFC's length limits on each header
//! field, RFC 3339 timestamps restricted as section 6.2.3 says (upper-case `T`
//! and `Z`, at most six fraction digits), SD-PARAM values with `"` `\` `]`
//! escaped, and MSG in any encoding (kept as sent, BOM included; bytes that
//! are not UTF-8 are replaced when shown).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{serialize_timestamp, ParseError};
use crate::model::Format;

/// One RFC 5424 message, decoded. `None` is the RFC's NILVALUE (`-`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyslogMessage {
    pub priority: u8,
    pub facility: u8,
    pub severity: u8,
    pub version: u16,
    #[serde(serialize_with = "serialize_timestamp")]
    pub timestamp: Option<DateTime<FixedOffset>>,
    pub hostname: Option<String>,
    pub appname: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    /// Serialised as `{SD-ID: {PARAM-NAME: value}}`; `null` when there is none.
    #[serde(serialize_with = "serialize_sd")]
    pub structured_data: Vec<SdElement>,
    pub message: Option<String>,
}

/// One SD-ELEMENT: its SD-ID and its parameters in the order they were sent
/// (a name may repeat, as RFC 5424 section 6.3.3 allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    pub params: Vec<(String, String)>,
}

impl SyslogMessage {
    /// The value of `param` in the element `id`, the last one when repeated.
    pub fn sd_param(&self, id: &str, param: &str) -> Option<&str> {
        self.structured_data
            .iter()
            .find(|e| e.id == id)
            .and_then(|e| e.params.iter().rev().find(|(k, _)| k == param))
            .map(|(_, v)| v.as_str())
    }
}

fn serialize_sd<S: Serializer>(sd: &[SdElement], s: S) -> Result<S::Ok, S::Error> {
    if sd.is_empty() {
        return s.serialize_none();
    }
    let mut map = s.serialize_map(Some(sd.len()))?;
    for e in sd {
        let params: BTreeMap<&str, &str> = e.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        map.serialize_entry(&e.id, &params)?;
    }
    map.end()
}

/// Decodes one message (one frame: no trailing delimiter) by the RFC's
/// grammar: this is what conformance means.
pub fn parse(input: &[u8]) -> Result<SyslogMessage, ParseError> {
    Parser { input, pos: 0, lenient: None }.message()
}

/// A message read leniently, with how it departs from the RFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient {
    pub message: SyslogMessage,
    /// One plain sentence per departure, in the order met; empty when the
    /// message is strictly valid.
    pub deviations: Vec<String>,
}

/// Decodes one message the way real senders write RFC 5424: it must still
/// start `<PRI>VERSION`, but it may have
/// - more than one space between header fields (one vendor sends two after
///   the version), or end after any header field (the rest are nil);
/// - a timestamp with a lower-case `t`/`z`, more than six fraction digits
///   (cut to nanoseconds), an offset without a colon, or no offset (read as UTC);
/// - header fields longer than the RFC allows, or with non-ASCII bytes;
/// - no structured-data field, or one that does not parse, or a repeated
///   SD-ID: what follows the header is then kept as the message, nothing dropped.
///
/// A strictly valid message gives the same [`SyslogMessage`] as [`parse`]
/// with no deviations.
pub fn parse_lenient(input: &[u8]) -> Result<Lenient, ParseError> {
    let mut p = Parser { input, pos: 0, lenient: Some(Vec::new()) };
    let message = p.message_lenient()?;
    Ok(Lenient { message, deviations: p.lenient.unwrap_or_default() })
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// `Some` when reading leniently: the departures met so far.
    lenient: Option<Vec<String>>,
}

type Result<T, E = ParseError> = std::result::Result<T, E>;

impl<'a> Parser<'a> {
    fn error(&self, reason: impl Into<Cow<'static, str>>) -> ParseError {
        ParseError { format: Format::Rfc5424, offset: self.pos, reason: reason.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn message(mut self) -> Result<SyslogMessage> {
        let priority = self.priority()?;
        let version = self.version()?;
        self.expect(b' ', "expected a space after the version")?;
        let timestamp = self.timestamp()?;
        self.expect(b' ', "expected a space after the timestamp")?;
        let hostname = self.header_field("hostname", 255)?;
        self.expect(b' ', "expected a space after the hostname")?;
        let appname = self.header_field("app-name", 48)?;
        self.expect(b' ', "expected a space after the app-name")?;
        let procid = self.header_field("procid", 128)?;
        self.expect(b' ', "expected a space after the procid")?;
        let msgid = self.header_field("msgid", 32)?;
        self.expect(b' ', "expected a space after the msgid")?;
        let structured_data = self.structured_data()?;
        let message = match self.peek() {
            None => None,
            Some(b' ') => {
                self.pos += 1;
                self.msg()
            }
            Some(_) => return Err(self.error("expected a space or the end after structured data")),
        };
        Ok(SyslogMessage {
            priority,
            facility: priority >> 3,
            severity: priority & 7,
            version,
            timestamp,
            hostname,
            appname,
            procid,
            msgid,
            structured_data,
            message,
        })
    }

    fn deviate(&mut self, what: impl Into<String>) {
        if let Some(d) = &mut self.lenient {
            d.push(what.into());
        }
    }

    /// The spaces after a header field. Returns `false` when the message ends
    /// there instead (the remaining fields are nil).
    fn lenient_gap(&mut self, after: &'static str) -> Result<bool> {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        match self.pos - start {
            0 if self.peek().is_none() => {
                self.deviate(format!("message ends after the {after}"));
                Ok(false)
            }
            0 => Err(self.error(match after {
                "version" => "expected a space after the version",
                "timestamp" => "expected a space after the timestamp",
                "hostname" => "expected a space after the hostname",
                "app-name" => "expected a space after the app-name",
                "procid" => "expected a space after the procid",
                _ => "expected a space after the msgid",
            })),
            n => {
                if n > 1 {
                    self.deviate(format!("{n} spaces after the {after}"));
                }
                if self.peek().is_none() {
                    self.deviate(format!("message ends after the {after}"));
                    return Ok(false);
                }
                Ok(true)
            }
        }
    }

    fn message_lenient(&mut self) -> Result<SyslogMessage> {
        let priority = self.priority()?;
        let version = self.version()?;
        let mut m = SyslogMessage {
            priority,
            facility: priority >> 3,
            severity: priority & 7,
            version,
            timestamp: None,
            hostname: None,
            appname: None,
            procid: None,
            msgid: None,
            structured_data: Vec::new(),
            message: None,
        };
        if !self.lenient_gap("version")? {
            return Ok(m);
        }
        m.timestamp = self.timestamp()?;
        if !self.lenient_gap("timestamp")? {
            return Ok(m);
        }
        m.hostname = self.header_field("hostname", 255)?;
        if !self.lenient_gap("hostname")? {
            return Ok(m);
        }
        m.appname = self.header_field("app-name", 48)?;
        if !self.lenient_gap("app-name")? {
            return Ok(m);
        }
        m.procid = self.header_field("procid", 128)?;
        if !self.lenient_gap("procid")? {
            return Ok(m);
        }
        m.msgid = self.header_field("msgid", 32)?;
        if !self.lenient_gap("msgid")? {
            return Ok(m);
        }
        let sd_start = self.pos;
        let sd = match self.peek() {
            Some(b'-' | b'[') => self.structured_data(),
            _ => Err(self.error("no structured data")),
        };
        match sd {
            Ok(sd) => {
                m.structured_data = sd;
                match self.peek() {
                    None => {}
                    Some(b' ') => {
                        self.pos += 1;
                        m.message = self.msg();
                    }
                    Some(_) => {
                        self.deviate("no space between the structured data and the message");
                        m.message = self.msg();
                    }
                }
            }
            Err(e) => {
                // Keep everything after the header as the message: nothing is dropped.
                self.deviate(if e.reason == "no structured data" {
                    "no structured-data field: the rest is kept as the message".to_owned()
                } else {
                    format!("structured data unreadable ({}): kept in the message", e.reason)
                });
                self.pos = sd_start;
                m.message = self.msg();
            }
        }
        Ok(m)
    }

    fn priority(&mut self) -> Result<u8> {
        self.expect(b'<', "expected '<' and a priority")?;
        let start = self.pos;
        let digits = self.digits(3);
        let value = match digits {
            [] => return Err(self.error("expected a priority value (0-191)")),
            [b'0', _, ..] => {
                self.pos = start + 1;
                return Err(self.error("priority has a leading zero"));
            }
            _ => number(digits),
        };
        if value > 191 {
            self.pos = start;
            return Err(self.error("priority is over 191"));
        }
        self.expect(b'>', "expected '>' after the priority")?;
        Ok(value as u8)
    }

    fn version(&mut self) -> Result<u16> {
        match self.digits(3) {
            [] | [b'0', ..] => Err(self.error("expected a version (1-999)")),
            d => {
                let v = number(d) as u16;
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return Err(self.error("version is over 999"));
                }
                Ok(v)
            }
        }
    }

    /// Up to `max` ASCII digits.
    fn digits(&mut self, max: usize) -> &'a [u8] {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    fn fixed_digits(&mut self, n: usize, what: &'static str) -> Result<u32> {
        let d = self.digits(n);
        if d.len() != n {
            return Err(self.error(what));
        }
        Ok(number(d))
    }

    fn timestamp(&mut self) -> Result<Option<DateTime<FixedOffset>>> {
        if self.nil() {
            return Ok(None);
        }
        const BAD: &str = "expected an RFC 3339 timestamp or '-'";
        let year = self.fixed_digits(4, BAD)?;
        self.expect(b'-', BAD)?;
        let month = self.fixed_digits(2, BAD)?;
        self.expect(b'-', BAD)?;
        let day = self.fixed_digits(2, BAD)?;
        let date_end = self.pos;
        if self.lenient.is_some() && self.peek() == Some(b't') {
            self.pos += 1;
            self.deviate("lower-case 't' in the timestamp");
        } else {
            self.expect(b'T', BAD)?;
        }
        let hour = self.fixed_digits(2, BAD)?;
        self.expect(b':', BAD)?;
        let minute = self.fixed_digits(2, BAD)?;
        self.expect(b':', BAD)?;
        let second = self.fixed_digits(2, BAD)?;
        let mut nanos = 0;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let lenient = self.lenient.is_some();
            let frac = self.digits(if lenient { usize::MAX } else { 6 });
            if frac.is_empty() || self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error("timestamp fraction must have 1 to 6 digits"));
            }
            if frac.len() > 6 {
                self.deviate(format!("{} fraction digits in the timestamp", frac.len()));
            }
            let frac = &frac[..frac.len().min(9)];
            nanos = number(frac) * 10u32.pow(9 - frac.len() as u32);
        }
        let time_end = self.pos;
        let lenient = self.lenient.is_some();
        let offset_seconds = match self.peek() {
            Some(b'Z') => {
                self.pos += 1;
                0
            }
            Some(b'z') if lenient => {
                self.pos += 1;
                self.deviate("lower-case 'z' in the timestamp");
                0
            }
            Some(sign @ (b'+' | b'-')) => {
                self.pos += 1;
                let h = self.fixed_digits(2, BAD)?;
                if lenient && self.peek() != Some(b':') {
                    self.deviate("timestamp offset without a colon");
                } else {
                    self.expect(b':', BAD)?;
                }
                let m = self.fixed_digits(2, BAD)?;
                if h > 23 || m > 59 {
                    return Err(self.error("timestamp offset is out of range"));
                }
                let secs = (h * 3600 + m * 60) as i32;
                if sign == b'-' {
                    -secs
                } else {
                    secs
                }
            }
            None | Some(b' ') if lenient => {
                self.deviate("timestamp without an offset: read as UTC");
                0
            }
            _ => return Err(self.error("expected a time offset ('Z' or '+hh:mm')")),
        };
        let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| ParseError {
            format: Format::Rfc5424,
            offset: date_end,
            reason: "date out of range".into(),
        })?;
        let time = if hour < 24 && minute < 60 && second < 60 {
            NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        } else {
            None
        };
        let time = time.ok_or_else(|| ParseError {
            format: Format::Rfc5424,
            offset: time_end,
            reason: "time out of range".into(),
        })?;
        let offset = FixedOffset::east_opt(offset_seconds)
            .ok_or_else(|| self.error("timestamp offset is out of range"))?;
        offset
            .from_local_datetime(&date.and_time(time))
            .single()
            .map(Some)
            .ok_or_else(|| self.error("timestamp does not exist"))
    }

    /// `-` followed by the field's end.
    fn nil(&mut self) -> bool {
        if self.peek() == Some(b'-') && matches!(self.input.get(self.pos + 1), None | Some(b' ')) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A header field: NILVALUE or 1..=max printable US-ASCII characters.
    fn header_field(&mut self, what: &'static str, max: usize) -> Result<Option<String>> {
        if self.nil() {
            return Ok(None);
        }
        let start = self.pos;
        if self.lenient.is_some() {
            while self.peek().is_some_and(|b| b != b' ') {
                self.pos += 1;
            }
            let field = &self.input[start..self.pos];
            if !field.iter().all(|b| (33..=126).contains(b)) {
                self.deviate(format!("{what} has characters other than printable ASCII"));
            }
            if String::from_utf8_lossy(field).chars().count() > max {
                self.deviate(format!("{what} is longer than {max} characters"));
            }
            if !field.is_empty() {
                return Ok(Some(String::from_utf8_lossy(field).into_owned()));
            }
        }
        while self.peek().is_some_and(|b| (33..=126).contains(&b)) {
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 {
            return Err(self.error(match what {
                "hostname" => "expected a hostname or '-'",
                "app-name" => "expected an app-name or '-'",
                "procid" => "expected a procid or '-'",
                _ => "expected a msgid or '-'",
            }));
        }
        if len > max {
            self.pos = start + max;
            return Err(self.error(match what {
                "hostname" => "hostname is longer than 255 characters",
                "app-name" => "app-name is longer than 48 characters",
                "procid" => "procid is longer than 128 characters",
                _ => "msgid is longer than 32 characters",
            }));
        }
        // Printable ASCII is valid UTF-8.
        Ok(Some(String::from_utf8_lossy(&self.input[start..self.pos]).into_owned()))
    }

    fn structured_data(&mut self) -> Result<Vec<SdElement>> {
        if self.nil() {
            return Ok(Vec::new());
        }
        if self.peek() != Some(b'[') {
            return Err(self.error("expected structured data ('[' or '-')"));
        }
        let mut elements: Vec<SdElement> = Vec::new();
        while self.peek() == Some(b'[') {
            let start = self.pos;
            self.pos += 1;
            let id = self.sd_name("expected an SD-ID (1 to 32 printable characters)")?;
            let mut params = Vec::new();
            loop {
                match self.peek() {
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b' ') => {
                        self.pos += 1;
                        params.push(self.sd_param()?);
                    }
                    _ => return Err(self.error("expected ' ' or ']' in an SD-ELEMENT")),
                }
            }
            if elements.iter().any(|e| e.id == id) && self.lenient.is_some() {
                self.deviate(format!("SD-ID {id:?} appears twice"));
            } else if elements.iter().any(|e| e.id == id) {
                return Err(ParseError {
                    format: Format::Rfc5424,
                    offset: start,
                    reason: format!("SD-ID {id:?} appears twice").into(),
                });
            }
            elements.push(SdElement { id, params });
        }
        Ok(elements)
    }

    /// SD-NAME: 1..=32 printable US-ASCII except `=`, space, `]` and `"`.
    fn sd_name(&mut self, what: &'static str) -> Result<String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"')) {
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 || len > 32 {
            self.pos = start + len.min(32);
            return Err(self.error(what));
        }
        Ok(String::from_utf8_lossy(&self.input[start..self.pos]).into_owned())
    }

    fn sd_param(&mut self) -> Result<(String, String)> {
        let name = self.sd_name("expected a PARAM-NAME (1 to 32 printable characters)")?;
        self.expect(b'=', "expected '=' after the PARAM-NAME")?;
        self.expect(b'"', "expected '\"' to open the PARAM-VALUE")?;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("PARAM-VALUE is not closed by '\"'")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b']') => {
                    return Err(self.error("']' must be escaped as '\\]' in a PARAM-VALUE"));
                }
                Some(b'\\') => {
                    match self.input.get(self.pos + 1) {
                        Some(&c @ (b'"' | b'\\' | b']')) => {
                            value.push(c);
                            self.pos += 2;
                        }
                        // RFC 5424 6.3.3: any other backslash is kept as it is.
                        _ => {
                            value.push(b'\\');
                            self.pos += 1;
                        }
                    }
                }
                Some(_) => {
                    // Copy the run up to the next byte that needs a decision at once.
                    let rest = &self.input[self.pos..];
                    let run =
                        rest.iter().position(|b| matches!(b, b'"' | b'\\' | b']')).unwrap_or(rest.len());
                    value.extend_from_slice(&rest[..run]);
                    self.pos += run;
                }
            }
        }
        let value = String::from_utf8(value).map_err(|_| self.error("PARAM-VALUE is not valid UTF-8"))?;
        Ok((name, value))
    }

    /// MSG as sent: a leading BOM stays (it is part of MSG-UTF8); bytes that
    /// are not UTF-8 are replaced.
    fn msg(&mut self) -> Option<String> {
        let rest = &self.input[self.pos..];
        self.pos = self.input.len();
        (!rest.is_empty()).then(|| String::from_utf8_lossy(rest).into_owned())
    }
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

#[cfg(test)]
mod tests;
