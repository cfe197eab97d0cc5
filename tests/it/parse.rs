use serde_json::{json, Value};

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

/// The header fields of our `cef` object under the names the oracles use.
fn cef_header_field(oracle_name: &str) -> Option<&'static str> {
    Some(match oracle_name {
        "cefVersion" | "CEFVersion" => "version",
        "deviceVendor" | "DeviceVendor" => "device_vendor",
        "deviceProduct" | "DeviceProduct" => "device_product",
        "deviceVersion" | "DeviceVersion" => "device_version",
        "deviceEventClassId" | "DeviceEventClassID" => "device_event_class_id",
        "name" | "Name" | "DeviceName" => "name",
        "severity" | "Severity" | "DeviceSeverity" => "severity",
        _ => return None,
    })
}

/// logstash-codec-cef names extensions by their long CEF names; Wardwatch
/// keeps the keys as sent. The short key of each long name in the fixtures.
fn cef_short_key(long: &str) -> &str {
    match long {
        "sourceAddress" => "src",
        "destinationAddress" => "dst",
        "sourcePort" => "spt",
        "destinationPort" => "dpt",
        "transportProtocol" => "proto",
        "message" => "msg",
        "deviceReceiptTime" => "rt",
        "deviceEventCategory" => "cat",
        "destinationHostName" => "dhost",
        "sourceUserName" => "suser",
        "requestUrl" => "request",
        "deviceCustomString1" => "cs1",
        "deviceCustomString1Label" => "cs1Label",
        other => other,
    }
}

#[test]
fn cef_fixtures_parse_as_their_oracles_expect() -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cef_cases.jsonl"))?;
    let cases: Vec<Value> = text.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    anyhow::ensure!(cases.len() >= 10, "only {} fixtures", cases.len());
    let input: String = cases.iter().map(|c| format!("{}\n", json!({"input": c["input"]}))).collect();
    let results = parse_lines(&["parse", "--format", "cef", "--jsonl"], input.as_bytes())?;
    assert_eq!(results.len(), cases.len());
    for (case, out) in cases.iter().zip(&results) {
        let input = &case["input"];
        if let Some(ours) = case.get("wardwatch") {
            // A deliberate disagreement with the oracle: what Wardwatch does instead.
            assert_eq!(out["ok"], ours["ok"], "{input}: {out}");
            continue;
        }
        assert_eq!(out["ok"], true, "{input}: {out}");
        assert_eq!(out["format"], "cef");
        let fields =
            case["expected"]["fields"].as_object().ok_or_else(|| anyhow::anyhow!("no fields: {case}"))?;
        let (cef, alert) = (&out["cef"], &out["alert"]);
        for (name, want) in fields {
            let got = match (name.as_str(), cef_header_field(name)) {
                // logstash's field for the text before "CEF:", which Wardwatch skips.
                ("syslog", _) => continue,
                ("cefVersion" | "CEFVersion", _) => Value::String(cef["version"].to_string()),
                (_, Some(header)) => cef[header].clone(),
                (_, None) => cef["extensions"][cef_short_key(name)].clone(),
            };
            assert_eq!(&got, want, "{input}: field {name}");
        }
        // The alert takes its fields from the record.
        assert_eq!(alert["format"], "cef");
        assert_eq!(alert["raw"], *input);
        if let Some(v) = fields.get("deviceVendor").or_else(|| fields.get("DeviceVendor")) {
            // An empty vendor is no vendor.
            let want = if v == "" { Value::Null } else { v.clone() };
            assert_eq!(alert["vendor"], want, "{input}");
        }
        if let Some(ip) = fields.get("sourceAddress") {
            assert_eq!(alert["src_ip"], *ip, "{input}");
        }
        if let Some(port) = fields.get("sourcePort").and_then(Value::as_str) {
            assert_eq!(alert["src_port"], port.parse::<u16>()?, "{input}");
        }
    }
    Ok(())
}

