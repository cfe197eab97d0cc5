use serde_json::Value;

use crate::support::run;

fn parse_lines(args: &[&str], input: &[u8]) -> anyhow::Result<Vec<Value>> {
    let out = run(args, Some(input))?;
    anyhow::ensure!(
        out.status.success(),
        "parse exited {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)?.lines().map(|l| Ok(serde_json::from_str(l)?)).collect()
}

#[test]
fn one_result_per_line_in_order_and_bad_messages_do_not_stop_it() -> anyhow::Result<()> {
    let input = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed\nnot syslog\n<165>1 - - - - - [ex@1 a=\"b\\\"c\"] hi\n";
    let results = parse_lines(&["parse", "--format", "rfc5424"], input)?;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["syslog"]["facility"], 4);
    assert_eq!(results[0]["syslog"]["severity"], 2);
    assert_eq!(results[0]["syslog"]["hostname"], "mymachine.example.com");
    assert_eq!(results[0]["syslog"]["procid"], Value::Null);
    assert_eq!(results[0]["alert"]["severity"], 8);
    assert_eq!(results[0]["alert"]["event_class"], "ID47");
    assert_eq!(results[1]["ok"], false);
    assert!(results[1]["error"].as_str().is_some_and(|e| e.contains("at byte 0")), "{}", results[1]);
    assert_eq!(results[2]["syslog"]["structured_data"]["ex@1"]["a"], "b\"c");
    Ok(())
}

#[test]
fn jsonl_takes_text_and_hex_and_reports_unreadable_lines() -> anyhow::Result<()> {
    let input = concat!(
        "{\"input\": \"<1>1 - - - - - - x\\ny\"}\n",
        "{\"input_hex\": \"3c313e31202d202d202d202d202d202d20f6\"}\n",
        "\n",
        "{not json\n",
        "{\"input_hex\": \"3c3\"}\n",
    );
    let results = parse_lines(&["parse", "--jsonl"], input.as_bytes())?;
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(results[0]["syslog"]["message"], "x\ny");
    assert_eq!(results[1]["syslog"]["message"], "\u{fffd}");
    assert_eq!(results[1]["alert"]["raw_encoding"], "hex");
    assert_eq!(results[2]["ok"], false);
    assert!(results[2]["error"].as_str().is_some_and(|e| e.starts_with("input line 4")));
    assert!(results[3]["error"].as_str().is_some_and(|e| e.contains("odd")));
    Ok(())
}

#[test]
fn eve_records_as_the_conformance_checker_feeds_them() -> anyhow::Result<()> {
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/eve/icu-sensor.jsonl"))?;
    let records: Vec<&str> = fixture.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut input = String::new();
    for line in records
        .iter()
        .copied()
        .chain([r#"{"timestamp":"2024-03-01T02:15:00Z","event_type":"alert"}"#, "not json"])
    {
        input.push_str(&serde_json::to_string(&serde_json::json!({ "input": line }))?);
        input.push('\n');
    }
    let results = parse_lines(&["parse", "--format", "eve", "--jsonl"], input.as_bytes())?;
    assert_eq!(results.len(), records.len() + 2, "one result per input, bad ones included");

    let kinds: Vec<(&str, bool)> = results[..records.len()]
        .iter()
        .map(|r| (r["eve"]["event_type"].as_str().unwrap_or("?"), r["alert"].is_object()))
        .collect();
    #[rustfmt::skip]
    assert_eq!(kinds, [
        ("alert", true), ("alert", true), ("alert", true), ("anomaly", true), ("anomaly", true),
        ("flow", false), ("dns", false), ("dns", false), ("tls", false), ("http", false),
        ("fileinfo", false), ("stats", false),
    ]);
    for (r, line) in results.iter().zip(&records) {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["format"], "eve");
        if !r["alert"].is_object() {
            assert_eq!(r["alert"], Value::Null, "{r}");
            continue;
        }
        assert_eq!(r["alert"]["raw"], *line, "the raw line is kept verbatim");
        assert_eq!(r["alert"]["vendor"], "OISF");
        assert_eq!(r["alert"]["src_ip"], r["eve"]["src_ip"]);
        assert_eq!(r["alert"]["dst_ip"], r["eve"]["dest_ip"]);
    }

    let first = &results[0];
    assert_eq!(first["eve"]["timestamp"], "2024-03-01T02:14:07.513267+01:00");
    assert_eq!(first["eve"]["alert"]["signature_id"], 2024218);
    assert_eq!(first["alert"]["event_class"], "2024218");
    assert_eq!(first["alert"]["name"], "ET EXPLOIT Possible ETERNALBLUE Probe MS17-010 (MSF style)");
    assert_eq!(first["alert"]["severity"], 8);
    assert_eq!(first["alert"]["hostname"], "ids-icu-1");
    assert_eq!(results[3]["alert"]["event_class"], "anomaly:decode:decoder.ipv4.trunc_pkt");
    assert_eq!(results[6]["eve"]["details"]["answers"][0]["rdata"], "203.0.113.80");
    assert_eq!(results[7]["eve"]["src_ip"], "fe80::202:b3ff:fe1e:8329");

    let missing = &results[records.len()];
    assert_eq!(missing["ok"], false);
    assert!(missing["error"].as_str().is_some_and(|e| e.contains("alert is missing")), "{missing}");
    let garbage = &results[records.len() + 1];
    assert!(garbage["error"].as_str().is_some_and(|e| e.starts_with("eve: not JSON")), "{garbage}");
    Ok(())
}

#[test]
fn alerts_on_an_empty_directory_fails_with_a_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("none");
    let out = run(&["alerts", "--data-dir", path.to_str().unwrap_or("")], None)?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Wardwatch data"));
    Ok(())
}

#[test]
fn rfc3164_lines_parse_with_their_variants() -> anyhow::Result<()> {
    let input = concat!(
        "<34>Oct 11 22:14:15 mymachine su[812]: 'su root' failed for lonvick on /dev/pts/8\n",
        "<166>Jan 05 2024 10:00:00: %ASA-6-302013: Built outbound TCP connection\n",
        "<999>Oct 11 22:14:15 mymachine su: x\n",
    );
    let results = parse_lines(&["parse", "--format", "rfc3164"], input.as_bytes())?;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["format"], "rfc3164");
    assert_eq!(results[0]["syslog"]["hostname"], "mymachine");
    assert_eq!(results[0]["syslog"]["appname"], "su");
    assert_eq!(results[0]["syslog"]["procid"], "812");
    assert_eq!(results[0]["syslog"]["version"], Value::Null);
    // The year comes from the time of parsing; the rest is as sent.
    let ts = results[0]["syslog"]["timestamp"].as_str().unwrap_or_default();
    assert!(ts.ends_with("-10-11T22:14:15Z"), "{ts}");
    assert_eq!(results[0]["alert"]["severity"], 8);
    assert_eq!(results[0]["alert"]["format"], "rfc3164");
    assert_eq!(results[1]["syslog"]["timestamp"], "2024-01-05T10:00:00Z");
    assert_eq!(results[1]["syslog"]["hostname"], Value::Null);
    assert_eq!(results[1]["alert"]["event_class"], "ASA-6-302013");
    assert_eq!(results[1]["alert"]["name"], "Built outbound TCP connection");
    assert_eq!(results[2]["ok"], false);
    assert_eq!(results[2]["format"], "rfc3164");
    assert!(results[2]["error"].as_str().is_some_and(|e| e.contains("over 191 at byte 1")), "{}", results[2]);
    Ok(())
}
