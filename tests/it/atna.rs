//! IHE ATNA forwarding (ITI-20) over real sockets: the forwarder in this
//! process sends to the real `wardwatch serve` with a `tls://` listener that
//! requires client certificates, standing in for the hospital's Audit
//! Record Repository; serve stores each syslog message raw, which is what
//! these tests read back and parse.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wardwatch::atna::{AtnaConfig, AtnaEvent, AtnaForwarder, AtnaStatus};

use crate::support::{wait_for_alerts, Serve};
use crate::tls::{serve_tls, Pki};

const HOST: &str = "atna-test-host";

/// A runtime for the forwarder, with its shutdown token and task tracker.
struct Harness {
    rt: tokio::runtime::Runtime,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Harness {
    fn new() -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        Ok(Self { rt, shutdown: CancellationToken::new(), tasks: TaskTracker::new() })
    }

    fn spawn(&self, cfg: AtnaConfig) -> anyhow::Result<Arc<AtnaForwarder>> {
        let _enter = self.rt.enter();
        Ok(AtnaForwarder::spawn(cfg, self.shutdown.clone(), &self.tasks)?)
    }

    /// Cancels, then waits for the forwarder's task to end; returns how long that took.
    fn stop(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.shutdown.cancel();
        self.tasks.close();
        self.rt
            .block_on(async { tokio::time::timeout(limit, self.tasks.wait()).await })
            .context("forwarder did not stop")?;
        Ok(started.elapsed())
    }
}

/// The forwarder's configuration for `port`, presenting the test PKI's
/// client certificate `client` (`client` or `rogue`).
fn config(pki: &Pki, port: u16, client: &str) -> anyhow::Result<AtnaConfig> {
    let mut cfg =
        AtnaConfig::new(format!("tls://127.0.0.1:{port}").parse()?, pki.path("ca.pem"), "ww-icu-test");
    cfg.client_cert_file = Some(pki.path(&format!("{client}.pem")));
    cfg.client_key_file = Some(pki.path(&format!("{client}.key")));
    cfg.enterprise_site_id = Some("ICU".into());
    cfg.hostname = Some(HOST.into());
    Ok(cfg)
}

fn event(seq: u64, kind: &str, actor: &str, success: bool, object: Option<&str>, summary: &str) -> AtnaEvent {
    AtnaEvent {
        seq,
        at: Utc::now(),
        actor: actor.into(),
        kind: kind.into(),
        success,
        object: object.map(str::to_owned),
        summary: summary.into(),
    }
}

/// A loopback port nothing listens on (yet).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts serve as the repository on `port`, client certificates required.
fn serve_on(data: &Path, pki: &Pki, port: u16) -> anyhow::Result<Serve> {
    let config = pki.config(true)?;
    let config = config.to_str().context("non-UTF-8 temp dir")?;
    Serve::start_with(data, &["--config", config, "--listen", &format!("tls://127.0.0.1:{port}")])
}

