//! HL7 version 2 messages, as IHE PCD device gateways send them (PCD-01
//! `ORU^R01` observations, PCD-04 `ORU^R40` alarms).
//!
//! The parser reads the encoding characters from MSH-1 and MSH-2, splits
//! segments at CR (LF and CRLF are tolerated), and decodes the escape
//! sequences `\F\ \S\ \T\ \R\ \E\` and `\Xhh..\`; any other escape sequence
//! (`\H\`, `\.br\`, `\Cxxyy\`, ...) is left as written.
//!
//! It exposes only what Wardwatch needs: the MSH header, PID-3 (the patient
//! identifier, kept only to be hashed: see [`PatientId`]), PV1-3, OBR and OBX
//! rows, and for `ORU^R40` the alarm. **Patient names and other demographics
//! (PID-5 and the rest of PID, NK1, ...) are never copied out of the input.**
//!
//! [`redact`] gives the copy of a message that may be stored when it is
//! rejected; [`ack`] builds the acknowledgement.

pub mod ack;
mod escape;

use std::borrow::Cow;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;
use zeroize::Zeroize;

pub use escape::{escape, unescape};

use super::ParseError;
use crate::model::Format;

/// The encoding characters of one message (MSH-1 and MSH-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: Option<char>,
    pub subcomponent: Option<char>,
}

impl Default for Delimiters {
    /// `|^~\&`, what nearly every sender uses.
    fn default() -> Self {
        Self { field: '|', component: '^', repetition: '~', escape: Some('\\'), subcomponent: Some('&') }
    }
}

impl Delimiters {
    /// MSH-2 as written for these delimiters.
    pub fn encoding_characters(&self) -> String {
        let mut s = String::new();
        s.push(self.component);
        s.push(self.repetition);
        s.extend(self.escape);
        if self.escape.is_some() {
            s.extend(self.subcomponent);
        }
        s
    }
}

/// A coded element (CE, CWE, CNE): identifier, text, coding system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coded {
    pub code: String,
    pub text: String,
    pub system: String,
}

impl Coded {
    /// The name of an MDC term: the text when it is an `MDC_*` reference id,
    /// else the code (IHE PCD puts either first, depending on the sender).
    pub fn mdc_name(&self) -> Option<&str> {
        [self.text.as_str(), self.code.as_str()]
            .into_iter()
            .find(|s| s.starts_with("MDC_") || s.starts_with("MDCX_"))
    }

    fn is_empty(&self) -> bool {
        self.code.is_empty() && self.text.is_empty() && self.system.is_empty()
    }
}

/// A hierarchic designator (HD): namespace, universal id, universal id type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hd {
    pub namespace_id: String,
    pub universal_id: String,
    pub universal_id_type: String,
}

impl Hd {
    pub fn is_empty(&self) -> bool {
        self.namespace_id.is_empty() && self.universal_id.is_empty() && self.universal_id_type.is_empty()
    }
}

impl std::fmt::Display for Hd {
    /// The components joined with `^`, trailing empty ones left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&join_trimmed(&[&self.namespace_id, &self.universal_id, &self.universal_id_type], '^'))
    }
}

fn join_trimmed(parts: &[&str], sep: char) -> String {
    let n = parts.iter().rposition(|p| !p.is_empty()).map_or(0, |i| i + 1);
    parts[..n].join(&sep.to_string())
}

/// MSH-9: message code, trigger event, message structure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MessageType {
    pub code: String,
    pub trigger: String,
    pub structure: String,
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&join_trimmed(&[&self.code, &self.trigger, &self.structure], '^'))
    }
}

/// An HL7 timestamp (DTM/TS): as precise as the sender wrote it, with its
/// UTC offset when the sender gave one. HL7 reads a timestamp without an
/// offset as the sender's local time, which Wardwatch does not know: it is
/// kept without one rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hl7Time {
    pub local: NaiveDateTime,
    pub offset: Option<FixedOffset>,
}

