use chrono::{TimeZone, Utc};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cfg() -> Result<AtnaConfig, Box<dyn std::error::Error>> {
    let mut c = AtnaConfig::new("tls://arr.example:6514".parse()?, "ca.pem", "wardwatch-icu");
    c.enterprise_site_id = Some("St Elsewhere ICU".into());
    Ok(c)
}

fn event(kind: &str, success: bool, object: Option<&str>) -> AtnaEvent {
    AtnaEvent {
        seq: 42,
        at: Utc.with_ymd_and_hms(2026, 11, 28, 20, 15, 30).single().unwrap_or_default()
            + chrono::Duration::milliseconds(123),
        actor: "nurse.jones".into(),
        kind: kind.into(),
        success,
        object: object.map(str::to_owned),
        summary: format!("{kind} summary"),
    }
}

/// The parsed message's value at `path` (element names, then `@attribute`).
fn value(doc: &roxmltree::Document, path: &str) -> Option<String> {
    let mut node = doc.root_element();
    let mut parts = path.split('/').peekable();
    while let Some(part) = parts.next() {
        if let Some(attr) = part.strip_prefix('@') {
            return node.attribute(attr).map(str::to_owned);
        }
        node = node.children().find(|n| n.has_tag_name(part))?;
        if parts.peek().is_none() {
            return node.text().map(str::to_owned);
        }
    }
    None
}

/// The message one element a line, for reading snapshots; checks first that
/// it is one line with no control characters, as sent.
fn lines(xml: &str) -> String {
    assert!(!xml.chars().any(char::is_control), "control characters in {xml:?}");
    xml.replace("><", ">\n<")
}

#[test]
fn security_alert_snapshot() -> TestResult {
    let xml = audit_message_xml(&event("alert.received", true, Some("alert-7f3a")), &cfg()?, "ww-host-1");
    insta::assert_snapshot!(lines(&xml));
    Ok(())
}

#[test]
fn application_start_snapshot() -> TestResult {
    let mut c = cfg()?;
    c.enterprise_site_id = None;
    let xml = audit_message_xml(&event("console.started", true, None), &c, "10.1.2.3");
    insta::assert_snapshot!(lines(&xml));
    Ok(())
}

#[test]
fn failed_login_snapshot() -> TestResult {
    let xml = audit_message_xml(&event("user.login", false, Some("nurse.jones")), &cfg()?, "ww-host-1");
    insta::assert_snapshot!(lines(&xml));
    Ok(())
}

