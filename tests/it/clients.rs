//! Real syslog clients against `wardwatch serve`: util-linux `logger` (from
//! Debian's bsdutils) in each of its modes; syslog-ng's `loggen` over TCP, UDP
//! and TLS; rsyslog forwarding with `omfwd` over TCP and TLS. `make deps`
//! (scripts/install-deps.sh) installs them all; loggen is unpacked, not
//! installed, into `$WARDWATCH_SYSLOG_NG_DIR` (default
//! `~/.cache/wardwatch/syslog-ng`) because syslog-ng conflicts with rsyslog.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::support::{wait_for_alerts, wait_for_counters, Serve};
use crate::tls::{serve_tls, Pki};

fn logger(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("logger").args(args).status()?;
    anyhow::ensure!(status.success(), "logger {args:?} failed: {status}");
    Ok(())
}

#[test]
fn util_linux_logger_in_every_mode() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let (udp, tcp) = (serve.udp.port().to_string(), serve.tcp.port().to_string());
    let host = ["-n", "127.0.0.1"];
    logger(
        &[&host[..], &["-P", &tcp, "--rfc5424", "--octet-count", "-T", "-t", "gw", "tcp octet-counted 5424"]]
            .concat(),
    )?;
    logger(&[&host[..], &["-P", &tcp, "--rfc5424", "-T", "-t", "gw", "tcp lf-framed 5424"]].concat())?;
    logger(
        &[&host[..], &["-P", &udp, "--rfc5424", "-d", "-t", "gw", "-p", "auth.crit", "udp 5424"]].concat(),
    )?;
    logger(&[&host[..], &["-P", &udp, "--rfc3164", "-d", "-t", "pump-gw", "udp bsd"]].concat())?;
    logger(&[&host[..], &["-P", &tcp, "--rfc3164", "-T", "-t", "pump-gw", "tcp bsd"]].concat())?;

    let alerts = wait_for_alerts(dir.path(), 10, |a| a.len() == 5)?;
    let find = |name: &str| alerts.iter().find(|a| a["name"] == name).cloned().unwrap_or_default();
    for (name, format, product) in [
        ("tcp octet-counted 5424", "rfc5424", "gw"),
        ("tcp lf-framed 5424", "rfc5424", "gw"),
        ("udp 5424", "rfc5424", "gw"),
        ("udp bsd", "rfc3164", "pump-gw"),
        ("tcp bsd", "rfc3164", "pump-gw"),
    ] {
        let a = find(name);
        assert_eq!(
            (a["format"].as_str(), a["product"].as_str()),
            (Some(format), Some(product)),
            "{name}: {a}"
        );
        assert!(a["event_time"].is_string(), "{name}: logger always stamps the time");
    }
    assert_eq!(find("udp 5424")["severity_label"], "high", "auth.crit is syslog severity 2");
    let summary = serve.stop()?;
    assert!(summary.contains("5 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    Ok(())
}

/// Where scripts/install-deps.sh unpacked syslog-ng-core.
fn syslog_ng_dir() -> PathBuf {
    match std::env::var_os("WARDWATCH_SYSLOG_NG_DIR") {
        Some(d) => d.into(),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/wardwatch/syslog-ng")
        }
    }
}

