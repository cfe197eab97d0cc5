use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::ack::{build, AckCode, AckContext, AckError};
use super::*;

const PCD01: &[u8] = include_bytes!("../../../tests/fixtures/hl7/pcd01-spo2.hl7");
const PCD04: &[u8] = include_bytes!("../../../tests/fixtures/hl7/pcd04-alarm.hl7");
const NO_DEVICE: &[u8] = include_bytes!("../../../tests/fixtures/hl7/pcd01-no-device.hl7");

fn ok(raw: &[u8]) -> Hl7Message {
    match parse(raw) {
        Ok(m) => m,
        Err(e) => panic!("{:?} does not parse: {e}", String::from_utf8_lossy(raw)),
    }
}

/// Expects a rejection at byte `offset` whose reason contains `reason`.
#[track_caller]
fn check_err(input: &str, offset: usize, reason: &str) {
    match parse(input.as_bytes()) {
        Ok(m) => panic!("input {input:?} was accepted as {m:?}"),
        Err(e) => {
            assert_eq!(e.format, Format::Hl7);
            assert!(e.reason.contains(reason), "input {input:?}: reason {:?}", e.reason);
            assert_eq!(e.offset, offset, "input {input:?}: {e}");
        }
    }
}

#[test]
fn pcd01_header_location_and_observations() {
    let m = ok(PCD01);
    assert_eq!(m.msh.sending_application.to_string(), "GW_ICU^0012210000000001^EUI-64");
    assert_eq!(m.msh.sending_facility.to_string(), "St Elsewhere ICU");
    assert_eq!(m.msh.receiving_application.to_string(), "WARDWATCH");
    assert_eq!(m.msh.message_type.to_string(), "ORU^R01^ORU_R01");
    assert_eq!(
        (m.msh.control_id.as_str(), m.msh.processing_id.as_str(), m.msh.version.as_str()),
        ("MSG00042", "P", "2.6")
    );
    assert_eq!(m.msh.time.map(|t| t.to_string()).as_deref(), Some("2024-05-01T10:00:00+02:00"));
    assert_eq!(
        m.location,
        Some(Location {
            point_of_care: "ICU-3".into(),
            room: "R12".into(),
            bed: "B2".into(),
            facility: "StElsewhere".into()
        })
    );
    assert_eq!(m.obx.len(), 5);
    assert_eq!(m.obx[0].equipment[0].eui64().as_deref(), Some("0123456789ABCDEF"));
    let spo2 = &m.obx[2];
    assert_eq!(
        spo2.identifier,
        Coded { code: "150456".into(), text: "MDC_PULS_OXIM_SAT_O2".into(), system: "MDC".into() }
    );
    assert_eq!(
        (spo2.value_type.as_str(), spo2.value.as_str(), spo2.units.text.as_str()),
        ("NM", "97", "MDC_DIM_PERCENT")
    );
    assert_eq!((spo2.sub_id.as_str(), spo2.status.as_str()), ("1.1.1.1", "R"));
    // Escapes decoded: \T\ is '&', \E\ the escape character, \S\ '^'.
    assert_eq!(m.obx[4].value, "Probe & cable OK\\ratio 1^2");
    assert_eq!(m.alarm, None, "only ORU^R40 carries an alarm");
}

#[test]
fn pcd01_keeps_pid3_only_and_never_shows_it() {
    let m = ok(PCD01);
    let p = m.patient_id.as_ref().map(PatientId::expose_for_hashing);
    assert_eq!(p, Some(("MRN-4711", "StElsewhere")));
    // Neither the name, the birth date, the address nor the id is anywhere
    // in what the parser shows.
    let shown = format!("{m:?} {}", serde_json::to_string(&m).unwrap_or_default());
    for secret in ["Testpatient", "Alice", "19700101", "Main St", "MRN-4711"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("PatientId(..)"));
}

#[test]
fn pcd04_alarm_rows() {
    let m = ok(PCD04);
    assert_eq!(
        m.alarm,
        Some(Alarm {
            event: Coded { code: "196818".into(), text: "MDC_EVT_FLOW_OCCL".into(), system: "MDC".into() },
            priority: Some("PH".into()),
            alert_type: Some("ST".into()),
            phase: Some("start".into()),
            state: Some("active".into()),
            inactivation_state: Some("enabled".into()),
        })
    );
    assert_eq!(m.obx[0].equipment[0].eui64().as_deref(), Some("00122100000000AB"));
}

