//! Suricata EVE JSON records: one JSON object per line, as Suricata's
//! "EVE JSON Format" documentation describes them.
//!
//! The fields every event type shares are typed and checked (`timestamp`,
//! `event_type`, `flow_id`, the addresses and ports, `proto`, `app_proto`,
//! `community_id`, the sensor's `host`), and so is the `alert` object. The
//! `anomaly` object and, for every other event type, the object named by the
//! event type (`flow`, `dns`, `tls`, `http`, `fileinfo`, `stats`, ...) are kept
//! as JSON. Unknown fields are ignored; JSON `null` counts as absent.
//!
//! Timestamps are Suricata's own form, `2017-04-07T22:24:37.251547+0100`
//! (offset without a colon), or RFC 3339 (`+01:00`, `Z`).
//!
//! Errors carry the byte offset where the problem is: serde_json's position
//! for text that is not JSON, the start of the offending value for a field of
//! the wrong type, the start of the object for a missing field.

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::ParseError;
use crate::model::Format;

/// One EVE record, decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EveRecord {
    /// When Suricata saw the packet, with the sensor's offset.
    #[serde(serialize_with = "serialize_timestamp")]
    pub timestamp: DateTime<FixedOffset>,
    /// `alert`, `anomaly`, `flow`, `dns`, `tls`, `http`, `fileinfo`, `stats`, ...
    pub event_type: String,
    pub flow_id: Option<u64>,
    pub in_iface: Option<String>,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dest_ip: Option<IpAddr>,
    pub dest_port: Option<u16>,
    pub proto: Option<String>,
    pub app_proto: Option<String>,
    pub community_id: Option<String>,
    /// The sensor's name (Suricata's `sensor-name`), when it writes one.
    pub host: Option<String>,
    /// Present on every `alert` record (and on `drop` records logged with alerts).
    pub alert: Option<EveAlert>,
    /// Present on every `anomaly` record: `{type, event, layer?, ...}`.
    pub anomaly: Option<Value>,
    /// For other event types, the object under the key named by `event_type`.
    pub details: Option<Value>,
}

/// The `alert` object: which rule fired, and what Suricata did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EveAlert {
    /// `allowed` or `blocked`.
    pub action: Option<String>,
    pub gid: Option<u32>,
    pub signature_id: u32,
    pub rev: Option<u32>,
    pub signature: String,
    /// The rule's classtype description; Suricata writes `""` when there is none.
    pub category: Option<String>,
    /// The rule's priority: 1 is the most severe; 1 to 3 by default, up to 255.
    pub severity: Option<u8>,
    /// The rule's metadata keyword, as Suricata writes it.
    pub metadata: Option<Value>,
}