/// Runs syslog-ng's loggen with `args`; returns its summary line.
fn loggen(args: &[&str]) -> anyhow::Result<String> {
    let dir = syslog_ng_dir();
    let bin = dir.join("usr/bin/loggen");
    anyhow::ensure!(
        bin.is_file(),
        "loggen not found at {}: run scripts/install-deps.sh (make deps), or set WARDWATCH_SYSLOG_NG_DIR",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(args)
        .env("SYSLOGNG_PREFIX", dir.join("usr"))
        .env("LD_LIBRARY_PATH", dir.join("usr/lib/syslog-ng"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    // loggen 3.38 can spin for ever when its sender thread ends before the
    // main thread waits for it (seen when it sends everything within
    // microseconds; the tests pace it with --rate): kill it rather than hang.
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            anyhow::bail!("loggen {args:?} did not finish within 30 s; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output()?;
    let said = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "loggen {args:?} failed ({}): {said}", out.status);
    Ok(said.lines().find(|l| l.starts_with("average rate")).unwrap_or_default().to_owned())
}

/// The loggen sequence numbers ("seq: 0000000042, ...") of the alerts a listener stored.
fn loggen_seqs(alerts: &[Value], listener: &str) -> BTreeSet<u64> {
    alerts
        .iter()
        .filter(|a| a["listener"] == listener)
        .filter_map(|a| a["name"].as_str()?.strip_prefix("seq: ")?.get(..10)?.parse().ok())
        .collect()
}

#[test]
fn syslog_ng_loggen_over_tcp_and_udp() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let (tcp, udp) = (serve.tcp.port().to_string(), serve.udp.port().to_string());
    // RFC 5424 messages, octet-counted over one TCP connection.
    let said =
        loggen(&["--inet", "--stream", "--syslog-proto", "--number=1000", "--rate=5000", "127.0.0.1", &tcp])?;
    assert!(said.contains("count=1000"), "loggen said: {said}");
    // RFC 5426 datagrams: one unframed message each (without --no-framing
    // loggen puts an octet count in every datagram, which RFC 5426 does not).
    // 100 of them fit in the default socket buffer however busy the machine is.
    loggen(&[
        "--inet",
        "--dgram",
        "--syslog-proto",
        "--no-framing",
        "--number=100",
        "--rate=1000",
        "127.0.0.1",
        &udp,
    ])?;

    let alerts = wait_for_alerts(dir.path(), 5000, |a| a.len() >= 1100)?;
    assert_eq!(alerts.len(), 1100);
    assert_eq!(loggen_seqs(&alerts, "tcp://127.0.0.1:0"), (0..1000).collect(), "every TCP message, once");
    assert_eq!(loggen_seqs(&alerts, "udp://127.0.0.1:0"), (0..100).collect(), "every datagram, once");
    for a in &alerts {
        assert_eq!(
            (&a["format"], &a["product"], &a["hostname"]),
            (&"rfc5424".into(), &"prg00000".into(), &"localhost".into()),
            "{a}"
        );
    }
    let c = wait_for_counters(dir.path(), "tcp", |c| c["received"] == 1000)?;
    assert_eq!(c["parsed"], 1000, "{c}");
    let c = wait_for_counters(dir.path(), "udp", |c| c["received"] == 100)?;
    assert_eq!(c["parsed"], 100, "{c}");
    let summary = serve.stop()?;
    assert!(summary.contains("1100 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    Ok(())
}

#[test]
fn syslog_ng_loggen_over_tls() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, tls) = serve_tls(&data, &pki, false)?;
    let port = tls.port().to_string();
    let said = loggen(&["--use-ssl", "--syslog-proto", "--number=500", "--rate=2000", "127.0.0.1", &port])?;
    assert!(said.contains("count=500"), "loggen said: {said}");
    let alerts = wait_for_alerts(&data, 1000, |a| a.len() >= 500)?;
    assert_eq!(loggen_seqs(&alerts, "tls://127.0.0.1:0"), (0..500).collect(), "every message, once");
    let summary = serve.stop()?;
    assert!(summary.contains("500 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    Ok(())
}

/// A private rsyslogd (Debian's rsyslog) with its own configuration, work
/// directory and pid file, taking RFC 5424 over TCP on a free loopback port
/// and doing what `action` says with it; killed when dropped.
struct Rsyslogd {
    child: Child,
    input: SocketAddr,
}

impl Rsyslogd {
    fn start(dir: &Path, global: &str, action: &str) -> anyhow::Result<Self> {
        let work = dir.join("rsyslog");
        std::fs::create_dir_all(&work)?;
        // A free port, given to rsyslogd: nothing else binds loopback ports here in between but other tests' port 0.
        let input: SocketAddr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let conf = work.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{work}\" {global})\n\
                 module(load=\"imtcp\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
                 {action}\n",
                work = work.display(),
                port = input.port()
            ),
        )?;
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(work.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .spawn()
            .context("could not start rsyslogd (package rsyslog)")?;
        let mut me = Self { child, input };
        // Ready when its input accepts connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(me.input).is_err() {
            if let Some(exit) = me.child.try_wait()? {
                anyhow::bail!(
                    "rsyslogd exited at start ({exit}); configuration:\n{}",
                    std::fs::read_to_string(&conf)?
                );
            }
            anyhow::ensure!(Instant::now() < deadline, "rsyslogd did not open {} within 10 s", me.input);
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(me)
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` RFC 5424 messages named `{name} {i}` sent to rsyslogd's input with
/// logger, octet-counted over one TCP connection.
fn feed_rsyslogd(rsyslogd: &Rsyslogd, dir: &Path, name: &str, n: usize) -> anyhow::Result<()> {
    let lines: String = (0..n).map(|i| format!("{name} {i}\n")).collect();
    let file = dir.join(format!("{name}.txt"));
    std::fs::write(&file, lines)?;
    let port = rsyslogd.input.port().to_string();
    let file = file.to_str().context("non-UTF-8 temp dir")?;
    logger(&["-n", "127.0.0.1", "-P", &port, "-T", "--rfc5424", "--octet-count", "-t", "pump-gw", "-f", file])
}

fn assert_forwarded(alerts: &[Value], name: &str, n: usize, listener: &str) {
    let mut got: Vec<&str> = alerts.iter().filter_map(|a| a["name"].as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<String> = (0..n).map(|i| format!("{name} {i}")).collect();
    want.sort_unstable();
    assert_eq!(got, want, "every forwarded message, once, its name intact");
    for a in alerts {
        assert_eq!(
            (&a["format"], &a["product"], &a["listener"]),
            (&"rfc5424".into(), &"pump-gw".into(), &listener.into()),
            "{a}"
        );
        assert!(a["event_time"].is_string() && a["hostname"].is_string(), "{a}");
    }
}

#[test]
fn rsyslog_forwards_octet_counted_over_tcp() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(&dir.path().join("data"))?;
    let action = format!(
        "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{}\" protocol=\"tcp\" \
         TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\")",
        serve.tcp.port()
    );
    let rsyslogd = Rsyslogd::start(dir.path(), "", &action)?;
    feed_rsyslogd(&rsyslogd, dir.path(), "rsyslog forwarded", 50)?;
    let alerts = wait_for_alerts(&dir.path().join("data"), 100, |a| a.len() >= 50)?;
    assert_forwarded(&alerts, "rsyslog forwarded", 50, "tcp://127.0.0.1:0");
    drop(rsyslogd);
    let summary = serve.stop()?;
    assert!(summary.contains("50 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    Ok(())
}

#[test]
fn rsyslog_forwards_over_tls_with_a_client_certificate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    // The console requires client certificates: rsyslog shows the CA-signed one.
    let (serve, tls) = serve_tls(&data, &pki, true)?;
    let global = format!(
        "DefaultNetstreamDriverCAFile=\"{}\" DefaultNetstreamDriverCertFile=\"{}\" DefaultNetstreamDriverKeyFile=\"{}\"",
        pki.path("ca.pem").display(),
        pki.path("client.pem").display(),
        pki.path("client.key").display()
    );
    let action = format!(
        "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{}\" protocol=\"tcp\" \
         TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\" \
         StreamDriver=\"gtls\" StreamDriverMode=\"1\" StreamDriverAuthMode=\"x509/name\" \
         StreamDriverPermittedPeers=\"localhost\")",
        tls.port()
    );
    let rsyslogd = Rsyslogd::start(dir.path(), &global, &action)?;
    feed_rsyslogd(&rsyslogd, dir.path(), "rsyslog over tls", 50)?;
    let alerts = wait_for_alerts(&data, 100, |a| a.len() >= 50)?;
    assert_forwarded(&alerts, "rsyslog over tls", 50, "tls://127.0.0.1:0");
    drop(rsyslogd);
    let summary = serve.stop()?;
    assert!(summary.contains("50 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    assert!(summary.contains("0 TLS handshakes failed"), "serve said: {summary}");
    Ok(())
}
