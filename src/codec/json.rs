//! Wardwatch's own JSON alert format, version 1, as gateways post it to
//! `POST /v1/alerts`: one alert object, or an array of them.
//!
//! `docs/ingest-json.md` describes every field for integrators, and
//! `docs/schema/alert-v1.schema.json` is the same contract as a JSON Schema
//! (draft 2020-12); a test checks that the schema and this codec accept and
//! refuse the same documents.
//!
//! Decisions, each tested:
//! - Unknown fields are refused, at the top level and inside `device`: a
//!   misspelt `sevrity` must not turn into an alert without its severity.
//!   `extensions` is the place for anything else.
//! - `null` counts as absent for every optional field (many serialisers
//!   write `None` as `null`); a required field that is `null` is missing.
//! - An integer may be written `5` or `5.0` (JSON Schema's "integer");
//!   `5.5` is refused.
//! - An empty array is valid and holds no alerts.
//! - A leading UTF-8 byte-order mark is ignored (RFC 8259 allows it).
//!
//! Errors name the field as a path (`name`, `device.mac`, `[3].severity`,
//! `extensions.ward`) and say what was expected and what was found: a
//! number is shown, other values only by their kind, so that an error never
//! echoes the text of a message (it may hold patient data).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::eve::{json_error, skip_value, skip_ws};
use super::{serialize_timestamp, ParseError};
use crate::model::Format;

/// Limits of the format, in characters (Unicode scalar values, as JSON
/// Schema's `maxLength` counts), shared with the schema file.
pub mod limits {
    pub const EVENT_CLASS: usize = 128;
    pub const NAME: usize = 256;
    pub const MESSAGE: usize = 16_384;
    /// `vendor`, `product`, `category`, `device.serial`.
    pub const SHORT_TEXT: usize = 128;
    pub const PROTO: usize = 32;
    pub const HOSTNAME: usize = 253;
    pub const EXTENSIONS: usize = 64;
    pub const EXTENSION_KEY: usize = 64;
    pub const EXTENSION_VALUE: usize = 1024;
}

/// One alert as a gateway posted it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonAlert {
    /// The sender's name of the kind of event: a rule or signature id.
    pub event_class: String,
    /// A short human-readable name of the event.
    pub name: String,
    /// 0 (least) to 10 (most), Wardwatch's own scale.
    pub severity: u8,
    /// When the gateway observed the event.
    #[serde(serialize_with = "serialize_timestamp")]
    pub observed_at: Option<DateTime<FixedOffset>>,
    /// The medical device the alert is about.
    pub device: Option<Device>,
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub proto: Option<String>,
    pub category: Option<String>,
    pub message: Option<String>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// Anything else the gateway wants kept, as text.
    pub extensions: BTreeMap<String, String>,
    /// What the device was doing for patients, as the gateway knows it.
    pub clinical_use: Option<ClinicalUse>,
}

/// How the gateway identifies the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Device {
    pub ip: Option<IpAddr>,
    /// As sent: six hex pairs separated by `:` or `-`.
    pub mac: Option<String>,
    pub hostname: Option<String>,
    /// As sent: eight hex pairs, bare or separated by `:` or `-`.
    pub eui64: Option<String>,
    pub serial: Option<String>,
}

/// The device's clinical use when the alert was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClinicalUse {
    InUse,
    Idle,
    Maintenance,
    Unknown,
}

impl ClinicalUse {
    pub const ALL: [ClinicalUse; 4] = [Self::InUse, Self::Idle, Self::Maintenance, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InUse => "in_use",
            Self::Idle => "idle",
            Self::Maintenance => "maintenance",
            Self::Unknown => "unknown",
        }
    }
}

/// Why a document was refused: the field (a path such as `[3].severity`;
/// `None` when the document as a whole is wrong), the reason, and the byte
/// offset in the input where the offending value starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct JsonError {
    pub field: Option<String>,
    pub reason: String,
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl From<JsonError> for ParseError {
    fn from(e: JsonError) -> Self {
        ParseError { format: Format::Json, offset: e.offset, reason: e.to_string().into() }
    }
}

/// The top-level fields, in the order the documentation lists them.
pub const FIELDS: &[&str] = &[
    "event_class",
    "name",
    "severity",
    "observed_at",
    "device",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "proto",
    "category",
    "message",
    "vendor",
    "product",
    "extensions",
    "clinical_use",
];

