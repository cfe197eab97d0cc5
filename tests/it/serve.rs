use std::io::Write;
use std::net::{TcpStream, UdpSocket};

use crate::support::{alerts_json, names, wait_for_alerts, Serve};

#[test]
fn udp_datagrams_become_stored_alerts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"<131>1 2024-05-01T10:00:00.5Z gw-icu-1 sentinel 77 BEACON [origin ip=\"10.1.2.3\"] pump IP-3 beacon\n", serve.udp)?;
    let alerts = wait_for_alerts(dir.path(), 10, |a| !a.is_empty())?;
    let a = &alerts[0];
    assert_eq!(a["name"], "pump IP-3 beacon");
    assert_eq!(a["event_class"], "BEACON");
    assert_eq!(a["product"], "sentinel");
    assert_eq!(a["hostname"], "gw-icu-1");
    assert_eq!(a["severity"], 7);
    assert_eq!(a["severity_label"], "high");
    assert_eq!(a["format"], "rfc5424");
    assert_eq!(a["event_time"], "2024-05-01T10:00:00.500Z");
    assert_eq!(a["listener"], "udp://127.0.0.1:0");
    assert_eq!(a["source_addr"], sock.local_addr()?.to_string());
    // The raw bytes are kept verbatim (the trailing LF is the datagram's, not the message's).
    assert_eq!(
        a["raw"],
        "<131>1 2024-05-01T10:00:00.5Z gw-icu-1 sentinel 77 BEACON [origin ip=\"10.1.2.3\"] pump IP-3 beacon"
    );
    assert!(a["id"].as_i64().is_some_and(|id| id > 0));
    assert!(a["received_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    serve.stop()?;
    Ok(())
}

#[test]
fn tcp_octet_counted_and_lf_framed_on_separate_connections() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let counted = b"<14>1 - host app - - - octet counted one";
    let mut c = TcpStream::connect(serve.tcp)?;
    write!(c, "{} ", counted.len())?;
    c.write_all(counted)?;
    c.write_all(b"29 <14>1 - host app - - - second")?;
    drop(c);
    let mut lf = TcpStream::connect(serve.tcp)?;
    lf.write_all(b"<14>1 - host app - - - line one\n<14>1 - host app - - - line two\r\n")?;
    // Python's SysLogHandler ends each message with NUL.
    lf.write_all(b"<14>1 - host app - - - nul ended\0")?;
    drop(lf);

    let alerts = wait_for_alerts(dir.path(), 10, |a| a.len() == 5)?;
    let mut got = names(&alerts);
    got.sort();
    assert_eq!(got, ["line one", "line two", "nul ended", "octet counted one", "second"]);
    serve.stop()?;
    Ok(())
}

#[test]
fn newest_first_and_limit_are_honoured() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let mut c = TcpStream::connect(serve.tcp)?;
    for i in 0..20 {
        writeln!(c, "<14>1 - host app - - - message {i:02}")?;
    }
    drop(c);
    wait_for_alerts(dir.path(), 100, |a| a.len() == 20)?;
    let latest = alerts_json(dir.path(), 3)?;
    assert_eq!(names(&latest), ["message 19", "message 18", "message 17"]);
    serve.stop()?;
    Ok(())
}

#[test]
fn sigterm_stores_everything_already_received() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let mut c = TcpStream::connect(serve.tcp)?;
    let mut stream = Vec::new();
    for i in 0..5000 {
        let msg = format!("<14>1 - host app - - - burst {i}");
        stream.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
    }
    c.write_all(&stream)?;
    c.flush()?;
    // Closing our side and reading until the console closes its side proves
    // the console has read every byte before it is told to stop.
    c.shutdown(std::net::Shutdown::Write)?;
    let mut sink = Vec::new();
    std::io::Read::read_to_end(&mut c, &mut sink)?;
    let summary = serve.stop()?;
    assert!(summary.contains("5000 alerts, 0 rejected"), "serve said: {summary}");
    assert_eq!(alerts_json(dir.path(), 100_000)?.len(), 5000);
    Ok(())
}

