//! The HTTP JSON listener, driven by the real `curl` against the real
//! `wardwatch serve`, with tokens made by `wardwatch token new`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::support::{run, wait_for_alerts, Serve};

/// A token made by `wardwatch token new`, and the TOML lines it printed.
pub(crate) fn new_token(name: &str) -> anyhow::Result<(String, String)> {
    let out = run(&["token", "new", "--name", name], None)?;
    anyhow::ensure!(out.status.success(), "token new failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    let token = text.lines().find(|l| l.starts_with("ww_")).context("no token printed")?.to_owned();
    let toml = text.split_once("[[http.tokens]]").map(|(_, rest)| format!("[[http.tokens]]{rest}"));
    Ok((token, toml.context("no TOML printed")?))
}

/// A console with an http:// listener, one enabled and one disabled token.
struct Fixture {
    dir: tempfile::TempDir,
    serve: Serve,
    url: String,
    token: String,
    disabled: String,
}

impl Fixture {
    fn start() -> anyhow::Result<Self> {
        Self::start_with("")
    }

    /// Starts with `settings` (TOML) added to the configuration file; logs go to `serve.log`.
    fn start_with(settings: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (token, entry) = new_token("gw-icu")?;
        let (disabled, old) = new_token("gw-old")?;
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!("max_message_bytes = 4096\n{settings}\n{entry}\n{old}disabled = true\n"),
        )?;
        let config = config.to_str().context("non-UTF-8 temp dir")?;
        let data = dir.path().join("data");
        let log = dir.path().join("serve.log");
        let serve =
            Serve::start_logging(&data, &["--config", config, "--listen", "http://127.0.0.1:0"], &log)?;
        let url = format!("http://{}/v1/alerts", serve.http.context("no http listener")?);
        Ok(Self { dir, serve, url, token, disabled })
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(self.dir.path().join("serve.log"))?)
    }

    /// POSTs `body` as JSON with `token`.
    fn post(&self, token: &str, body: &str) -> anyhow::Result<Reply> {
        let auth = format!("Authorization: Bearer {token}");
        curl(&[
            "-X",
            "POST",
            &self.url,
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ])
    }
}

/// What curl got back.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: String,
    body: Value,
}

/// Runs curl with `args`, returning the final response.
fn curl(args: &[&str]) -> anyhow::Result<Reply> {
    let out = Command::new("curl").args(["-sS", "-D", "-", "--max-time", "20"]).args(args).output()?;
    anyhow::ensure!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout)?;
    let (headers, body) = text.split_once("\r\n\r\n").context("no header end")?;
    let status = headers.split_whitespace().nth(1).context("no status")?.parse()?;
    let body = serde_json::from_str(body).with_context(|| format!("body is not JSON: {body:?}"))?;
    Ok(Reply { status, headers: headers.to_ascii_lowercase(), body })
}

