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
    people(&state)?;
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
    let h = Harness { _app: app, window, udp, _dir: dir };
    if label == "main" {
        log_in(&h, OFFICER)?;
    }
    Ok(h)
}

const PASSWORD: &str = "harbour-lamp-cello-9";
const OFFICER: &str = "olu";

/// Makes the test's people in the console: one per role (the nurse covers
/// `icu`, when the console has that ward).
fn people(state: &AppState) -> anyhow::Result<()> {
    use wardwatch::access::Role;
    let console = state.console().map_err(|e| anyhow::anyhow!("{e}"))?;
    let has_icu = console.inventory()?.wards.iter().any(|w| w.id.as_str() == "icu");
    for (name, role) in [
        (OFFICER, Role::SecurityOfficer),
        ("nina", Role::Nurse),
        ("cleo", Role::Clinician),
        ("ada", Role::Admin),
        ("aud", Role::Auditor),
    ] {
        if role == Role::Nurse && !has_icu {
            continue;
        }
        let wards =
            if role == Role::Nurse { vec![wardwatch::hospital::WardId("icu".into())] } else { vec![] };
        console.add_person(name, "", &[role].into(), &wards, PASSWORD, "test")?;
    }
    Ok(())
}

fn log_in(h: &Harness, who: &str) -> anyhow::Result<Value> {
    invoke(&h.window, "login", json!({"username": who, "password": PASSWORD}))
        .map_err(|e| anyhow::anyhow!("login {who}: {e}"))
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

/// A console whose data directory already holds ward `icu` with the
/// life-supporting pump ICU-P1 at 10.1.0.5 (imported as a person would).
fn hospital_harness() -> anyhow::Result<Harness> {
    hospital_harness_with(|_| {})
}

fn hospital_harness_with(configure: impl FnOnce(&mut ConsoleConfig)) -> anyhow::Result<Harness> {
    use wardwatch::hospital::{
        AssetId, Criticality, CriticalityTier, Device, DeviceKind, Identity, IdentityKind, Location,
        Patching, Ward, WardId, WardKind,
    };
    let dir = tempfile::tempdir()?;
    {
        let mut store = wardwatch::audit::open::open_store(dir.path(), &keys()?, true)?.store;
        let icu = Ward {
            id: WardId("icu".into()),
            site: "General".into(),
            name: "Intensive care".into(),
            kind: WardKind::Icu,
        };
        let pump = Device {
            id: AssetId("ICU-P1".into()),
            kind: DeviceKind::InfusionPump,
            manufacturer: Some("BD".into()),
            model: Some("Alaris 8015".into()),
            firmware: Some("12.1.2".into()),
            identities: vec![Identity::new(IdentityKind::Ip, "10.1.0.5").map_err(anyhow::Error::msg)?],
            location: Location { ward: Some(icu.id.clone()), room: Some("3".into()), bed: Some("B".into()) },
            criticality: Criticality { tier: CriticalityTier::LifeSupporting, factors: None },
            patching: Patching::Manufacturer,
            vulnerabilities: vec![],
            staged: false,
        };
        store.apply_import(&[icu], &[pump], &[], "test", &json!({"file": "fixture"}), chrono::Utc::now())?;
    }
    let mut config = ConsoleConfig::new(dir.path());
    config.listen = vec!["udp://127.0.0.1:0".parse()?];
    // Notifications go to the log here; the real bus is tested in tests/it.
    config.notifications.desktop = false;
    configure(&mut config);
    let state = AppState::start(config, &keys()?);
    people(&state)?;
    let udp = state
        .console()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .listeners()
        .first()
        .and_then(|l| l.bound_addr)
        .ok_or_else(|| anyhow::anyhow!("udp listener did not bind"))?;
    let app = with_commands(mock_builder()).manage(state).build(tauri::generate_context!(test = true))?;
    let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build()?;
    let h = Harness { _app: app, window, udp, _dir: dir };
    log_in(&h, OFFICER)?;
    Ok(h)
}

fn call(h: &Harness, cmd: &str, body: Value) -> anyhow::Result<Value> {
    invoke(&h.window, cmd, body).map_err(|e| anyhow::anyhow!("{cmd}: {e}"))
}

#[test]
fn the_hospital_views_attach_alerts_to_devices_and_people_change_them_with_a_reason() -> anyhow::Result<()> {
    let h = hospital_harness()?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"CEF:0|Sim|IDS|1|100|Exploit attempt|8|src=203.0.113.9 dst=10.1.0.5", h.udp)?;
    sock.send_to(b"CEF:0|Sim|IDS|1|200|Beacon|9|src=10.9.9.9 dst=198.51.100.1", h.udp)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let overview = loop {
        let v = call(&h, "wards_overview", json!({}))?;
        if (v["staged"] == 1 && !v["wards"][0]["worstIncident"].is_null()) || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(overview["simulated"], Value::Null);
    let tile = &overview["wards"][0];
    assert_eq!((tile["id"].as_str(), tile["devices"].as_u64()), (Some("icu"), Some(1)));
    assert_eq!(tile["worst"], "compromised_suspected", "{tile}");
    assert_eq!(tile["worstLabel"], "Compromise suspected");
    assert_eq!(tile["worstIncident"]["condition"], "Exploit attempt");
    assert_eq!(
        tile["byHealth"][0],
        json!({"health": "compromised_suspected", "label": "Compromise suspected", "count": 1})
    );

    let ward = call(&h, "ward_detail", json!({"ward": "icu"}))?;
    let pump = &ward["devices"][0];
    assert_eq!((pump["id"].as_str(), pump["room"].as_str()), (Some("ICU-P1"), Some("3")));
    assert_eq!(pump["clinicalUse"]["state"], "unknown");
    assert_eq!(pump["clinicalUse"]["countsAsInUse"], true);
    let device = call(&h, "device_detail", json!({"device": "ICU-P1"}))?;
    assert_eq!(device["alerts"][0]["name"], "Exploit attempt");
    assert_eq!(device["incidents"][0]["count"], 1);
    assert_eq!(device["identityHistory"][0]["value"], "10.1.0.5");
    assert!(device["criticalityExplained"].as_str().is_some_and(|s| s.starts_with("Life-supporting")));

    let queue = call(&h, "staged_queue", json!({}))?;
    assert_eq!(queue["devices"][0]["id"], "seen-ip-10.9.9.9");
    assert_eq!(queue["wards"], json!([{"id": "icu", "name": "Intensive care"}]));
    let args = |reason: &str, ward: &str| json!({"device": "seen-ip-10.9.9.9", "ward": ward, "room": "12", "bed": null, "reason": reason});
    let refused = invoke(&h.window, "assign_device", args("  ", "icu")).err();
    assert_eq!(refused.as_ref().map(|e| &e["code"]), Some(&json!("hospital.reason_required")));
    let refused = invoke(&h.window, "assign_device", args("found it", "nope")).err();
    assert_eq!(refused.as_ref().map(|e| &e["code"]), Some(&json!("hospital.unknown_ward")));
    let row = call(&h, "assign_device", args("imaging cart parked in ICU room 12", "icu"))?;
    assert_eq!((row["ward"].as_str(), row["staged"].as_bool()), (Some("icu"), Some(false)));
    assert_eq!(call(&h, "staged_queue", json!({}))?["devices"], json!([]));

    let row = call(
        &h,
        "set_clinical_use",
        json!({"device": "ICU-P1", "useState": "in_use", "reason": "bedside check"}),
    )?;
    assert_eq!(row["clinicalUse"]["state"], "in_use");
    assert_eq!(row["clinicalUse"]["source"], "set by olu: bedside check", "{row}");
    let missing = invoke(&h.window, "device_detail", json!({"device": "NOPE"})).err();
    assert_eq!(missing.as_ref().map(|e| &e["code"]), Some(&json!("hospital.unknown_device")));
    Ok(())
}

#[test]
fn an_inventory_is_previewed_then_imported_and_its_wards_appear() -> anyhow::Result<()> {
    let h = harness("main")?;
    let csv = "Asset Tag,kind,ward,ward_name,ward_kind,tier,ip\n\
               ICU-P1,infusion_pump,icu,Intensive care,icu,life_supporting,10.1.0.5\n\
               ICU-P2,toaster,icu,,,life_supporting,10.1.0.6\n";
    let args =
        |mapping: Value| json!({"text": csv, "format": "csv", "mapping": mapping, "fileName": "cmms.csv"});
    let refused = invoke(&h.window, "inventory_preview", args(json!([]))).err();
    assert_eq!(refused.as_ref().map(|e| &e["code"]), Some(&json!("inventory.file")), "no asset_id column");
    let refused = invoke(&h.window, "inventory_preview", args(json!(["colour=Asset Tag"]))).err();
    assert_eq!(refused.as_ref().map(|e| &e["code"]), Some(&json!("inventory.mapping")));

    let mapping = json!(["asset_id=Asset Tag"]);
    let preview = call(&h, "inventory_preview", args(mapping.clone()))?;
    assert_eq!(
        preview["counts"],
        json!({"new": 1, "changed": 0, "unchanged": 0, "conflicting": 0, "invalid": 1})
    );
    assert_eq!(preview["rows"][1]["line"], 3);
    assert_eq!(preview["rows"][1]["outcome"], "invalid");
    assert!(preview["rows"][1]["details"][0].as_str().is_some_and(|d| d.contains("toaster")), "{preview}");
    assert_eq!(preview["newWards"], json!([{"id": "icu", "name": "Intensive care"}]));
    // The preview wrote nothing.
    assert_eq!(call(&h, "wards_overview", json!({}))?["wards"], json!([]));

    let result = call(&h, "inventory_import", args(mapping))?;
    assert_eq!((result["devicesWritten"].as_u64(), result["skipped"].as_u64()), (Some(1), Some(1)));
    assert!(result["auditSeq"].as_u64().is_some_and(|s| s > 0));
    let overview = call(&h, "wards_overview", json!({}))?;
    assert_eq!((overview["wards"][0]["id"].as_str(), overview["devices"].as_u64()), (Some("icu"), Some(1)));
    Ok(())
}

#[test]
fn incidents_are_listed_acknowledged_and_muted_only_with_a_reason_and_an_expiry() -> anyhow::Result<()> {
    let h = hospital_harness()?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(
        b"CEF:0|OISF|Suricata|7|100|ET EXPLOIT Alaris session hijack|8|src=203.0.113.9 dst=10.1.0.5",
        h.udp,
    )?;
    let filter = json!({"filter": {"ward": null, "priority": null, "state": null, "openOnly": true}});
    let deadline = Instant::now() + Duration::from_secs(10);
    // Listed as soon as stored; the notifier's decision follows.
    let list = loop {
        let v = call(&h, "list_incidents", filter.clone())?;
        let kind = v["incidents"][0]["notice"]["kind"].as_str().unwrap_or("none");
        if kind != "none" || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let row = &list["incidents"][0];
    assert_eq!(row["key"], "device:ICU-P1/exploit", "{list}");
    assert_eq!(
        (row["title"].as_str(), row["wardName"].as_str()),
        (Some("Exploit attempt"), Some("Intensive care"))
    );
    assert_eq!((row["priority"].as_str(), row["priorityLabel"].as_str()), (Some("high"), Some("High")));
    assert_eq!(row["deviceLabel"], "Infusion pump ICU-P1");
    assert_eq!(row["sources"], json!(["Suricata"]));
    assert_eq!(row["reasons"].as_array().map(Vec::len), Some(5), "{row}");
    assert_eq!(row["notice"]["kind"], "notified", "{row}");
    assert!(row["notice"]["text"].as_str().is_some_and(|t| t.starts_with("notified at ")), "{row}");
    assert_eq!(
        list["counts"],
        json!({"open": 1, "acknowledged": 0, "resolved": 0, "high": 1, "medium": 0, "low": 0})
    );
    let id = row["id"].clone();

    let detail = call(&h, "incident_detail", json!({"id": id}))?;
    assert_eq!(detail["alerts"][0]["name"], "ET EXPLOIT Alaris session hijack");
    assert_eq!(detail["history"][0]["action"], "opened");
    assert_eq!((detail["kindLabel"].as_str(), detail["room"].as_str()), (Some("Infusion pump"), Some("3")));

    let act = |action: Value| invoke(&h.window, "incident_act", json!({"id": id, "action": action}));
    let acked = act(json!({"action": "acknowledge"})).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["owner"], OFFICER, "the person logged in at the window");
    let code = |r: Result<Value, Value>| r.err().map(|e| e["code"].clone());
    assert_eq!(code(act(json!({"action": "acknowledge"}))), Some(json!("incident.wrong_state")));
    let in_4h = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let in_8d = (chrono::Utc::now() + chrono::Duration::days(8)).to_rfc3339();
    assert_eq!(
        code(act(json!({"action": "mute", "until": in_4h, "reason": " "}))),
        Some(json!("incident.reason_required"))
    );
    assert_eq!(
        code(act(json!({"action": "mute", "until": in_8d, "reason": "x"}))),
        Some(json!("incident.mute_expiry"))
    );
    assert_eq!(
        code(act(json!({"action": "mute", "until": "tomorrow", "reason": "x"}))),
        Some(json!("incident.mute_expiry"))
    );
    let muted = act(json!({"action": "mute", "until": in_4h, "reason": "vendor patch tonight"}))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(muted["muted"]["reason"], "vendor patch tonight");
    let history = call(&h, "incident_detail", json!({"id": id}))?["history"].clone();
    let actions: Vec<&str> =
        history.as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["opened", "acknowledged", "muted"]);

    let start = chrono::Utc::now().to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let add = |reason: &str, target: &str| json!({"scope": "ward", "target": target, "start": start, "end": end, "reason": reason});
    assert_eq!(
        code(invoke(&h.window, "add_maintenance", add("", "icu"))),
        Some(json!("incident.reason_required"))
    );
    assert_eq!(
        code(invoke(&h.window, "add_maintenance", add("fw", "nope"))),
        Some(json!("hospital.unknown_ward"))
    );
    let w = call(&h, "add_maintenance", add("pump firmware update", "icu"))?;
    assert_eq!((w["active"].as_bool(), w["targetLabel"].as_str()), (Some(true), Some("ward icu")));
    let listed = call(&h, "list_incidents", filter.clone())?;
    assert_eq!(listed["incidents"][0]["maintenance"]["id"], w["id"]);
    let ended = call(&h, "end_maintenance", json!({"id": w["id"], "reason": "done early"}))?;
    assert!(ended["ended"].is_string() && ended["active"] == false);
    assert_eq!(call(&h, "list_maintenance", json!({}))?.as_array().map(Vec::len), Some(1));
    Ok(())
}

