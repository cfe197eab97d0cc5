use serde_json::{json, Value};

use super::{parse, parse_lenient};

/// Parses `input` and compares the JSON form of the result with `expected`.
#[track_caller]
fn check(input: &str, expected: Value) {
    let got = parse(input.as_bytes()).map(|m| serde_json::to_value(m).unwrap_or(Value::Null));
    assert_eq!(got, Ok(expected), "input {input:?}");
}

/// Expects a rejection at byte `offset` whose reason contains `reason`.
#[track_caller]
fn check_err(input: &[u8], offset: usize, reason: &str) {
    match parse(input) {
        Ok(m) => panic!("input {:?} was accepted as {m:?}", String::from_utf8_lossy(input)),
        Err(e) => {
            assert!(e.reason.contains(reason), "input {input:?}: reason {:?}", e.reason);
            assert_eq!(e.offset, offset, "input {input:?}: {e}");
        }
    }
}

#[test]
fn rfc_examples() {
    // RFC 5424 section 6.5, examples 1 to 4.
    check(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8",
        json!({"priority": 34, "facility": 4, "severity": 2, "version": 1,
               "timestamp": "2003-10-11T22:14:15.003Z", "hostname": "mymachine.example.com",
               "appname": "su", "procid": null, "msgid": "ID47", "structured_data": null,
               "message": "\u{feff}'su root' failed for lonvick on /dev/pts/8"}),
    );
    check(
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        json!({"priority": 165, "facility": 20, "severity": 5, "version": 1,
               "timestamp": "2003-08-24T05:14:15.000003-07:00", "hostname": "192.0.2.1",
               "appname": "myproc", "procid": "8710", "msgid": null, "structured_data": null,
               "message": "%% It's time to make the do-nuts."}),
    );
    check(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry..."#,
        json!({"priority": 165, "facility": 20, "severity": 5, "version": 1,
               "timestamp": "2003-10-11T22:14:15.003Z", "hostname": "mymachine.example.com",
               "appname": "evntslog", "procid": null, "msgid": "ID47",
               "structured_data": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}},
               "message": "An application event log entry..."}),
    );
    check(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#,
        json!({"priority": 165, "facility": 20, "severity": 5, "version": 1,
               "timestamp": "2003-10-11T22:14:15.003Z", "hostname": "mymachine.example.com",
               "appname": "evntslog", "procid": null, "msgid": "ID47",
               "structured_data": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
                                   "examplePriority@32473": {"class": "high"}},
               "message": null}),
    );
}

#[test]
fn all_nil_and_minimal_messages() {
    check(
        "<0>1 - - - - - -",
        json!({"priority": 0, "facility": 0, "severity": 0, "version": 1, "timestamp": null,
               "hostname": null, "appname": null, "procid": null, "msgid": null,
               "structured_data": null, "message": null}),
    );
    check(
        "<191>999 - - - - - - x\ny",
        json!({"priority": 191, "facility": 23, "severity": 7, "version": 999, "timestamp": null,
               "hostname": null, "appname": null, "procid": null, "msgid": null,
               "structured_data": null, "message": "x\ny"}),
    );
}

