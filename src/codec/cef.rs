//! ArcSight Common Event Format (CEF) records, as the CEF specification
//! describes them and as the parsers in common use (logstash-codec-cef)
//! read what devices really send.
//!
//! `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`
//!
//! - Header fields are split on unescaped `|`; `\|` and `\\` are their
//!   escapes, any other backslash is kept. Fields may be empty. Fewer than
//!   seven fields is an error; a severity not followed by `|` runs to the end
//!   (no extension).
//! - The extension is `key=value` pairs separated by whitespace. A key is a
//!   word (`[A-Za-z0-9_-]+`), optionally followed by dotted sub-keys (any
//!   characters but whitespace, `.`, `=`, `|`, `\`, `[`, `]`) and array
//!   indexes (`[0]`), then `=`. This takes the strict keys of the spec and
//!   the keys ArcSight connectors really send (`ad.Error_,Code`,
//!   `ad.field[0]`).
//! - A value runs until whitespace followed by such a key and `=`, so values
//!   may hold spaces, unescaped `|` and unescaped `=` (when what precedes it
//!   is not a key after whitespace). Whitespace around pairs is dropped.
//! - Value escapes: `\=`, `\\`, `\n` and `\r` (a newline, a carriage return);
//!   any other backslash is kept as sent (`\|` stays `\|`).
//! - Keys are kept as written (no long-name translation); a repeated key
//!   keeps every pair in order, and the last one wins on lookup.

use std::borrow::Cow;

use serde::Serialize;

use super::{find_marker, header_field, last_value, serialize_pairs, ParseError};
use crate::model::Format;

/// One CEF record, decoded: header fields unescaped, extension pairs in the
/// order they were sent. Fields borrow from the parsed text unless they held
/// an escape ([`CefRecord::into_owned`] detaches a record from its text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CefRecord<'a> {
    pub version: u16,
    pub device_vendor: Cow<'a, str>,
    pub device_product: Cow<'a, str>,
    pub device_version: Cow<'a, str>,
    pub device_event_class_id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    /// As written: `0`–`10`, or `Low`, `Medium`, `High`, `Very-High`, or
    /// whatever the sender put there (see [`CefRecord::severity_value`]).
    pub severity: Cow<'a, str>,
    /// Serialised as one object; a repeated key shows its last value.
    #[serde(serialize_with = "serialize_pairs")]
    pub extensions: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl CefRecord<'_> {
    /// The record with every field owned, free of the text it was read from.
    pub fn into_owned(self) -> CefRecord<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        CefRecord {
            version: self.version,
            device_vendor: own(self.device_vendor),
            device_product: own(self.device_product),
            device_version: own(self.device_version),
            device_event_class_id: own(self.device_event_class_id),
            name: own(self.name),
            severity: own(self.severity),
            extensions: self.extensions.into_iter().map(|(k, v)| (own(k), own(v))).collect(),
        }
    }

    /// The value of extension `key`, the last one when it repeats.
    pub fn extension(&self, key: &str) -> Option<&str> {
        last_value(&self.extensions, key)
    }

    /// The severity on CEF's 0–10 scale: a number from 0 to 10, or one of
    /// the spec's words in any case (Low 3, Medium 6, High 8, Very-High 10).
    /// `None` for anything else, `Unknown` included.
    pub fn severity_value(&self) -> Option<u8> {
        let s = self.severity.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse::<u8>().ok().filter(|&n| n <= 10);
        }
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(3),
            "medium" => Some(6),
            "high" => Some(8),
            "very-high" => Some(10),
            _ => None,
        }
    }
}

/// Where a CEF record starts in a message that may carry something before it
/// (a syslog header, `Nov 16 21:24:18 host `): the first `CEF:` followed by a
/// version number and `|`.
pub fn find(bytes: &[u8]) -> Option<usize> {
    find_marker(bytes, b"CEF:", |rest| {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        digits > 0 && rest.get(digits) == Some(&b'|')
    })
}

/// Decodes one record. `text` starts with `CEF:`, after optional whitespace.
pub fn parse(text: &str) -> Result<CefRecord<'_>, ParseError> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    if !bytes[start..].starts_with(b"CEF:") {
        return Err(error(start, "expected \"CEF:\""));
    }
    let version_start = start + 4;
    let digits = bytes[version_start..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(error(version_start, "expected a version number after \"CEF:\""));
    }
    let version = text[version_start..version_start + digits]
        .parse::<u16>()
        .map_err(|_| error(version_start, "version number is too large"))?;
    let mut pos = version_start + digits;
    if bytes.get(pos) != Some(&b'|') {
        return Err(error(pos, "expected '|' after the version"));
    }
    pos += 1;

    let mut fields: [Cow<'_, str>; 6] = Default::default();
    for (i, field) in fields.iter_mut().enumerate() {
        let (value, end, closed) = header_field(text, pos);
        *field = value;
        pos = end + usize::from(closed);
        if !closed && i < 5 {
            return Err(error(end, format!("the header has {} of its 7 fields", i + 2)));
        }
    }
    let extensions = extensions(text, pos)?;
    let [device_vendor, device_product, device_version, device_event_class_id, name, severity] = fields;
    Ok(CefRecord {
        version,
        device_vendor,
        device_product,
        device_version,
        device_event_class_id,
        name,
        severity,
        extensions,
    })
}