#[test]
fn alarm_priority_and_type_fall_back_to_obx8_and_names_to_other_codes() {
    // The older ACM form: the event in OBX-3, priority and type in OBX-8,
    // attribute rows with other codes but the same MDC names.
    let m = ok(b"MSH|^~\\&|GW||||20210120082326||ORU^R40^ORU_R40|A1|P|2.6\r\
OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||080019FFFE0B4020^B40_GE\r\
OBX|2|ST|196648^MDC_EVT_HI^MDC|1.0.0.0.1|HR high|||PM~SP|||R\r\
OBX|3|ST|68165^MDC_ATTR_EVENT_PHASE^MDC|1.0.0.0.3|update\r\
OBX|4|ST|68166^MDC_ATTR_ALERT_STATE^MDC|1.0.0.0.4|latched\r");
    let a = m.alarm.unwrap_or_default();
    assert_eq!(a.event.mdc_name(), Some("MDC_EVT_HI"));
    assert_eq!((a.priority.as_deref(), a.alert_type.as_deref()), (Some("PM"), Some("SP")));
    assert_eq!((a.phase.as_deref(), a.state.as_deref()), (Some("update"), Some("latched")));
    assert_eq!(m.obx[0].equipment[0].eui64().as_deref(), Some("080019FFFE0B4020"));
}

#[test]
fn eui64_is_found_where_senders_put_it() {
    let check = |ei: &str, want: Option<&str>| {
        let m = ok(format!("MSH|^~\\&|||||||ORU^R01|1|P|2.6\rOBX|1||x|||||||||||||||{ei}\r").as_bytes());
        let got = m.obx.first().and_then(|o| o.equipment.first()).and_then(Ei::eui64);
        assert_eq!(got.as_deref(), want, "OBX-18 {ei:?}");
    };
    check("1234567890abcdef^EUI-64^IEEE", Some("1234567890ABCDEF"));
    check("pump^^0012210000000000^EUI-64", Some("0012210000000000"));
    check("080019FFFE0B4020^B40_GE", Some("080019FFFE0B4020"));
    check("0123456789ABCDEF^^1111111111111111^EUI-64", Some("1111111111111111"));
    check("12345^LOCAL", None);
    check("0123456789ABCDEG^EUI-64", None);
}

#[test]
fn segment_separators_cr_lf_and_crlf_all_work() {
    let text = String::from_utf8_lossy(PCD01).into_owned();
    for sep in ["\n", "\r\n", "\r\r"] {
        let m = ok(text.replace('\r', sep).as_bytes());
        assert_eq!(m.obx.len(), 5, "separator {sep:?}");
        assert_eq!(m.segments.len(), 9);
    }
    // Leading blank lines and a BOM are tolerated.
    assert!(parse(format!("\u{feff}\r\n{text}").as_bytes()).is_ok());
}

#[test]
fn other_encoding_characters_are_read_from_msh() {
    let m = ok(
        b"MSH#$*@!#GW#FAC#####ORU$R01$ORU_R01#X-1#P#2.5\rPV1##I#ICU$1$2\rOBX#1#ST#a$b$c##x@F@y*z@S@w###\r",
    );
    assert_eq!(
        m.delimiters,
        Delimiters {
            field: '#',
            component: '$',
            repetition: '*',
            escape: Some('@'),
            subcomponent: Some('!')
        }
    );
    assert_eq!(m.msh.message_type.to_string(), "ORU^R01^ORU_R01");
    assert_eq!(m.obx[0].value, "x#y~z$w", "repetitions shown with ~, components with ^, escapes decoded");
    assert_eq!(m.location.map(|l| l.room).as_deref(), Some("1"));
}

