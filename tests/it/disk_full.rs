//! A full disk: the data directory is a small tmpfs, filled up while alerts
//! arrive. The console must say so (`wardwatch status`: store failing, "disk
//! full"), refuse to acknowledge (HTTP 503 with Retry-After), hold TCP
//! senders back (back-pressure, nothing dropped), count UDP drops, and
//! recover by itself once space is freed, with every acknowledged alert
//! stored exactly once.
//!
//! Mounting needs root (CI runs as root); as another user the test fails
//! and says so: it must not pass without having run.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::crash::{alerts_body, config_with_token, stored_names, HttpClient};
use crate::support::{counters, run, wait_for_counters, wait_for_counters_within, Serve};

/// A tmpfs mounted for the test; unmounted when dropped, whatever happened.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> anyhow::Result<Self> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(path)
            .output()
            .context("could not run mount")?;
        anyhow::ensure!(out.status.success(), "mount failed: {}", String::from_utf8_lossy(&out.stderr));
        Ok(Self(path.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a process not yet reaped): detach it now, freed when unused.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

fn is_root() -> anyhow::Result<bool> {
    let out = Command::new("id").arg("-u").output().context("could not run id")?;
    Ok(String::from_utf8(out.stdout)?.trim() == "0")
}

/// Writes zeros to `path` until the filesystem is full; returns how many bytes.
fn fill(path: &Path) -> anyhow::Result<u64> {
    let mut file = std::fs::File::create(path)?;
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    for size in [64 * 1024, 4096, 1] {
        loop {
            match file.write(&chunk[..size]) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(written)
}

/// The store's health from `wardwatch status --json`.
fn store_health(data: &Path) -> anyhow::Result<Value> {
    let out = run(&["status", "--data-dir", data.to_str().context("non-UTF-8 dir")?, "--json"], None)?;
    anyhow::ensure!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["status"]["store"].clone())
}

fn wait_for_store(data: &Path, what: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = store_health(data).unwrap_or_default();
        if done(&h) {
            return Ok(h);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting for the store to be {what}; last health {h}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What one HTTP sender got: (marker, status, had Retry-After).
type Replies = Arc<Mutex<Vec<(String, u16, bool)>>>;

/// A console serving from a fresh tmpfs (`base/data`) with an http://
/// listener besides the default udp:// and tcp://; logs in `base/serve.log`.
struct Full {
    // Declared first, dropped last: unmounted after the console is gone.
    serve: Serve,
    tmpfs: Tmpfs,
    data: PathBuf,
    token: String,
    log: PathBuf,
}

impl Full {
    fn start(base: &Path) -> anyhow::Result<Self> {
        anyhow::ensure!(
            is_root()?,
            "this test mounts a tmpfs to fill it and must run as root (CI does); run the tests as root"
        );
        let data = base.join("data");
        std::fs::create_dir(&data)?;
        // Room for what TCP senders hold in socket buffers (some MiB: about
        // 75,000 alerts) once stored, each as a row and an audit record.
        let tmpfs = Tmpfs::mount(&data, "256m")?;
        // A small queue so that TCP back-pressure shows after little data.
        let (config, token) = config_with_token(base, "queue_capacity = 256")?;
        let log = base.join("serve.log");
        let serve =
            Serve::start_logging(&data, &["--config", &config, "--listen", "http://127.0.0.1:0"], &log)?;
        Ok(Self { serve, tmpfs, data, token, log })
    }
}

/// A TCP syslog sender held back by a console that stopped reading.
struct HeldTcp {
    stream: TcpStream,
    /// Lines begun (the last one perhaps not wholly written).
    lines: u64,
    /// What is left of the last line.
    rest: Vec<u8>,
    bytes: usize,
}

/// Writes syslog lines (`tcp-held-N`) to `addr` until a write blocks for 2 s.
fn write_until_held(addr: std::net::SocketAddr) -> anyhow::Result<HeldTcp> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_write_timeout(Some(Duration::from_secs(2)))?;
    let (mut lines, mut bytes, mut rest) = (0u64, 0usize, Vec::new());
    loop {
        if rest.is_empty() {
            rest = format!("<13>1 2024-05-01T10:00:00Z pump-3 fw - - - tcp-held-{lines}\n").into_bytes();
            lines += 1;
        }
        match tcp.write(&rest) {
            Ok(n) => {
                bytes += n;
                rest.drain(..n);
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Ok(HeldTcp { stream: tcp, lines, rest, bytes });
            }
            Err(e) => return Err(e.into()),
        }
        anyhow::ensure!(bytes < 512 << 20, "TCP writes never blocked after {bytes} bytes: no back-pressure");
    }
}

#[test]
fn a_full_disk_is_shown_refused_and_recovered_from_without_loss() -> anyhow::Result<()> {
    let base = tempfile::tempdir()?;
    let Full { serve, tmpfs, data, token, log } = Full::start(base.path())?;
    let http = serve.http.context("no http listener")?;

    let mut client = HttpClient::connect(http, &token, Duration::from_secs(30))?;
    for i in 0..3 {
        let r = client.post(&alerts_body(&[format!("before-{i}")]))?;
        anyhow::ensure!(r.status == 202, "{r:?}");
    }
    // The status file is there before the disk fills (it is then overwritten in place).
    wait_for_counters(&data, "http", |c| c["stored"] == 3)?;

    let filled = fill(&data.join("filler"))?;
    println!("filled the tmpfs with {filled} bytes");

    // A gateway keeps posting, one alert per request, as it would.
    let replies: Replies = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (replies, stop, token) = (replies.clone(), stop.clone(), token.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            let mut client = HttpClient::connect(http, &token, Duration::from_secs(30))?;
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) {
                let marker = format!("during-{seq}");
                seq += 1;
                let r = client.post(&alerts_body(std::slice::from_ref(&marker)))?;
                let retry_after = r.headers.contains("retry-after: 5");
                anyhow::ensure!(r.status == 202 || r.status == 503, "unexpected answer {r:?}");
                if r.status == 503 {
                    anyhow::ensure!(r.body.contains("did not write"), "unclear 503 body {r:?}");
                }
                replies.lock().unwrap_or_else(PoisonError::into_inner).push((marker, r.status, retry_after));
            }
            Ok(())
        })
    };

    let failing = wait_for_store(&data, "failing with a full disk", |h| {
        h["ok"] == false && h["error"].as_str().is_some_and(|e| e.contains("disk full"))
    })?;
    println!("store health while full: {failing}");
    let text = run(&["status", "--data-dir", data.to_str().context("non-UTF-8 dir")?], None)?;
    let text = String::from_utf8(text.stdout)?;
    assert!(text.contains("Store:   FAILING since") && text.contains("disk full"), "{text}");

    // TCP: the console stops reading once its queue is full; the sender's
    // writes then block. Nothing is dropped.
    let HeldTcp { stream: mut tcp, lines, rest, bytes: sent_bytes } = write_until_held(serve.tcp)?;
    let c = counters(&data, "tcp")?;
    println!("TCP held back after {lines} lines ({sent_bytes} bytes); console counters then: {c}");
    assert_eq!(c["dropped"], 0, "{c}");
    assert!(c["received"].as_u64().is_some_and(|r| r < lines), "{c}");

    // UDP cannot be held back: what the full queue cannot take is counted.
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    for i in 0..200 {
        udp.send_to(format!("<13>1 2024-05-01T10:00:00Z pump-3 fw - - - udp-{i}").as_bytes(), serve.udp)?;
    }
    let u = wait_for_counters(&data, "udp", |c| c["dropped"].as_u64().is_some_and(|d| d > 0))?;
    println!("UDP while full: {u}");

    // HTTP: refused with 503 and Retry-After, never acknowledged.
    let deadline = Instant::now() + Duration::from_secs(40);
    let refused = loop {
        let got = replies.lock().unwrap_or_else(PoisonError::into_inner).iter().find(|r| r.1 == 503).cloned();
        if let Some(r) = got {
            break r;
        }
        anyhow::ensure!(Instant::now() < deadline, "no 503 while the disk was full");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(refused.2, "503 without Retry-After: {refused:?}");

    // Space returns: the store recovers by itself.
    std::fs::remove_file(data.join("filler"))?;
    let ok = wait_for_store(&data, "writing again", |h| h["ok"] == true)?;
    println!("store health after freeing space: {ok}");
    tcp.set_write_timeout(None)?;
    tcp.write_all(&rest)?;
    // Some 75,000 alerts wait in socket buffers: storing them (a debug build,
    // each with its audit record) takes longer than the usual wait.
    let c = wait_for_counters_within(&data, "tcp", Duration::from_secs(120), |c| {
        c["received"] == lines && c["stored"] == lines
    })?;
    assert_eq!(c["dropped"], 0, "{c}");
    // Requests are acknowledged again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while replies.lock().unwrap_or_else(PoisonError::into_inner).last().is_none_or(|r| r.1 != 202) {
        anyhow::ensure!(Instant::now() < deadline, "no 202 after the store recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    sender.join().map_err(|_| anyhow::anyhow!("the sender panicked"))??;
    let h = counters(&data, "http")?;
    assert!(h["store_unavailable"].as_u64().is_some_and(|n| n >= 1), "{h}");

    serve.stop()?;
    let stored = stored_names(&data)?;
    let replies = replies.lock().unwrap_or_else(PoisonError::into_inner);
    let acked: Vec<&String> = replies.iter().filter(|r| r.1 == 202).map(|r| &r.0).collect();
    for m in (0..3).map(|i| format!("before-{i}")).chain(acked.iter().map(|m| (*m).clone())) {
        assert_eq!(stored.get(&m), Some(&1), "acknowledged alert {m} not stored exactly once");
    }
    let refused_stored = replies.iter().filter(|r| r.1 == 503 && stored.contains_key(&r.0)).count();
    println!(
        "HTTP: {} acknowledged, {} refused with 503 ({refused_stored} of them stored after all: queued before the refusal); {}",
        acked.len(),
        replies.len() - acked.len(),
        h
    );
    // Logged once when it started failing and once when it recovered, not per retry.
    let logged = std::fs::read_to_string(&log)?;
    assert_eq!(logged.matches("Store cannot write").count(), 1, "{logged}");
    assert_eq!(logged.matches("Store writing again").count(), 1, "{logged}");
    let tcp_stored = stored.keys().filter(|k| k.starts_with("tcp-held-")).count() as u64;
    assert_eq!(tcp_stored, lines, "every TCP line held back is stored");
    drop(tmpfs);
    Ok(())
}

#[test]
fn stopping_while_the_disk_is_full_ends_and_says_what_was_lost() -> anyhow::Result<()> {
    let base = tempfile::tempdir()?;
    let Full { serve, tmpfs, data, log, .. } = Full::start(base.path())?;
    fill(&data.join("filler"))?;
    let held = write_until_held(serve.tcp)?;
    wait_for_store(&data, "failing with a full disk", |h| h["ok"] == false)?;
    // SIGTERM: the console must stop within bounds even though its store
    // cannot write what it holds, and say that it was lost.
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(serve.stop());
    });
    let last = done
        .recv_timeout(Duration::from_secs(60))
        .context("serve did not stop within 60 s while the disk was full")??;
    drop(held);
    println!("serve said when stopping: {last}");
    let logged = std::fs::read_to_string(&log)?;
    assert!(logged.contains("Store failed while stopping; messages lost."), "{logged}");
    let dropped: u64 = last
        .split(", ")
        .find_map(|part| part.strip_suffix(" dropped"))
        .context("no dropped count")?
        .parse()?;
    assert!(dropped > 0, "{last}");
    let durable: u64 = last
        .rsplit_once("; ")
        .and_then(|(_, r)| {
            r.strip_suffix(" records durably stored\n").or(r.strip_suffix(" records durably stored"))
        })
        .context("no stored count")?
        .parse()?;
    // What the status counted as stored is what the database holds.
    std::fs::remove_file(data.join("filler"))?;
    let tcp = counters(&data, "tcp")?;
    let stored = stored_names(&data)?.keys().filter(|k| k.starts_with("tcp-held-")).count() as u64;
    assert_eq!(tcp["stored"].as_u64(), Some(stored), "{tcp}");
    assert_eq!(durable, stored, "the stop line's count of records stored against the database");
    drop(tmpfs);
    Ok(())
}