fn error(offset: usize, reason: impl Into<Cow<'static, str>>) -> ParseError {
    ParseError { format: Format::Cef, offset, reason: reason.into() }
}

/// One extension pair: the key as written, the value unescaped.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Bytes where a value needs a decision: whitespace (a key may follow) and
/// `\\` (an escape). Every other byte is part of the value.
const VALUE_STOP: [bool; 256] = byte_class(0);
/// Bytes of the word that starts a key: `[A-Za-z0-9_-]`.
const KEY_WORD: [bool; 256] = byte_class(1);
/// Bytes of a dotted sub-key: anything but whitespace, `.`, `=`, `|`, `\\`, `[`, `]`.
const SUB_KEY: [bool; 256] = byte_class(2);

/// A lookup table of one byte class (a table beats a chain of comparisons
/// in the loops that look at every byte): 0 [`VALUE_STOP`], 1 [`KEY_WORD`],
/// 2 [`SUB_KEY`].
const fn byte_class(class: u8) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = match class {
            0 => b.is_ascii_whitespace() || b == b'\\',
            1 => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            _ => !b.is_ascii_whitespace() && !matches!(b, b'.' | b'=' | b'|' | b'\\' | b'[' | b']'),
        };
        i += 1;
    }
    table
}

/// The extension pairs from byte `from` to the end.
fn extensions(text: &str, from: usize) -> Result<Vec<Pair<'_>>, ParseError> {
    let bytes = text.as_bytes();
    let mut pairs = Vec::with_capacity(16);
    let mut key_start = skip_whitespace(bytes, from);
    if key_start == bytes.len() {
        return Ok(pairs);
    }
    let Some(mut key_end) = key_len(&bytes[key_start..]).map(|n| key_start + n) else {
        return Err(error(key_start, "expected key=value in the extension"));
    };
    loop {
        let value_start = key_end + 1; // past '='
        let mut i = value_start;
        let (value_end, next) = loop {
            while bytes.get(i).is_some_and(|&b| !VALUE_STOP[usize::from(b)]) {
                i += 1;
            }
            match bytes.get(i) {
                None => break (i, None),
                Some(b'\\') => {
                    i += if matches!(bytes.get(i + 1), Some(b'\\' | b'=' | b'n' | b'r')) { 2 } else { 1 }
                }
                Some(b) if b.is_ascii_whitespace() => {
                    let j = skip_whitespace(bytes, i);
                    if j == bytes.len() {
                        break (i, None);
                    }
                    if let Some(n) = key_len(&bytes[j..]) {
                        break (i, Some((j, j + n)));
                    }
                    i = j;
                }
                Some(_) => i += 1,
            }
        };
        pairs.push((Cow::Borrowed(&text[key_start..key_end]), unescape_value(&text[value_start..value_end])));
        match next {
            Some((k, e)) => (key_start, key_end) = (k, e),
            None => return Ok(pairs),
        }
    }
}

fn skip_whitespace(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The length of the extension key at the start of `s`, when one is there
/// and `=` follows it.
fn key_len(s: &[u8]) -> Option<usize> {
    let mut i = s.iter().take_while(|&&b| KEY_WORD[usize::from(b)]).count();
    if i == 0 {
        return None;
    }
    i = skip_indexes(s, i);
    while s.get(i) == Some(&b'.') {
        let n = s[i + 1..].iter().take_while(|&&b| SUB_KEY[usize::from(b)]).count();
        if n == 0 {
            return None;
        }
        i = skip_indexes(s, i + 1 + n);
    }
    (s.get(i) == Some(&b'=')).then_some(i)
}

/// Past any `[digits]` groups at `i`.
fn skip_indexes(s: &[u8], mut i: usize) -> usize {
    while s.get(i) == Some(&b'[') {
        let digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || s.get(i + 1 + digits) != Some(&b']') {
            break;
        }
        i += digits + 2;
    }
    i
}

fn unescape_value(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('\\') => out.push('\\'),
            Some('=') => out.push('='),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    Cow::Owned(out)
}

/// Escapes a header field as the spec says (for tests and for anyone who
/// writes CEF): `\` and `|`.
pub fn escape_header(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|")
}

/// Escapes an extension value as the spec says: `\`, `=`, and line breaks
/// as `\n` and `\r`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