fn serialize_timestamp<S: Serializer>(ts: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

type Result<T, E = ParseError> = std::result::Result<T, E>;

fn error(offset: usize, reason: impl Into<Cow<'static, str>>) -> ParseError {
    ParseError { format: Format::Eve, offset, reason: reason.into() }
}

/// Decodes one record (one line; surrounding whitespace, a trailing newline
/// included, is allowed).
pub fn parse(input: &[u8]) -> Result<EveRecord> {
    let value: Value = serde_json::from_slice(input).map_err(|e| json_error(input, &e))?;
    let Value::Object(map) = value else {
        return Err(error(skip_ws(input, 0), format!("expected a JSON object, found {}", kind(&value))));
    };
    let top = Object { input, map: &map, parent: None };

    let event_type = top.required_string("event_type")?;
    if event_type.is_empty() {
        return Err(top.error("event_type", "event_type is empty"));
    }
    let timestamp = top.timestamp("timestamp")?;
    let flow_id = top.uint("flow_id", "an integer 0-18446744073709551615")?;
    let in_iface = top.string("in_iface")?;
    let src_ip = top.ip("src_ip")?;
    let src_port = top.uint("src_port", "a port number (an integer 0-65535)")?;
    let dest_ip = top.ip("dest_ip")?;
    let dest_port = top.uint("dest_port", "a port number (an integer 0-65535)")?;
    let proto = top.string("proto")?;
    let app_proto = top.string("app_proto")?;
    let community_id = top.string("community_id")?;
    let host = top.string("host")?;

    let alert = match top.object("alert")? {
        Some(a) => Some(alert(&Object { input, map: a, parent: Some("alert") })?),
        None if event_type == "alert" => return Err(top.error("alert", "alert is missing")),
        None => None,
    };
    let anomaly = match top.object("anomaly")? {
        Some(a) => Some(Value::Object(a.clone())),
        None if event_type == "anomaly" => return Err(top.error("anomaly", "anomaly is missing")),
        None => None,
    };
    let details = match event_type.as_str() {
        "alert" | "anomaly" => None,
        other => map.get(other).filter(|v| !v.is_null()).cloned(),
    };

    Ok(EveRecord {
        timestamp,
        event_type,
        flow_id,
        in_iface,
        src_ip,
        src_port,
        dest_ip,
        dest_port,
        proto,
        app_proto,
        community_id,
        host,
        alert,
        anomaly,
        details,
    })
}

/// Where the value of `event_type` starts in `input`, a record [`parse`]
/// accepted (0 when there is none), for errors about the record's kind.
pub fn event_type_offset(input: &[u8]) -> usize {
    locate(input, &["event_type"]).unwrap_or(0)
}

fn alert(a: &Object<'_>) -> Result<EveAlert> {
    Ok(EveAlert {
        action: a.string("action")?,
        gid: a.uint("gid", "an integer 0-4294967295")?,
        signature_id: a.required_uint("signature_id", "an integer 0-4294967295")?,
        rev: a.uint("rev", "an integer 0-4294967295")?,
        signature: a.required_string("signature")?,
        category: a.string("category")?,
        severity: a.uint("severity", "an integer 0-255")?,
        metadata: a.get("metadata").cloned(),
    })
}

/// serde_json's error as a [`ParseError`]: its line and column become a byte
/// offset, and its own "at line L column C" is left out of the reason.
pub(super) fn json_error(input: &[u8], e: &serde_json::Error) -> ParseError {
    // serde_json counts lines from 1 and columns in bytes from 1 (0 before
    // the first byte of a line); at the end of the input it points past it.
    let offset = if e.is_eof() {
        input.len()
    } else {
        let line_start = match e.line() {
            0 | 1 => 0,
            n => input
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .nth(n - 2)
                .map_or(input.len(), |(i, _)| i + 1),
        };
        (line_start + e.column().saturating_sub(1)).min(input.len())
    };
    let text = e.to_string();
    let reason = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    error(offset, format!("not JSON: {reason}"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object of the record, with what it takes to say where its fields are.
struct Object<'a> {
    input: &'a [u8],
    map: &'a Map<String, Value>,
    /// The key of this object in the record; `None` for the record itself.
    parent: Option<&'static str>,
}

impl Object<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The field's name as people write it: `src_port`, `alert.signature_id`.
    fn name(&self, key: &str) -> String {
        match self.parent {
            Some(p) => format!("{p}.{key}"),
            None => key.to_owned(),
        }
    }

    /// Where `key`'s value starts, or this object when it has no such key.
    fn offset(&self, key: &str) -> usize {
        let object: &[&str] = match self.parent {
            Some(p) => &[p],
            None => &[],
        };
        let field: Vec<&str> = object.iter().copied().chain([key]).collect();
        locate(self.input, &field).or_else(|| locate(self.input, object)).unwrap_or(0)
    }

    fn error(&self, key: &str, reason: impl Into<Cow<'static, str>>) -> ParseError {
        error(self.offset(key), reason)
    }

    fn missing(&self, key: &str) -> ParseError {
        self.error(key, format!("{} is missing", self.name(key)))
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(key, format!("{} is not a string", self.name(key)))),
        }
    }

    fn required_string(&self, key: &str) -> Result<String> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    fn uint<T: TryFrom<u64>>(&self, key: &str, range: &str) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64().and_then(|n| T::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => Err(self.error(key, format!("{} is not {range}", self.name(key)))),
            },
        }
    }

    fn required_uint<T: TryFrom<u64>>(&self, key: &str, range: &str) -> Result<T> {
        self.uint(key, range)?.ok_or_else(|| self.missing(key))
    }

    fn ip(&self, key: &str) -> Result<Option<IpAddr>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => match s.parse() {
                Ok(ip) => Ok(Some(ip)),
                Err(_) => Err(self.error(key, format!("{} is not an IP address", self.name(key)))),
            },
        }
    }

    fn object(&self, key: &str) -> Result<Option<&Map<String, Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.error(key, format!("{} is not an object", self.name(key)))),
        }
    }

    fn timestamp(&self, key: &str) -> Result<DateTime<FixedOffset>> {
        let text = self.required_string(key)?;
        parse_timestamp(&text).map_err(|(at, reason)| {
            let start = self.offset(key);
            // Point into the string when it is written without escapes.
            let verbatim = self.input.get(start + 1..start + 1 + text.len()) == Some(text.as_bytes());
            error(if verbatim { start + 1 + at } else { start }, reason)
        })
    }
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fraction]` and an offset: `Z`, `+hh:mm` (RFC
/// 3339) or `+hhmm` (Suricata). `t` and `z` may be lower-case (RFC 3339
/// section 5.6); fraction digits past nanoseconds are dropped. On error, the
/// byte offset into `s` and the reason.
fn parse_timestamp(s: &str) -> Result<DateTime<FixedOffset>, (usize, &'static str)> {
    const BAD: &str = "timestamp: expected YYYY-MM-DDThh:mm:ss[.fraction] and an offset";
    let mut c = Cursor { input: s.as_bytes(), pos: 0 };
    let year = c.digits(4, BAD)?;
    c.expect(b"-", BAD)?;
    let month = c.digits(2, BAD)?;
    c.expect(b"-", BAD)?;
    let day = c.digits(2, BAD)?;
    let date_end = c.pos;
    c.expect(b"Tt", BAD)?;
    let hour = c.digits(2, BAD)?;
    c.expect(b":", BAD)?;
    let minute = c.digits(2, BAD)?;
    c.expect(b":", BAD)?;
    let second = c.digits(2, BAD)?;
    let mut nanos = 0;
    if c.peek() == Some(b'.') {
        c.pos += 1;
        let start = c.pos;
        while c.peek().is_some_and(|b| b.is_ascii_digit()) {
            c.pos += 1;
        }
        let frac = &c.input[start..c.pos];
        if frac.is_empty() {
            return Err((c.pos, "timestamp: expected digits after '.'"));
        }
        let kept = &frac[..frac.len().min(9)];
        nanos = number(kept) * 10u32.pow(9 - kept.len() as u32);
    }
    let time_end = c.pos;
    const OFFSET: &str = "timestamp: expected an offset (Z, +hh:mm or +hhmm)";
    let offset_seconds = match c.peek() {
        Some(b'Z' | b'z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let start = c.pos;
            let h = c.digits(2, OFFSET)?;
            if c.peek() == Some(b':') {
                c.pos += 1;
            }
            let m = c.digits(2, OFFSET)?;
            if h > 23 || m > 59 {
                return Err((start, "timestamp: offset out of range"));
            }
            let secs = (h * 3600 + m * 60) as i32;
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return Err((c.pos, OFFSET)),
    };
    if c.pos != c.input.len() {
        return Err((c.pos, "timestamp: unexpected text after the offset"));
    }
    let date =
        NaiveDate::from_ymd_opt(year as i32, month, day).ok_or((date_end, "timestamp: no such date"))?;
    let time = if hour < 24 && minute < 60 && second < 60 {
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
    } else {
        None
    };
    let time = time.ok_or((time_end, "timestamp: time out of range"))?;
    FixedOffset::east_opt(offset_seconds)
        .and_then(|o| o.from_local_datetime(&date.and_time(time)).single())
        .ok_or((time_end, "timestamp: offset out of range"))
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// One of `any`.
    fn expect(&mut self, any: &[u8], reason: &'static str) -> Result<(), (usize, &'static str)> {
        match self.peek() {
            Some(b) if any.contains(&b) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err((self.pos, reason)),
        }
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize, reason: &'static str) -> Result<u32, (usize, &'static str)> {
        let start = self.pos;
        while self.pos - start < n && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos - start != n {
            return Err((self.pos, reason));
        }
        Ok(number(&self.input[start..self.pos]))
    }
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

pub(super) fn skip_ws(input: &[u8], mut pos: usize) -> usize {
    while matches!(input.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// Where the value under `path` (keys of nested objects, from the top)
/// starts in `input`, which serde_json has already accepted: the last of
/// repeated keys, as serde_json keeps. `None` when there is no such value.
fn locate(input: &[u8], path: &[&str]) -> Option<usize> {
    path.iter().try_fold(skip_ws(input, 0), |pos, key| locate_key(input, pos, key))
}

/// Where the value of `key` starts in the object that starts at `pos` (the
/// last of repeated keys, as serde_json keeps); `None` when `pos` is not an
/// object or it has no such key.
pub(super) fn locate_key(input: &[u8], mut pos: usize, key: &str) -> Option<usize> {
    if input.get(pos) != Some(&b'{') {
        return None;
    }
    pos += 1;
    let mut found = None;
    loop {
        pos = skip_ws(input, pos);
        match input.get(pos)? {
            b'}' => break,
            b',' => {
                pos += 1;
                continue;
            }
            _ => {}
        }
        let end = skip_string(input, pos)?;
        let name: Cow<'_, str> = serde_json::from_slice(input.get(pos..end)?).ok()?;
        pos = skip_ws(input, end);
        if input.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_ws(input, pos + 1);
        if name == key {
            found = Some(pos);
        }
        pos = skip_value(input, pos)?;
    }
    found
}

/// The end of the string whose opening quote is at `pos`.
pub(super) fn skip_string(input: &[u8], mut pos: usize) -> Option<usize> {
    if input.get(pos) != Some(&b'"') {
        return None;
    }
    pos += 1;
    loop {
        match input.get(pos)? {
            b'\\' => pos += 2,
            b'"' => return Some(pos + 1),
            _ => pos += 1,
        }
    }
}

/// The end of the value that starts at `pos`.
pub(super) fn skip_value(input: &[u8], mut pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match input.get(pos)? {
            b'"' => pos = skip_string(input, pos)?,
            b'{' | b'[' => {
                depth += 1;
                pos += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                pos += 1;
            }
            _ if depth == 0 => {
                let scalar_start = pos;
                while !matches!(
                    input.get(pos),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    pos += 1;
                }
                if pos == scalar_start {
                    return None;
                }
            }
            _ => pos += 1,
        }
        if depth == 0 {
            return Some(pos);
        }
    }
}

#[cfg(test)]
mod tests;