impl Hl7Time {
    /// Reads `YYYY[MM[DD[HH[MM[SS[.S{1,4}]]]]]][+/-ZZZZ]`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (body, offset) = match s.find(['+', '-']) {
            Some(i) => {
                let z = &s[i + 1..];
                if z.len() != 4 || !z.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let secs = (z[..2].parse::<i32>().ok()? * 60 + z[2..].parse::<i32>().ok()?) * 60;
                let secs = if s.as_bytes()[i] == b'-' { -secs } else { secs };
                (&s[..i], Some(FixedOffset::east_opt(secs)?))
            }
            None => (s, None),
        };
        let (digits, fraction) = match body.split_once('.') {
            Some((d, f)) if !f.is_empty() && f.len() <= 4 && f.bytes().all(|b| b.is_ascii_digit()) => {
                (d, Some(f))
            }
            Some(_) => return None,
            None => (body, None),
        };
        if !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if fraction.is_some() && digits.len() != 14 {
            return None;
        }
        let num = |from: usize, default: u32| -> u32 {
            digits.get(from..from + 2).and_then(|d| d.parse().ok()).unwrap_or(default)
        };
        let year: i32 = digits[..4].parse().ok()?;
        let date = NaiveDate::from_ymd_opt(year, num(4, 1), num(6, 1))?;
        let nanos = fraction.map_or(Some(0), |f| {
            let n: u32 = f.parse().ok()?;
            Some(n * 10u32.pow(9 - f.len() as u32))
        })?;
        let time = NaiveTime::from_hms_nano_opt(num(8, 0), num(10, 0), num(12, 0), nanos)?;
        Some(Self { local: date.and_time(time), offset })
    }
}

impl std::fmt::Display for Hl7Time {
    /// ISO 8601: with the offset when known (`2009-08-13T09:57:15+00:00`),
    /// without when not (`2009-08-13T09:57:15`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fmt = "%Y-%m-%dT%H:%M:%S%.f";
        match self.offset {
            Some(o) => write!(f, "{}{}", self.local.format(fmt), o),
            None => write!(f, "{}", self.local.format(fmt)),
        }
    }
}

impl Serialize for Hl7Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The message header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Msh {
    pub sending_application: Hd,
    pub sending_facility: Hd,
    pub receiving_application: Hd,
    pub receiving_facility: Hd,
    pub time: Option<Hl7Time>,
    pub message_type: MessageType,
    pub control_id: String,
    pub processing_id: String,
    pub version: String,
}

/// PID-3, the patient identifier (first repetition with an id), kept only so
/// that it can be hashed with the console's key. It prints as `PatientId(..)`,
/// cannot be serialised, and is wiped from memory when dropped.
#[derive(PartialEq, Eq)]
pub struct PatientId {
    id: String,
    assigning_authority: String,
}

impl PatientId {
    /// The identifier and its assigning authority (PID-3.1 and PID-3.4, the
    /// latter's parts joined with `&`). Spelled loudly: only hashing reads it.
    pub fn expose_for_hashing(&self) -> (&str, &str) {
        (&self.id, &self.assigning_authority)
    }
}

impl std::fmt::Debug for PatientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientId(..)")
    }
}

impl Clone for PatientId {
    fn clone(&self) -> Self {
        Self { id: self.id.clone(), assigning_authority: self.assigning_authority.clone() }
    }
}

impl Drop for PatientId {
    fn drop(&mut self) {
        self.id.zeroize();
        self.assigning_authority.zeroize();
    }
}

/// PV1-3, the assigned patient location (PL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    pub point_of_care: String,
    pub room: String,
    pub bed: String,
    pub facility: String,
}

impl Location {
    pub fn is_empty(&self) -> bool {
        self.point_of_care.is_empty()
            && self.room.is_empty()
            && self.bed.is_empty()
            && self.facility.is_empty()
    }
}

/// An entity identifier (EI), such as OBX-18's equipment instance identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ei {
    pub entity_id: String,
    pub namespace_id: String,
    pub universal_id: String,
    pub universal_id_type: String,
}

impl Ei {
    /// The IEEE EUI-64 this identifier carries, as 16 upper-case hex digits.
    ///
    /// Senders put it in different places: `0123456789ABCDEF^EUI-64^IEEE`
    /// (entity id, namespace `EUI-64`), `pump^^0123456789ABCDEF^EUI-64`
    /// (universal id of type `EUI-64`), or a bare 16-digit entity id
    /// (`080019FFFE0B4020^B40_GE`). The component marked EUI-64 wins.
    pub fn eui64(&self) -> Option<String> {
        let is_eui = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let marked = |s: &str| s.eq_ignore_ascii_case("EUI-64") || s.eq_ignore_ascii_case("EUI64");
        let candidates = [
            (marked(&self.universal_id_type), &self.universal_id),
            (marked(&self.namespace_id), &self.entity_id),
            (true, &self.entity_id),
            (true, &self.universal_id),
        ];
        candidates
            .into_iter()
            .filter(|(m, _)| *m)
            .map(|(_, s)| s.trim())
            .find(|s| is_eui(s))
            .map(|s| s.to_ascii_uppercase())
    }
}