/// Polls the forwarder's status until `done` holds, or fails after ten seconds.
fn wait_status(f: &AtnaForwarder, done: impl Fn(&AtnaStatus) -> bool) -> anyhow::Result<AtnaStatus> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = f.status();
        if done(&s) {
            return Ok(s);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting on the forwarder; last status {s:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One received message: the RFC 5424 header fields and the parsed XML's
/// values this test looks at.
#[derive(Debug)]
struct Received {
    pri: String,
    hostname: String,
    app_name: String,
    msgid: String,
    sd: String,
    /// From `[meta sequenceId="N"]`.
    seq: u64,
    event_id: String,
    outcome: String,
    user_id: String,
    summary: String,
    source_id: String,
    object: Option<String>,
}

/// Splits the stored raw message as RFC 5424 says and parses its XML.
fn received(alert: &Value) -> anyhow::Result<Received> {
    let raw = alert["raw"].as_str().context("raw is not text")?;
    let (header, xml) = raw.split_once('\u{FEFF}').context("MSG has no UTF-8 BOM")?;
    let fields: Vec<&str> = header.splitn(7, ' ').collect();
    ensure!(fields.len() == 7, "not an RFC 5424 header: {header:?}");
    let (pri, version) = fields[0].trim_start_matches('<').split_once('>').context("no PRI")?;
    ensure!(version == "1", "RFC 5424 VERSION is 1: {header:?}");
    chrono::DateTime::parse_from_rfc3339(fields[1]).context("TIMESTAMP is not RFC 3339")?;
    let doc = roxmltree::Document::parse(xml).with_context(|| format!("XML does not parse: {xml}"))?;
    let root = doc.root_element();
    ensure!(root.has_tag_name("AuditMessage"), "root is {:?}", root.tag_name());
    let child = |name: &str| root.children().find(|n| n.has_tag_name(name));
    let ident = child("EventIdentification").context("no EventIdentification")?;
    let event_id = ident.children().find(|n| n.has_tag_name("EventID")).context("no EventID")?;
    ensure!(event_id.attribute("codeSystemName") == Some("DCM"), "EventID not DCM");
    ensure!(ident.attribute("EventDateTime").is_some(), "no EventDateTime");
    let participant = child("ActiveParticipant").context("no ActiveParticipant")?;
    ensure!(participant.attribute("UserIsRequestor") == Some("true"), "first participant is the requestor");
    let source = child("AuditSourceIdentification").context("no AuditSourceIdentification")?;
    let sd = fields[6].trim_end();
    let seq = sd
        .strip_prefix("[meta sequenceId=\"")
        .and_then(|r| r.strip_suffix("\"]"))
        .context("no sequenceId")?;
    Ok(Received {
        seq: seq.parse()?,
        pri: pri.to_owned(),
        hostname: fields[2].to_owned(),
        app_name: fields[3].to_owned(),
        msgid: fields[5].to_owned(),
        sd: sd.to_owned(),
        event_id: event_id.attribute("csd-code").unwrap_or_default().to_owned(),
        outcome: ident.attribute("EventOutcomeIndicator").unwrap_or_default().to_owned(),
        user_id: participant.attribute("UserID").unwrap_or_default().to_owned(),
        summary: ident
            .children()
            .find(|n| n.has_tag_name("EventOutcomeDescription"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_owned(),
        source_id: source.attribute("AuditSourceID").unwrap_or_default().to_owned(),
        object: child("ParticipantObjectIdentification")
            .and_then(|n| n.attribute("ParticipantObjectID"))
            .map(str::to_owned),
    })
}

/// Every stored message, received and parsed, ordered by the sequence number in `[meta sequenceId]`.
fn all_received(data: &Path, n: usize) -> anyhow::Result<Vec<Received>> {
    let alerts = wait_for_alerts(data, n + 10, |a| a.len() >= n)?;
    ensure!(alerts.len() == n, "expected {n} messages, got {}", alerts.len());
    for a in &alerts {
        ensure!(a["event_class"] == "IHE+RFC-3881", "serve read MSGID {:?}", a["event_class"]);
        ensure!(a["format"] == "rfc5424", "serve read format {:?}", a["format"]);
    }
    let mut got = alerts.iter().map(received).collect::<anyhow::Result<Vec<_>>>()?;
    got.sort_by_key(|r| r.seq);
    Ok(got)
}

#[test]
fn audit_messages_reach_serve_over_mutual_tls_and_parse() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, addr) = serve_tls(&data, &pki, true)?;
    let h = Harness::new()?;
    let f = h.spawn(config(&pki, addr.port(), "client")?)?;
    let hostile = "x<y>&\"'\u{0}\u{1b}[2J]]>\nend";
    f.offer(event(1, "console.started", "admin", true, None, "Console started."));
    f.offer(event(2, "user.login", "nurse.jones", false, Some("nurse.jones"), "Wrong password."));
    f.offer(event(3, "alert.received", hostile, true, Some("alert-7f3a"), hostile));
    // Shutdown sends what is queued before the task ends.
    let took = h.stop(Duration::from_secs(10))?;
    let status = f.status();
    assert_eq!((status.sent, status.failed, status.dropped, status.queued), (3, 0, 0, 0), "{status:?}");

    let got = all_received(&data, 3)?;
    let summary: Vec<_> =
        got.iter().map(|r| (r.sd.as_str(), r.event_id.as_str(), r.outcome.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("[meta sequenceId=\"1\"]", "110100", "0"),
            ("[meta sequenceId=\"2\"]", "110114", "4"),
            ("[meta sequenceId=\"3\"]", "110113", "0")
        ]
    );
    for r in &got {
        assert_eq!(
            (r.hostname.as_str(), r.app_name.as_str(), r.msgid.as_str()),
            (HOST, "wardwatch", "IHE+RFC-3881")
        );
        assert_eq!(r.source_id, "ww-icu-test");
    }
    assert_eq!((got[0].pri.as_str(), got[1].pri.as_str()), ("85", "84"), "authpriv.notice, authpriv.warning");
    assert_eq!(
        (got[0].user_id.as_str(), got[0].summary.as_str(), got[0].object.as_deref()),
        ("admin", "Console started.", None)
    );
    assert_eq!(got[1].object.as_deref(), Some("nurse.jones"));
    // The hostile strings arrive intact but for the characters XML forbids.
    let cleaned = "x<y>&\"'\u{fffd}\u{fffd}[2J]]>\nend";
    assert_eq!((got[2].user_id.as_str(), got[2].summary.as_str()), (cleaned, cleaned));
    assert_eq!(got[2].object.as_deref(), Some("alert-7f3a"));
    let said = serve.stop()?;
    assert!(said.contains("3 alerts, 0 rejected"), "serve said: {said}");
    println!("3 events delivered and flushed at shutdown in {took:?}");
    Ok(())
}

#[test]
fn queued_events_arrive_when_the_repository_comes_up_and_after_it_restarts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let port = free_port()?;
    let h = Harness::new()?;
    let f = h.spawn(config(&pki, port, "client")?)?;
    f.offer(event(1, "console.started", "admin", true, None, "up"));
    f.offer(event(2, "key.rotated", "admin", true, Some("db-key"), "rotated"));
    // Nothing listens yet: attempts fail, nothing is lost.
    let s = wait_status(&f, |s| s.failed >= 2)?;
    assert_eq!((s.sent, s.dropped, s.connected), (0, 0, false), "{s:?}");
    assert!(s.last_error.as_deref().is_some_and(|e| e.contains("Connection refused")), "{s:?}");

    let serve = serve_on(&data, &pki, port)?;
    let came_up = Instant::now();
    wait_status(&f, |s| s.sent == 2)?;
    let reconnect = came_up.elapsed();
    assert_eq!(all_received(&data, 2)?.len(), 2);
    serve.stop()?;
    let before = f.status().failed;

    // The repository restarts: the forwarder notices the closed connection
    // before writing, so the next event waits for the new one.
    f.offer(event(3, "audit.exported", "auditor", true, Some("icu.wwa"), "exported"));
    let failed = wait_status(&f, |s| s.failed > before && !s.connected)?.failed;
    let serve = serve_on(&data, &pki, port)?;
    let s = wait_status(&f, |s| s.sent == 3)?;
    assert_eq!((s.dropped, s.connected), (0, true), "{s:?}");
    assert!(s.failed >= failed);
    let got = all_received(&data, 3)?;
    assert_eq!(got[2].event_id, "110106");
    assert_eq!(got[2].object.as_deref(), Some("icu.wwa"));
    h.stop(Duration::from_secs(10))?;
    serve.stop()?;
    println!("reconnected and delivered {reconnect:?} after the repository came up");
    Ok(())
}

#[test]
fn a_full_queue_counts_drops_and_every_event_is_accounted_for() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let port = free_port()?;
    let h = Harness::new()?;
    let mut cfg = config(&pki, port, "client")?;
    cfg.queue_capacity = 3;
    let f = h.spawn(cfg)?;
    // The first event is taken by the task, which keeps retrying it.
    f.offer(event(1, "alert.received", "gw-icu-1", true, Some("alert-1"), "alert"));
    wait_status(&f, |s| s.failed >= 1)?;
    let started = Instant::now();
    for seq in 2..=20 {
        f.offer(event(seq, "alert.received", "gw-icu-1", true, Some(&format!("alert-{seq}")), "alert"));
    }
    let offered = started.elapsed();
    let s = f.status();
    // Three wait in the queue, one in the task's hands; the other 16 are dropped.
    assert_eq!((s.dropped, s.queued, s.sent), (16, 3, 0), "{s:?}");

    let serve = serve_on(&data, &pki, port)?;
    let s = wait_status(&f, |s| s.sent == 4)?;
    assert_eq!((s.dropped, s.queued), (16, 0), "{s:?}");
    let got = all_received(&data, 4)?;
    let objects: Vec<_> = got.iter().filter_map(|r| r.object.as_deref()).collect();
    assert_eq!(objects, ["alert-1", "alert-2", "alert-3", "alert-4"]);
    h.stop(Duration::from_secs(10))?;
    serve.stop()?;
    println!("19 offers to a full queue took {offered:?}");
    Ok(())
}

