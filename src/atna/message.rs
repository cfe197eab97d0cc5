//! The audit message (DICOM PS3.15 A.5, derived from RFC 3881) and the
//! RFC 5424 syslog message that carries it (IHE ITI-20). Pure: no I/O.
//!
//! The XML is one line with no control characters: syslog receivers escape
//! them (rsyslog writes LF as `#012`), which would break the XML. Every
//! value comes from the event or the configuration and is escaped here:
//! `<&>"'` become entities; tab, LF, CR, DEL and C1 controls become
//! character references (so parsers keep them); characters XML 1.0 forbids
//! (other C0 controls, U+FFFE, U+FFFF) become U+FFFD, visibly.

use std::fmt::Write as _;

use chrono::SecondsFormat;

use super::{AtnaConfig, AtnaEvent};

/// The MSGID IHE ITI-20 requires.
pub const MSGID: &str = "IHE+RFC-3881";
/// The APP-NAME of every message.
pub const APP_NAME: &str = "wardwatch";
/// Code system of the Wardwatch event kind, sent as an extra EventTypeCode.
pub const KIND_CODE_SYSTEM: &str = "urn:wardwatch:audit-kind";
/// Code system of ParticipantObjectIDTypeCode (what kind of thing the object is).
pub const OBJECT_CODE_SYSTEM: &str = "urn:wardwatch:object-type";

/// A DICOM coded value (codeSystemName "DCM").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dcm {
    pub code: &'static str,
    pub meaning: &'static str,
}

const APPLICATION_ACTIVITY: Dcm = Dcm { code: "110100", meaning: "Application Activity" };
const EXPORT: Dcm = Dcm { code: "110106", meaning: "Export" };
const SECURITY_ALERT: Dcm = Dcm { code: "110113", meaning: "Security Alert" };
const USER_AUTHENTICATION: Dcm = Dcm { code: "110114", meaning: "User Authentication" };
const APPLICATION_START: Dcm = Dcm { code: "110120", meaning: "Application Start" };
const APPLICATION_STOP: Dcm = Dcm { code: "110121", meaning: "Application Stop" };
const LOGIN: Dcm = Dcm { code: "110122", meaning: "Login" };
const LOGOUT: Dcm = Dcm { code: "110123", meaning: "Logout" };
const SECURITY_CONFIGURATION: Dcm = Dcm { code: "110129", meaning: "Security Configuration" };
const SOFTWARE_CONFIGURATION: Dcm = Dcm { code: "110131", meaning: "Software Configuration" };
const ROLE_APPLICATION: Dcm = Dcm { code: "110150", meaning: "Application" };
const ROLE_APPLICATION_LAUNCHER: Dcm = Dcm { code: "110151", meaning: "Application Launcher" };

/// How a Wardwatch event kind is told in DICOM terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCodes {
    pub event_id: Dcm,
    pub event_type: Option<Dcm>,
    /// EventActionCode: C, R, U, D or E.
    pub action: &'static str,
}

/// The DICOM event for a kind. Kinds with no closer DICOM event are
/// Security Alerts (110113): this is a security console. Patient Record
/// (110110) is never used: Wardwatch audits no patient data.
pub fn event_codes(kind: &str) -> EventCodes {
    let codes = |event_id, event_type, action| EventCodes { event_id, event_type, action };
    match kind {
        "console.started" => codes(APPLICATION_ACTIVITY, Some(APPLICATION_START), "E"),
        "console.stopped" => codes(APPLICATION_ACTIVITY, Some(APPLICATION_STOP), "E"),
        "user.login" => codes(USER_AUTHENTICATION, Some(LOGIN), "E"),
        "user.logout" => codes(USER_AUTHENTICATION, Some(LOGOUT), "E"),
        // Retention writes the records to an archive file, as an export does.
        "audit.exported" | "audit.archived" => codes(EXPORT, None, "R"),
        k if k.starts_with("key.") => codes(SECURITY_ALERT, Some(SECURITY_CONFIGURATION), "E"),
        k if k.starts_with("config.") => codes(SECURITY_ALERT, Some(SOFTWARE_CONFIGURATION), "E"),
        _ => codes(SECURITY_ALERT, None, "E"),
    }
}

