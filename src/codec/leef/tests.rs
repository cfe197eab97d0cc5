use proptest::prelude::*;
use serde_json::{json, Value};

use super::{find, parse};

/// Parses `input` and compares the JSON form of the result with `expected`.
#[track_caller]
fn check(input: &str, expected: Value) {
    let got = parse(input).map(|r| serde_json::to_value(r).unwrap_or(Value::Null));
    assert_eq!(got, Ok(expected), "input {input:?}");
}

/// Compares the delimiter and the attributes of `input`.
#[track_caller]
fn check_attrs(input: &str, delimiter: &str, attributes: Value) {
    let got = parse(input).map(|r| json!(r)).map(|r| (r["delimiter"].clone(), r["attributes"].clone()));
    assert_eq!(got, Ok((json!(delimiter), attributes)), "input {input:?}");
}

/// Expects a rejection at byte `offset` whose reason contains `reason`.
#[track_caller]
fn check_err(input: &str, offset: usize, reason: &str) {
    match parse(input) {
        Ok(r) => panic!("input {input:?} was accepted as {r:?}"),
        Err(e) => {
            assert!(e.reason.contains(reason), "input {input:?}: reason {:?}", e.reason);
            assert_eq!(e.offset, offset, "input {input:?}: {e}");
        }
    }
}

#[test]
fn whole_records() {
    check(
        "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black",
        json!({"version": "1.0", "vendor": "Microsoft", "product": "MSExchange", "product_version": "4.0 SP1",
               "event_id": "15345", "delimiter": "\t",
               "attributes": {"src": "192.0.2.0", "dst": "172.50.123.1", "sev": "5", "cat": "anomaly",
                              "srcPort": "81", "dstPort": "21", "usrName": "joe.black"}}),
    );
    check(
        "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
        json!({"version": "2.0", "vendor": "Lancope", "product": "StealthWatch", "product_version": "1.0",
               "event_id": "41", "delimiter": "^",
               "attributes": {"src": "10.0.1.8", "dst": "10.0.0.5", "sev": "5", "srcPort": "81", "dstPort": "21"}}),
    );
    check(
        "LEEF:2.0|V|P|1|E||",
        json!({"version": "2.0", "vendor": "V", "product": "P", "product_version": "1", "event_id": "E",
               "delimiter": "\t", "attributes": {}}),
    );
}

#[test]
fn versions_and_headers() {
    let head = |s: &str| parse(s).map(|r| [r.version, r.vendor, r.product, r.product_version, r.event_id]);
    let owned = |a: [&str; 5]| a.map(str::to_owned);
    assert_eq!(head("LEEF:1.0|a|b|c|d|"), Ok(owned(["1.0", "a", "b", "c", "d"])));
    assert_eq!(head("LEEF:1|a|b|c|d|"), Ok(owned(["1.0", "a", "b", "c", "d"])));
    assert_eq!(head("LEEF:2|a|b|c|d|^|"), Ok(owned(["2.0", "a", "b", "c", "d"])));
    assert_eq!(head("  LEEF:1.0|a\\|x|b\\\\|c|d|"), Ok(owned(["1.0", "a|x", "b\\", "c", "d"])));
    assert_eq!(head("LEEF:1.0|a|b|c|d"), Ok(owned(["1.0", "a", "b", "c", "d"])));
    assert_eq!(head("LEEF:2.0|a|b|c|d"), Ok(owned(["2.0", "a", "b", "c", "d"])));
    assert_eq!(head("LEEF:2.0|a|b|c|d|"), Ok(owned(["2.0", "a", "b", "c", "d"])));
    assert_eq!(head("LEEF:1.0|||||"), Ok(owned(["1.0", "", "", "", ""])));
}