/// The fields of `device`.
pub const DEVICE_FIELDS: &[&str] = &["ip", "mac", "hostname", "eui64", "serial"];

/// Decodes a document: one alert object, or an array of them.
pub fn parse(input: &[u8]) -> Result<Vec<JsonAlert>, JsonError> {
    Ok(parse_spanned(input)?.into_iter().map(|(_, a)| a).collect())
}

/// Like [`parse`], with where each alert's object is in `input` (for an
/// array, the element's bytes; for a single object, the whole input), so
/// that each alert can keep its own raw bytes.
pub fn parse_spanned(input: &[u8]) -> Result<Vec<(Range<usize>, JsonAlert)>, JsonError> {
    let whole = |reason: String, offset| JsonError { field: None, reason, offset };
    let start = if input.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
    let body = &input[start..];
    if let Err(e) = std::str::from_utf8(body) {
        return Err(whole(
            format!("not UTF-8: invalid byte at offset {}", start + e.valid_up_to()),
            start + e.valid_up_to(),
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let pe = json_error(body, &e);
        whole(pe.reason.into_owned(), start + pe.offset)
    })?;
    let doc = Doc { input, start };
    match &value {
        Value::Object(map) => Ok(vec![(0..input.len(), doc.alert(map, &mut Path::root())?)]),
        Value::Array(items) => {
            let spans = doc.element_spans();
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let mut path = Path::root();
                    path.push(Seg::Index(i));
                    let span = spans.get(i).cloned().unwrap_or(0..input.len());
                    match item {
                        Value::Object(map) => Ok((span, doc.alert(map, &mut path)?)),
                        other => {
                            Err(doc.error(&path, format!("expected an alert object, found {}", found(other))))
                        }
                    }
                })
                .collect()
        }
        other => Err(whole(
            format!("expected an alert object or an array of alert objects, found {}", found(other)),
            start + skip_ws(body, 0),
        )),
    }
}

/// A path segment: an object key or an array index.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default)]
struct Path(Vec<Seg>);

impl Path {
    fn root() -> Self {
        Self(Vec::new())
    }
    fn push(&mut self, s: Seg) {
        self.0.push(s);
    }
    fn with_key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.push(Seg::Key(key.to_owned()));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
            }
        }
        Ok(())
    }
}

/// The kind of a value, for "found ...": numbers are shown, text never is.
fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The number as an integer when it has no fraction (`5` and `5.0`).
fn integer(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30).map(|f| f as i128)
}

/// The input, to say where things are.
struct Doc<'a> {
    input: &'a [u8],
    /// Past a byte-order mark.
    start: usize,
}

type Result<T, E = JsonError> = std::result::Result<T, E>;