#[test]
fn a_node_the_repository_does_not_trust_is_refused_and_counted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let other = Pki::new(&dir.path().join("other"))?;
    let data = dir.path().join("data");
    let (serve, addr) = serve_tls(&data, &pki, true)?;
    let h = Harness::new()?;
    // A self-signed client certificate: the repository refuses the node.
    let mut rogue = config(&pki, addr.port(), "rogue")?;
    rogue.shutdown_flush_ms = 200;
    let rogue = h.spawn(rogue)?;
    // A repository certificate from another CA: the node refuses the repository.
    let mut wrong_ca = config(&pki, addr.port(), "client")?;
    wrong_ca.ca_file = other.path("ca.pem");
    wrong_ca.shutdown_flush_ms = 200;
    let wrong_ca = h.spawn(wrong_ca)?;
    rogue.offer(event(1, "user.login", "mallory", true, None, "rogue"));
    wrong_ca.offer(event(1, "user.login", "mallory", true, None, "wrong CA"));
    let r = wait_status(&rogue, |s| s.failed >= 2)?;
    let w = wait_status(&wrong_ca, |s| s.failed >= 2)?;
    for s in [&r, &w] {
        assert_eq!((s.sent, s.connected, s.dropped), (0, false, 0), "{s:?}");
    }
    let rogue_error = r.last_error.unwrap_or_default();
    assert!(rogue_error.contains("closed the connection") || rogue_error.contains("alert"), "{rogue_error}");
    let ca_error = w.last_error.unwrap_or_default();
    assert!(ca_error.contains("invalid peer certificate"), "{ca_error}");
    h.stop(Duration::from_secs(10))?;
    // Still undelivered when shutdown's bound passed: dropped, and counted.
    assert_eq!((rogue.status().dropped, wrong_ca.status().dropped), (1, 1));
    let said = serve.stop()?;
    assert!(said.contains("0 alerts"), "serve said: {said}");
    Ok(())
}