/// An observation request (OBR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Obr {
    pub set_id: String,
    pub placer_order_number: Ei,
    pub filler_order_number: Ei,
    pub universal_service_id: Coded,
    pub observation_time: Option<Hl7Time>,
}

/// One observation (OBX).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Obx {
    pub set_id: String,
    /// OBX-2: NM, ST, CWE, ... (empty on IHE PCD's MDS/VMD/channel rows).
    pub value_type: String,
    pub identifier: Coded,
    /// OBX-4, the containment path in IHE PCD (`1.1.1.1`).
    pub sub_id: String,
    /// OBX-5 as text: components joined with `^`, repetitions with `~`.
    pub value: String,
    /// OBX-5 as a coded element, when OBX-2 says it is one (CE, CWE, CNE, CF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_coded: Option<Coded>,
    pub units: Coded,
    /// OBX-8, each repetition (IHE PCD-04 puts alarm priority and type here).
    pub abnormal_flags: Vec<String>,
    pub status: String,
    pub observation_time: Option<Hl7Time>,
    /// OBX-18, each repetition: the device that made the observation.
    pub equipment: Vec<Ei>,
}

/// The alarm an `ORU^R40` (IHE PCD-04) reports, read from its OBX rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// The event identification (`196648^MDC_EVT_HI^MDC`); for the generic
    /// `MDC_EVT_ALARM` the specific event in OBX-5 when there is one.
    pub event: Coded,
    /// `PH`, `PM`, `PL` or `PN` (high, medium, low, no priority).
    pub priority: Option<String>,
    /// `SP`, `ST` or `SA` (physiological, technical, advisory).
    pub alert_type: Option<String>,
    /// `start`, `continue`, `end`, `update`, ... (`MDC_ATTR_EVENT_PHASE`).
    pub phase: Option<String>,
    /// `inactive`, `active`, `latched` (`MDC_ATTR_ALARM_STATE`).
    pub state: Option<String>,
    /// `enabled`, `audio-paused`, ... (`MDC_ATTR_ALARM_INACTIVATION_STATE`).
    pub inactivation_state: Option<String>,
}

/// What Wardwatch reads from one HL7 v2 message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hl7Message {
    pub delimiters: Delimiters,
    pub msh: Msh,
    /// Whether there is a PID segment (there may be one without an identifier).
    pub has_pid: bool,
    /// PID-3: never serialised; see [`PatientId`].
    #[serde(skip)]
    pub patient_id: Option<PatientId>,
    /// How many PID segments carry an identifier (more than one patient per
    /// message is not something a device gateway should send).
    pub patient_id_count: usize,
    pub location: Option<Location>,
    pub obr: Vec<Obr>,
    pub obx: Vec<Obx>,
    /// For `ORU^R40`: the alarm, when an event identification row is present.
    pub alarm: Option<Alarm>,
    /// The segment ids in order, for diagnosis (`MSH`, `PID`, `OBX`, ...).
    pub segments: Vec<String>,
}

fn err(offset: usize, reason: impl Into<Cow<'static, str>>) -> ParseError {
    ParseError { format: Format::Hl7, offset, reason: reason.into() }
}

/// One segment, borrowed from the input: nothing is copied until asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSegment<'a> {
    pub offset: usize,
    pub bytes: &'a [u8],
}

impl<'a> RawSegment<'a> {
    pub(crate) fn id(&self) -> &'a [u8] {
        &self.bytes[..self.bytes.len().min(3)]
    }

    /// Field `n` as written (1-based; for MSH, MSH-1 is the separator itself).
    pub(crate) fn field(&self, d: &Delimiters, n: usize) -> Option<&'a [u8]> {
        let sep = d.field as u8;
        let is_msh = self.id() == b"MSH";
        if is_msh && n == 1 {
            return self.bytes.get(3..4);
        }
        let index = if is_msh { n.saturating_sub(1) } else { n };
        self.bytes.split(|&b| b == sep).nth(index)
    }
}