/// EventOutcomeIndicator: 0 on success; on failure 12 (major: the console
/// is not running) when it could not start, 8 (serious) for key and audit
/// log operations, 4 (minor) otherwise (a rejected alert, a failed login).
pub fn outcome(event: &AtnaEvent) -> &'static str {
    match (event.success, event.kind.as_str()) {
        (true, _) => "0",
        (false, "console.started") => "12",
        (false, k) if k.starts_with("key.") || k.starts_with("audit.") => "8",
        (false, _) => "4",
    }
}

/// ParticipantObjectIdentification attributes for an object of this kind:
/// (IDTypeCode code, its meaning, ParticipantObjectTypeCode, role).
fn object_codes(kind: &str) -> (&'static str, &'static str, &'static str, Option<&'static str>) {
    match kind.split('.').next().unwrap_or_default() {
        "alert" => ("alert", "Alert", "2", Some("3")), // System Object, Report
        "user" => ("user", "User account", "1", Some("11")), // Person, Security User Entity
        "key" => ("key", "Key", "2", Some("13")),      // System Object, Security Resource
        "audit" => ("audit-log", "Audit log", "2", Some("13")),
        "device" => ("device", "Device", "2", None),
        "incident" => ("incident", "Incident", "2", Some("3")),
        _ => ("object", "Object", "2", None),
    }
}

/// The audit message for `event`, from this console (`cfg`) on `host`.
pub fn audit_message_xml(event: &AtnaEvent, cfg: &AtnaConfig, host: &str) -> String {
    let codes = event_codes(&event.kind);
    let mut x = Xml(String::with_capacity(1024));
    x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>");

    x.open(
        "EventIdentification",
        &[
            ("EventActionCode", codes.action),
            ("EventDateTime", &event.at.to_rfc3339_opts(SecondsFormat::Millis, true)),
            ("EventOutcomeIndicator", outcome(event)),
        ],
    );
    x.code("EventID", codes.event_id.code, "DCM", codes.event_id.meaning);
    if let Some(t) = codes.event_type {
        x.code("EventTypeCode", t.code, "DCM", t.meaning);
    }
    x.code("EventTypeCode", &event.kind, KIND_CODE_SYSTEM, &event.kind);
    if !event.summary.is_empty() {
        x.raw("<EventOutcomeDescription>");
        x.text(&event.summary);
        x.raw("</EventOutcomeDescription>");
    }
    x.raw("</EventIdentification>");

    // Who did it: the requestor.
    let launcher = event.kind.starts_with("console.");
    let actor = [("UserID", event.actor.as_str()), ("UserIsRequestor", "true")];
    if launcher {
        x.open("ActiveParticipant", &actor);
        x.dcm("RoleIDCode", ROLE_APPLICATION_LAUNCHER);
        x.raw("</ActiveParticipant>");
    } else {
        x.empty("ActiveParticipant", &actor);
    }
    // Where it happened: this console.
    let nap_type = if host.parse::<std::net::IpAddr>().is_ok() { "2" } else { "1" };
    x.open(
        "ActiveParticipant",
        &[
            ("UserID", cfg.audit_source_id.as_str()),
            ("UserIsRequestor", "false"),
            ("NetworkAccessPointID", host),
            ("NetworkAccessPointTypeCode", nap_type),
        ],
    );
    x.dcm("RoleIDCode", ROLE_APPLICATION);
    x.raw("</ActiveParticipant>");

    let mut source = vec![("AuditSourceID", cfg.audit_source_id.as_str())];
    if let Some(site) = &cfg.enterprise_site_id {
        source.push(("AuditEnterpriseSiteID", site));
    }
    x.open("AuditSourceIdentification", &source);
    x.code("AuditSourceTypeCode", "4", "DCM", "Application Server Process");
    x.raw("</AuditSourceIdentification>");

    if let Some(object) = &event.object {
        let (id_type, id_meaning, type_code, role) = object_codes(&event.kind);
        let mut attrs =
            vec![("ParticipantObjectID", object.as_str()), ("ParticipantObjectTypeCode", type_code)];
        if let Some(role) = role {
            attrs.push(("ParticipantObjectTypeCodeRole", role));
        }
        if matches!(event.kind.as_str(), "audit.exported" | "audit.archived") {
            attrs.push(("ParticipantObjectDataLifeCycle", "10")); // Export
        }
        x.open("ParticipantObjectIdentification", &attrs);
        x.code("ParticipantObjectIDTypeCode", id_type, OBJECT_CODE_SYSTEM, id_meaning);
        x.raw("<ParticipantObjectName>");
        x.text(object);
        x.raw("</ParticipantObjectName></ParticipantObjectIdentification>");
    }
    x.raw("</AuditMessage>");
    x.0
}