#[test]
fn cef_and_leef_come_bare_in_an_envelope_or_after_a_prefix() -> anyhow::Result<()> {
    let input = concat!(
        "<134>1 2024-05-01T10:00:00Z gw-icu-1 relay - - - \u{feff}CEF:0|Medigate|Sentinel|1|X|Pump beacon|High|src=10.0.0.1 dpt=443\n",
        "Nov 16 21:24:18 host CEF:0|a|b|c|d|e|5|x=1\n",
        "<134>Nov 16 21:24:18 host CEF:0|a|b|c|d|e|Low|\n",
        "no record\n",
        "CEF:0|a|b\n",
    );
    let r = parse_lines(&["parse", "--format", "cef"], input.as_bytes())?;
    assert_eq!(r.len(), 5);
    assert_eq!(r[0]["syslog"]["hostname"], "gw-icu-1");
    assert_eq!(r[0]["cef"]["severity"], "High");
    assert_eq!(r[0]["alert"]["severity"], 8);
    assert_eq!(r[0]["alert"]["hostname"], "gw-icu-1");
    assert_eq!(r[0]["alert"]["event_time"], "2024-05-01T10:00:00Z");
    assert_eq!(r[0]["alert"]["dst_port"], 443);
    assert_eq!(r[1]["cef"]["extensions"]["x"], "1");
    assert!(r[1].get("syslog").is_none(), "{}", r[1]);
    assert_eq!(r[2]["alert"]["severity"], 3, "an RFC 3164 envelope is a prefix");
    assert_eq!(r[3]["ok"], false);
    assert!(r[3]["error"].as_str().is_some_and(|e| e.contains("no CEF record")), "{}", r[3]);
    assert!(r[4]["error"].as_str().is_some_and(|e| e.contains("3 of its 7 fields")), "{}", r[4]);

    let input = concat!(
        "LEEF:1.0|Cynerio|IoT|3.1|ANOMALY|sev=9\tsrc=10.30.4.2\tdstPort=22\n",
        "<134>1 2024-05-01T10:00:00Z qradar app - - - LEEF:2.0|V|P|1|E|x5E|src=10.0.0.1^cat=Scan\n",
        "LEEF:2.0|V|P|1|E|^^|a=1\n",
    );
    let r = parse_lines(&["parse", "--format", "leef"], input.as_bytes())?;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["leef"]["attributes"]["dstPort"], "22");
    assert_eq!(r[0]["alert"]["severity"], 9);
    assert_eq!(r[0]["alert"]["dst_port"], 22);
    assert_eq!(r[1]["syslog"]["hostname"], "qradar");
    assert_eq!(r[1]["leef"]["delimiter"], "^");
    assert_eq!(r[1]["alert"]["event_class"], "Scan");
    assert_eq!(r[1]["alert"]["format"], "leef");
    assert_eq!(r[2]["ok"], false);
    assert_eq!(r[2]["format"], "leef");
    Ok(())
}

/// `wardwatch parse ... | head -1`: the reader closing the pipe early ends the
/// command quietly and successfully, not with an error or a backtrace.
#[test]
fn a_reader_that_stops_early_is_not_an_error() -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = crate::support::wardwatch()
        .args(["parse", "--format", "auto", "--jsonl"])
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?);
    let mut stdin = child.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    // Far more than a pipe holds, written from another thread so that
    // neither side waits on the other.
    let writer = std::thread::spawn(move || {
        let line = "{\"input\": \"<14>1 - h a - - - a message long enough to fill the pipe quickly\"}\n"
            .repeat(1000);
        for _ in 0..50 {
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    assert!(first.contains("\"ok\":true"), "{first}");
    drop(stdout);
    writer.join().map_err(|_| anyhow::anyhow!("writer thread panicked"))?;
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exited {}: {stderr}", out.status);
    assert!(stderr.is_empty(), "printed on stderr: {stderr}");
    Ok(())
}

/// `wardwatch bench | head -1`: the same for the benchmark's figures.
#[test]
fn bench_read_in_part_is_not_an_error() -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = crate::support::wardwatch()
        .args(["bench", "--seconds", "0.1", "--audit-records", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?);
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    assert!(first.starts_with("one core"), "{first}");
    drop(stdout);
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exited {}: {stderr}", out.status);
    assert!(stderr.is_empty(), "printed on stderr: {stderr}");
    Ok(())
}
