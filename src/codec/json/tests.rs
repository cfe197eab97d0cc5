use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, Offset};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::{parse, ClinicalUse, Device, JsonAlert, JsonError};

const SCHEMA: &str = include_str!("../../../docs/schema/alert-v1.schema.json");
const DOC: &str = include_str!("../../../docs/ingest-json.md");

/// The smallest valid alert, with `extra` fields merged in.
fn alert(extra: Value) -> String {
    let mut v = json!({"event_class": "E1", "name": "n", "severity": 5});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v.to_string()
}

/// Expects `input` refused with exactly `message` (field and reason).
#[track_caller]
fn check_err(input: &str, message: &str) {
    match parse(input.as_bytes()) {
        Ok(a) => panic!("input {input:?} was accepted as {a:?}"),
        Err(e) => {
            assert_eq!(e.to_string(), message, "input {input:?}");
            assert!(e.offset <= input.len(), "offset {} past the end of {input:?}", e.offset);
        }
    }
}

/// Expects `input` accepted as `n` alerts, returning them.
#[track_caller]
fn check_ok(input: &str, n: usize) -> Vec<JsonAlert> {
    match parse(input.as_bytes()) {
        Ok(a) => {
            assert_eq!(a.len(), n, "input {input:?}");
            a
        }
        Err(e) => panic!("input {input:?} was refused: {e}"),
    }
}

