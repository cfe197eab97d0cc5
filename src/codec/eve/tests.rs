use std::net::IpAddr;

use chrono::{DateTime, FixedOffset};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::{locate, parse, parse_timestamp};

const FIXTURE: &str = include_str!("../../../tests/fixtures/eve/icu-sensor.jsonl");

/// A record with the two required fields and then `rest` (`""` or `,"k":v...`).
fn rec(rest: &str) -> String {
    format!(r#"{{"timestamp":"2024-03-01T02:15:00.000100+0100","event_type":"flow"{rest}}}"#)
}

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
            assert_eq!(e.offset, offset, "input {:?}: {e}", String::from_utf8_lossy(input));
        }
    }
}

/// Expects a rejection whose reason contains `reason`, at the last place
/// where `at` occurs in `input`.
#[track_caller]
fn check_err_at(input: &str, at: &str, reason: &str) {
    match input.rfind(at) {
        Some(offset) => check_err(input.as_bytes(), offset, reason),
        None => panic!("{at:?} is not in {input:?}"),
    }
}

#[test]
fn suricata_documentation_alert() {
    // The alert example of Suricata's "EVE JSON Format" page, in its shape.
    check(
        r#"{"timestamp":"2017-04-07T22:24:37.251547+0100","flow_id":586497171462735,"pcap_cnt":53381,"event_type":"alert","src_ip":"192.168.2.14","src_port":50096,"dest_ip":"209.53.113.5","dest_port":80,"proto":"TCP","metadata":{"flowbits":["http.dottedquadhost"]},"tx_id":4,"alert":{"action":"allowed","gid":1,"signature_id":2018358,"rev":10,"signature":"ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1","category":"Potentially Bad Traffic","severity":2},"app_proto":"http"}"#,
        json!({
            "timestamp": "2017-04-07T22:24:37.251547+01:00", "event_type": "alert",
            "flow_id": 586497171462735u64, "in_iface": null,
            "src_ip": "192.168.2.14", "src_port": 50096, "dest_ip": "209.53.113.5", "dest_port": 80,
            "proto": "TCP", "app_proto": "http", "community_id": null, "host": null,
            "alert": {"action": "allowed", "gid": 1, "signature_id": 2018358, "rev": 10,
                      "signature": "ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1",
                      "category": "Potentially Bad Traffic", "severity": 2, "metadata": null},
            "anomaly": null, "details": null,
        }),
    );
}