/// Splits `raw` into segments at CR, LF or CRLF, skipping empty ones.
pub(crate) fn segments(raw: &[u8]) -> impl Iterator<Item = RawSegment<'_>> {
    let mut offset = 0;
    raw.split(|&b| b == b'\r' || b == b'\n').filter_map(move |s| {
        let seg = RawSegment { offset, bytes: s };
        offset += s.len() + 1;
        (!s.is_empty()).then_some(seg)
    })
}

/// Where the message starts: leading CR, LF, spaces and a UTF-8 BOM are skipped.
fn start(raw: &[u8]) -> usize {
    let bom = if raw.starts_with(&[0xef, 0xbb, 0xbf]) { 3 } else { 0 };
    bom + raw[bom..].iter().take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t')).count()
}

/// Reads the encoding characters of a message starting at `MSH`.
fn delimiters(msh: &[u8]) -> Result<Delimiters, ParseError> {
    let ok = |b: u8| b.is_ascii_punctuation() || b == b' ';
    let field = *msh.get(3).ok_or_else(|| err(3, "MSH ends before its field separator (MSH-1)"))?;
    if !field.is_ascii_punctuation() {
        return Err(err(3, "MSH-1 field separator must be an ASCII punctuation character"));
    }
    let enc: Vec<u8> = msh[4..].iter().copied().take_while(|&b| b != field).collect();
    if enc.len() < 2 || enc.len() > 5 {
        return Err(err(4, "MSH-2 must hold 2 to 5 encoding characters"));
    }
    if enc.iter().any(|&b| !ok(b) || b == b' ') {
        return Err(err(4, "MSH-2 encoding characters must be ASCII punctuation"));
    }
    let mut all = enc.iter().take(4).copied().collect::<Vec<_>>();
    all.push(field);
    all.sort_unstable();
    if all.windows(2).any(|w| w[0] == w[1]) {
        return Err(err(4, "MSH-1 and MSH-2 must be distinct characters"));
    }
    Ok(Delimiters {
        field: field as char,
        component: enc[0] as char,
        repetition: enc[1] as char,
        escape: enc.get(2).map(|&b| b as char),
        subcomponent: enc.get(3).map(|&b| b as char),
    })
}

/// Access to components of one field, decoding as it goes.
struct FieldView<'a, 'd> {
    bytes: &'a [u8],
    d: &'d Delimiters,
}

impl<'a> FieldView<'a, '_> {
    fn repetitions(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let rep = self.d.repetition as u8;
        self.bytes.split(move |&b| b == rep).filter(|_| !self.bytes.is_empty())
    }

    fn first_repetition(&self) -> &'a [u8] {
        self.repetitions().next().unwrap_or_default()
    }
}

fn component<'a>(rep: &'a [u8], d: &Delimiters, n: usize) -> &'a [u8] {
    let c = d.component as u8;
    rep.split(|&b| b == c).nth(n - 1).unwrap_or_default()
}

fn subcomponents<'a>(comp: &'a [u8], d: &Delimiters) -> Vec<&'a [u8]> {
    match d.subcomponent {
        Some(s) => comp.split(|&b| b == s as u8).collect(),
        None => vec![comp],
    }
}

/// Decoded text of a component (all of it, subcomponent separators kept).
fn text(bytes: &[u8], d: &Delimiters) -> String {
    unescape(bytes, d)
}

/// The first subcomponent of a component, decoded.
fn first_sub(comp: &[u8], d: &Delimiters) -> String {
    text(subcomponents(comp, d).first().copied().unwrap_or_default(), d)
}

fn coded(rep: &[u8], d: &Delimiters) -> Coded {
    Coded {
        code: first_sub(component(rep, d, 1), d),
        text: first_sub(component(rep, d, 2), d),
        system: first_sub(component(rep, d, 3), d),
    }
}

fn hd(rep: &[u8], d: &Delimiters) -> Hd {
    Hd {
        namespace_id: first_sub(component(rep, d, 1), d),
        universal_id: first_sub(component(rep, d, 2), d),
        universal_id_type: first_sub(component(rep, d, 3), d),
    }
}