/// Sample arguments for each command (what the window would send).
fn sample_args(cmd: &str, incident: &Value) -> Value {
    let in_4h = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    match cmd {
        "list_alerts" | "list_rejected" => json!({"limit": 5}),
        "ward_detail" => json!({"ward": "icu"}),
        "device_detail" => json!({"device": "ICU-P1"}),
        "assign_device" => json!({"device": "nope", "ward": "icu", "room": null, "bed": null, "reason": "x"}),
        "set_clinical_use" => json!({"device": "ICU-P1", "useState": "in_use", "reason": "bedside check"}),
        "inventory_preview" => json!({"text": "asset_id\n", "format": "csv", "mapping": []}),
        "inventory_import" => {
            json!({"text": "asset_id\n", "format": "csv", "mapping": [], "fileName": "x.csv"})
        }
        "list_incidents" => {
            json!({"filter": {"ward": null, "priority": null, "state": null, "openOnly": true}})
        }
        "incident_detail" => json!({"id": incident}),
        "incident_act" => json!({"id": incident, "action": {"action": "comment", "text": "seen"}}),
        "add_maintenance" => {
            json!({"scope": "ward", "target": "icu", "start": chrono::Utc::now().to_rfc3339(), "end": in_4h, "reason": "fw"})
        }
        "end_maintenance" => json!({"id": 999_999, "reason": "x"}),
        "add_user" => {
            json!({"username": "new-one", "displayName": "", "roles": ["auditor"], "wards": [], "password": PASSWORD})
        }
        "set_pin" => json!({"pin": "4821"}),
        "login" => json!({"username": "nobody", "password": "x"}),
        "login_pin" => json!({"username": "nobody", "pin": "1234"}),
        "create_first_admin" => json!({"username": "x", "displayName": "", "password": PASSWORD}),
        "subscribe_alerts" => json!({"onEvent": "__CHANNEL__:1"}),
        "incident_playbook" => json!({"id": incident}),
        "request_response" => json!({"incidentId": incident, "action": "observe", "reason": "evidence"}),
        "response_step" => json!({"id": 999_999, "step": "acknowledge_ward", "reason": ""}),
        "response_detail" => json!({"id": 999_999}),
        "tick_response" => json!({"id": 999_999, "index": 0}),
        "update_user" => {
            json!({"username": "nobody-here", "roles": ["auditor"], "wards": [], "disabled": false})
        }
        _ => json!({}),
    }
}