#[test]
fn bad_and_oversize_messages_are_counted_and_kept_not_fatal() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "max_message_bytes = 2048\n")?;
    let serve = Serve::start_with(&dir.path().join("data"), &["--config", config.to_str().unwrap_or("")])?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    // Neither RFC 5424 nor BSD syslog can take a priority over 191.
    sock.send_to(b"<192>1 - - - - - - out of range", serve.udp)?;
    sock.send_to(&[b'x'; 4000], serve.udp)?;
    let mut c = TcpStream::connect(serve.tcp)?;
    c.write_all(b"<999>Oct 11 22:14:15 host app: bad priority\n")?;
    c.write_all(&[b'<'; 5000])?;
    c.write_all(b"\n9999 ")?;
    c.write_all(&[b'y'; 9999])?;
    c.write_all(b"<14>1 - host app - - - still fine afterwards\n")?;
    drop(c);
    let alerts = wait_for_alerts(&dir.path().join("data"), 10, |a| !a.is_empty())?;
    assert_eq!(names(&alerts), ["still fine afterwards"]);
    let summary = serve.stop()?;
    assert!(summary.contains("1 alerts, 2 rejected, 3 oversize, 0 dropped"), "serve said: {summary}");
    Ok(())
}

#[test]
fn every_syslog_dialect_is_taken_in_and_says_which_it_was() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let mut c = TcpStream::connect(serve.tcp)?;
    // An IoMT platform's CEF in RFC 5424, octet-counted.
    let cef = "<132>1 2026-11-28T10:00:00Z iomt-01 medigate - - - CEF:0|Medigate|IoMT Security|4.2|DEFAULT_CREDS|Default credentials accepted|High|src=10.20.4.7 dst=10.20.0.9 dpt=22 proto=TCP msg=Patient monitor PM-4-07";
    write!(c, "{} {cef}", cef.len())?;
    // A LEEF 2.0 record in BSD syslog, LF-framed.
    c.write_all(b"<134>Nov 28 10:00:01 qradar-relay LEEF:2.0|Cynerio|Live|3.1|BEACON|^|src=10.30.1.5^dst=203.0.113.50^sev=9\n")?;
    // A Cisco ASA line and a strict RFC 5424 message with a broken timestamp.
    c.write_all(b"<166>Nov 28 2026 10:00:02: %ASA-6-302013: Built outbound TCP connection\n")?;
    c.write_all(b"<14>1 2026-13-01T00:00:00Z h a - - - month thirteen\n")?;
    drop(c);
    let alerts = wait_for_alerts(dir.path(), 10, |a| a.len() == 4)?;
    let by_name =
        |n: &str| alerts.iter().find(|a| a["name"].as_str().is_some_and(|x| x.contains(n))).cloned();
    let cef = by_name("Default credentials").unwrap_or_default();
    assert_eq!(cef["format"], "cef");
    assert_eq!(cef["vendor"], "Medigate");
    assert_eq!(cef["src_ip"], "10.20.4.7");
    assert_eq!(cef["dst_port"], 22);
    assert_eq!(cef["severity_label"], "high");
    assert_eq!(cef["hostname"], "iomt-01");
    let leef = alerts.iter().find(|a| a["format"] == "leef").cloned().unwrap_or_default();
    assert_eq!(leef["dst_ip"], "203.0.113.50");
    assert_eq!(leef["severity"], 9);
    let asa = by_name("Built outbound").unwrap_or_default();
    assert_eq!(
        (asa["format"].as_str(), asa["event_class"].as_str()),
        (Some("rfc3164"), Some("ASA-6-302013"))
    );
    // Not conformant RFC 5424, yet nothing is lost: it is read leniently and marked so.
    let lenient = alerts.iter().find(|a| a["message"].as_str().is_some_and(|m| m.contains("month thirteen")));
    assert_eq!(lenient.map(|a| a["format"].clone()), Some("rfc3164".into()));
    serve.stop()?;
    Ok(())
}

/// Reads until the console closes the connection, or fails after ten seconds.
fn wait_closed_by_console(c: &mut TcpStream) -> anyhow::Result<()> {
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut buf = [0u8; 16];
    match std::io::Read::read(c, &mut buf) {
        Ok(0) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
        other => anyhow::bail!("connection still open: {other:?}"),
    }
}