fn ei(rep: &[u8], d: &Delimiters) -> Ei {
    Ei {
        entity_id: first_sub(component(rep, d, 1), d),
        namespace_id: first_sub(component(rep, d, 2), d),
        universal_id: first_sub(component(rep, d, 3), d),
        universal_id_type: first_sub(component(rep, d, 4), d),
    }
}

fn time(rep: &[u8], d: &Delimiters) -> Option<Hl7Time> {
    Hl7Time::parse(&first_sub(component(rep, d, 1), d))
}

/// Parses an HL7 v2 message. The message must start with a readable MSH
/// carrying a message type (MSH-9) and a control id (MSH-10).
pub fn parse(raw: &[u8]) -> Result<Hl7Message, ParseError> {
    let at = start(raw);
    let body = &raw[at..];
    if !body.starts_with(b"MSH") {
        return Err(err(at, "an HL7 message starts with an MSH segment"));
    }
    let d = delimiters(body).map_err(|e| err(e.offset + at, e.reason))?;
    let mut segs = segments(body).map(|s| RawSegment { offset: s.offset + at, ..s });
    let Some(msh_seg) = segs.next() else {
        return Err(err(at, "an HL7 message starts with an MSH segment"));
    };
    fn view<'a, 'd>(seg: &RawSegment<'a>, d: &'d Delimiters, n: usize) -> FieldView<'a, 'd> {
        FieldView { bytes: seg.field(d, n).unwrap_or_default(), d }
    }
    let field_offset = |seg: &RawSegment<'_>, n: usize| {
        seg.field(&d, n).map_or(seg.offset + seg.bytes.len(), |f| {
            seg.offset + (f.as_ptr() as usize).saturating_sub(seg.bytes.as_ptr() as usize)
        })
    };

    let mt = view(&msh_seg, &d, 9).first_repetition();
    let message_type = MessageType {
        code: first_sub(component(mt, &d, 1), &d),
        trigger: first_sub(component(mt, &d, 2), &d),
        structure: first_sub(component(mt, &d, 3), &d),
    };
    if message_type.code.trim().is_empty() {
        return Err(err(field_offset(&msh_seg, 9), "MSH-9 message type is empty"));
    }
    let control_id = text(view(&msh_seg, &d, 10).first_repetition(), &d);
    if control_id.trim().is_empty() {
        return Err(err(field_offset(&msh_seg, 10), "MSH-10 message control id is empty"));
    }
    let msh = Msh {
        sending_application: hd(view(&msh_seg, &d, 3).first_repetition(), &d),
        sending_facility: hd(view(&msh_seg, &d, 4).first_repetition(), &d),
        receiving_application: hd(view(&msh_seg, &d, 5).first_repetition(), &d),
        receiving_facility: hd(view(&msh_seg, &d, 6).first_repetition(), &d),
        time: time(view(&msh_seg, &d, 7).first_repetition(), &d),
        message_type,
        control_id,
        processing_id: first_sub(component(view(&msh_seg, &d, 11).first_repetition(), &d, 1), &d),
        version: first_sub(component(view(&msh_seg, &d, 12).first_repetition(), &d, 1), &d),
    };

    let mut msg = Hl7Message {
        delimiters: d,
        msh,
        has_pid: false,
        patient_id: None,
        patient_id_count: 0,
        location: None,
        obr: Vec::new(),
        obx: Vec::new(),
        alarm: None,
        segments: vec!["MSH".into()],
    };
    for seg in segs {
        let id = seg.id();
        let valid_id = id.len() == 3
            && id[0].is_ascii_uppercase()
            && id[1..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && seg.bytes.get(3).is_none_or(|&b| b == d.field as u8);
        if !valid_id {
            return Err(err(
                seg.offset,
                "a segment starts with a three-character id (A-Z, 0-9) and a field separator",
            ));
        }
        msg.segments.push(String::from_utf8_lossy(id).into_owned());
        match id {
            b"PID" => {
                msg.has_pid = true;
                // Only PID-3 is read; the rest of PID is never looked at.
                let pid3 = view(&seg, &d, 3);
                let found = pid3.repetitions().find_map(|rep| {
                    let id = first_sub(component(rep, &d, 1), &d);
                    if id.trim().is_empty() {
                        return None;
                    }
                    let authority = subcomponents(component(rep, &d, 4), &d)
                        .iter()
                        .map(|s| text(s, &d))
                        .collect::<Vec<_>>();
                    let n = authority.iter().rposition(|s| !s.is_empty()).map_or(0, |i| i + 1);
                    Some(PatientId { id, assigning_authority: authority[..n].join("&") })
                });
                if let Some(p) = found {
                    msg.patient_id_count += 1;
                    if msg.patient_id.is_none() {
                        msg.patient_id = Some(p);
                    }
                }
            }
            b"PV1" if msg.location.is_none() => {
                let rep = view(&seg, &d, 3).first_repetition();
                let loc = Location {
                    point_of_care: first_sub(component(rep, &d, 1), &d),
                    room: first_sub(component(rep, &d, 2), &d),
                    bed: first_sub(component(rep, &d, 3), &d),
                    facility: first_sub(component(rep, &d, 4), &d),
                };
                msg.location = (!loc.is_empty()).then_some(loc);
            }
            b"OBR" => msg.obr.push(Obr {
                set_id: text(view(&seg, &d, 1).first_repetition(), &d),
                placer_order_number: ei(view(&seg, &d, 2).first_repetition(), &d),
                filler_order_number: ei(view(&seg, &d, 3).first_repetition(), &d),
                universal_service_id: coded(view(&seg, &d, 4).first_repetition(), &d),
                observation_time: time(view(&seg, &d, 7).first_repetition(), &d),
            }),
            b"OBX" => {
                let value_type = text(view(&seg, &d, 2).first_repetition(), &d);
                let value_field = view(&seg, &d, 5);
                let value = value_field
                    .repetitions()
                    .map(|rep| {
                        let c = d.component as u8;
                        rep.split(|&b| b == c).map(|comp| text(comp, &d)).collect::<Vec<_>>().join("^")
                    })
                    .collect::<Vec<_>>()
                    .join("~");
                let value_coded = matches!(value_type.as_str(), "CE" | "CWE" | "CNE" | "CF")
                    .then(|| coded(value_field.first_repetition(), &d))
                    .filter(|c| !c.is_empty());
                msg.obx.push(Obx {
                    set_id: text(view(&seg, &d, 1).first_repetition(), &d),
                    value_type,
                    identifier: coded(view(&seg, &d, 3).first_repetition(), &d),
                    sub_id: text(view(&seg, &d, 4).first_repetition(), &d),
                    value,
                    value_coded,
                    units: coded(view(&seg, &d, 6).first_repetition(), &d),
                    abnormal_flags: view(&seg, &d, 8)
                        .repetitions()
                        .map(|r| first_sub(component(r, &d, 1), &d))
                        .filter(|s| !s.is_empty())
                        .collect(),
                    status: text(view(&seg, &d, 11).first_repetition(), &d),
                    observation_time: time(view(&seg, &d, 14).first_repetition(), &d),
                    equipment: view(&seg, &d, 18)
                        .repetitions()
                        .map(|r| ei(r, &d))
                        .filter(|e| e != &Ei::default())
                        .collect(),
                });
            }
            _ => {}
        }
    }
    if msg.msh.message_type.code == "ORU" && msg.msh.message_type.trigger == "R40" {
        msg.alarm = alarm(&msg.obx);
    }
    Ok(msg)
}