#[test]
fn unescape_cases() {
    let d = Delimiters::default();
    let check = |raw: &str, want: &str| assert_eq!(unescape(raw.as_bytes(), &d), want, "{raw:?}");
    check(r"a\F\b\S\c\T\d\R\e\E\f", r"a|b^c&d~e\f");
    check(r"\X0D0A\", "\r\n");
    check(r"caf\XC3A9\", "café");
    check(r"\H\bold\N\", r"\H\bold\N\");
    check(r"line\.br\next", r"line\.br\next");
    check(r"\X0\ odd", r"\X0\ odd");
    check(r"\Xzz\", r"\Xzz\");
    check(r"dangling\", r"dangling\");
    check(r"\\", r"\\");
    check("plain", "plain");
}

#[test]
fn parse_errors_say_where() {
    check_err("", 0, "starts with an MSH");
    check_err("PID|||1", 0, "starts with an MSH");
    check_err("\r\nMSA|AA|1", 2, "starts with an MSH");
    check_err("MSH", 3, "field separator");
    check_err("MSHA^~\\&|", 3, "punctuation");
    check_err("MSH|^|", 4, "2 to 5");
    check_err("MSH|^^\\&|", 4, "distinct");
    check_err("MSH|^~\\&|a|b|c|d|t||^R01|1|P|2.6", 20, "MSH-9");
    check_err("MSH|^~\\&|a|b|c|d|t||ORU^R01||P|2.6", 28, "MSH-10");
    check_err("MSH|^~\\&|a|b|c|d|t||ORU^R01", 27, "MSH-10");
    check_err("MSH|^~\\&|||||||ORU^R01|1|P|2.6\rpid|1\r", 31, "three-character id");
    check_err("MSH|^~\\&|||||||ORU^R01|1|P|2.6\nOBX:1", 31, "three-character id");
}

#[test]
fn timestamps() {
    let check = |s: &str, want: Option<&str>| {
        assert_eq!(Hl7Time::parse(s).map(|t| t.to_string()).as_deref(), want, "{s:?}")
    };
    check("20240501100000+0200", Some("2024-05-01T10:00:00+02:00"));
    check("20240501100000.123-0500", Some("2024-05-01T10:00:00.123-05:00"));
    check("202405011000", Some("2024-05-01T10:00:00"));
    check("2024", Some("2024-01-01T00:00:00"));
    check("20240231", None);
    check("2024050110000", None);
    check("20240501100000+02", None);
    check("", None);
}

#[test]
fn redaction_keeps_structure_and_drops_personal_data() {
    let raw = [PCD01, b"NK1|1|Testpatient^Carol|SPO\rNTE|1||Alice is allergic\rjunk line Alice\r"].concat();
    let red = redact(&raw);
    let text = String::from_utf8_lossy(&red);
    for secret in ["Testpatient", "Alice", "Carol", "19700101", "Main St", "MRN-4711"] {
        assert!(!text.contains(secret), "{secret} kept: {text}");
    }
    let lines: Vec<&str> = text.split('\r').collect();
    assert!(lines[0].starts_with("MSH|^~\\&|GW_ICU^0012210000000001^EUI-64|"));
    assert_eq!(lines[1], "PID|<redacted>");
    assert_eq!(lines[2], "PV1||I|ICU-3^R12^B2^StElsewhere");
    assert!(lines[4].ends_with("|0123456789ABCDEF^EUI-64^IEEE"), "{}", lines[4]);
    assert_eq!(lines[9], "NK1|<redacted>");
    assert_eq!(lines[10], "NTE|<redacted>");
    assert_eq!(lines[11], "<redacted 15 bytes>");
    // What is kept still parses, as the same message.
    assert_eq!(ok(&redact(PCD01)).obx, ok(PCD01).obx);
    // A BOM and blank lines before MSH do not hide it.
    assert!(redact(&[&b"\xef\xbb\xbf\r\n"[..], PCD01].concat()).starts_with(b"MSH|^~\\&|GW_ICU"));
    // Without MSH nothing is trusted.
    assert_eq!(redact(b"Alice Testpatient 19700101"), b"<redacted 26 bytes>\r");
    // Free-text OBX values and people in OBX-16 go too.
    let obx = redact(b"MSH|^~\\&|||||||ORU^R01|1|P|2.6\rOBX|1|TX|x||Dr Who saw Alice|||||||||||Who^Dr\r");
    assert_eq!(
        String::from_utf8_lossy(&obx),
        "MSH|^~\\&|||||||ORU^R01|1|P|2.6\rOBX|1|TX|x||<redacted>|||||||||||<redacted>\r"
    );
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_714_557_600, 0).unwrap_or_default()
}

fn ack_text(ctx: &AckContext, outcome: Result<(), &AckError>) -> String {
    String::from_utf8_lossy(&build(ctx, outcome, "WW1", now())).into_owned()
}

#[test]
fn ack_accept_swaps_sender_and_receiver() {
    let ctx = AckContext::from_message(&ok(PCD01));
    assert_eq!(
        ack_text(&ctx, Ok(())),
        "MSH|^~\\&|WARDWATCH|SEC|GW_ICU^0012210000000001^EUI-64|St Elsewhere ICU|20240501100000+0000||ACK^R01^ACK|WW1|P|2.6\r\
         MSA|AA|MSG00042\r"
    );
    let alarm = AckContext::from_message(&ok(PCD04));
    assert!(ack_text(&alarm, Ok(())).contains("|ACK^R40^ACK|WW1|P|2.6\rMSA|AA|ALM-0007\r"));
}

#[test]
fn ack_error_and_reject_carry_the_reason() {
    let ctx = AckContext::from_message(&ok(NO_DEVICE));
    let err = AckError::new(AckCode::Error, 101, "no device identity | OBX-18");
    assert_eq!(
        ack_text(&ctx, Err(&err)),
        "MSH|^~\\&|WARDWATCH|SEC|GW_ICU|St Elsewhere ICU|20240501100000+0000||ACK^R01^ACK|WW1|P|2.6\r\
         MSA|AE|MSG00043|no device identity \\F\\ OBX-18\r\
         ERR|||101^Required field missing^HL70357|E||||no device identity \\F\\ OBX-18\r"
    );
}

#[test]
fn ack_for_unreadable_messages_is_best_effort() {
    let rej = AckError::new(AckCode::Reject, 102, "unreadable");
    // MSH-9 empty: the parser refuses, but the control id is salvaged.
    let raw = b"MSH|^~\\&|GW|FAC|WW|SEC|20240501||^|C-9|P|2.5\r";
    assert!(parse(raw).is_err());
    let text = ack_text(&AckContext::salvage(raw), Err(&rej));
    assert!(
        text.starts_with(
            "MSH|^~\\&|WW|SEC|GW|FAC|20240501100000+0000||ACK^^ACK|WW1|P|2.5\rMSA|AR|C-9|unreadable\r"
        ),
        "{text}"
    );
    // Garbage: defaults everywhere.
    let text = ack_text(&AckContext::salvage(b"hello"), Err(&rej));
    assert!(
        text.starts_with("MSH|^~\\&|||||20240501100000+0000||ACK^^ACK|WW1|P|2.6\rMSA|AR||unreadable\r"),
        "{text}"
    );
    // Broken encoding characters: the defaults read what they can.
    let text = ack_text(&AckContext::salvage(b"MSH|^|GW|F|||t||ORU^R01|77|P|2.6"), Err(&rej));
    assert!(text.contains("MSA|AR|77|"), "{text}");
}

#[test]
fn parse_results_snapshot() {
    let results: Vec<Value> = [PCD01, PCD04, NO_DEVICE]
        .iter()
        .map(|raw| match parse(raw) {
            Ok(m) => json!(m),
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    insta::assert_json_snapshot!(results);
}

fn delimiters() -> impl Strategy<Value = Delimiters> {
    Just(Delimiters::default()).prop_union(Just(Delimiters {
        field: '#',
        component: '$',
        repetition: '*',
        escape: Some('@'),
        subcomponent: Some('!'),
    }))
}

proptest! {
    #[test]
    fn escape_then_unescape_gives_the_text_back(text in ".*", d in delimiters()) {
        let escaped = escape(&text, &d);
        for special in [d.field, d.component, d.repetition, '\r', '\n'] {
            prop_assert!(!escaped.contains(special));
        }
        prop_assert_eq!(unescape(escaped.as_bytes(), &d), text);
    }

    #[test]
    fn parse_never_panics_and_errors_point_inside(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = parse(&raw) {
            prop_assert!(e.offset <= raw.len());
        }
        let _ = redact(&raw);
        let _ = AckContext::salvage(&raw);
    }

    #[test]
    fn parse_never_panics_on_near_messages(tail in "[A-Z0-9|^~\\\\&\r\n]{0,200}") {
        let raw = format!("MSH|^~\\&|{tail}");
        if let Err(e) = parse(raw.as_bytes()) {
            prop_assert!(e.offset <= raw.len());
        }
        prop_assert!(!redact(raw.as_bytes()).is_empty() || raw.is_empty());
    }
}