#[test]
fn leef1_attributes_are_tab_separated() {
    let leef1 = |attrs: &str| format!("LEEF:1.0|V|P|1|E|{attrs}");
    check_attrs(&leef1("a=1\tb=2"), "\t", json!({"a": "1", "b": "2"}));
    check_attrs(&leef1("a=one two\tb=x=y"), "\t", json!({"a": "one two", "b": "x=y"}));
    check_attrs(&leef1("a=1\t\tb=2\t"), "\t", json!({"a": "1", "b": "2"}));
    check_attrs(&leef1("a=1\tb=2 \r\n"), "\t", json!({"a": "1", "b": "2"}));
    check_attrs(&leef1("a=\tb="), "\t", json!({"a": "", "b": ""}));
    check_attrs(&leef1(" a = 1 \tb=2"), "\t", json!({"a": " 1 ", "b": "2"}));
    check_attrs(&leef1("a=x|y\\|z"), "\t", json!({"a": "x|y\\|z"}));
    check_attrs(&leef1("a=1\tcontinued\tb=2"), "\t", json!({"a": "1\tcontinued", "b": "2"}));
    check_attrs(&leef1("a=1\t=x"), "\t", json!({"a": "1\t=x"}));
    check_attrs(&leef1("a=1\ta=2"), "\t", json!({"a": "2"}));
    check_attrs(&leef1(""), "\t", json!({}));
    check_attrs(&leef1("msg=ユーザー\tsev=3"), "\t", json!({"msg": "ユーザー", "sev": "3"}));
}

#[test]
fn leef2_delimiters() {
    let leef2 = |delim: &str, attrs: &str| format!("LEEF:2.0|V|P|1|E|{delim}|{attrs}");
    check_attrs(&leef2("^", "a=1^b=2"), "^", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("x5E", "a=1^b=2"), "^", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("0x5E", "a=1^b=2"), "^", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("0x5e", "a=1^b=2"), "^", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("X5E", "a=1^b=2"), "^", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("x09", "a=1\tb=2"), "\t", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("", "a=1\tb=2"), "\t", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2(";", "a=1;b=2 3"), ";", json!({"a": "1", "b": "2 3"}));
    check_attrs(&leef2(" ", "a=1 b=2"), " ", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("x", "a=1xb=2"), "x", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("0x2603", "a=1☃b=2"), "☃", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("☃", "a=1☃b=2"), "☃", json!({"a": "1", "b": "2"}));
    check_attrs(&leef2("^", "a=1\tb=2"), "^", json!({"a": "1\tb=2"}));
    check_attrs(&leef2("^", "url=http://h/?a=1^x^b=2"), "^", json!({"url": "http://h/?a=1^x", "b": "2"}));
}

#[test]
fn rejections_name_the_place() {
    check_err("", 0, "expected \"LEEF:\"");
    check_err("CEF:0|a|b|c|d|e|f|", 0, "expected \"LEEF:\"");
    check_err("leef:1.0|a|b|c|d|", 0, "expected \"LEEF:\"");
    check_err("LEEF:1.0", 8, "'|' after the LEEF version");
    check_err("LEEF:3.0|a|b|c|d|", 5, "unsupported LEEF version");
    check_err("LEEF:1.5|a|b|c|d|", 5, "unsupported LEEF version");
    check_err("LEEF:|a|b|c|d|", 5, "unsupported LEEF version");
    check_err("LEEF:1.0|a|b", 12, "3 of its 5 fields");
    check_err("LEEF:2.0|a|b|c", 14, "4 of its 6 fields");
    check_err("LEEF:2.0|V|P|1|E|src=1.2.3.4", 28, "'|' after the delimiter field");
    check_err("LEEF:2.0|V|P|1|E|^^|a=1", 17, "one character or its hex code");
    check_err("LEEF:2.0|V|P|1|E|x5G|a=1", 17, "one character or its hex code");
    check_err("LEEF:2.0|V|P|1|E|0x|a=1", 17, "one character or its hex code");
    check_err("LEEF:2.0|V|P|1|E|x12345|a=1", 17, "one character or its hex code");
    check_err("LEEF:2.0|V|P|1|E|x00|a=1", 17, "one character or its hex code");
    check_err("LEEF:2.0|V|P|1|E|xD800|a=1", 17, "one character or its hex code");
    check_err("LEEF:1.0|V|P|1|E|no pairs", 17, "key=value");
    check_err("LEEF:1.0|V|P|1|E|\t\tno pairs\ta=1", 19, "key=value");
    check_err("LEEF:2.0|V|P|1|E|^|a b=1", 19, "key=value");
}