#[test]
fn syslog_header_snapshot() -> TestResult {
    let e = event("audit.exported", true, Some("icu-2026-11.wwa"));
    let xml = audit_message_xml(&e, &cfg()?, "ww-host-1");
    let msg = syslog_message(&e, &xml, "ww-host-1", 4242);
    let (header, rest) = msg.split_once('\u{FEFF}').ok_or("no BOM")?;
    insta::assert_snapshot!(header, @r#"<85>1 2026-11-28T20:15:30.123Z ww-host-1 wardwatch 4242 IHE+RFC-3881 [meta sequenceId="42"] "#);
    assert_eq!(rest, xml);
    let failed = AtnaEvent { success: false, seq: 0, ..e };
    let msg = syslog_message(&failed, "<x/>", "bad host\u{1}é", 1);
    assert!(
        msg.starts_with("<84>1 2026-11-28T20:15:30.123Z bad_host__ wardwatch 1 IHE+RFC-3881 - \u{FEFF}<x/>"),
        "{msg}"
    );
    let frame = octet_counted("<85>1 é");
    assert_eq!(frame, b"8 <85>1 \xc3\xa9");
    Ok(())
}

/// (kind, success) -> "EventID/EventTypeCode/action/outcome".
fn check(kind: &str, success: bool, expected: &str) {
    let c = event_codes(kind);
    let got = format!(
        "{}/{}/{}/{}",
        c.event_id.code,
        c.event_type.map_or("-", |t| t.code),
        c.action,
        outcome(&event(kind, success, None))
    );
    assert_eq!(got, expected, "{kind} {success}");
}

#[test]
fn kinds_map_to_dicom_events() {
    check("console.started", true, "110100/110120/E/0");
    check("console.started", false, "110100/110120/E/12");
    check("console.stopped", true, "110100/110121/E/0");
    check("user.login", true, "110114/110122/E/0");
    check("user.login", false, "110114/110122/E/4");
    check("user.logout", true, "110114/110123/E/0");
    check("audit.exported", true, "110106/-/R/0");
    check("audit.exported", false, "110106/-/R/8");
    check("audit.archived", true, "110106/-/R/0");
    check("config.settings", true, "110113/110131/E/0");
    check("alert.received", true, "110113/-/E/0");
    check("alert.rejected", false, "110113/-/E/4");
    check("key.rotated", true, "110113/110129/E/0");
    check("key.rotated", false, "110113/110129/E/8");
    check("config.changed", true, "110113/110131/E/0");
    check("incident.acknowledged", true, "110113/-/E/0");
    check("", true, "110113/-/E/0");
}

#[test]
fn required_elements_and_values_parse() -> TestResult {
    let xml = audit_message_xml(&event("user.login", true, Some("nurse.jones")), &cfg()?, "ww-host-1");
    let doc = roxmltree::Document::parse(&xml)?;
    let v = |p: &str| value(&doc, p);
    assert_eq!(doc.root_element().tag_name().name(), "AuditMessage");
    assert_eq!(v("EventIdentification/@EventDateTime").as_deref(), Some("2026-11-28T20:15:30.123Z"));
    assert_eq!(v("EventIdentification/@EventOutcomeIndicator").as_deref(), Some("0"));
    assert_eq!(v("EventIdentification/EventID/@csd-code").as_deref(), Some("110114"));
    assert_eq!(v("EventIdentification/EventID/@codeSystemName").as_deref(), Some("DCM"));
    assert_eq!(v("EventIdentification/EventID/@originalText").as_deref(), Some("User Authentication"));
    assert_eq!(v("EventIdentification/EventOutcomeDescription").as_deref(), Some("user.login summary"));
    assert_eq!(v("ActiveParticipant/@UserID").as_deref(), Some("nurse.jones"));
    assert_eq!(v("ActiveParticipant/@UserIsRequestor").as_deref(), Some("true"));
    assert_eq!(v("AuditSourceIdentification/@AuditSourceID").as_deref(), Some("wardwatch-icu"));
    assert_eq!(v("AuditSourceIdentification/@AuditEnterpriseSiteID").as_deref(), Some("St Elsewhere ICU"));
    assert_eq!(v("ParticipantObjectIdentification/@ParticipantObjectID").as_deref(), Some("nurse.jones"));
    assert_eq!(v("ParticipantObjectIdentification/@ParticipantObjectTypeCode").as_deref(), Some("1"));
    let node = doc.descendants().filter(|n| n.has_tag_name("ActiveParticipant")).nth(1).ok_or("no node")?;
    assert_eq!(node.attribute("UserIsRequestor"), Some("false"));
    assert_eq!(node.attribute("NetworkAccessPointID"), Some("ww-host-1"));
    assert!(!xml.contains("110110"), "Patient Record must never be used");
    Ok(())
}

#[test]
fn hostile_strings_stay_well_formed_and_round_trip() -> TestResult {
    let hostile = "a<b>&c\"d'e]]></AuditMessage><!-- \u{0}\u{1}\u{8}\u{b}\u{c}\u{1b}[31m\u{7f}\u{fffe}\u{ffff} tab\tnl\ncr\r é 🚑";
    let mut e = event(hostile, false, Some(hostile));
    e.actor = hostile.into();
    e.summary = hostile.into();
    let mut c = cfg()?;
    c.audit_source_id = hostile.into();
    c.enterprise_site_id = Some(hostile.into());
    let xml = audit_message_xml(&e, &c, hostile);
    assert!(!xml.chars().any(char::is_control), "control characters in {xml:?}");
    let doc = roxmltree::Document::parse(&xml)?;
    // Forbidden characters are replaced visibly; everything else survives exactly.
    let expected: String = hostile
        .chars()
        .map(|ch| if matches!(ch, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}') { '\u{fffd}' } else { ch })
        .collect();
    let v = |p: &str| value(&doc, p);
    for path in [
        "ActiveParticipant/@UserID",
        "EventIdentification/EventOutcomeDescription",
        "AuditSourceIdentification/@AuditSourceID",
        "AuditSourceIdentification/@AuditEnterpriseSiteID",
        "ParticipantObjectIdentification/@ParticipantObjectID",
        "ParticipantObjectIdentification/ParticipantObjectName",
    ] {
        assert_eq!(v(path).as_deref(), Some(expected.as_str()), "{path}");
    }
    let kind = doc.descendants().rfind(|n| n.has_tag_name("EventTypeCode")).ok_or("no kind")?;
    assert_eq!(kind.attribute("csd-code"), Some(expected.as_str()));
    assert_eq!(doc.root_element().children().filter(|n| n.is_element()).count(), 5);
    Ok(())
}

/// What a parser must give back for `s`: the forbidden characters replaced.
fn cleaned(s: &str) -> String {
    s.chars().map(|c| if allowed(c) { c } else { '\u{fffd}' }).collect()
}

proptest::proptest! {
    #[test]
    fn any_strings_give_well_formed_xml_that_round_trips(
        actor in "\\PC*|[\\x00-\\x7f]*",
        summary in proptest::prelude::any::<String>(),
        object in proptest::option::of(proptest::prelude::any::<String>()),
        kind in "[a-z.]{0,12}|\\PC{0,12}",
        host in proptest::prelude::any::<String>(),
    ) {
        let mut e = event(&kind, false, object.as_deref());
        e.actor = actor.clone();
        e.summary = summary.clone();
        let Ok(c) = cfg() else { return Err(proptest::test_runner::TestCaseError::fail("cfg")) };
        let xml = audit_message_xml(&e, &c, &host);
        proptest::prop_assert!(!xml.chars().any(|c| c.is_ascii_control()), "control characters in {:?}", xml);
        let doc = roxmltree::Document::parse(&xml)
            .map_err(|err| proptest::test_runner::TestCaseError::fail(format!("{err}: {xml}")))?;
        proptest::prop_assert_eq!(value(&doc, "ActiveParticipant/@UserID"), Some(cleaned(&actor)));
        let description = value(&doc, "EventIdentification/EventOutcomeDescription");
        proptest::prop_assert_eq!(description, (!summary.is_empty()).then(|| cleaned(&summary)));
        proptest::prop_assert_eq!(
            value(&doc, "ParticipantObjectIdentification/@ParticipantObjectID"),
            object.as_deref().map(cleaned)
        );
        let this = doc.descendants().filter(|n| n.has_tag_name("ActiveParticipant")).nth(1);
        let nap = this.and_then(|n| n.attribute("NetworkAccessPointID")).map(str::to_owned);
        proptest::prop_assert_eq!(nap, Some(cleaned(&host)));
    }
}