impl Doc<'_> {
    fn error(&self, path: &Path, reason: impl Into<String>) -> JsonError {
        let field = path.to_string();
        JsonError {
            field: (!field.is_empty()).then_some(field),
            reason: reason.into(),
            offset: self.locate(path),
        }
    }

    /// Where the value at `path` starts (or its closest existing parent).
    fn locate(&self, path: &Path) -> usize {
        let body = &self.input[self.start..];
        let mut pos = skip_ws(body, 0);
        for seg in &path.0 {
            match locate_in(body, pos, seg) {
                Some(p) => pos = p,
                None => break,
            }
        }
        self.start + pos.min(body.len())
    }

    /// The byte range of each element of the top-level array.
    fn element_spans(&self) -> Vec<Range<usize>> {
        let body = &self.input[self.start..];
        let mut out = Vec::new();
        let mut pos = skip_ws(body, 0);
        if body.get(pos) != Some(&b'[') {
            return out;
        }
        pos += 1;
        loop {
            pos = skip_ws(body, pos);
            match body.get(pos) {
                None | Some(b']') => break,
                Some(b',') => pos += 1,
                Some(_) => match skip_value(body, pos) {
                    Some(end) => {
                        out.push(self.start + pos..self.start + end);
                        pos = end;
                    }
                    None => break,
                },
            }
        }
        out
    }

    fn alert(&self, map: &Map<String, Value>, path: &mut Path) -> Result<JsonAlert> {
        let o = Obj { doc: self, map, path: path.clone() };
        o.no_unknown(FIELDS)?;
        let device = match o.get("device") {
            None => None,
            Some(Value::Object(d)) => Some(self.device(d, path.with_key("device"))?),
            Some(other) => return Err(o.expected("device", "an object", other)),
        };
        Ok(JsonAlert {
            event_class: o.required_text("event_class", limits::EVENT_CLASS)?,
            name: o.required_text("name", limits::NAME)?,
            severity: o.required_int("severity", 0, 10)? as u8,
            observed_at: o.timestamp("observed_at")?,
            device,
            src_ip: o.ip("src_ip")?,
            dst_ip: o.ip("dst_ip")?,
            src_port: o.int("src_port", 0, 65535)?.map(|p| p as u16),
            dst_port: o.int("dst_port", 0, 65535)?.map(|p| p as u16),
            proto: o.text("proto", limits::PROTO)?,
            category: o.text("category", limits::SHORT_TEXT)?,
            message: o.text("message", limits::MESSAGE)?,
            vendor: o.text("vendor", limits::SHORT_TEXT)?,
            product: o.text("product", limits::SHORT_TEXT)?,
            extensions: o.extensions("extensions")?,
            clinical_use: o.clinical_use("clinical_use")?,
        })
    }

    fn device(&self, map: &Map<String, Value>, path: Path) -> Result<Device> {
        let o = Obj { doc: self, map, path };
        o.no_unknown(DEVICE_FIELDS)?;
        Ok(Device {
            ip: o.ip("ip")?,
            mac: o.pattern("mac", "a MAC address (six hex pairs separated by : or -)", is_mac)?,
            hostname: o.text("hostname", limits::HOSTNAME)?,
            eui64: o.pattern(
                "eui64",
                "an EUI-64 (eight hex pairs, bare or separated by : or -)",
                is_eui64,
            )?,
            serial: o.text("serial", limits::SHORT_TEXT)?,
        })
    }
}

/// Where the value under `seg` of the container starting at `pos` starts.
fn locate_in(input: &[u8], pos: usize, seg: &Seg) -> Option<usize> {
    let mut pos = pos;
    match seg {
        Seg::Key(key) => super::eve::locate_key(input, pos, key),
        Seg::Index(n) => {
            if input.get(pos) != Some(&b'[') {
                return None;
            }
            pos += 1;
            let mut i = 0;
            loop {
                pos = skip_ws(input, pos);
                match input.get(pos)? {
                    b']' => return None,
                    b',' => pos += 1,
                    _ if i == *n => return Some(pos),
                    _ => {
                        pos = skip_value(input, pos)?;
                        i += 1;
                    }
                }
            }
        }
    }
}

/// One object of the document, with its path.
struct Obj<'a> {
    doc: &'a Doc<'a>,
    map: &'a Map<String, Value>,
    path: Path,
}