#[test]
fn connections_over_the_limit_are_refused_and_counted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "max_connections = 2\nidle_timeout_secs = 0\n")?;
    let data = dir.path().join("data");
    let serve = Serve::start_with(&data, &["--config", config.to_str().unwrap_or("")])?;
    let mut first = TcpStream::connect(serve.tcp)?;
    let mut second = TcpStream::connect(serve.tcp)?;
    first.write_all(b"<14>1 - h a - - - from the first\n")?;
    second.write_all(b"<14>1 - h a - - - from the second\n")?;
    // Both are served (their messages are stored) before the third knocks.
    wait_for_alerts(&data, 10, |a| a.len() == 2)?;
    let mut third = TcpStream::connect(serve.tcp)?;
    wait_closed_by_console(&mut third)?;
    // A slot frees up when a connection ends: once the console has seen the
    // first one close, a new connection is kept open rather than closed.
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut again = loop {
        let mut c = TcpStream::connect(serve.tcp)?;
        c.set_read_timeout(Some(std::time::Duration::from_millis(300)))?;
        let mut buf = [0u8; 1];
        match std::io::Read::read(&mut c, &mut buf) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                break c
            }
            _ if std::time::Instant::now() > deadline => anyhow::bail!("no slot freed up"),
            _ => {}
        }
    };
    again.write_all(b"<14>1 - h a - - - after a slot freed\n")?;
    drop(again);
    wait_for_alerts(&data, 10, |a| a.iter().any(|x| x["name"] == "after a slot freed"))?;
    drop(second);
    let summary = serve.stop()?;
    assert!(summary.contains("3 alerts,"), "serve said: {summary}");
    assert!(!summary.contains(" 0 connections refused"), "serve said: {summary}");
    Ok(())
}

#[test]
fn idle_connections_are_closed_after_the_timeout() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "idle_timeout_secs = 1\n")?;
    let data = dir.path().join("data");
    let serve = Serve::start_with(&data, &["--config", config.to_str().unwrap_or("")])?;
    let mut c = TcpStream::connect(serve.tcp)?;
    c.write_all(b"<14>1 - h a - - - then silence\n")?;
    let started = std::time::Instant::now();
    wait_closed_by_console(&mut c)?;
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "closed before the idle limit");
    assert_eq!(crate::support::names(&wait_for_alerts(&data, 10, |a| a.len() == 1)?), ["then silence"]);
    serve.stop()?;
    Ok(())
}