/// Polls `wardwatch status --json` until `done` holds for the http listener's counters.
fn wait_for_counters(data: &Path, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let dir = data.to_str().context("non-UTF-8 temp dir")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run(&["status", "--data-dir", dir, "--json"], None)?;
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let http = v["status"]["listeners"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["url"].as_str().is_some_and(|u| u.starts_with("http://"))))
            .cloned()
            .unwrap_or_default();
        if done(&http["counters"]) {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting; last status {v}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_alert_and_a_batch_are_accepted_and_stored() -> anyhow::Result<()> {
    let f = Fixture::start()?;
    let one = r#"{"event_class":"PUMP-FW","name":"Unsigned firmware upload","severity":9,"device":{"hostname":"pump-icu-3","mac":"00:1b:63:84:45:e6"},"src_ip":"10.20.0.5","dst_port":443,"observed_at":"2024-05-01T10:00:00Z","clinical_use":"in_use"}"#;
    let r = f.post(&f.token, one)?;
    assert_eq!((r.status, &r.body), (202, &json!({"accepted": 1})), "{r:?}");
    let batch = r#"[{"event_class":"MON","name":"Telnet opened","severity":6},{"event_class":"GLU","name":"Beacon","severity":2}]"#;
    let r = f.post(&f.token, batch)?;
    assert_eq!((r.status, &r.body), (202, &json!({"accepted": 2})), "{r:?}");
    let r = f.post(&f.token, "[]")?;
    assert_eq!((r.status, &r.body), (202, &json!({"accepted": 0})), "{r:?}");

    let alerts = wait_for_alerts(&f.data(), 10, |a| a.len() == 3)?;
    let mut names: Vec<&str> = alerts.iter().filter_map(|a| a["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Beacon", "Telnet opened", "Unsigned firmware upload"]);
    let pump = alerts.iter().find(|a| a["event_class"] == "PUMP-FW").context("no pump alert")?;
    assert_eq!(pump["format"], "json");
    assert_eq!(pump["severity"], 9);
    assert_eq!(pump["severity_label"], "critical");
    assert_eq!(pump["hostname"], "pump-icu-3");
    assert_eq!(pump["src_ip"], "10.20.0.5");
    assert_eq!(pump["dst_port"], 443);
    assert_eq!(pump["event_time"], "2024-05-01T10:00:00Z");
    assert_eq!(pump["listener"], "http://127.0.0.1:0");
    assert_eq!(pump["raw"], one, "the body is kept verbatim");
    // Each alert of a batch keeps its own object.
    let mon = alerts.iter().find(|a| a["event_class"] == "MON").context("no monitor alert")?;
    assert_eq!(mon["raw"], r#"{"event_class":"MON","name":"Telnet opened","severity":6}"#);

    wait_for_counters(&f.data(), |c| c["parsed"] == 3 && c["received"] == 3)?;
    let log = f.log()?;
    let last = f.serve.stop()?;
    assert!(last.contains("stopped: 3 alerts, 0 rejected"), "{last}");
    // The token's name is logged, the token never.
    assert!(log.contains("token=gw-icu") && log.contains("Alerts accepted."), "{log}");
    assert!(!log.contains(&f.token), "the token was logged");
    Ok(())
}

#[test]
fn refusals_carry_the_right_code_and_are_counted() -> anyhow::Result<()> {
    let f = Fixture::start()?;
    let good = r#"{"event_class":"E","name":"n","severity":1}"#;

    // 400: the field is named; the body is kept raw with the error.
    let bad = format!(r#"[{good},{good},{good},{{"event_class":"E","name":"n","severity":11}}]"#);
    let r = f.post(&f.token, &bad)?;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(
        r.body,
        json!({"error": "[3].severity: expected an integer from 0 to 10, found 11", "field": "[3].severity"})
    );
    let r = f.post(&f.token, r#"{"name":"n","severity":1}"#)?;
    assert_eq!((r.status, &r.body["field"]), (400, &json!("event_class")), "{r:?}");

    // 401 without a token, with a malformed header, with a wrong token; 403 with a disabled one.
    let r = curl(&["-X", "POST", &f.url, "-H", "Content-Type: application/json", "--data-binary", good])?;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.headers.contains("www-authenticate: bearer realm=\"wardwatch\""), "{}", r.headers);
    let r = curl(&[
        "-X",
        "POST",
        &f.url,
        "-H",
        "Authorization: Basic Zm9vOmJhcg==",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        good,
    ])?;
    assert_eq!(r.status, 401, "{r:?}");
    let r = f.post("ww_0000000000000000000000000000000000000000000000000000000000000000", good)?;
    assert_eq!((r.status, &r.body), (401, &json!({"error": "unknown bearer token"})), "{r:?}");
    assert!(r.headers.contains("www-authenticate: bearer"), "{}", r.headers);
    let r = f.post(&f.disabled, good)?;
    assert_eq!((r.status, &r.body), (403, &json!({"error": "token \"gw-old\" is disabled"})), "{r:?}");

    // 413: declared too large, and streamed too large (chunked, no Content-Length).
    let big = format!("[{}]", vec![good; 200].join(","));
    assert!(big.len() > 4096);
    let r = f.post(&f.token, &big)?;
    assert_eq!((r.status, &r.body), (413, &json!({"error": "body larger than 4096 bytes"})), "{r:?}");
    let auth = format!("Authorization: Bearer {}", f.token);
    let r = curl(&[
        "-X",
        "POST",
        &f.url,
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &big,
    ])?;
    assert_eq!(r.status, 413, "{r:?}");

    // 404, 405, 415.
    let other = f.url.replace("/v1/alerts", "/v2/alerts");
    let r = curl(&[
        "-X",
        "POST",
        &other,
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        good,
    ])?;
    assert_eq!(r.status, 404, "{r:?}");
    let r = curl(&[&f.url, "-H", &auth])?;
    assert_eq!(r.status, 405, "{r:?}");
    assert!(r.headers.contains("allow: post"), "{}", r.headers);
    let r =
        curl(&["-X", "POST", &f.url, "-H", &auth, "-H", "Content-Type: text/plain", "--data-binary", good])?;
    assert_eq!(
        (r.status, &r.body),
        (415, &json!({"error": "expected Content-Type: application/json"})),
        "{r:?}"
    );

    // Everything counted; only the two 400 bodies are stored, as rejected; no alert at all.
    let v = wait_for_counters(&f.data(), |c| {
        c["rejected"] == 2 && c["unauthorized"] == 4 && c["oversize"] == 2 && c["bad_requests"] == 3
    })?;
    let http = &v["status"]["listeners"];
    assert!(http.to_string().contains("\"parsed\":0"), "{http}");
    assert_eq!(v["stored"], json!({"alerts": 0, "rejected": 2}));
    let log = f.log()?;
    let last = f.serve.stop()?;
    assert!(last.contains("stopped: 0 alerts, 2 rejected, 2 oversize"), "{last}");
    assert!(log.contains("token=gw-old") && log.contains("Disabled token refused (403)."), "{log}");
    assert!(!log.contains(&f.token) && !log.contains(&f.disabled), "a token was logged");
    // Bodies are not logged either (they may carry patient data).
    let leaks: Vec<&str> = log.lines().filter(|l| l.contains("{\"event_class\"")).collect();
    assert!(leaks.is_empty(), "a body was logged: {leaks:?}");
    Ok(())
}

#[test]
fn https_without_tls_settings_does_not_start_and_says_why() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = crate::support::wardwatch()
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", "https://127.0.0.1:0"])
        .env("RUST_LOG", "off")
        .output()?;
    assert!(!out.status.success());
    let stdout = String::from_utf8(out.stdout)?;
    assert!(stdout.contains("failed https://127.0.0.1:0: could not start https://127.0.0.1:0:"), "{stdout}");
    assert!(stdout.contains("[tls]"), "the reason names the missing [tls] settings: {stdout}");
    Ok(())
}

/// `https://`: the same endpoint behind TLS, with the `[tls]` files of
/// `tls://` listeners; curl trusts only the test CA.
#[test]
fn https_takes_alerts_over_tls_and_counts_failed_handshakes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = crate::tls::Pki::new(&dir.path().join("pki"))?;
    let (token, entry) = new_token("gw-home")?;
    let config = pki.config_with(false, &format!("{entry}\n"))?;
    let config = config.to_str().context("non-UTF-8 temp dir")?;
    let data = dir.path().join("data");
    let serve = Serve::start_with(&data, &["--config", config, "--listen", "https://127.0.0.1:0"])?;
    let addr = serve.addr("https")?;
    let url = format!("https://localhost:{}/v1/alerts", addr.port());
    let ca = pki.path("ca.pem");
    let ca = ca.to_str().context("non-UTF-8 temp dir")?;
    let auth = format!("Authorization: Bearer {token}");
    let body = r#"{"event_class":"GLUCOSE-CLOUD","name":"Home glucose monitor talking to an unknown cloud host","severity":7}"#;
    let reply = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &format!("localhost:{}:127.0.0.1", addr.port()),
        "-X",
        "POST",
        &url,
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
    ])?;
    assert_eq!((reply.status, reply.body.clone()), (202, json!({"accepted": 1})));
    let alerts = wait_for_alerts(&data, 10, |a| a.len() == 1)?;
    assert_eq!(alerts[0]["format"], "json");
    assert!(alerts[0]["listener"].as_str().is_some_and(|l| l.starts_with("https://")), "{}", alerts[0]);

    // Without the CA, curl refuses the server; plain HTTP to the port fails the handshake.
    let untrusted = Command::new("curl").args(["-sS", "--max-time", "10", &url]).output()?;
    assert!(!untrusted.status.success(), "curl trusted a certificate it has no CA for");
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "10", &format!("http://{addr}/v1/alerts")])
        .output()?;
    assert!(!plain.status.success());
    crate::support::wait_for_counters(&data, "https", |c| c["handshake_failed"].as_u64().unwrap_or(0) >= 2)?;
    serve.stop()?;
    Ok(())
}