/// The RFC 5424 message carrying `xml` (ITI-20): facility authpriv (10),
/// severity notice (5) on success, warning (4) on failure; MSGID
/// `IHE+RFC-3881`; the audit sequence number as `[meta sequenceId]` (RFC
/// 5424 §7.3.1) when it fits (1 to 2147483647); MSG is UTF-8 with a BOM.
pub fn syslog_message(event: &AtnaEvent, xml: &str, host: &str, procid: u32) -> String {
    let pri = 10 * 8 + if event.success { 5 } else { 4 };
    let ts = event.at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let host = header_field(host, 255);
    let sd = match event.seq {
        n @ 1..=2_147_483_647 => format!("[meta sequenceId=\"{n}\"]"),
        _ => "-".to_owned(),
    };
    format!("<{pri}>1 {ts} {host} {APP_NAME} {procid} {MSGID} {sd} \u{FEFF}{xml}")
}

/// RFC 5425 / 6587 octet counting: `LEN SP MSG`.
pub fn octet_counted(message: &str) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message.as_bytes());
    frame
}

/// A syslog header field: printable US-ASCII only (others become `_`),
/// at most `max` characters, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let s: String = s.chars().take(max).map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    if s.is_empty() {
        "-".to_owned()
    } else {
        s
    }
}

/// Characters XML 1.0 allows (section 2.2).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A tiny XML writer: every value goes through [`Xml::escaped`].
struct Xml(String);

impl Xml {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn escaped(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&apos;"),
                c if !allowed(c) => self.0.push('\u{FFFD}'),
                // Tab, LF, CR, DEL and C1 controls: parsers turn literal tabs
                // and line ends in attributes into spaces, and CR into LF in
                // text; references keep them, and keep the message free of
                // control characters, which syslog receivers escape (rsyslog
                // writes LF as `#012`).
                c if c.is_control() => {
                    let _ = write!(self.0, "&#{};", u32::from(c));
                }
                c => self.0.push(c),
            }
        }
    }

    fn text(&mut self, s: &str) {
        self.escaped(s);
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (k, v) in attrs {
            self.0.push(' ');
            self.0.push_str(k);
            self.0.push_str("=\"");
            self.escaped(v);
            self.0.push('"');
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.0.push('>');
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.0.push_str("/>");
    }

    fn code(&mut self, name: &str, code: &str, system: &str, meaning: &str) {
        self.empty(name, &[("csd-code", code), ("codeSystemName", system), ("originalText", meaning)]);
    }

    fn dcm(&mut self, name: &str, code: Dcm) {
        self.code(name, code.code, "DCM", code.meaning);
    }
}

#[cfg(test)]
mod tests;