#[test]
fn shutdown_is_bounded_when_the_repository_is_away() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let h = Harness::new()?;
    let mut cfg = config(&pki, free_port()?, "client")?;
    cfg.shutdown_flush_ms = 300;
    let f = h.spawn(cfg)?;
    for seq in 1..=5 {
        f.offer(event(seq, "console.stopped", "admin", true, None, "stopping"));
    }
    let took = h.stop(Duration::from_secs(5))?;
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    let s = f.status();
    assert_eq!((s.sent, s.dropped, s.queued), (0, 5, 0), "{s:?}");
    // After shutdown, offers are counted, not lost silently.
    f.offer(event(6, "console.stopped", "admin", true, None, "late"));
    assert_eq!(f.status().dropped, 6);
    println!("shutdown with the repository away took {took:?}");
    Ok(())
}

#[test]
fn shutdown_does_not_wait_for_a_repository_that_never_answers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    // Takes the TCP connection and never says a word: the TLS handshake hangs.
    let silent = TcpListener::bind("127.0.0.1:0")?;
    silent.set_nonblocking(true)?;
    let h = Harness::new()?;
    let mut cfg = config(&pki, silent.local_addr()?.port(), "client")?;
    cfg.shutdown_flush_ms = 300;
    let f = h.spawn(cfg)?;
    f.offer(event(1, "console.stopped", "admin", true, None, "stopping"));
    // The forwarder is in its handshake once the connection is accepted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let _held = loop {
        match silent.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                ensure!(Instant::now() < deadline, "the forwarder never connected");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let took = h.stop(Duration::from_secs(15))?;
    assert!(took < Duration::from_secs(2), "shutdown took {took:?} (the handshake timeout is 10 s)");
    let s = f.status();
    assert_eq!((s.sent, s.dropped), (0, 1), "{s:?}");
    println!("shutdown during a hung handshake took {took:?}");
    Ok(())
}

