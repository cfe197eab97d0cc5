//! HL7 v2 escape sequences (v2.5 section 2.7).

use super::Delimiters;

/// Decodes the escape sequences of one value: `\F\ \S\ \T\ \R\ \E\` become
/// the delimiters they stand for and `\Xhh..\` the bytes it spells (read as
/// UTF-8, invalid bytes replaced). Any other sequence (`\H\`, `\N\`,
/// `\.br\`, `\Cxxyy\`, ...) and an escape character with no closing one are
/// kept as written. Bytes that are not UTF-8 are replaced.
pub fn unescape(raw: &[u8], d: &Delimiters) -> String {
    let Some(esc) = d.escape.map(|c| c as u8) else {
        return String::from_utf8_lossy(raw).into_owned();
    };
    if !raw.contains(&esc) {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != esc {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let Some(len) = raw[i + 1..].iter().position(|&b| b == esc) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        let body = &raw[i + 1..i + 1 + len];
        let decoded: Option<Vec<u8>> = match body {
            b"F" => Some(char_bytes(d.field)),
            b"S" => Some(char_bytes(d.component)),
            b"T" => d.subcomponent.map(char_bytes),
            b"R" => Some(char_bytes(d.repetition)),
            b"E" => Some(vec![esc]),
            [b'X', hex @ ..] if !hex.is_empty() && hex.len() % 2 == 0 => from_hex(hex),
            _ => None,
        };
        match decoded {
            Some(bytes) => out.extend_from_slice(&bytes),
            None => out.extend_from_slice(&raw[i..i + len + 2]),
        }
        i += len + 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn char_bytes(c: char) -> Vec<u8> {
    c.to_string().into_bytes()
}

fn from_hex(hex: &[u8]) -> Option<Vec<u8>> {
    hex.chunks(2)
        .map(|pair| std::str::from_utf8(pair).ok().and_then(|s| u8::from_str_radix(s, 16).ok()))
        .collect()
}

/// Encodes `text` so that [`unescape`] gives it back: each delimiter becomes
/// its escape sequence, CR and LF become `\X0D\` and `\X0A\` (a bare CR would
/// end the segment). Without an escape character, delimiters cannot be
/// written and are replaced by a space.
pub fn escape(text: &str, d: &Delimiters) -> String {
    let mut out = String::with_capacity(text.len());
    let Some(esc) = d.escape else {
        for c in text.chars() {
            let special =
                [Some(d.field), Some(d.component), Some(d.repetition), d.subcomponent].contains(&Some(c));
            out.push(if special || c == '\r' || c == '\n' { ' ' } else { c });
        }
        return out;
    };
    for c in text.chars() {
        let code = if c == esc {
            Some("E")
        } else if c == d.field {
            Some("F")
        } else if c == d.component {
            Some("S")
        } else if c == d.repetition {
            Some("R")
        } else if Some(c) == d.subcomponent {
            Some("T")
        } else if c == '\r' {
            Some("X0D")
        } else if c == '\n' {
            Some("X0A")
        } else {
            None
        };
        match code {
            Some(code) => {
                out.push(esc);
                out.push_str(code);
                out.push(esc);
            }
            None => out.push(c),
        }
    }
    out
}