#[test]
fn find_skips_prefixes() {
    let cases: &[(&[u8], Option<usize>)] = &[
        (b"LEEF:1.0|", Some(0)),
        (b"LEEF:2|", Some(0)),
        (b"Nov 16 21:24:18 host LEEF:2.0|V", Some(21)),
        (b"LEEF: LEEF:1.|", Some(6)),
        (b"LEEF:1.0", None),
        (b"LEEF:.0|", None),
        (b"leef:1.0|", None),
        (b"", None),
    ];
    for &(input, want) in cases {
        assert_eq!(find(input), want, "input {:?}", String::from_utf8_lossy(input));
    }
}

proptest! {
    /// Whatever the text, the parser answers (it never panics) and an error
    /// points inside the text.
    #[test]
    fn any_text_gets_an_answer(text in "(LEEF:(1.0|2.0)\\|)?[\\PC\\\\|=^ \t]{0,200}") {
        if let Err(e) = parse(&text) {
            prop_assert!(e.offset <= text.len());
        }
    }

    #[test]
    fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&String::from_utf8_lossy(&bytes));
        if let Some(at) = find(&bytes) {
            prop_assert!(bytes[at..].starts_with(b"LEEF:"));
        }
    }

    /// Records written from parts parse back into them, for each way of
    /// naming the delimiter.
    #[test]
    fn built_records_round_trip(
        spec in prop_oneof![Just(("", '\t')), Just(("^", '^')), Just(("x5E", '^')), Just(("0x7C", '|')), Just(("~", '~'))],
        header in proptest::array::uniform4("[^|\\\\\r\n]{0,12}"),
        pairs in proptest::collection::vec(("[A-Za-z][A-Za-z0-9_]{0,10}", "[^\t^|~\r\n]{0,20}"), 0..6),
    ) {
        let (name, delim) = spec;
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let line = format!("LEEF:2.0|{}|{name}|{}", header.join("|"), body.join(&delim.to_string()));
        let r = parse(&line);
        prop_assert!(r.is_ok(), "{:?} rejected: {:?}", line, r);
        if let Ok(r) = r {
            prop_assert_eq!(r.delimiter, delim);
            prop_assert_eq!([r.vendor, r.product, r.product_version, r.event_id], header);
            // Whitespace at the very end of the record is dropped.
            let mut want = pairs.clone();
            if let Some((_, v)) = want.last_mut() {
                *v = v.trim_end().to_owned();
            }
            prop_assert_eq!(r.attributes, want, "line {:?}", line);
        }
    }
}

/// The whole JSON shape of typical and broken records, reviewed once and pinned.
#[test]
fn parse_results_snapshot() {
    let inputs = [
        "LEEF:1.0|Cynerio|Healthcare IoT|3.1|ANOMALY-12|cat=Anomalous traffic\tsev=9\tsrc=10.30.4.2\tdst=198.51.100.20\tsrcPort=40001\tdstPort=22\tproto=TCP\tidentHostName=infusion-07\tdevTime=Apr 30 2024 23:59:01",
        "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
        "LEEF:2.0|Ordr|Systems Engine|7.2|DEV-NEW|x5E|cat=New device^srcMAC=00:1B:63:84:45:E6^identHostName=mri-console-2^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ^devTime=2024-04-30T10:00:00.250+0200",
        "LEEF:2.0|Asimily|Insight|2.9|VULN|0x7C|sev=7|cat=Vulnerability|usrName=biomed\\ops|msg=Unpatched SMBv1 on PACS",
        "LEEF:1.0|IBM|QRadar|7.5|LOGIN|usrName=nurse.a\tsrc=10.9.9.9\tmsg=Login failed\tafter three tries\tsev=4",
        "LEEF:2.0|V|P|1|E||a=1\tb=2",
        "LEEF:1.0|V|P|1|E",
        "LEEF:2.0|V|P|1|E|^^|a=1",
        "LEEF:1.0|V|P",
    ];
    let results: Vec<Value> = inputs
        .iter()
        .map(|i| match parse(i) {
            Ok(r) => json!({"ok": r}),
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    insta::assert_json_snapshot!(results);
}