#[test]
fn param_value_escapes() {
    let sd = |input: &str| parse(input.as_bytes()).map(|m| m.structured_data[0].params[0].1.clone());
    assert_eq!(sd(r#"<1>1 - - - - - [a b="q\"q"]"#).as_deref(), Ok("q\"q"));
    assert_eq!(sd(r#"<1>1 - - - - - [a b="\\"]"#).as_deref(), Ok("\\"));
    assert_eq!(sd(r#"<1>1 - - - - - [a b="\]"]"#).as_deref(), Ok("]"));
    // Any other backslash stays (RFC 5424 6.3.3).
    assert_eq!(sd(r#"<1>1 - - - - - [a b="\n \u2318"]"#).as_deref(), Ok("\\n \\u2318"));
    assert_eq!(sd(r#"<1>1 - - - - - [a b=""]"#).as_deref(), Ok(""));
    assert_eq!(sd("<1>1 - - - - - [a b=\"caf\u{e9}\"]").as_deref(), Ok("caf\u{e9}"));
}

#[test]
fn repeated_param_names_are_kept_in_order() {
    let m = parse(br#"<1>1 - - - - - [origin ip="10.0.0.1" ip="10.0.0.2"]"#).map_err(|e| e.to_string());
    assert_eq!(
        m.as_ref().map(|m| m.structured_data[0].params.clone()),
        Ok(vec![("ip".into(), "10.0.0.1".into()), ("ip".into(), "10.0.0.2".into())])
    );
    assert_eq!(m.as_ref().ok().and_then(|m| m.sd_param("origin", "ip")), Some("10.0.0.2"));
}

#[test]
fn bom_is_kept_and_other_encodings_survive() {
    let m = parse(b"<1>1 - - - - - - \xEF\xBB\xBFhello").map(|m| m.message);
    assert_eq!(m, Ok(Some("\u{feff}hello".into())));
    let m = parse(b"<1>1 - - - - - - fond\xfc").map(|m| m.message);
    assert_eq!(m, Ok(Some("fond\u{fffd}".into())));
    let m = parse(b"<1>1 - - - - - - ").map(|m| m.message);
    assert_eq!(m, Ok(None));
}

#[test]
fn timestamps() {
    let ts = |s: &str| {
        parse(format!("<1>1 {s} - - - - -").as_bytes())
            .map(|m| m.timestamp.map(|t| t.to_rfc3339()))
            .map_err(|e| e.offset)
    };
    assert_eq!(ts("2003-08-24T05:14:15.000003-07:00"), Ok(Some("2003-08-24T05:14:15.000003-07:00".into())));
    assert_eq!(ts("2018-12-31T23:59:59.999999-23:59"), Ok(Some("2018-12-31T23:59:59.999999-23:59".into())));
    assert_eq!(ts("2016-02-29T00:00:00Z"), Ok(Some("2016-02-29T00:00:00+00:00".into())));
    assert_eq!(ts("2003-09-31T22:14:16Z"), Err(15), "30 days hath September");
    assert_eq!(ts("2017-02-29T00:00:00Z"), Err(15));
    assert_eq!(ts("2003-09-29T22:09:99Z"), Err(24));
    assert_eq!(ts("2003-09-29T24:00:00Z"), Err(24));
    assert_eq!(ts("2003-08-24T05:14:15.000003-60:00"), Err(37));
    assert_eq!(ts("2003-08-24T05:14:15.0000031Z"), Err(31), "seven fraction digits");
    assert_eq!(ts("2003-09-29T22:09:01.Z"), Err(25));
    assert_eq!(ts("2006-01-02T15:04:05z"), Err(24), "lower-case z");
    assert_eq!(ts("2006-01-02t15:04:05Z"), Err(15), "lower-case t");
    assert_eq!(ts("2003-11-02T23:12:46"), Err(24), "no offset");
}

#[test]
fn rejections_name_the_place() {
    check_err(b"", 0, "expected '<'");
    check_err(b"122 - - - - - -", 0, "expected '<'");
    check_err(b"<>1 - - - - - -", 1, "priority value");
    check_err(b"<002>1 - - - - - -", 2, "leading zero");
    check_err(b"<192>1 - - - - - -", 1, "over 191");
    check_err(b"<1000>1 - - - - - -", 4, "expected '>'");
    check_err(b"<1> - - - - - -", 3, "version");
    check_err(b"<1>0 - - - - - -", 4, "version");
    check_err(b"<1>1000 - - - - - -", 6, "over 999");
    check_err(b"<1>1", 4, "space after the version");
    check_err(b"<1>1 - \nhost - - - -", 7, "hostname");
    check_err(b"<1>1 -   - - - -", 7, "hostname");
    check_err(&[b"<1>1 - ".as_slice(), &[b'h'; 256], b" - - - -"].concat(), 262, "longer than 255");
    check_err(&[b"<1>1 - - ".as_slice(), &[b'a'; 49], b" - - -"].concat(), 57, "longer than 48");
    check_err(&[b"<1>1 - - - ".as_slice(), &[b'p'; 129], b" - -"].concat(), 139, "longer than 128");
    check_err(&[b"<1>1 - - - - ".as_slice(), &[b'm'; 33], b" -"].concat(), 45, "longer than 32");
    check_err(b"<1>1 - - - - -", 14, "space after the msgid");
    check_err(b"<1>1 - - - - - X", 15, "structured data");
    check_err(b"<1>1 - - - - - [ ]", 16, "SD-ID");
    check_err(b"<1>1 - - - - - []]", 16, "SD-ID");
    check_err(b"<1>1 - - - - - [id1][id1]", 20, "appears twice");
    check_err(br#"<1>1 - - - - - [m e="]q"]"#, 21, "must be escaped");
    check_err(br#"<1>1 - - - - - [m e="""]"#, 22, "' ' or ']'");
    check_err(br#"<1>1 - - - - - [m e="a"#, 22, "not closed");
    check_err(b"<1>1 - - - - - [m e=\"\xff\"]", 23, "UTF-8");
    check_err(b"<1>1 - - - - - [m]x", 18, "space or the end");
    check_err(b"<1>1 - - - - - -x", 15, "structured data");
}

/// Lenient reading: the message, and the departures it names.
#[track_caller]
fn lenient(input: &[u8], expected: Value, deviations: &[&str]) {
    let got = parse_lenient(input);
    assert!(parse(input).is_err(), "{input:?} is strictly valid: not a lenient case");
    match got {
        Ok(l) => {
            assert_eq!(serde_json::to_value(&l.message).ok(), Some(expected), "input {input:?}");
            assert_eq!(l.deviations, deviations, "input {input:?}");
        }
        Err(e) => panic!("{input:?} refused even leniently: {e}"),
    }
}

#[test]
fn lenient_reads_what_real_devices_send() {
    // Two spaces after the version, as one vendor's gateways send.
    lenient(
        b"<134>1  2026-11-28T10:00:00Z pump-7 gw 12 ALM - occlusion",
        json!({"priority": 134, "facility": 16, "severity": 6, "version": 1,
               "timestamp": "2026-11-28T10:00:00Z", "hostname": "pump-7", "appname": "gw",
               "procid": "12", "msgid": "ALM", "structured_data": null, "message": "occlusion"}),
        &["2 spaces after the version"],
    );
    // The header stops early: the missing fields are nil.
    lenient(
        b"<14>1 2026-11-28T10:00:00.5+01:00 monitor-3 app",
        json!({"priority": 14, "facility": 1, "severity": 6, "version": 1,
               "timestamp": "2026-11-28T10:00:00.500+01:00", "hostname": "monitor-3", "appname": "app",
               "procid": null, "msgid": null, "structured_data": null, "message": null}),
        &["message ends after the app-name"],
    );
    // No structured-data field: the text after MSGID is the message, whole.
    lenient(
        b"<14>1 2026-11-28t10:00:00.1234567890 host app - - login failed for admin",
        json!({"priority": 14, "facility": 1, "severity": 6, "version": 1,
               "timestamp": "2026-11-28T10:00:00.123456789Z", "hostname": "host", "appname": "app",
               "procid": null, "msgid": null, "structured_data": null, "message": "login failed for admin"}),
        &[
            "lower-case 't' in the timestamp",
            "10 fraction digits in the timestamp",
            "timestamp without an offset: read as UTC",
            "no structured-data field: the rest is kept as the message",
        ],
    );
    // Broken structured data is kept in the message, not dropped.
    lenient(
        b"<14>1 2026-11-28T10:00:00+0100 h\xc3\xb4te a - - [x y=\"unclosed] text",
        json!({"priority": 14, "facility": 1, "severity": 6, "version": 1,
               "timestamp": "2026-11-28T10:00:00+01:00", "hostname": "h\u{f4}te", "appname": "a",
               "procid": null, "msgid": null, "structured_data": null, "message": "[x y=\"unclosed] text"}),
        &[
            "timestamp offset without a colon",
            "hostname has characters other than printable ASCII",
            "structured data unreadable (']' must be escaped as '\\]' in a PARAM-VALUE): kept in the message",
        ],
    );
    lenient(
        b"<14>1 - - - - - [a x=\"1\"][a x=\"2\"]msg",
        json!({"priority": 14, "facility": 1, "severity": 6, "version": 1,
               "timestamp": null, "hostname": null, "appname": null,
               "procid": null, "msgid": null, "structured_data": {"a": {"x": "2"}}, "message": "msg"}),
        &["SD-ID \"a\" appears twice", "no space between the structured data and the message"],
    );
}

#[test]
fn lenient_still_needs_pri_and_version() {
    for bad in [
        &b"Oct 11 22:14:15 host su: hi"[..],
        b"<34>Oct 11 22:14:15 host su: hi",
        b"<34>",
        b"<300>1 - - - - - -",
    ] {
        assert!(parse_lenient(bad).is_err(), "{bad:?} read as RFC 5424");
    }
}

proptest::proptest! {
    /// Whatever the bytes, the parser answers (it never panics) and an error
    /// points inside the input; a strictly valid message reads the same leniently.
    #[test]
    fn any_bytes_get_an_answer(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        match parse(&bytes) {
            Err(e) => proptest::prop_assert!(e.offset <= bytes.len()),
            Ok(m) => {
                let l = parse_lenient(&bytes);
                proptest::prop_assert_eq!(l.as_ref().map(|l| &l.message).ok(), Some(&m));
                proptest::prop_assert!(l.is_ok_and(|l| l.deviations.is_empty()));
            }
        }
        if let Err(e) = parse_lenient(&bytes) {
            proptest::prop_assert!(e.offset <= bytes.len());
        }
    }

    /// Well-formed messages built from parts parse back into those parts.
    #[test]
    fn built_messages_round_trip(
        pri in 0u8..=191,
        version in 1u16..=999,
        host in "[!-~]{1,255}",
        app in "[!-~]{1,48}",
        msgid in "[!-~]{1,32}",
        sd_id in "[a-zA-Z0-9@.]{1,32}",
        value in "[^\"\\\\\\]]{0,40}",
        msg in ".{1,200}",
    ) {
        let input = format!("<{pri}>{version} 2021-06-01T12:00:00.5+02:00 {host} {app} - {msgid} [{sd_id} k=\"{value}\"] {msg}");
        let l = parse_lenient(input.as_bytes());
        proptest::prop_assert!(l.as_ref().is_ok_and(|l| l.deviations.is_empty()), "{:?} leniently: {:?}", input, l);
        let m = parse(input.as_bytes());
        proptest::prop_assert!(m.is_ok(), "{:?} rejected: {:?}", input, m);
        if let Ok(m) = m {
            let nil = |s: &String| if s == "-" { None } else { Some(s.clone()) };
            proptest::prop_assert_eq!(m.sd_param(&sd_id, "k"), Some(value.as_str()));
            proptest::prop_assert_eq!(m.priority, pri);
            proptest::prop_assert_eq!(m.version, version);
            proptest::prop_assert_eq!(m.hostname, nil(&host));
            proptest::prop_assert_eq!(m.appname, nil(&app));
            proptest::prop_assert_eq!(m.msgid, nil(&msgid));
            proptest::prop_assert_eq!(m.message, Some(msg));
        }
    }
}

/// The whole JSON shape of a few typical and broken messages, reviewed once
/// and pinned: any change to what `wardwatch parse` prints shows up here.
#[test]
fn parse_results_snapshot() {
    let inputs: &[&[u8]] = &[
        b"<13>1 2026-11-28T15:45:20.123456+00:00 station-7 gw - - [timeQuality tzKnown=\"1\" isSynced=\"0\"] pump IP-3 beacon",
        b"<134>1 2024-02-29T23:59:59.9-05:00 ids-1 suricata 4242 ET.2019284 [meta sid=\"2019284\" rev=\"3\"][origin ip=\"10.20.0.5\"] ET POLICY beacon",
        b"<0>1 - - - - - -",
        b"<34>1 2003-10-11T22:14:15.003Z host su - ID47 - \xEF\xBB\xBF'su root' failed",
        b"<34>1 2003-10-11T22:14:15.003 host su - ID47 -",
        b"<34>1 2003-10-11T22:14:15Z host su - ID47 [a b=\"c]\"]",
        b"<999>1 - - - - - -",
    ];
    let results: Vec<Value> = inputs
        .iter()
        .map(|i| match parse(i) {
            Ok(m) => json!({"ok": m}),
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    insta::assert_json_snapshot!(results);
}
