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
    sock.send_to(b"this is not syslog", serve.udp)?;
    sock.send_to(&[b'x'; 4000], serve.udp)?;
    let mut c = TcpStream::connect(serve.tcp)?;
    c.write_all(b"<14>1 2024-13-01T00:00:00Z h a - - - bad month\n")?;
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
