//! The commands over real IPC plumbing (Tauri's mock runtime), against a
//! real console: a real SQLite store in a temp dir and real sockets on
//! loopback. The context is the app's own (`generate_context!(test = true)`),
//! so the capability files decide what the window may call.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use wardwatch::keys::{KeySource, Passphrase};
use wardwatch::ConsoleConfig;
use wardwatch_app::{with_commands, AppState};

struct Harness {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    udp: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Keys from a recovery passphrase: these tests need no OS keyring.
fn keys() -> anyhow::Result<KeySource> {
    Ok(KeySource::Passphrase(Passphrase::new("correct horse battery staple".into())?))
}

fn harness(label: &str) -> anyhow::Result<Harness> {
    let dir = tempfile::tempdir()?;
    let mut config = ConsoleConfig::new(dir.path());
    config.listen = vec!["udp://127.0.0.1:0".parse()?, "tcp://127.0.0.1:0".parse()?];
    let state = AppState::start(config, &keys()?);
    let udp = state
        .console()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .listeners()
        .iter()
        .find(|l| l.url.starts_with("udp"))
        .and_then(|l| l.bound_addr)
        .ok_or_else(|| anyhow::anyhow!("udp listener did not bind"))?;
    let app = with_commands(mock_builder()).manage(state).build(tauri::generate_context!(test = true))?;
    let window = WebviewWindowBuilder::new(&app, label, Default::default()).build()?;
    Ok(Harness { _app: app, window, udp, _dir: dir })
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().map_err(|e| json!(format!("{e}")))?,
        body: InvokeBody::Json(body),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request).map(|b| b.deserialize::<Value>().unwrap_or(Value::Null))
}

#[test]
fn list_alerts_returns_what_arrived_over_the_network_newest_first() -> anyhow::Result<()> {
    let h = harness("main")?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"<14>1 - gw sentinel - - - first alert", h.udp)?;
    sock.send_to(b"<9>1 - gw sentinel - EXPLOIT - second alert", h.udp)?;

    let deadline = Instant::now() + Duration::from_secs(10);
    let alerts = loop {
        let v = invoke(&h.window, "list_alerts", json!({"limit": 10})).map_err(|e| anyhow::anyhow!("{e}"))?;
        if v.as_array().is_some_and(|a| a.len() == 2) || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let names: Vec<&str> =
        alerts.as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["second alert", "first alert"]);
    assert_eq!(alerts[0]["severityLabel"], "critical");
    assert_eq!(alerts[0]["eventClass"], "EXPLOIT");
    assert!(alerts[0]["id"].as_i64().is_some_and(|id| id > 0));
    Ok(())
}

#[test]
fn list_rejected_shows_what_could_not_be_read_exactly_as_it_came() -> anyhow::Result<()> {
    let h = harness("main")?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"<999>1 - - - - - - priority too high", h.udp)?;
    sock.send_to(b"<14>1  2026-11-28T10:00:00Z pump-7 gw - - - two spaces", h.udp)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let (rejected, alerts) = loop {
        let r =
            invoke(&h.window, "list_rejected", json!({"limit": 10})).map_err(|e| anyhow::anyhow!("{e}"))?;
        let a = invoke(&h.window, "list_alerts", json!({"limit": 10})).map_err(|e| anyhow::anyhow!("{e}"))?;
        let done = r.as_array().is_some_and(|r| r.len() == 1) && a.as_array().is_some_and(|a| a.len() == 1);
        if done || Instant::now() > deadline {
            break (r, a);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(rejected[0]["raw"], "<999>1 - - - - - - priority too high");
    assert_eq!(rejected[0]["rawEncoding"], "utf8");
    assert_eq!(rejected[0]["rawLen"], 36);
    assert!(rejected[0]["error"].as_str().is_some_and(|e| e.contains("priority is over 191")), "{rejected}");
    assert!(rejected[0]["id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(alerts[0]["parseMode"], "lenient");
    assert_eq!(alerts[0]["deviations"], json!(["2 spaces after the version"]));
    Ok(())
}

#[test]
fn listener_status_and_console_info_describe_the_running_console() -> anyhow::Result<()> {
    let h = harness("main")?;
    let listeners = invoke(&h.window, "listener_status", json!({})).map_err(|e| anyhow::anyhow!("{e}"))?;
    let states: Vec<&str> =
        listeners.as_array().into_iter().flatten().filter_map(|l| l["state"].as_str()).collect();
    assert_eq!(states, ["listening", "listening"]);
    assert_eq!(listeners[0]["counters"]["received"], 0);
    let info = invoke(&h.window, "console_info", json!({})).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(info["simulated"], false);
    assert!(info["dataDir"].as_str().is_some_and(|d| !d.is_empty()));
    Ok(())
}

#[test]
fn integrity_status_says_the_store_writes_and_the_audit_log_verified() -> anyhow::Result<()> {
    let h = harness("main")?;
    // The check of the audit log runs beside the start: wait for its verdict.
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v = invoke(&h.window, "integrity_status", json!({})).map_err(|e| anyhow::anyhow!("{e}"))?;
        if v["audit"]["state"] != "verifying" || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(v["store"]["writing"], true, "{v}");
    assert_eq!(v["store"]["error"], Value::Null, "{v}");
    assert_eq!(v["audit"]["state"], "verified", "{v}");
    // A new log: checked from its first record (the console's start).
    assert_eq!(v["audit"]["verifiedFrom"], 1, "{v}");
    assert!(v["audit"]["verifiedThrough"].as_u64().is_some_and(|n| n >= 1), "{v}");
    assert_eq!(v["audit"]["damage"], Value::Null, "{v}");
    assert!(v["audit"]["keyFingerprint"].as_str().is_some_and(|k| k.starts_with("ed25519:")), "{v}");
    Ok(())
}

#[test]
fn bad_arguments_are_refused() -> anyhow::Result<()> {
    let h = harness("main")?;
    let err = invoke(&h.window, "list_alerts", json!({"limit": "many"}));
    assert!(err.is_err(), "a string limit must be refused, got {err:?}");
    Ok(())
}

#[test]
fn a_console_that_could_not_start_answers_with_a_coded_error() -> anyhow::Result<()> {
    // A data directory that is a file cannot hold a database.
    let file = tempfile::NamedTempFile::new()?;
    let state = AppState::start(ConsoleConfig::new(file.path()), &keys()?);
    let app = with_commands(mock_builder()).manage(state).build(tauri::generate_context!(test = true))?;
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build()?;
    let err = invoke(&window, "list_alerts", json!({"limit": 5})).err().unwrap_or_default();
    assert_eq!(err["code"], "console.unavailable");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("data directory")), "{err}");
    Ok(())
}

#[test]
fn other_windows_get_no_commands() -> anyhow::Result<()> {
    // Capabilities grant the commands to the window labelled "main" only.
    let h = harness("elsewhere")?;
    let err = invoke(&h.window, "list_alerts", json!({"limit": 5}));
    let msg = err.err().unwrap_or_default().to_string();
    assert!(msg.contains("not allowed"), "a window without the capability was allowed: {msg}");
    Ok(())
}