#[test]
fn status_shows_live_counters_and_then_a_clean_stop() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let dir_arg = dir.path().to_str().unwrap_or("");
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"<14>1 - h a - - - counted", serve.udp)?;
    sock.send_to(b"<192>1 - - - - - - rejected", serve.udp)?;
    let status = |json: bool| -> anyhow::Result<String> {
        let mut args = vec!["status", "--data-dir", dir_arg];
        if json {
            args.push("--json");
        }
        let out = crate::support::run(&args, None)?;
        anyhow::ensure!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let v: serde_json::Value = loop {
        let v: serde_json::Value =
            serde_json::from_str(&status(true).unwrap_or_default()).unwrap_or_default();
        let udp = v["status"]["listeners"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["url"] == "udp://127.0.0.1:0"))
            .cloned();
        if udp.as_ref().is_some_and(|u| u["counters"]["received"] == 2 && v["stored"]["rejected"] == 1)
            && v["status"]["audit"]["state"] == "verified"
            || std::time::Instant::now() > deadline
        {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(v["live"], true, "{v}");
    assert_eq!(v["stored"], serde_json::json!({"alerts": 1, "rejected": 1}), "{v}");
    let udp = v["status"]["listeners"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["url"] == "udp://127.0.0.1:0"))
        .cloned();
    assert_eq!(
        udp.as_ref().map(|u| (u["counters"]["parsed"].clone(), u["counters"]["rejected"].clone())),
        Some((1.into(), 1.into()))
    );
    // Per source and per reason: the one sender, and why its message was refused.
    let udp = udp.unwrap_or_default();
    assert_eq!(
        udp["sources"],
        serde_json::json!([{"source": "127.0.0.1", "overflow": false, "received": 2, "parsed": 1, "rejected": 1, "oversize": 0, "dropped": 0}]),
        "{udp}"
    );
    assert_eq!(
        udp["rejected_by_reason"],
        serde_json::json!([{"reason": "rfc5424: priority is over 191", "count": 1}]),
        "{udp}"
    );
    // The check of the audit log at start, from the first record (a new log).
    assert_eq!(v["status"]["audit"]["verified_from"], 1, "{v}");
    assert_eq!(v["status"]["audit"]["damage"], serde_json::Value::Null, "{v}");
    let text = status(false)?;
    assert!(text.starts_with("Console: running (pid "), "{text}");
    assert!(text.contains("Audit:   intact: records 1-"), "{text}");
    assert!(text.contains("  from 127.0.0.1"), "{text}");
    assert!(text.contains("  rejected       1 × rfc5424: priority is over 191"), "{text}");
    serve.stop()?;
    let text = status(false)?;
    assert!(text.starts_with("Console: stopped cleanly at "), "{text}");
    assert!(text.contains("Stored:  1 alerts, 1 rejected messages kept raw"), "{text}");
    // A second start checks only what came after the records the first one verified.
    let first_through = v["status"]["audit"]["verified_through"].as_u64().unwrap_or(0);
    let serve = Serve::start(dir.path())?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let v: serde_json::Value = loop {
        let v: serde_json::Value =
            serde_json::from_str(&status(true).unwrap_or_default()).unwrap_or_default();
        if v["live"] == true && v["status"]["audit"]["state"] == "verified"
            || std::time::Instant::now() > deadline
        {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(v["status"]["audit"]["state"], "verified", "{v}");
    assert_eq!(v["status"]["audit"]["verified_from"].as_u64(), Some(first_through + 1), "{v}");
    let text = status(false)?;
    assert!(text.contains(&format!("this start checked records {}-", first_through + 1)), "{text}");
    serve.stop()?;
    Ok(())
}

/// A burst bigger than the socket's receive buffer while the console cannot
/// read (stopped with SIGSTOP): what the kernel drops is counted as
/// `kernel_dropped`, and nothing goes unaccounted for.
#[test]
fn udp_datagrams_the_kernel_drops_are_counted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    crate::support::wait_for_counters(dir.path(), "udp", |c| c["received"] == 0)?;
    let signal = |sig: &str| -> anyhow::Result<()> {
        let ok = std::process::Command::new("kill").args([sig, &serve.pid().to_string()]).status()?.success();
        anyhow::ensure!(ok, "kill {sig} failed");
        Ok(())
    };
    signal("-STOP")?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    // Far more than any receive buffer Linux allows by default (even the 8 MiB asked for).
    let sent: u64 = 60_000;
    let msg = format!("<14>1 - host app - - - {}", "x".repeat(280));
    for _ in 0..sent {
        sock.send_to(msg.as_bytes(), serve.udp)?;
    }
    signal("-CONT")?;
    let c = crate::support::wait_for_counters(dir.path(), "udp", |c| {
        c["received"].as_u64().unwrap_or(0) + c["kernel_dropped"].as_u64().unwrap_or(0) == sent
    })?;
    assert!(c["kernel_dropped"].as_u64().is_some_and(|n| n > 0), "nothing dropped by the kernel? {c}");
    assert_eq!(c["parsed"], c["received"], "{c}");
    serve.stop()?;
    Ok(())
}

/// A console holds its keys in memory: it must never write a core dump.
#[test]
fn serve_can_make_no_core_dump() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", serve.pid()))?;
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap_or_default();
    let fields: Vec<&str> = core.split_whitespace().collect();
    // "Max core file size  <soft>  <hard>  bytes"
    assert_eq!(fields.get(4..6), Some(&["0", "0"][..]), "{core}");
    serve.stop()?;
    Ok(())
}

/// A person's change from the command line beside a running console (a
/// second process writing) must leave what the console stores afterwards
/// visible to everyone: a regression test for the console dropping its own
/// file locks (a file handle of its own on the database, closed), after
/// which the CLI took the database as unused and deleted the live WAL.
#[test]
fn alerts_stored_after_a_change_from_the_command_line_stay_visible_to_other_processes() -> anyhow::Result<()>
{
    use anyhow::Context;
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.send_to(b"CEF:0|OISF|Suricata|7|1|ET EXPLOIT one|9|src=203.0.113.9 dst=198.51.100.7", serve.udp)?;
    let alerts = wait_for_alerts(dir.path(), 10, |a| a.len() == 1)?;
    let data = dir.path().to_str().context("non-UTF-8 temp dir")?;
    let incidents = crate::support::run(&["incidents", "--data-dir", data, "--json"], None)?;
    let incident: serde_json::Value = serde_json::from_slice(&incidents.stdout)?;
    let id = incident["id"].as_i64().context("no incident")?.to_string();
    let out =
        crate::support::run(&["incident", "comment", "--data-dir", data, &id, "--text", "looking"], None)?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sock.send_to(b"CEF:0|OISF|Suricata|7|1|ET EXPLOIT two|9|src=203.0.113.9 dst=198.51.100.7", serve.udp)?;
    // Seen by a new process while the console still runs, not only after it stops.
    let alerts =
        wait_for_alerts(dir.path(), 10, |a| a.len() == 2).with_context(|| format!("first: {alerts:?}"))?;
    assert_eq!(names(&alerts), ["ET EXPLOIT two", "ET EXPLOIT one"]);
    serve.stop()?;
    Ok(())
}