#[test]
fn unusable_files_are_named_at_start() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let h = Harness::new()?;
    let mut cfg = config(&pki, 6514, "client")?;
    cfg.ca_file = dir.path().join("missing-ca.pem");
    let e = h.spawn(cfg).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("could not read CA file") && e.contains("missing-ca.pem"), "{e}");
    let mut cfg = config(&pki, 6514, "client")?;
    cfg.client_key_file = Some(pki.path("server.key"));
    let e = h.spawn(cfg).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("does not go with the certificate"), "{e}");
    assert!(!e.contains("PRIVATE KEY"), "{e}");
    Ok(())
}

#[test]
fn a_burst_is_delivered_in_order_without_loss() -> anyhow::Result<()> {
    const N: u64 = 1000;
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, addr) = serve_tls(&data, &pki, true)?;
    let h = Harness::new()?;
    let f = h.spawn(config(&pki, addr.port(), "client")?)?;
    let started = Instant::now();
    for seq in 1..=N {
        f.offer(event(seq, "alert.received", "gw-icu-1", true, Some(&format!("alert-{seq}")), "burst"));
    }
    let offered = started.elapsed();
    let s = wait_status(&f, |s| s.sent == N)?;
    let sent = started.elapsed();
    assert_eq!((s.failed, s.dropped), (0, 0), "{s:?}");
    let alerts = wait_for_alerts(&data, 2000, |a| a.len() as u64 >= N)?;
    let mut seqs = Vec::new();
    for a in &alerts {
        seqs.push(received(a)?.seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
    h.stop(Duration::from_secs(10))?;
    serve.stop()?;
    #[allow(clippy::cast_precision_loss)]
    let rate = N as f64 / sent.as_secs_f64();
    println!("{N} offers took {offered:?}; all sent in {sent:?} ({rate:.0} messages/s, debug build)");
    Ok(())
}

/// A private rsyslogd (Debian's rsyslog, gtls driver from rsyslog-gnutls) as
/// an independent RFC 5425 receiver: TLS on a free loopback port, client
/// certificates signed by the test CA required, every message written to
/// `out` as one JSON line; killed when dropped.
struct RsyslogArr {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
}

impl RsyslogArr {
    fn start(dir: &Path, pki: &Pki) -> anyhow::Result<Self> {
        let work = dir.join("rsyslog");
        std::fs::create_dir_all(&work)?;
        let port = free_port()?;
        let out = work.join("received.jsonl");
        let conf = work.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{work}\" DefaultNetstreamDriver=\"gtls\" \
                   DefaultNetstreamDriverCAFile=\"{ca}\" DefaultNetstreamDriverCertFile=\"{cert}\" \
                   DefaultNetstreamDriverKeyFile=\"{key}\")\n\
                 module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" \
                   StreamDriver.AuthMode=\"x509/certvalid\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
                 template(name=\"atna\" type=\"list\") {{\n\
                   constant(value=\"{{\\\"pri\\\":\\\"\") property(name=\"pri\")\n\
                   constant(value=\"\\\",\\\"hostname\\\":\\\"\") property(name=\"hostname\" format=\"json\")\n\
                   constant(value=\"\\\",\\\"app\\\":\\\"\") property(name=\"app-name\" format=\"json\")\n\
                   constant(value=\"\\\",\\\"msgid\\\":\\\"\") property(name=\"msgid\" format=\"json\")\n\
                   constant(value=\"\\\",\\\"sd\\\":\\\"\") property(name=\"structured-data\" format=\"json\")\n\
                   constant(value=\"\\\",\\\"msg\\\":\\\"\") property(name=\"msg\" format=\"json\")\n\
                   constant(value=\"\\\"}}\\n\")\n\
                 }}\n\
                 action(type=\"omfile\" file=\"{out}\" template=\"atna\")\n",
                work = work.display(),
                ca = pki.path("ca.pem").display(),
                cert = pki.path("server.pem").display(),
                key = pki.path("server.key").display(),
                out = out.display(),
            ),
        )?;
        let child = std::process::Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(work.join("rsyslogd.pid"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .context("could not start rsyslogd (packages rsyslog, rsyslog-gnutls)")?;
        let mut me = Self { child, port, out };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(exit) = me.child.try_wait()? {
                bail!(
                    "rsyslogd exited at start ({exit}); configuration:\n{}",
                    std::fs::read_to_string(&conf)?
                );
            }
            ensure!(Instant::now() < deadline, "rsyslogd did not open port {port} within 10 s");
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(me)
    }

    /// The JSON lines written so far.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for RsyslogArr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn rsyslog_as_the_repository_reads_rfc_5424_with_the_ihe_msgid() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let arr = RsyslogArr::start(dir.path(), &pki)?;
    let h = Harness::new()?;
    let f = h.spawn(config(&pki, arr.port, "client")?)?;
    f.offer(event(7, "key.rotated", "admin", true, Some("db-key"), "Database key rotated."));
    f.offer(event(8, "alert.rejected", "gw-icu-1", false, None, "CEF header incomplete <&>"));
    wait_status(&f, |s| s.sent == 2)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = arr.received();
        if lines.len() >= 2 {
            break lines;
        }
        ensure!(Instant::now() < deadline, "rsyslogd wrote {} lines: {lines:?}", lines.len());
        std::thread::sleep(Duration::from_millis(25));
    };
    ensure!(lines.len() == 2, "{lines:?}");
    let mut ids = Vec::new();
    for l in &lines {
        let field = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            (field("hostname"), field("app"), field("msgid")),
            (HOST.into(), "wardwatch".into(), "IHE+RFC-3881".into())
        );
        let msg = field("msg");
        let xml = msg.trim_start_matches('\u{FEFF}');
        let doc =
            roxmltree::Document::parse(xml).with_context(|| format!("rsyslog's MSG is not XML: {msg}"))?;
        let event_id =
            doc.descendants().find(|n| n.has_tag_name("EventID")).and_then(|n| n.attribute("csd-code"));
        let outcome = doc
            .descendants()
            .find(|n| n.has_tag_name("EventIdentification"))
            .and_then(|n| n.attribute("EventOutcomeIndicator"));
        ids.push((field("pri"), field("sd"), event_id.map(str::to_owned), outcome.map(str::to_owned)));
    }
    ids.sort();
    assert_eq!(
        ids,
        [
            ("84".into(), "[meta sequenceId=\"8\"]".into(), Some("110113".into()), Some("4".into())),
            ("85".into(), "[meta sequenceId=\"7\"]".into(), Some("110113".into()), Some("0".into())),
        ]
    );
    h.stop(Duration::from_secs(10))?;
    Ok(())
}

