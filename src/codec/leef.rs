//! IBM's Log Event Extended Format (LEEF), versions 1.0 and 2.0.
//!
//! - 1.0: `LEEF:1.0|Vendor|Product|Version|EventID|` then attributes
//!   separated by TAB.
//! - 2.0: `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|` then
//!   attributes separated by the delimiter: one character (`^`), or its code
//!   in hex (`x5E`, `0x5E`, up to four digits); empty means TAB.
//!
//! Header fields take `\|` and `\\` as escapes, as in CEF. An attribute is
//! `key=value`, split at its first `=`; the value is kept as sent. A piece
//! with no `=` (or an empty key) after an attribute is taken to be part of
//! that attribute's value, delimiter included, since LEEF has no escape for
//! a delimiter inside a value. Empty pieces are skipped, and so is
//! whitespace at the end of the record.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use super::{find_marker, header_field, last_value, serialize_pairs, ParseError};
use crate::model::Format;

/// One LEEF record, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeefRecord {
    /// `"1.0"` or `"2.0"`.
    pub version: String,
    pub vendor: String,
    pub product: String,
    pub product_version: String,
    pub event_id: String,
    /// The attribute delimiter, serialised as a one-character string.
    #[serde(serialize_with = "serialize_char")]
    pub delimiter: char,
    /// Serialised as one object; a repeated key shows its last value.
    #[serde(serialize_with = "serialize_pairs")]
    pub attributes: Vec<(String, String)>,
}

impl LeefRecord {
    /// The value of attribute `key`, the last one when it repeats.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        last_value(&self.attributes, key)
    }
}

fn serialize_char<S: Serializer>(c: &char, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(c)
}

/// Where a LEEF record starts in a message that may carry something before
/// it: the first `LEEF:` followed by a version (`1.0`, `2`) and `|`.
pub fn find(bytes: &[u8]) -> Option<usize> {
    find_marker(bytes, b"LEEF:", |rest| {
        let major = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut i = major;
        if rest.get(i) == Some(&b'.') {
            i += 1 + rest[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        major > 0 && rest.get(i) == Some(&b'|')
    })
}

/// Decodes one record. `text` starts with `LEEF:`, after optional whitespace.
pub fn parse(text: &str) -> Result<LeefRecord, ParseError> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    if !bytes[start..].starts_with(b"LEEF:") {
        return Err(error(start, "expected \"LEEF:\""));
    }
    let version_start = start + 5;
    let (version, end, closed) = header_field(text, version_start);
    if !closed {
        return Err(error(end, "expected '|' after the LEEF version"));
    }
    let (version, header_len) = match version.as_ref() {
        "1.0" | "1" => ("1.0", 4),
        "2.0" | "2" => ("2.0", 5),
        _ => return Err(error(version_start, "unsupported LEEF version (expected 1.0 or 2.0)")),
    };
    let mut pos = end + 1;
    let mut fields: Vec<String> = Vec::with_capacity(5);
    let mut delimiter_at = pos;
    let mut has_attributes = true;
    while fields.len() < header_len {
        let n = fields.len();
        delimiter_at = pos;
        let (value, end, closed) = header_field(text, pos);
        if !closed {
            match n {
                // `...|EventID` or `...|EventID|` and nothing after it: no attributes.
                3 => {}
                4 if pos == end => {}
                4 => return Err(error(end, "expected '|' after the delimiter field")),
                _ => {
                    return Err(error(
                        end,
                        format!("the header has {} of its {} fields", n + 2, header_len + 1),
                    ))
                }
            }
            fields.push(value.into_owned());
            has_attributes = false;
            break;
        }
        fields.push(value.into_owned());
        pos = end + 1;
    }
    fields.resize(5, String::new());
    let delimiter = if version == "2.0" { delimiter(&fields[4], delimiter_at)? } else { '\t' };
    let attributes = if has_attributes { attributes(text, pos, delimiter)? } else { Vec::new() };
    let mut fields = fields.into_iter();
    let mut next = || fields.next().unwrap_or_default();
    Ok(LeefRecord {
        version: version.to_owned(),
        vendor: next(),
        product: next(),
        product_version: next(),
        event_id: next(),
        delimiter,
        attributes,
    })
}

fn error(offset: usize, reason: impl Into<Cow<'static, str>>) -> ParseError {
    ParseError { format: Format::Leef, offset, reason: reason.into() }
}

/// The delimiter a LEEF 2.0 header names in its field at `field_start`.
fn delimiter(spec: &str, field_start: usize) -> Result<char, ParseError> {
    let mut chars = spec.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return Ok('\t'),
        (Some(c), None) => return Ok(c),
        _ => {}
    }
    let hex = spec
        .strip_prefix("0x")
        .or_else(|| spec.strip_prefix("0X"))
        .or_else(|| spec.strip_prefix('x'))
        .or_else(|| spec.strip_prefix('X'));
    hex.filter(|h| (1..=4).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .and_then(char::from_u32)
        .filter(|&c| c != '\0')
        .ok_or_else(|| error(field_start, "the delimiter must be one character or its hex code (x5E, 0x5E)"))
}

fn attributes(text: &str, from: usize, delimiter: char) -> Result<Vec<(String, String)>, ParseError> {
    let body = text[from..].trim_end();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut offset = from;
    for piece in body.split(delimiter) {
        let piece_start = offset;
        offset += piece.len() + delimiter.len_utf8();
        if piece.trim().is_empty() {
            continue;
        }
        let pair = piece
            .split_once('=')
            .map(|(k, v)| (k.trim(), v))
            .filter(|(k, _)| !k.is_empty() && !k.contains(char::is_whitespace));
        match (pair, pairs.last_mut()) {
            (Some((k, v)), _) => pairs.push((k.to_owned(), v.to_owned())),
            (None, Some((_, value))) => {
                value.push(delimiter);
                value.push_str(piece);
            }
            (None, None) => return Err(error(piece_start, "expected key=value in the attributes")),
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests;