/// Reads the alarm of an IHE PCD-04 message from its OBX rows. Senders differ
/// in MDC codes (68481 or 68165 for the event phase), so rows are recognised
/// by their MDC reference id, and priority and type fall back to OBX-8.
fn alarm(rows: &[Obx]) -> Option<Alarm> {
    let event_row = rows.iter().find(|o| {
        o.identifier.mdc_name().is_some_and(|n| n.starts_with("MDC_EVT") || n.starts_with("MDCX_EVT"))
    })?;
    let mut alarm = Alarm { event: event_row.identifier.clone(), ..Alarm::default() };
    // A generic "alarm" event names the specific one in OBX-5.
    if alarm.event.mdc_name() == Some("MDC_EVT_ALARM") {
        if let Some(specific) = event_row.value_coded.as_ref().filter(|c| c.mdc_name().is_some()) {
            alarm.event = specific.clone();
        }
    }
    let attr = |names: &[&str], codes: &[&str]| -> Option<String> {
        rows.iter()
            .find(|o| {
                o.identifier.mdc_name().is_some_and(|n| names.contains(&n))
                    || codes.contains(&o.identifier.code.as_str())
            })
            .map(|o| o.value.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let flag = |set: &[&str]| event_row.abnormal_flags.iter().find(|f| set.contains(&f.as_str())).cloned();
    alarm.phase = attr(&["MDC_ATTR_EVENT_PHASE", "MDC_ATTR_EVT_PHASE"], &["68481"]);
    alarm.state = attr(&["MDC_ATTR_ALARM_STATE", "MDC_ATTR_ALERT_STATE"], &["68482"]);
    alarm.inactivation_state = attr(&["MDC_ATTR_ALARM_INACTIVATION_STATE"], &["68483"]);
    alarm.priority =
        attr(&["MDC_ATTR_ALARM_PRIORITY"], &["68484"]).or_else(|| flag(&["PH", "PM", "PL", "PN"]));
    alarm.alert_type = attr(&["MDC_ATTR_ALERT_TYPE"], &["68485"]).or_else(|| flag(&["SP", "ST", "SA"]));
    Some(alarm)
}

/// What replaces personal data in a stored copy of a rejected message.
pub const REDACTED: &str = "<redacted>";

/// Segments kept in a redacted copy, with the fields blanked in each (1-based).
/// Any segment not listed (PID, PD1, NK1, GT1, IN1, NTE, PRT, ... and lines
/// that are not segments at all) keeps only its id.
const KEPT: &[(&[u8], &[usize])] = &[
    (b"MSH", &[]),
    (b"EVN", &[5]),
    (b"SFT", &[]),
    // PV1: only patient class and location (1-3) stay.
    (b"PV1", &[4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 50, 52]),
    // OBR: collector, ordering provider, result copies, interpreters, technicians.
    (b"OBR", &[10, 16, 28, 32, 33, 34, 35]),
    // OBX: responsible observer, performing organisation's director.
    (b"OBX", &[16, 25]),
    (b"MSA", &[]),
    (b"ERR", &[]),
];

/// A copy of `raw` that may be stored when the message is rejected: the
/// segments that hold personal data lose every field (`PID|<redacted>`),
/// PV1 keeps only fields 1-3, OBR and OBX lose the fields that name people
/// and OBX free text (TX, FT) and person/address values (XPN, XCN, XAD, CX),
/// and anything that is not a known segment (including text before MSH) is
/// replaced whole by `<redacted N bytes>`. Segments end with CR.
///
/// This is deliberately an allow-list: a rejected message is by definition
/// one we could not read, so nothing in it is trusted to be harmless.
pub fn redact(raw: &[u8]) -> Vec<u8> {
    let at = start(raw);
    let d =
        raw.get(at..).filter(|b| b.starts_with(b"MSH")).and_then(|b| delimiters(b).ok()).unwrap_or_default();
    let sep = d.field as u8;
    let mut out = Vec::with_capacity(raw.len());
    for seg in segments(&raw[at..]) {
        let id = seg.id();
        let kept = KEPT.iter().find(|(k, _)| *k == id).filter(|_| seg.bytes.get(3).is_none_or(|&b| b == sep));
        match kept {
            Some((id, blank)) => {
                let is_msh = *id == b"MSH";
                let value_type = if *id == b"OBX" { seg.field(&d, 2).unwrap_or_default() } else { b"" };
                let free_text = matches!(value_type, b"TX" | b"FT" | b"XPN" | b"XCN" | b"XAD" | b"CX");
                for (i, f) in seg.bytes.split(|&b| b == sep).enumerate() {
                    if i > 0 {
                        out.push(sep);
                    }
                    // For MSH, part i is MSH-(i+1); for others, field i.
                    let n = if is_msh { i + 1 } else { i };
                    let blank_it = i > 0 && !f.is_empty() && (blank.contains(&n) || (free_text && n == 5));
                    if blank_it {
                        out.extend_from_slice(REDACTED.as_bytes());
                    } else {
                        out.extend_from_slice(f);
                    }
                }
            }
            None if is_segment_id(id) && seg.bytes.len() > 3 => {
                out.extend_from_slice(id);
                out.push(sep);
                out.extend_from_slice(REDACTED.as_bytes());
            }
            None => out.extend_from_slice(format!("<redacted {} bytes>", seg.bytes.len()).as_bytes()),
        }
        out.push(b'\r');
    }
    out
}

fn is_segment_id(id: &[u8]) -> bool {
    id.len() == 3
        && id[0].is_ascii_uppercase()
        && id[1..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