impl Obj<'_> {
    /// The value of `key`; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn error(&self, key: &str, reason: impl Into<String>) -> JsonError {
        self.doc.error(&self.path.with_key(key), reason)
    }

    fn expected(&self, key: &str, what: &str, v: &Value) -> JsonError {
        self.error(key, format!("expected {what}, found {}", found(v)))
    }

    fn missing(&self, key: &str) -> JsonError {
        // The offset of a missing field is its object's.
        JsonError {
            field: Some(self.path.with_key(key).to_string()),
            reason: "missing field".into(),
            offset: self.doc.locate(&self.path),
        }
    }

    fn no_unknown(&self, known: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(self.error(k, format!("unknown field; expected one of {}", known.join(", ")))),
        }
    }

    fn text(&self, key: &str, max: usize) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n > max {
                    return Err(self.error(key, format!("expected at most {max} characters, found {n}")));
                }
                Ok(Some(s.clone()))
            }
            Some(other) => Err(self.expected(key, "a string", other)),
        }
    }

    fn required_text(&self, key: &str, max: usize) -> Result<String> {
        match self.text(key, max)? {
            None => Err(self.missing(key)),
            Some(s) if s.is_empty() => {
                Err(self.error(key, "expected a non-empty string, found an empty one"))
            }
            Some(s) => Ok(s),
        }
    }

    fn int(&self, key: &str, min: i128, max: i128) -> Result<Option<i128>> {
        let what = || format!("an integer from {min} to {max}");
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => match integer(n) {
                Some(i) if (min..=max).contains(&i) => Ok(Some(i)),
                _ => Err(self.expected(key, &what(), v)),
            },
            Some(other) => Err(self.expected(key, &what(), other)),
        }
    }

    fn required_int(&self, key: &str, min: i128, max: i128) -> Result<i128> {
        self.int(key, min, max)?.ok_or_else(|| self.missing(key))
    }

    fn ip(&self, key: &str) -> Result<Option<IpAddr>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => match s.parse() {
                Ok(ip) => Ok(Some(ip)),
                Err(_) => {
                    Err(self.error(key, "expected an IPv4 or IPv6 address, found a string that is not one"))
                }
            },
            Some(other) => Err(self.expected(key, "an IP address (a string)", other)),
        }
    }

    fn pattern(&self, key: &str, what: &str, ok: fn(&str) -> bool) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if ok(s) => Ok(Some(s.clone())),
            Some(Value::String(_)) => {
                Err(self.error(key, format!("expected {what}, found a string that is not one")))
            }
            Some(other) => Err(self.expected(key, what, other)),
        }
    }

    fn timestamp(&self, key: &str) -> Result<Option<DateTime<FixedOffset>>> {
        const WHAT: &str = "an RFC 3339 date-time such as 2024-05-01T10:00:00Z";
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                // chrono also takes a space between date and time; RFC 3339's
                // date-time (and JSON Schema's format) does not.
                let t_sep = matches!(s.as_bytes().get(10), Some(b'T' | b't'));
                match DateTime::parse_from_rfc3339(s) {
                    Ok(t) if t_sep => Ok(Some(t)),
                    _ => Err(self.error(key, format!("expected {WHAT}, found a string that is not one"))),
                }
            }
            Some(other) => Err(self.expected(key, WHAT, other)),
        }
    }

    fn extensions(&self, key: &str) -> Result<BTreeMap<String, String>> {
        let map = match self.get(key) {
            None => return Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m,
            Some(other) => return Err(self.expected(key, "an object of strings", other)),
        };
        if map.len() > limits::EXTENSIONS {
            return Err(self.error(
                key,
                format!("expected at most {} entries, found {}", limits::EXTENSIONS, map.len()),
            ));
        }
        let inner = Obj { doc: self.doc, map, path: self.path.with_key(key) };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let n = k.chars().count();
            if n == 0 || n > limits::EXTENSION_KEY {
                return Err(inner.error(
                    k,
                    format!("expected a key of 1 to {} characters, found {n}", limits::EXTENSION_KEY),
                ));
            }
            match v {
                Value::String(s) => {
                    let len = s.chars().count();
                    if len > limits::EXTENSION_VALUE {
                        return Err(inner.error(
                            k,
                            format!("expected at most {} characters, found {len}", limits::EXTENSION_VALUE),
                        ));
                    }
                    out.insert(k.clone(), s.clone());
                }
                other => return Err(inner.expected(k, "a string", other)),
            }
        }
        Ok(out)
    }

    fn clinical_use(&self, key: &str) -> Result<Option<ClinicalUse>> {
        let what = "one of \"in_use\", \"idle\", \"maintenance\", \"unknown\"";
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => match ClinicalUse::ALL.into_iter().find(|c| c.as_str() == s) {
                Some(c) => Ok(Some(c)),
                None => Err(self.error(key, format!("expected {what}, found a string that is not one"))),
            },
            Some(other) => Err(self.expected(key, what, other)),
        }
    }
}

/// `n` hex pairs, each after the first preceded by `:` or `-`.
fn separated_pairs(s: &str, n: usize) -> bool {
    let b = s.as_bytes();
    b.len() == n * 3 - 1
        && b.chunks(3).all(|c| {
            c[0].is_ascii_hexdigit()
                && c.get(1).is_some_and(u8::is_ascii_hexdigit)
                && c.get(2).is_none_or(|&s| s == b':' || s == b'-')
        })
}

/// Six hex pairs separated by `:` or `-` (the schema's `mac` pattern).
pub fn is_mac(s: &str) -> bool {
    separated_pairs(s, 6)
}

/// Sixteen hex digits, or eight pairs separated by `:` or `-` (the schema's `eui64` pattern).
pub fn is_eui64(s: &str) -> bool {
    (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())) || separated_pairs(s, 8)
}

#[cfg(test)]
mod tests;