/// Every command of `build.rs`, as the capability file grants them.
fn every_command() -> Vec<String> {
    let build = include_str!("../build.rs");
    let list = build.split("COMMANDS: &[&str] = &[").nth(1).and_then(|r| r.split("];").next()).unwrap_or("");
    list.split(',').map(|c| c.trim().trim_matches('"').to_owned()).filter(|c| !c.is_empty()).collect()
}

#[test]
fn every_command_is_allowed_or_refused_for_each_role_as_the_matrix_says() -> anyhow::Result<()> {
    use wardwatch::access::{role_permits, Role};
    use wardwatch_app::{access_of, Access};
    let h = hospital_harness()?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"CEF:0|OISF|Suricata|7|1|ET EXPLOIT probe|8|src=203.0.113.9 dst=10.1.0.5", h.udp)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let filter = json!({"filter": {"ward": null, "priority": null, "state": null, "openOnly": true}});
    let incident = loop {
        let id = call(&h, "list_incidents", filter.clone())?["incidents"][0]["id"].clone();
        if !id.is_null() || Instant::now() > deadline {
            break id;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let commands = every_command();
    assert!(commands.len() >= 30, "{commands:?}");
    let people = [
        ("nina", Role::Nurse),
        ("cleo", Role::Clinician),
        (OFFICER, Role::SecurityOfficer),
        ("ada", Role::Admin),
        ("aud", Role::Auditor),
    ];
    let mut wrong = Vec::new();
    for (who, role) in people {
        for cmd in &commands {
            // Seat commands that would change the seat are checked elsewhere.
            if ["lock", "logout", "login", "login_pin"].contains(&cmd.as_str()) {
                continue;
            }
            log_in(&h, who)?;
            let access = access_of(cmd).ok_or_else(|| anyhow::anyhow!("{cmd} has no access entry"))?;
            let expect_refused = match access {
                Access::Seat => false,
                Access::Operation(op) => !role_permits(role, op),
            };
            let got = invoke(&h.window, cmd, sample_args(cmd, &incident));
            let refused = got.as_ref().err().is_some_and(|e| e["code"] == "access.refused");
            if let Err(e) = &got {
                assert_ne!(e["code"], "auth.required", "{who} {cmd}: {e}");
            }
            if refused != expect_refused {
                wrong.push(format!(
                    "{who} ({role:?}) {cmd}: refused {refused}, the matrix says {expect_refused}: {got:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    Ok(())
}

#[test]
fn without_a_login_nothing_is_served_and_a_lock_stops_everything_until_unlocked() -> anyhow::Result<()> {
    let h = hospital_harness()?;
    let code = |r: Result<Value, Value>| r.err().map(|e| e["code"].clone());
    call(&h, "logout", json!({}))?;
    assert_eq!(code(invoke(&h.window, "wards_overview", json!({}))), Some(json!("auth.required")));
    let status = call(&h, "session_status", json!({}))?;
    assert_eq!(
        (status["user"].clone(), status["locked"].clone(), status["needsFirstAdmin"].clone()),
        (Value::Null, json!(false), json!(false))
    );
    let wrong = invoke(&h.window, "login", json!({"username": OFFICER, "password": "harbour-lamp-cello-8"}));
    assert_eq!(code(wrong), Some(json!("auth.wrong")));
    log_in(&h, OFFICER)?;
    assert!(call(&h, "wards_overview", json!({}))?["wards"].is_array());
    let locked = call(&h, "lock", json!({}))?;
    assert_eq!((locked["user"]["username"].clone(), locked["locked"].clone()), (json!(OFFICER), json!(true)));
    assert_eq!(
        code(invoke(
            &h.window,
            "list_incidents",
            json!({"filter": {"ward": null, "priority": null, "state": null, "openOnly": true}})
        )),
        Some(json!("auth.session_locked"))
    );
    // While locked: each ward's health, without details.
    let overview = call(&h, "locked_overview", json!({}))?;
    assert_eq!(overview["wards"][0]["id"], "icu");
    assert!(overview["wards"][0]["worstIncident"].is_null());
    // A nurse sees only her ward; another ward is refused, and the refusal is audited.
    log_in(&h, "nina")?;
    let mine = call(&h, "wards_overview", json!({}))?;
    assert_eq!(mine["wards"].as_array().map(Vec::len), Some(1));
    let refused = invoke(&h.window, "ward_detail", json!({"ward": "elsewhere"})).err().unwrap_or_default();
    assert_eq!(refused["code"], "access.refused");
    assert_eq!(refused["message"], "Ward elsewhere is not one of your wards");
    let refused = invoke(&h.window, "add_maintenance", json!({"scope": "ward", "target": "icu", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "reason": "x"})).err().unwrap_or_default();
    assert_eq!(
        refused["message"],
        "Your role (nurse) may not plan maintenance windows: ask a security officer"
    );
    Ok(())
}

/// A NAC's webhook for the test: a real HTTP/1.1 server on loopback that
/// records the body and idempotency key of every request and answers 200.
/// What the test webhook saw: each request's idempotency key and body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

fn webhook() -> anyhow::Result<(SocketAddr, Seen)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let (mut length, mut key) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("idempotency-key:") {
                    key = v.trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            if let Ok(mut seen) = record.lock() {
                seen.push((key, String::from_utf8_lossy(&body).into_owned()));
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    Ok((addr, seen))
}

#[test]
fn a_quarantine_passes_its_gates_and_reaches_the_webhook_exactly_once() -> anyhow::Result<()> {
    let (addr, seen) = webhook()?;
    let h = hospital_harness_with(|config| {
        let settings = json!({
            "adapters": [{"kind": "webhook", "name": "nac", "url": format!("http://{addr}/quarantine"), "timeout_ms": 3000}],
            "routes": {"quarantine": "nac"},
        });
        config.response = match serde_json::from_value(settings) {
            Ok(r) => r,
            Err(e) => panic!("test config: {e}"),
        };
    })?;
    call(
        &h,
        "set_clinical_use",
        json!({"device": "ICU-P1", "useState": "in_use", "reason": "infusion running"}),
    )?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"CEF:0|OISF|Suricata|7|1|ET MALWARE beacon|9|src=10.1.0.5 dst=198.51.100.7", h.udp)?;
    let filter = json!({"filter": {"ward": null, "priority": null, "state": null, "openOnly": true}});
    let deadline = Instant::now() + Duration::from_secs(10);
    let incident = loop {
        let id = call(&h, "list_incidents", filter.clone())?["incidents"][0]["id"].clone();
        if !id.is_null() || Instant::now() > deadline {
            break id;
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    // The playbook: quarantine needs a clinician; blocking the outside address is safe now, and first.
    let playbook = call(&h, "incident_playbook", json!({"id": incident}))?;
    let play = |action: &str| {
        playbook["plays"].as_array().into_iter().flatten().find(|p| p["graded"]["action"] == action).cloned()
    };
    let q = play("quarantine").ok_or_else(|| anyhow::anyhow!("no quarantine in {playbook}"))?;
    assert_eq!(
        (q["graded"]["grade"].clone(), q["graded"]["gate"].clone()),
        (json!("clinician_signoff"), json!("clinician_signoff"))
    );
    assert_eq!(q["graded"]["gradeLabel"], "Clinician sign-off");
    assert!(q["graded"]["reasons"].to_string().contains("central station"), "{q}");
    assert_eq!(playbook["plays"][0]["graded"]["action"], "block_destination", "{playbook}");

    let r = call(
        &h,
        "request_response",
        json!({"incidentId": incident, "action": "quarantine", "reason": "contain the beacon"}),
    )?;
    let id = r["id"].clone();
    assert_eq!(r["state"], "awaiting_gate");
    assert!(
        r["ask"].as_str().is_some_and(
            |a| a.starts_with("IT wants to cut infusion pump ICU-P1 in room 3, bed B off the network.")
        ),
        "{r}"
    );
    let code = |v: Result<Value, Value>| v.err().map(|e| e["code"].clone());
    // The officer may not sign off (matrix); the nurse's acknowledgement does not open a sign-off gate.
    assert_eq!(
        code(invoke(&h.window, "response_step", json!({"id": id, "step": "sign_off", "reason": "mine"}))),
        Some(json!("access.refused"))
    );
    log_in(&h, "nina")?;
    let r = call(&h, "response_step", json!({"id": id, "step": "acknowledge_ward", "reason": ""}))?;
    assert_eq!((r["state"].clone(), r["wardAck"]["by"].clone()), (json!("awaiting_gate"), json!("nina")));
    log_in(&h, "cleo")?;
    assert_eq!(
        code(invoke(&h.window, "response_step", json!({"id": id, "step": "sign_off", "reason": " "}))),
        Some(json!("response.reason_required"))
    );
    let r =
        call(&h, "response_step", json!({"id": id, "step": "sign_off", "reason": "bedside watch arranged"}))?;
    assert_eq!(r["signoff"]["by"], "cleo");

    let deadline = Instant::now() + Duration::from_secs(15);
    let detail = loop {
        let d = call(&h, "response_detail", json!({"id": id}))?;
        if d["request"]["state"] == "done" || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(detail["request"]["state"], "done", "{detail}");
    // The dispatcher looks every second: two more rounds send nothing more.
    std::thread::sleep(Duration::from_millis(2500));
    let seen = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, format!("wardwatch-{id}"));
    let order: Value = serde_json::from_str(&seen[0].1)?;
    assert_eq!(
        (order["action"].clone(), order["device"]["id"].clone()),
        (json!("quarantine"), json!("ICU-P1"))
    );
    assert_eq!(order["approved_by"], json!(["nina", "cleo"]));
    let kinds: Vec<String> = detail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(kinds, ["requested", "acknowledged", "signed_off", "dispatching", "done"], "{detail}");
    Ok(())
}