#[test]
fn silent_stalled_and_surplus_connections_are_closed() -> anyhow::Result<()> {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let f = Fixture::start_with("idle_timeout_secs = 2\nmax_connections = 2\n")?;
    let addr = f.serve.http.context("no http listener")?;
    let mut silent = TcpStream::connect(addr)?;
    // Slowloris: half a request, then nothing.
    let mut stalled = TcpStream::connect(addr)?;
    stalled.write_all(b"POST /v1/alerts HTTP/1.1\r\nHost: wardwatch\r\n")?;
    // Over max_connections: closed at once.
    let mut surplus = TcpStream::connect(addr)?;
    for (what, s) in [("surplus", &mut surplus), ("silent", &mut silent), ("stalled", &mut stalled)] {
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        let mut rest = Vec::new();
        // EOF (or a reset) ends the read; a timeout here means the server kept the connection.
        match s.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => bail!("{what} connection not closed by the server: {e}"),
        }
    }
    wait_for_counters(&f.data(), |c| c["refused"] == 1 && c["connections"] == 0)?;
    // The listener still serves.
    let r = f.post(&f.token, r#"{"event_class":"E","name":"after","severity":1}"#)?;
    assert_eq!(r.status, 202, "{r:?}");
    f.serve.stop()?;
    Ok(())
}

