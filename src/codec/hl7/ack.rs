//! HL7 v2 acknowledgements (original mode): `MSA|AA`, `MSA|AE`, `MSA|AR`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{escape, segments, start, Delimiters, Hd, Hl7Message};

/// MSA-1: how the message was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AckCode {
    /// `AA`: accepted (here: queued for the store).
    #[serde(rename = "AA")]
    Accept,
    /// `AE`: understood but unusable; resending the same message will not help.
    #[serde(rename = "AE")]
    Error,
    /// `AR`: rejected: unreadable, or a message type or version not supported.
    #[serde(rename = "AR")]
    Reject,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
    }
}

/// Why a message was not accepted: an HL7 error code (table 0357) and a
/// sentence for people. The sentence never quotes the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    pub code: AckCode,
    /// HL7 table 0357: 100 segment sequence error, 101 required field missing,
    /// 102 data type error, 200 unsupported message type, 201 unsupported
    /// event code, 203 unsupported version id, 207 application internal error.
    pub hl7_code: u16,
    pub reason: String,
}

impl AckError {
    pub fn new(code: AckCode, hl7_code: u16, reason: impl Into<String>) -> Self {
        Self { code, hl7_code, reason: reason.into() }
    }

    fn hl7_text(&self) -> &'static str {
        match self.hl7_code {
            100 => "Segment sequence error",
            101 => "Required field missing",
            102 => "Data type error",
            103 => "Table value not found",
            200 => "Unsupported message type",
            201 => "Unsupported event code",
            202 => "Unsupported processing id",
            203 => "Unsupported version id",
            _ => "Application internal error",
        }
    }
}

/// What an acknowledgement needs from the message it answers. Every part is
/// optional: for a message whose MSH could not be read, as much as could be
/// salvaged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckContext {
    pub delimiters: Delimiters,
    pub sending_application: Hd,
    pub sending_facility: Hd,
    pub receiving_application: Hd,
    pub receiving_facility: Hd,
    pub trigger: String,
    pub control_id: String,
    pub processing_id: String,
    pub version: String,
}

impl AckContext {
    pub fn from_message(m: &Hl7Message) -> Self {
        Self {
            delimiters: m.delimiters,
            sending_application: m.msh.sending_application.clone(),
            sending_facility: m.msh.sending_facility.clone(),
            receiving_application: m.msh.receiving_application.clone(),
            receiving_facility: m.msh.receiving_facility.clone(),
            trigger: m.msh.message_type.trigger.clone(),
            control_id: m.msh.control_id.clone(),
            processing_id: m.msh.processing_id.clone(),
            version: m.msh.version.clone(),
        }
    }

    /// Reads what it can of the MSH of a message [`super::parse`] refused:
    /// with its own delimiters when they are readable, else with `|^~\&`.
    pub fn salvage(raw: &[u8]) -> Self {
        let body = &raw[start(raw)..];
        let Some(msh) = segments(body).next().filter(|s| s.bytes.starts_with(b"MSH")) else {
            return Self::default();
        };
        let d = super::delimiters(body).unwrap_or_default();
        let field = |n: usize| {
            let f = msh.field(&d, n).unwrap_or_default();
            f.split(|&b| b == d.repetition as u8).next().unwrap_or_default()
        };
        let comp = |n: usize, c: usize| super::first_sub(super::component(field(n), &d, c), &d);
        Self {
            delimiters: d,
            sending_application: super::hd(field(3), &d),
            sending_facility: super::hd(field(4), &d),
            receiving_application: super::hd(field(5), &d),
            receiving_facility: super::hd(field(6), &d),
            trigger: comp(9, 2),
            control_id: super::text(field(10), &d),
            processing_id: comp(11, 1),
            version: comp(12, 1),
        }
    }
}

/// Builds the acknowledgement of a message: MSH with sender and receiver
/// swapped, `ACK^<trigger>^ACK`, the fresh `control_id`, the same processing
/// id and version (`P` and `2.6` when unknown); `MSA|<code>|<their control
/// id>`; and for AE and AR, MSA-3 and an `ERR` segment with the reason.
/// Segments end with CR; the result is not MLLP-framed.
pub fn build(
    ctx: &AckContext,
    outcome: Result<(), &AckError>,
    control_id: &str,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let d = &ctx.delimiters;
    let f = d.field;
    let e = |s: &str| escape(s, d);
    let hd = |h: &Hd| {
        let parts = [e(&h.namespace_id), e(&h.universal_id), e(&h.universal_id_type)];
        let n = parts.iter().rposition(|p| !p.is_empty()).map_or(0, |i| i + 1);
        parts[..n].join(&d.component.to_string())
    };
    let or = |s: &str, default: &str| if s.trim().is_empty() { default.to_owned() } else { e(s) };
    let c = d.component;
    let trigger = e(&ctx.trigger);
    let message_type =
        if trigger.is_empty() { format!("ACK{c}{c}ACK") } else { format!("ACK{c}{trigger}{c}ACK") };
    let mut out = format!(
        "MSH{f}{enc}{f}{ra}{f}{rf}{f}{sa}{f}{sf}{f}{ts}{f}{f}{mt}{f}{id}{f}{pid}{f}{ver}\r",
        enc = d.encoding_characters(),
        ra = hd(&ctx.receiving_application),
        rf = hd(&ctx.receiving_facility),
        sa = hd(&ctx.sending_application),
        sf = hd(&ctx.sending_facility),
        ts = now.format("%Y%m%d%H%M%S+0000"),
        mt = message_type,
        id = e(control_id),
        pid = or(&ctx.processing_id, "P"),
        ver = or(&ctx.version, "2.6"),
    );
    match outcome {
        Ok(()) => out.push_str(&format!("MSA{f}AA{f}{}\r", e(&ctx.control_id))),
        Err(err) => {
            let reason = e(&err.reason);
            out.push_str(&format!("MSA{f}{}{f}{}{f}{reason}\r", err.code.as_str(), e(&ctx.control_id)));
            // ERR-3 HL7 error code, ERR-4 severity, ERR-8 user message (v2.5+).
            out.push_str(&format!(
                "ERR{f}{f}{f}{}{c}{}{c}HL70357{f}E{f}{f}{f}{f}{reason}\r",
                err.hl7_code,
                err.hl7_text()
            ));
        }
    }
    out.into_bytes()
}