#[test]
fn the_smallest_alert_and_every_field() {
    let a = check_ok(r#"{"event_class":"E1","name":"n","severity":0}"#, 1);
    assert_eq!((a[0].event_class.as_str(), a[0].name.as_str(), a[0].severity), ("E1", "n", 0));
    assert_eq!(a[0].device, None);
    let full = alert(json!({
        "observed_at": "2024-05-01T10:00:00.250+02:00",
        "device": {"ip": "fe80::1", "mac": "00-1B-63-84-45-E6", "hostname": "pump-3", "eui64": "001b63fffe8445e6", "serial": "S1"},
        "src_ip": "10.0.0.1", "dst_ip": "10.0.0.2", "src_port": 0, "dst_port": 65535, "proto": "TCP",
        "category": "c", "message": "m", "vendor": "v", "product": "p",
        "extensions": {"ward": "ICU", "empty": ""}, "clinical_use": "maintenance",
    }));
    let a = check_ok(&full, 1);
    let d = a[0].device.clone().unwrap_or_default();
    assert_eq!(d.ip, "fe80::1".parse::<IpAddr>().ok());
    assert_eq!(d.mac.as_deref(), Some("00-1B-63-84-45-E6"), "kept as sent");
    assert_eq!(a[0].dst_port, Some(65535));
    assert_eq!(a[0].clinical_use, Some(ClinicalUse::Maintenance));
    assert_eq!(a[0].extensions.get("ward").map(String::as_str), Some("ICU"));
    assert_eq!(a[0].observed_at.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-01T10:00:00.250+02:00"));
}

#[test]
fn arrays_empty_arrays_nulls_and_integral_floats() {
    check_ok(&format!("[{},{}]", alert(json!({})), alert(json!({"severity": 10}))), 2);
    check_ok("[]", 0);
    check_ok(" \n[ ]\n", 0);
    let a =
        check_ok(&alert(json!({"device": null, "src_port": null, "message": null, "extensions": null})), 1);
    assert_eq!((a[0].device.as_ref(), a[0].src_port, a[0].extensions.len()), (None, None, 0));
    let a = check_ok(&alert(json!({"severity": 7.0})), 1);
    assert_eq!(a[0].severity, 7);
    // A byte-order mark before the document is ignored.
    check_ok(&format!("\u{feff}{}", alert(json!({}))), 1);
    // A document of one alert may end with a newline, as curl -d @file sends it.
    check_ok(&format!("{}\n", alert(json!({}))), 1);
}

#[test]
fn each_kind_of_field_error_names_the_field() {
    let cases: &[(&str, &str)] = &[
        (r#"{"name":"n","severity":1}"#, "event_class: missing field"),
        (r#"{"event_class":"E","severity":1}"#, "name: missing field"),
        (r#"{"event_class":"E","name":"n"}"#, "severity: missing field"),
        (r#"{"event_class":"E","name":"n","severity":null}"#, "severity: missing field"),
        (r#"{"event_class":"","name":"n","severity":1}"#, "event_class: expected a non-empty string, found an empty one"),
        (r#"{"event_class":5,"name":"n","severity":1}"#, "event_class: expected a string, found 5"),
        (r#"{"event_class":"E","name":"n","severity":11}"#, "severity: expected an integer from 0 to 10, found 11"),
        (r#"{"event_class":"E","name":"n","severity":-1}"#, "severity: expected an integer from 0 to 10, found -1"),
        (r#"{"event_class":"E","name":"n","severity":5.5}"#, "severity: expected an integer from 0 to 10, found 5.5"),
        (r#"{"event_class":"E","name":"n","severity":"high"}"#, "severity: expected an integer from 0 to 10, found a string"),
        (r#"{"event_class":"E","name":"n","severity":true}"#, "severity: expected an integer from 0 to 10, found true"),
        (r#"{"event_class":"E","name":"n","severity":1,"src_port":65536}"#, "src_port: expected an integer from 0 to 65535, found 65536"),
        (r#"{"event_class":"E","name":"n","severity":1,"src_ip":"10.0.0.256"}"#, "src_ip: expected an IPv4 or IPv6 address, found a string that is not one"),
        (r#"{"event_class":"E","name":"n","severity":1,"dst_ip":17}"#, "dst_ip: expected an IP address (a string), found 17"),
        (r#"{"event_class":"E","name":"n","severity":1,"observed_at":"2024-05-01 10:00:00Z"}"#, "observed_at: expected an RFC 3339 date-time such as 2024-05-01T10:00:00Z, found a string that is not one"),
        (r#"{"event_class":"E","name":"n","severity":1,"observed_at":"2024-05-01T10:00:00"}"#, "observed_at: expected an RFC 3339 date-time such as 2024-05-01T10:00:00Z, found a string that is not one"),
        (r#"{"event_class":"E","name":"n","severity":1,"device":"pump"}"#, "device: expected an object, found a string"),
        (r#"{"event_class":"E","name":"n","severity":1,"device":{"mac":"00:1b:63:84:45"}}"#, "device.mac: expected a MAC address (six hex pairs separated by : or -), found a string that is not one"),
        (r#"{"event_class":"E","name":"n","severity":1,"device":{"eui64":"001b63fffe8445e"}}"#, "device.eui64: expected an EUI-64 (eight hex pairs, bare or separated by : or -), found a string that is not one"),
        (r#"{"event_class":"E","name":"n","severity":1,"device":{"ipv4":"10.0.0.1"}}"#, "device.ipv4: unknown field; expected one of ip, mac, hostname, eui64, serial"),
        (r#"{"event_class":"E","name":"n","severity":1,"extensions":{"ward":3}}"#, "extensions.ward: expected a string, found 3"),
        (r#"{"event_class":"E","name":"n","severity":1,"extensions":["a"]}"#, "extensions: expected an object of strings, found an array"),
        (r#"{"event_class":"E","name":"n","severity":1,"extensions":{"":"x"}}"#, "extensions.: expected a key of 1 to 64 characters, found 0"),
        (r#"{"event_class":"E","name":"n","severity":1,"clinical_use":"busy"}"#, "clinical_use: expected one of \"in_use\", \"idle\", \"maintenance\", \"unknown\", found a string that is not one"),
        (r#"{"event_class":"E","name":"n","severity":1,"sevrity":1}"#, "sevrity: unknown field; expected one of event_class, name, severity, observed_at, device, src_ip, dst_ip, src_port, dst_port, proto, category, message, vendor, product, extensions, clinical_use"),
    ];
    for (input, message) in cases {
        check_err(input, message);
    }
}

#[test]
fn lengths_count_characters_not_bytes() {
    check_ok(&alert(json!({"name": "é".repeat(256)})), 1);
    check_err(&alert(json!({"name": "é".repeat(257)})), "name: expected at most 256 characters, found 257");
    check_err(&alert(json!({"proto": "x".repeat(33)})), "proto: expected at most 32 characters, found 33");
    let many: serde_json::Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    check_err(&alert(json!({"extensions": many})), "extensions: expected at most 64 entries, found 65");
}

#[test]
fn errors_in_arrays_say_which_element() {
    let good = alert(json!({}));
    let doc = format!("[{good},{good},{good},{}]", alert(json!({"severity": 11})));
    check_err(&doc, "[3].severity: expected an integer from 0 to 10, found 11");
    check_err(&format!("[{good}, 7]"), "[1]: expected an alert object, found 7");
    check_err(&format!("[{good}, {{\"name\":\"n\",\"severity\":1}}]"), "[1].event_class: missing field");
}

#[test]
fn documents_that_are_not_alerts() {
    check_err("\"alert\"", "expected an alert object or an array of alert objects, found a string");
    check_err("42", "expected an alert object or an array of alert objects, found 42");
    check_err("", "not JSON: EOF while parsing a value");
    check_err("{\"event_class\":", "not JSON: EOF while parsing a value");
    check_err("{} {}", "not JSON: trailing characters");
    let e = parse(b"{\"name\":\"caf\xe9\"}").err();
    assert_eq!(
        e.map(|e| (e.to_string(), e.offset)),
        Some(("not UTF-8: invalid byte at offset 12".into(), 12))
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = parse(deep.as_bytes()).err().map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("not JSON: recursion limit exceeded"));
    let deep_ext = format!(
        r#"{{"event_class":"E","name":"n","severity":1,"extensions":{{"a":{}1{}}}}}"#,
        "[".repeat(50),
        "]".repeat(50)
    );
    check_err(&deep_ext, "extensions.a: expected a string, found an array");
}

#[test]
fn offsets_point_at_the_offending_value() {
    let check = |input: &str, at: &str| {
        let e = parse(input.as_bytes()).err();
        assert_eq!(e.map(|e| e.offset), input.rfind(at), "{input}");
    };
    check(r#"{"event_class":"E","name":"n","severity":11}"#, "11");
    check(
        r#"[{"event_class":"E","name":"n","severity":1}, {"event_class":"E","name":"n","severity":1,"device":{"mac":"zz"}}]"#,
        "\"zz\"",
    );
    // A missing field points at its object.
    check(r#"[{"event_class":"E","name":"n","severity":1},  {"name":"n","severity":1}]"#, "{\"name\"");
}

fn doc_json_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in DOC.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```json") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn validator() -> Result<jsonschema::Validator, Box<dyn std::error::Error>> {
    let schema: Value = serde_json::from_str(SCHEMA)?;
    Ok(jsonschema::options().should_validate_formats(true).build(&schema).map_err(|e| e.to_string())?)
}

#[test]
fn documented_examples_are_accepted_by_the_codec_and_the_schema() -> Result<(), Box<dyn std::error::Error>> {
    let schema = validator()?;
    let blocks = doc_json_blocks();
    assert!(blocks.len() >= 3, "docs/ingest-json.md should show request bodies in ```json blocks");
    for b in &blocks {
        parse(b.as_bytes()).map_err(|e| format!("documented example refused: {e}\n{b}"))?;
        assert!(schema.is_valid(&serde_json::from_str(b)?), "the schema refuses a documented example:\n{b}");
    }
    let schema_doc: Value = serde_json::from_str(SCHEMA)?;
    let examples = schema_doc["examples"].as_array().cloned().unwrap_or_default();
    assert!(!examples.is_empty(), "the schema should carry examples");
    for ex in &examples {
        parse(ex.to_string().as_bytes()).map_err(|e| format!("schema example refused: {e}"))?;
        assert!(schema.is_valid(ex));
    }
    Ok(())
}

/// Documents on which the schema and the codec must agree, and the verdict both must give.
fn agreement_cases() -> Vec<(String, bool)> {
    let ok = |v: Value| (alert(v), true);
    let bad = |v: Value| (alert(v), false);
    vec![
        ok(json!({})),
        ok(json!({"severity": 0})),
        ok(json!({"severity": 10.0})),
        ok(json!({"observed_at": "2024-05-01T10:00:00Z"})),
        ok(json!({"observed_at": "2024-05-01t10:00:00.123456789-05:30"})),
        ok(json!({"device": {}})),
        ok(
            json!({"device": {"ip": "10.1.2.3", "mac": "aa:bb:cc:dd:ee:ff", "eui64": "00:11:22:ff:fe:33:44:55"}}),
        ),
        ok(json!({"device": {"ip": "2001:db8::1", "eui64": "0011-22ff-fe33-4455".replace('-', "")}})),
        ok(json!({"src_ip": null, "dst_ip": "::1", "src_port": 1, "dst_port": 0})),
        ok(json!({"extensions": {}, "clinical_use": null})),
        ok(json!({"clinical_use": "in_use"})),
        ok(json!({"name": "x".repeat(256), "event_class": "y".repeat(128)})),
        (String::from("[]"), true),
        (format!("[{}]", alert(json!({}))), true),
        bad(json!({"severity": 11})),
        bad(json!({"severity": 5.5})),
        bad(json!({"severity": "5"})),
        bad(json!({"severity": null})),
        bad(json!({"name": ""})),
        bad(json!({"name": "x".repeat(257)})),
        bad(json!({"unknown": 1})),
        bad(json!({"observed_at": "2024-05-01 10:00:00Z"})),
        bad(json!({"observed_at": "2024-13-01T10:00:00Z"})),
        bad(json!({"observed_at": "yesterday"})),
        bad(json!({"device": {"mac": "aabbccddeeff"}})),
        bad(json!({"device": {"mac": "aa:bb:cc:dd:ee:fg"}})),
        bad(json!({"device": {"eui64": "00:11:22:ff:fe:33:44"}})),
        bad(json!({"device": {"ip": "10.1.2"}})),
        bad(json!({"device": {"ip": "010.1.2.3"}})),
        bad(json!({"device": {"serial": 12}})),
        bad(json!({"device": {"colour": "red"}})),
        bad(json!({"device": []})),
        bad(json!({"src_ip": "pump-3"})),
        bad(json!({"src_port": 70000})),
        bad(json!({"dst_port": -1})),
        bad(json!({"extensions": {"a": 1}})),
        bad(json!({"extensions": {"a": null}})),
        bad(json!({"extensions": {"k".repeat(65): "v"}})),
        bad(json!({"extensions": {"a": "v".repeat(1025)}})),
        bad(json!({"clinical_use": "IN_USE"})),
        bad(json!({"proto": 6})),
        (r#"{"name":"n","severity":1}"#.into(), false),
        ("\"alert\"".into(), false),
        ("[1]".into(), false),
        ("[[]]".into(), false),
        ("null".into(), false),
        (format!("[{},{}]", alert(json!({})), alert(json!({"severity": 99}))), false),
    ]
}

#[test]
fn the_schema_and_the_codec_agree() -> Result<(), Box<dyn std::error::Error>> {
    let schema = validator()?;
    for (doc, valid) in agreement_cases() {
        let instance: Value = serde_json::from_str(&doc)?;
        let codec = parse(doc.as_bytes());
        assert_eq!(codec.is_ok(), valid, "codec on {doc}: {codec:?}");
        let errors: Vec<String> = schema.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert_eq!(errors.is_empty(), valid, "schema on {doc}: {errors:?}");
    }
    Ok(())
}

#[test]
fn parse_results_snapshot() {
    let docs = [
        alert(
            json!({"observed_at": "2024-05-01T10:00:00.250+02:00", "device": {"hostname": "pump-icu-3", "mac": "00:1b:63:84:45:e6"}, "src_ip": "10.20.0.5", "dst_port": 443, "extensions": {"ward": "ICU-2"}, "clinical_use": "in_use"}),
        ),
        format!("[{},{}]", alert(json!({"name": "first"})), alert(json!({"name": "second", "severity": 2}))),
        alert(json!({"severity": 12})),
        "{\"event_class\":".to_owned(),
    ];
    let results: Vec<Value> = docs
        .iter()
        .map(|d| match parse(d.as_bytes()) {
            Ok(a) => json!({"input": d, "ok": a}),
            Err(JsonError { field, reason, offset }) => {
                json!({"input": d, "error": {"field": field, "reason": reason, "offset": offset}})
            }
        })
        .collect();
    insta::assert_json_snapshot!(results);
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..=max.min(40)).prop_map(|c| c.into_iter().collect())
}

fn non_empty(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 1..=max.min(40)).prop_map(|c| c.into_iter().collect())
}

fn hex_pairs(n: usize) -> impl Strategy<Value = String> {
    (proptest::collection::vec(any::<u8>(), n), prop_oneof![Just(":"), Just("-")])
        .prop_map(|(b, sep)| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(sep))
}

fn timestamp() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (0i64..4_000_000_000, 0u32..1_000_000_000, -86_340i32..86_340).prop_map(|(s, ns, off)| {
        let off = FixedOffset::east_opt(off / 60 * 60).unwrap_or(chrono::Utc.fix());
        DateTime::from_timestamp(s, ns).unwrap_or_default().with_timezone(&off)
    })
}

fn device() -> impl Strategy<Value = Device> {
    (
        proptest::option::of(any::<IpAddr>()),
        proptest::option::of(hex_pairs(6)),
        proptest::option::of(text(253)),
        proptest::option::of(hex_pairs(8)),
        proptest::option::of(text(128)),
    )
        .prop_map(|(ip, mac, hostname, eui64, serial)| Device { ip, mac, hostname, eui64, serial })
}

fn json_alert() -> impl Strategy<Value = JsonAlert> {
    (
        (
            non_empty(128),
            non_empty(256),
            0u8..=10,
            proptest::option::of(timestamp()),
            proptest::option::of(device()),
        ),
        (
            proptest::option::of(any::<IpAddr>()),
            proptest::option::of(any::<IpAddr>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(text(32)),
        ),
        (
            proptest::option::of(text(128)),
            proptest::option::of(text(16_384)),
            proptest::option::of(text(128)),
            proptest::option::of(text(128)),
            proptest::collection::btree_map(non_empty(64), text(1024), 0..5),
            proptest::option::of(proptest::sample::select(ClinicalUse::ALL.to_vec())),
        ),
    )
        .prop_map(|((event_class, name, severity, observed_at, device), net, rest)| {
            let (src_ip, dst_ip, src_port, dst_port, proto) = net;
            let (category, message, vendor, product, extensions, clinical_use): (
                _,
                _,
                _,
                _,
                BTreeMap<_, _>,
                _,
            ) = rest;
            JsonAlert {
                event_class,
                name,
                severity,
                observed_at,
                device,
                src_ip,
                dst_ip,
                src_port,
                dst_port,
                proto,
                category,
                message,
                vendor,
                product,
                extensions,
                clinical_use,
            }
        })
}

proptest! {
    #[test]
    fn any_valid_alert_serialises_and_parses_back(alerts in proptest::collection::vec(json_alert(), 1..4)) {
        let one = serde_json::to_vec(&alerts[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parse(&one), Ok(vec![alerts[0].clone()]));
        let many = serde_json::to_vec(&alerts).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parse(&many), Ok(alerts));
    }

    #[test]
    fn never_panics_and_errors_point_inside(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Err(e) = parse(&input) {
            prop_assert!(e.offset <= input.len());
        }
    }
}

#[test]
fn documented_refusals_are_the_codec_s_own_words() {
    // Rows of the table "Examples of the refusals" in docs/ingest-json.md:
    // | `body` | `error` |; "…" in a body skips the row, in an error ends the comparison.
    let mut checked = 0;
    for line in DOC.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> =
            line.split(" | ").map(|c| c.trim_matches(|ch| ch == '|' || ch == ' ')).collect();
        let [body, error] = cells[..] else { continue };
        let (Some(body), Some(error)) = (
            body.strip_prefix('`').and_then(|b| b.strip_suffix('`')),
            error.strip_prefix('`').and_then(|e| e.strip_suffix('`')),
        ) else {
            continue;
        };
        if body.contains('…') {
            continue;
        }
        let got = parse(body.as_bytes()).err().map(|e| e.to_string()).unwrap_or_default();
        let want = error.split('…').next().unwrap_or_default();
        assert!(got.starts_with(want), "documented {body:?} -> {error:?}, the codec says {got:?}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} documented refusals found");
}