#[test]
fn parse_shows_the_json_layer_and_the_alert() -> anyhow::Result<()> {
    let input = concat!(
        r#"{"event_class":"E1","name":"one","severity":3,"device":{"mac":"00:1b:63:84:45:e6"},"clinical_use":"idle"}"#,
        "\n",
        r#"[{"event_class":"E2","name":"two","severity":7},{"event_class":"E3","name":"three","severity":10}]"#,
        "\n",
        r#"{"event_class":"E4","name":"four","severity":"high"}"#,
        "\n",
    );
    let out = run(&["parse", "--format", "json"], Some(input.as_bytes()))?;
    anyhow::ensure!(out.status.success(), "parse failed: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout)?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["format"], "json");
    assert_eq!(lines[0]["json"]["device"]["mac"], "00:1b:63:84:45:e6");
    assert_eq!(lines[0]["json"]["clinical_use"], "idle");
    assert_eq!(lines[0]["alert"]["severity_label"], "low");
    assert_eq!(lines[0]["alert"]["format"], "json");
    assert_eq!(lines[1]["alert"]["name"], "two");
    assert_eq!(lines[2]["alert"]["raw"], r#"{"event_class":"E3","name":"three","severity":10}"#);
    assert_eq!(
        lines[3],
        json!({"ok": false, "format": "json", "field": "severity",
               "error": "severity: expected an integer from 0 to 10, found a string"})
    );
    Ok(())
}

#[test]
fn token_names_that_would_break_the_config_file_are_refused() -> anyhow::Result<()> {
    for bad in ["", "gw icu", "gw\"icu", "gw\nicu"] {
        let out = run(&["token", "new", "--name", bad], None)?;
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert!(out.stdout.is_empty(), "a token was printed for {bad:?}");
    }
    Ok(())
}