#[test]
fn minimal_and_context_records() {
    let empty = json!({
        "timestamp": "2024-03-01T02:15:00.000100+01:00", "event_type": "flow", "flow_id": null,
        "in_iface": null, "src_ip": null, "src_port": null, "dest_ip": null, "dest_port": null,
        "proto": null, "app_proto": null, "community_id": null, "host": null,
        "alert": null, "anomaly": null, "details": null,
    });
    check(&rec(""), empty.clone());
    // JSON null is absence; unknown fields are ignored; whitespace around is fine.
    check(&format!(" {}\r\n", rec(r#","src_ip":null,"pcap_cnt":7,"tcp":{"syn":true},"flow":null"#)), empty);

    let dns = r#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"dns","dns":{"type":"query","rrname":"pacs.ward.example"},"host":"ids-icu-1"}"#;
    let dns = parse(dns.as_bytes());
    let dns = dns.map(|r| (r.details, r.host));
    assert_eq!(
        dns,
        Ok((Some(json!({"type": "query", "rrname": "pacs.ward.example"})), Some("ids-icu-1".to_owned())))
    );
    // The details are whatever Suricata put under the event type's name.
    let stats = parse(br#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"stats","stats":{"uptime":9}}"#);
    assert_eq!(stats.map(|r| r.details), Ok(Some(json!({"uptime": 9}))));
    let odd = parse(br#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"netflow","netflow":[1]}"#);
    assert_eq!(odd.map(|r| r.details), Ok(Some(json!([1]))));
}

#[test]
fn alert_and_anomaly_objects() {
    let a = parse(
        rec(r#","alert":{"signature_id":4294967295,"signature":"Pump firmware upload","metadata":{"tag":["iomt"]}}"#)
            .as_bytes(),
    );
    let a = a.map(|r| r.alert.map(|a| (a.signature_id, a.signature, a.metadata, a.severity, a.category)));
    assert_eq!(
        a,
        Ok(Some((4294967295, "Pump firmware upload".into(), Some(json!({"tag": ["iomt"]})), None, None)))
    );

    let line = r#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"anomaly","anomaly":{"type":"stream","event":"stream.pkt_invalid_timestamp"}}"#;
    let r = parse(line.as_bytes()).map(|r| (r.anomaly, r.details));
    assert_eq!(r, Ok((Some(json!({"type": "stream", "event": "stream.pkt_invalid_timestamp"})), None)));
}

#[test]
fn addresses_in_both_families_and_suricata_spelling() {
    let r = parse(
        rec(r#","src_ip":"fe80:0000:0000:0000:0202:b3ff:fe1e:8329","dest_ip":"10.20.0.53","src_port":0,"dest_port":65535"#)
            .as_bytes(),
    );
    let want: (Option<IpAddr>, Option<IpAddr>) =
        ("fe80::202:b3ff:fe1e:8329".parse().ok(), "10.20.0.53".parse().ok());
    assert_eq!(r.as_ref().map(|r| (r.src_ip, r.dest_ip)), Ok(want));
    assert_eq!(r.map(|r| (r.src_port, r.dest_port)), Ok((Some(0), Some(65535))));
}

/// The timestamp of a record whose timestamp is `ts`, as serialised; on
/// error, the offset into `ts` and the reason.
fn ts(ts: &str) -> Result<String, (usize, String)> {
    let prefix = r#"{"event_type":"flow","timestamp":""#;
    let input = format!(r#"{prefix}{ts}"}}"#);
    parse(input.as_bytes())
        .map(|r| serde_json::to_value(r).map(|v| v["timestamp"].to_string()).unwrap_or_default())
        .map(|s| s.trim_matches('"').to_owned())
        .map_err(|e| (e.offset.wrapping_sub(prefix.len()), e.reason.into_owned()))
}

#[test]
fn timestamps() {
    let ok = |s: &str, want: &str| assert_eq!(ts(s), Ok(want.to_owned()), "{s}");
    // Suricata's own form: offset without a colon.
    ok("2017-04-07T22:24:37.251547+0100", "2017-04-07T22:24:37.251547+01:00");
    ok("2024-03-01T02:15:00.000100-0530", "2024-03-01T02:15:00.000100-05:30");
    ok("2024-03-01T02:15:00.000000+0000", "2024-03-01T02:15:00Z");
    // RFC 3339.
    ok("2017-04-07T22:24:37.251547+01:00", "2017-04-07T22:24:37.251547+01:00");
    ok("2017-04-07T22:24:37Z", "2017-04-07T22:24:37Z");
    ok("2017-04-07t22:24:37.5z", "2017-04-07T22:24:37.500Z");
    ok("2016-02-29T23:59:59.999999999+23:59", "2016-02-29T23:59:59.999999999+23:59");
    // Fractions of any length; past nanoseconds they are cut.
    ok("2017-04-07T22:24:37.1+0100", "2017-04-07T22:24:37.100+01:00");
    ok("2017-04-07T22:24:37.123+0100", "2017-04-07T22:24:37.123+01:00");
    ok("2017-04-07T22:24:37.1234+0100", "2017-04-07T22:24:37.123400+01:00");
    ok("2017-04-07T22:24:37.123456789123+0100", "2017-04-07T22:24:37.123456789+01:00");

    let err = |s: &str, at: usize, why: &str| {
        let got = ts(s);
        assert!(
            matches!(&got, Err((o, r)) if *o == at && r.contains(why)),
            "{s}: expected {why:?} at {at}, got {got:?}"
        );
    };
    err("", 0, "expected YYYY-MM-DD");
    err("17-04-07T22:24:37Z", 2, "expected YYYY-MM-DD");
    err("2017-04-07 22:24:37+0100", 10, "expected YYYY-MM-DD");
    err("2017-04-07T22:24:37", 19, "expected an offset");
    err("2017-04-07T22:24:37 +0100", 19, "expected an offset");
    err("2017-04-07T22:24:37.+0100", 20, "digits after '.'");
    err("2017-04-07T22:24:37+01", 22, "expected an offset");
    err("2017-04-07T22:24:37+1:00", 21, "expected an offset");
    err("2017-04-07T22:24:37+2400", 20, "offset out of range");
    err("2017-04-07T22:24:37+0160", 20, "offset out of range");
    err("2017-04-07T22:24:37+01:00Z", 25, "after the offset");
    err("2017-02-29T00:00:00Z", 10, "no such date");
    err("2017-09-31T00:00:00Z", 10, "no such date");
    err("2017-04-07T24:00:00Z", 19, "time out of range");
    err("2017-04-07T22:60:00Z", 19, "time out of range");
    err("2017-04-07T22:24:60Z", 19, "time out of range");
}

#[test]
fn timestamp_errors_point_at_the_value_when_it_is_escaped() {
    // With escapes the text and the bytes differ: point at the string itself.
    check_err_at(
        r#"{"event_type":"flow","timestamp":"2017\u002d04-07T22:24:37"}"#,
        r#""2017"#,
        "expected an offset",
    );
    // Escapes that decode to a good timestamp are fine.
    let r = parse(br#"{"event_type":"flow","timestamp":"2017-04-07T22:24:37\u002b0100"}"#);
    assert_eq!(r.map(|r| r.timestamp.to_rfc3339()), Ok("2017-04-07T22:24:37+01:00".to_owned()));
}

#[test]
fn text_that_is_not_json_object() {
    check_err(b"", 0, "not JSON: EOF");
    check_err(b"   \n", 4, "not JSON: EOF");
    check_err(br#"{"event_type":"alert""#, 21, "not JSON: EOF");
    check_err(b"nope", 1, "not JSON: expected ident");
    check_err(br#"{"event_type" "flow"}"#, 14, "not JSON: expected `:`");
    check_err(br#"{"event_type":"flow",}"#, 21, "not JSON: trailing comma");
    check_err(br#"{"a":1} {"b":2}"#, 8, "not JSON: trailing characters");
    check_err(b"{\"a\":1,\n \"b\":tru}", 16, "not JSON: expected ident");
    check_err(b"{\n\n  \"b\": x}", 10, "not JSON: expected value");
    check_err(b"{\"event_type\":\"fl\xffow\"}", 17, "not JSON: invalid unicode");
    check_err(b"\xef\xbb\xbf{}", 0, "not JSON");
    check_err(&[b"[".repeat(200), b"]".repeat(200)].concat(), 127, "recursion limit");
    check_err(b"[1,2]", 0, "expected a JSON object, found an array");
    check_err(b"  \"alert\"", 2, "found a string");
    check_err(b"null", 0, "found null");
    check_err(b"42", 0, "found a number");
}

#[test]
fn rejections_name_the_field() {
    check_err(b"{}", 0, "event_type is missing");
    check_err(b" {\"timestamp\":\"2024-03-01T02:15:00Z\"}", 1, "event_type is missing");
    check_err_at(r#"{"event_type":null}"#, "null", "event_type is missing");
    check_err_at(r#"{"event_type":5}"#, "5", "event_type is not a string");
    check_err_at(r#"{"event_type":""}"#, r#""""#, "event_type is empty");
    check_err(br#"{"event_type":"flow"}"#, 0, "timestamp is missing");
    check_err_at(r#"{"event_type":"flow","timestamp":1491600277}"#, "149", "timestamp is not a string");

    let field_err = |rest: &str, at: &str, reason: &str| check_err_at(&rec(rest), at, reason);
    field_err(r#","flow_id":-1"#, "-1", "flow_id is not an integer 0-");
    field_err(r#","flow_id":1.5"#, "1.5", "flow_id is not an integer");
    field_err(r#","flow_id":"17""#, r#""17""#, "flow_id is not an integer");
    field_err(r#","flow_id":18446744073709551616"#, "1844", "flow_id is not an integer");
    field_err(r#","in_iface":3"#, "3", "in_iface is not a string");
    field_err(r#","src_ip":10"#, "10}", "src_ip is not a string");
    field_err(r#","src_ip":"10.20.300.1""#, r#""10.20.300"#, "src_ip is not an IP address");
    field_err(r#","src_port":65536"#, "65536", "src_port is not a port number");
    field_err(r#","src_port":"80""#, r#""80""#, "src_port is not a port number");
    field_err(r#","dest_ip":"pump-7""#, r#""pump"#, "dest_ip is not an IP address");
    field_err(r#","dest_port":-80"#, "-80", "dest_port is not a port number");
    field_err(r#","proto":6"#, "6}", "proto is not a string");
    field_err(r#","app_proto":false"#, "false", "app_proto is not a string");
    field_err(r#","community_id":[]"#, "[]", "community_id is not a string");
    field_err(r#","host":{"name":"ids-1"}"#, r#"{"name"#, "host is not a string");
    field_err(r#","alert":"x""#, r#""x""#, "alert is not an object");
    field_err(r#","anomaly":[]"#, "[]", "anomaly is not an object");

    let alert = |obj: &str, at: &str, reason: &str| {
        let input = format!(r#"{{"timestamp":"2024-03-01T02:15:00Z","event_type":"alert","alert":{obj}}}"#);
        check_err_at(&input, at, reason)
    };
    alert(r#"{}"#, "{}", "alert.signature_id is missing");
    alert(r#"{"signature":"x"}"#, r#"{"sig"#, "alert.signature_id is missing");
    alert(
        r#"{"signature_id":"2018358","signature":"x"}"#,
        r#""2018358""#,
        "alert.signature_id is not an integer",
    );
    alert(
        r#"{"signature_id":4294967296,"signature":"x"}"#,
        "4294967296",
        "alert.signature_id is not an integer",
    );
    alert(r#"{"signature_id":1}"#, r#"{"sig"#, "alert.signature is missing");
    alert(r#"{"signature_id":1,"signature":5}"#, "5}", "alert.signature is not a string");
    alert(r#"{"signature_id":1,"signature":"x","gid":-1}"#, "-1", "alert.gid is not an integer");
    alert(r#"{"signature_id":1,"signature":"x","rev":1.5}"#, "1.5", "alert.rev is not an integer");
    alert(
        r#"{"signature_id":1,"signature":"x","severity":256}"#,
        "256",
        "alert.severity is not an integer 0-255",
    );
    alert(r#"{"signature_id":1,"signature":"x","action":1}"#, "1}", "alert.action is not a string");
    alert(r#"{"signature_id":1,"signature":"x","category":[]}"#, "[]", "alert.category is not a string");

    check_err_at(r#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"alert"}"#, "{", "alert is missing");
    check_err_at(
        r#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"anomaly","anomaly":null}"#,
        "null",
        "anomaly is missing",
    );
}

#[test]
fn errors_point_at_the_value_serde_json_kept() {
    // A repeated key: serde_json keeps the last, and so does the error.
    check_err_at(&rec(r#","src_port":"x","src_port":"y""#), r#""y""#, "src_port");
    // An escaped key is the same key.
    check_err_at(&rec(r#","src_\u0070ort":"x""#), r#""x""#, "src_port is not a port number");
    // Whitespace and nesting before the field do not confuse the search.
    let input = "{ \"tcp\" : {\"src_port\": [\"}\", {\"a\": \"\\\"\"}]} ,\n\t\"src_port\" : true, \"event_type\":\"flow\", \"timestamp\":\"2024-03-01T02:15:00Z\"}";
    check_err_at(input, "true", "src_port is not a port number");
}

#[test]
fn locate_finds_values_and_only_values() {
    let input = br#" {"a": {"b": [1, {"c": 2}], "c": "x,}"}, "d" : -1.5e3 , "e":{}} "#;
    let at = |path: &[&str]| locate(input, path);
    assert_eq!(at(&[]), Some(1));
    assert_eq!(at(&["a"]).map(|i| input[i]), Some(b'{'));
    assert_eq!(at(&["a", "c"]).map(|i| &input[i..i + 3]), Some(&br#""x,"#[..]));
    assert_eq!(at(&["d"]).map(|i| &input[i..i + 3]), Some(&b"-1."[..]));
    assert_eq!(at(&["e"]).map(|i| &input[i..i + 2]), Some(&b"{}"[..]));
    assert_eq!(at(&["c"]), None, "only the top level's own keys");
    assert_eq!(at(&["a", "b", "c"]), None, "no path through arrays");
    assert_eq!(at(&["z"]), None);
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("event_type".to_owned()),
        Just("timestamp".to_owned()),
        Just("alert".to_owned()),
        Just("anomaly".to_owned()),
        Just("src_ip".to_owned()),
        Just("src_port".to_owned()),
        Just("flow_id".to_owned()),
        Just("signature_id".to_owned()),
        Just("signature".to_owned()),
        Just("severity".to_owned()),
        Just("flow".to_owned()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from("alert")),
        Just(Value::from("anomaly")),
        Just(Value::from("2024-03-01T02:15:00.000100+0100")),
        Just(Value::from("10.20.4.17")),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the bytes, the parser answers (it never panics) and an error
    /// points inside the input.
    #[test]
    fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = parse(&bytes) {
            prop_assert!(e.offset <= bytes.len());
        }
    }

    /// Text made of JSON's own characters, mostly not JSON, gets an answer too.
    #[test]
    fn json_ish_text_gets_an_answer(text in r#"[{}\[\]":,0-9a-z_. \\+-]{0,200}"#) {
        if let Err(e) = parse(text.as_bytes()) {
            prop_assert!(e.offset <= text.len());
        }
    }

    /// Any JSON document, with EVE's field names at any depth and values of
    /// any type: an answer, an error inside the input, and a record that
    /// says what the document said.
    #[test]
    fn any_json_gets_an_answer(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) };
        let text = text.unwrap_or_default();
        match parse(text.as_bytes()) {
            Ok(r) => prop_assert_eq!(Some(r.event_type.as_str()), value["event_type"].as_str()),
            Err(e) => prop_assert!(e.offset < text.len(), "{} at {} of {}", e, e.offset, text.len()),
        }
    }

    /// Records built from parts parse back into those parts, whichever way
    /// the offset is written.
    #[test]
    fn built_records_round_trip(
        secs in 0i64..253_402_300_799,
        micros in 0u32..1_000_000,
        offset_minutes in -1439i32..=1439,
        colon in any::<bool>(),
        src in any::<IpAddr>(),
        dest in any::<IpAddr>(),
        ports in (any::<u16>(), any::<u16>()),
        flow_id in any::<u64>(),
        sid in any::<u32>(),
        severity in any::<u8>(),
        signature in ".{1,100}",
        event_type in "[a-z_]{1,12}",
    ) {
        let Some(tz) = FixedOffset::east_opt(offset_minutes * 60) else {
            return Err(TestCaseError::fail("offset out of chrono's range"));
        };
        let t = DateTime::from_timestamp(secs, micros * 1000).unwrap_or_default().with_timezone(&tz);
        let stamp = t.format(if colon { "%Y-%m-%dT%H:%M:%S%.6f%:z" } else { "%Y-%m-%dT%H:%M:%S%.6f%z" }).to_string();
        let line = json!({
            "timestamp": stamp, "event_type": event_type, "flow_id": flow_id,
            "src_ip": src.to_string(), "src_port": ports.0, "dest_ip": dest.to_string(), "dest_port": ports.1,
            "alert": {"signature_id": sid, "signature": signature, "severity": severity},
        }).to_string();
        let r = parse(line.as_bytes());
        prop_assert!(r.is_ok(), "{} rejected: {:?}", line, r);
        if let Ok(r) = r {
            prop_assert_eq!(r.timestamp, t);
            prop_assert_eq!(r.timestamp.offset(), &tz);
            prop_assert_eq!(r.event_type, event_type);
            prop_assert_eq!(r.flow_id, Some(flow_id));
            prop_assert_eq!((r.src_ip, r.dest_ip), (Some(src), Some(dest)));
            prop_assert_eq!((r.src_port, r.dest_port), (Some(ports.0), Some(ports.1)));
            let a = r.alert.map(|a| (a.signature_id, a.signature, a.severity));
            prop_assert_eq!(a, Some((sid, signature, Some(severity))));
        }
    }

    /// Timestamps written the RFC 3339 way parse to the same instant as
    /// chrono reads them.
    #[test]
    fn rfc3339_timestamps_agree_with_chrono(secs in 0i64..253_402_300_799, nanos in 0u32..1_000_000_000, offset_minutes in -1439i32..=1439) {
        let Some(tz) = FixedOffset::east_opt(offset_minutes * 60) else {
            return Err(TestCaseError::fail("offset out of chrono's range"));
        };
        let t = DateTime::from_timestamp(secs, nanos).unwrap_or_default().with_timezone(&tz);
        let text = t.to_rfc3339();
        prop_assert_eq!(parse_timestamp(&text), Ok(t));
        prop_assert_eq!(DateTime::parse_from_rfc3339(&text).ok(), Some(t));
    }
}

/// The whole JSON shape of the fixture file's records and of a few broken
/// ones, reviewed once and pinned: any change to what `wardwatch parse
/// --format eve` prints shows up here.
#[test]
fn parse_results_snapshot() {
    let broken = [
        "{\"timestamp\":\"2024-03-01T02:15:00.000100+0100\",\"event_type\":\"alert\",\"alert\":{\"signature_id\":\"9000101\",\"signature\":\"x\"}}",
        "{\"timestamp\":\"2024-03-01 02:15:00\",\"event_type\":\"flow\"}",
        "{\"timestamp\":\"2024-03-01T02:15:00Z\",\"event_type\":\"dns\",\"src_ip\":\"10.20.8.411\"}",
        "{\"timestamp\":\"2024-03-01T02:15:00Z\"",
        "<13>1 - - - - - - not EVE",
    ];
    let results: Vec<Value> = FIXTURE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .chain(broken)
        .map(|l| match parse(l.as_bytes()) {
            Ok(r) => json!({"ok": r}),
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    insta::assert_json_snapshot!(results);
}