/// The console forwards its own audit records (here: it started, it
/// stopped) with their audit sequence numbers; received alerts stay out
/// unless `forward_ingest` is set.
#[test]
fn a_console_forwards_what_it_records_to_the_repository() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let repo_data = dir.path().join("repository");
    let (repository, addr) = serve_tls(&repo_data, &pki, true)?;
    let sender_config = pki.path("sender.toml");
    std::fs::write(
        &sender_config,
        format!(
            "[atna]\nurl = \"tls://127.0.0.1:{}\"\nca_file = \"ca.pem\"\nclient_cert_file = \"client.pem\"\n\
             client_key_file = \"client.key\"\naudit_source_id = \"ww-ward-4\"\nhostname = \"{HOST}\"\n",
            addr.port()
        ),
    )?;
    let console_data = dir.path().join("console");
    let config = sender_config.to_str().context("non-UTF-8 temp dir")?;
    let console = Serve::start_with(&console_data, &["--config", config])?;
    {
        use std::io::Write;
        let mut c = std::net::TcpStream::connect(console.tcp)?;
        c.write_all(b"<13>1 2026-11-28T10:00:00Z gw app - - - an alert\n")?;
    }
    wait_for_alerts(&console_data, 1, |a| !a.is_empty())?;
    console.stop()?;

    let got = all_received(&repo_data, 3)?;
    let seen: Vec<_> =
        got.iter().map(|r| (r.event_id.as_str(), r.summary.as_str(), r.source_id.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("110113", "config settings", "ww-ward-4"),
            ("110100", "console started", "ww-ward-4"),
            ("110100", "console stopped", "ww-ward-4")
        ],
        "the alert is not forwarded by default"
    );
    // The sequence numbers are the console's audit log's.
    let out = crate::support::run(
        &["audit", "verify", "--data-dir", console_data.to_str().context("path")?, "--json"],
        None,
    )?;
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        got[2].seq,
        report["verified_through"].as_u64().context("no head")?,
        "stopping is the last record"
    );
    assert!(got[0].seq < got[1].seq && got[1].seq < got[2].seq);
    repository.stop()?;
    Ok(())
}
