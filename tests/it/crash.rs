//! `kill -9` at random moments while alerts stream in over HTTP and HL7 over
//! MLLP: everything a sender saw acknowledged (HTTP 202, MLLP AA) must be
//! stored after a restart (at least once; a request in flight at the kill
//! may be stored without its acknowledgement, and its retry would make a
//! duplicate, so duplicates are counted and reported, not forbidden).
//!
//! The kill points come from a seeded generator; the seed is printed, and
//! `WARDWATCH_CRASH_SEED=N` repeats a run.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::http::new_token;
use crate::support::{alerts_json, Serve};

const PCD01: &[u8] = include_bytes!("../fixtures/hl7/pcd01-spo2.hl7");
/// How many times the server is killed.
const KILLS: usize = 5;
/// Concurrent HTTP senders (`WARDWATCH_CRASH_SENDERS=N` for another number,
/// to see how group commit scales).
const HTTP_SENDERS: usize = 4;

/// A small HTTP/1.1 client on one keep-alive connection: the crash test
/// sends thousands of requests, too many for a process per request.
pub(crate) struct HttpClient {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
    token: String,
}

/// A response: status, headers (lower-cased) and body.
#[derive(Debug)]
pub(crate) struct HttpReply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl HttpClient {
    pub(crate) fn connect(addr: SocketAddr, token: &str, timeout: Duration) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream: BufReader::new(stream), addr, token: token.to_owned() })
    }

    /// POSTs `body` to /v1/alerts and reads the response.
    pub(crate) fn post(&mut self, body: &str) -> anyhow::Result<HttpReply> {
        let request = format!(
            "POST /v1/alerts HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.token,
            body.len()
        );
        self.stream.get_mut().write_all(request.as_bytes())?;
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            anyhow::ensure!(self.stream.read_line(&mut line)? > 0, "connection closed before the response");
            if line == "\r\n" {
                break;
            }
            headers.push_str(&line.to_ascii_lowercase());
        }
        let status = headers.split_whitespace().nth(1).context("no status")?.parse()?;
        let len: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .context("no content-length")?
            .trim()
            .parse()?;
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body)?;
        Ok(HttpReply { status, headers, body: String::from_utf8(body)? })
    }
}

/// The body of one POST: one alert per marker.
pub(crate) fn alerts_body(markers: &[String]) -> String {
    let alerts: Vec<String> =
        markers.iter().map(|m| format!(r#"{{"event_class":"CRASH","name":"{m}","severity":3}}"#)).collect();
    format!("[{}]", alerts.join(","))
}

/// How often each stored alert name occurs (`alerts --json`).
pub(crate) fn stored_names(data: &Path) -> anyhow::Result<HashMap<String, usize>> {
    let mut counts = HashMap::new();
    for a in alerts_json(data, 10_000_000)? {
        if let Some(name) = a["name"].as_str() {
            *counts.entry(name.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// A configuration file with one token; returns (its path, the token).
pub(crate) fn config_with_token(dir: &Path, extra: &str) -> anyhow::Result<(String, String)> {
    let (token, entry) = new_token("gw-crash")?;
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("{extra}\n{entry}\n"))?;
    Ok((path.to_str().context("non-UTF-8 temp dir")?.to_owned(), token))
}

/// splitmix64: a small seeded generator, enough to pick kill points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the senders saw acknowledged, and how many requests they sent.
#[derive(Default)]
struct Acked {
    alerts: Vec<String>,
    requests: usize,
    hl7: Vec<String>,
}

/// Posts alerts with unique markers until the server goes away or `stop`.
fn http_sender(
    addr: SocketAddr,
    token: &str,
    prefix: &str,
    seed: u64,
    acked: &Mutex<Acked>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut rng = Rng(seed);
    let mut client = HttpClient::connect(addr, token, Duration::from_secs(20))?;
    let mut seq = 0;
    while !stop.load(Ordering::Relaxed) {
        // Mostly one alert per request, sometimes a few.
        let n = if rng.below(4) == 0 { 1 + rng.below(3) as usize } else { 1 };
        let markers: Vec<String> = (0..n).map(|i| format!("{prefix}-{seq}-{i}")).collect();
        seq += 1;
        // A failed request ends the sender: the server was killed.
        let Ok(reply) = client.post(&alerts_body(&markers)) else { return Ok(()) };
        anyhow::ensure!(reply.status == 202, "unexpected answer {reply:?}");
        let mut a = acked.lock().unwrap_or_else(PoisonError::into_inner);
        a.requests += 1;
        a.alerts.extend(markers);
    }
    Ok(())
}

/// Sends PCD-01 messages with unique control ids over one MLLP connection,
/// one at a time, until the server goes away or `stop`.
fn mllp_sender(
    addr: SocketAddr,
    prefix: &str,
    acked: &Mutex<Acked>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let template = String::from_utf8(PCD01.to_vec())?;
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut seq = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = format!("{prefix}{seq}");
        seq += 1;
        let message = template.replacen("MSG00042", &id, 1);
        let mut frame = vec![0x0b];
        frame.extend_from_slice(message.as_bytes());
        frame.extend_from_slice(b"\x1c\r");
        if c.write_all(&frame).is_err() {
            return Ok(());
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"\x1c\r") {
            match c.read(&mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => return Ok(()),
            }
        }
        let ack = String::from_utf8_lossy(&got);
        anyhow::ensure!(ack.contains(&format!("MSA|AA|{id}")), "unexpected ACK {ack:?}");
        acked.lock().unwrap_or_else(PoisonError::into_inner).hl7.push(id);
    }
    Ok(())
}

/// The writer's figures from `wardwatch status --json`: records, transactions, mean batch size.
fn store_figures(data: &Path) -> String {
    let dir = data.to_string_lossy();
    let Ok(out) = crate::support::run(&["status", "--data-dir", &dir, "--json"], None) else {
        return "no status".into();
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let h = &v["status"]["store"];
    let (stored, batches) = (h["stored"].as_u64().unwrap_or(0), h["batches"].as_u64().unwrap_or(0));
    format!(
        "{stored} records in {batches} transactions (mean {:.1}, largest {})",
        stored as f64 / batches.max(1) as f64,
        h["largest_batch"]
    )
}

/// Control ids of the stored device observations, read from the database.
fn stored_control_ids(data: &Path) -> anyhow::Result<HashMap<String, usize>> {
    let conn = crate::support::open_db(data)?;
    let mut stmt = conn.prepare("SELECT control_id FROM device_observations")?;
    let mut counts = HashMap::new();
    for id in stmt.query_map([], |r| r.get::<_, Option<String>>(0))? {
        if let Some(id) = id? {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

#[test]
fn kill_9_at_random_moments_loses_nothing_acknowledged() -> anyhow::Result<()> {
    let seed = match std::env::var("WARDWATCH_CRASH_SEED") {
        Ok(s) => s.parse().context("WARDWATCH_CRASH_SEED is not a number")?,
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as u64,
    };
    println!("crash test seed: {seed} (WARDWATCH_CRASH_SEED={seed} repeats this run)");
    let mut rng = Rng(seed);
    let senders_n = match std::env::var("WARDWATCH_CRASH_SENDERS") {
        Ok(s) => s.parse().context("WARDWATCH_CRASH_SENDERS is not a number")?,
        Err(_) => HTTP_SENDERS,
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let (config, token) = config_with_token(dir.path(), "")?;
    let args =
        ["--config", config.as_str(), "--listen", "http://127.0.0.1:0", "--listen", "mllp://127.0.0.1:0"];
    let acked = Arc::new(Mutex::new(Acked::default()));
    let started = Instant::now();
    let mut streaming = Duration::ZERO;
    for round in 0..KILLS {
        let serve = Serve::start_with(&data, &args)?;
        let http = serve.http.context("no http listener")?;
        let mllp = serve.mllp.context("no mllp listener")?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut senders = Vec::new();
        for c in 0..senders_n {
            let (acked, stop, token) = (acked.clone(), stop.clone(), token.clone());
            let sender_seed = rng.next();
            senders.push(std::thread::spawn(move || {
                http_sender(http, &token, &format!("crash-r{round}-c{c}"), sender_seed, &acked, &stop)
            }));
        }
        {
            let (acked, stop) = (acked.clone(), stop.clone());
            senders.push(std::thread::spawn(move || mllp_sender(mllp, &format!("R{round}N"), &acked, &stop)));
        }
        // The kill point: not a wait for a condition, the random moment under test.
        let delay = Duration::from_millis(200 + rng.below(1300));
        print!("round {round}: kill -9 after {} ms", delay.as_millis());
        let t = Instant::now();
        std::thread::sleep(delay);
        let writer = store_figures(&data);
        serve.kill9()?;
        streaming += t.elapsed();
        println!("; writer then: {writer}");
        stop.store(true, Ordering::Relaxed);
        for s in senders {
            s.join().map_err(|_| anyhow::anyhow!("a sender panicked"))??;
        }
        // The chain as the kill left it (no clean stop, no last checkpoint) verifies.
        verify_chain(&data)?;
    }
    // Restart once more and stop cleanly: recovery runs, the log is checkpointed.
    let serve = Serve::start_with(&data, &args)?;
    serve.stop()?;

    let acked = acked.lock().unwrap_or_else(PoisonError::into_inner);
    let stored = stored_names(&data)?;
    let missing: Vec<&String> = acked.alerts.iter().filter(|m| !stored.contains_key(*m)).collect();
    let duplicates = stored.values().filter(|&&n| n > 1).count();
    let acked_set: std::collections::HashSet<&String> = acked.alerts.iter().collect();
    let unacked_stored = stored.keys().filter(|k| k.starts_with("crash-") && !acked_set.contains(k)).count();
    let observations = stored_control_ids(&data)?;
    let missing_hl7: Vec<&String> = acked.hl7.iter().filter(|id| !observations.contains_key(*id)).collect();
    println!(
        "{KILLS} kills in {:.1} s: {} requests acknowledged ({} alerts, {:.0} requests/s durably with {senders_n} senders), \
         {} HL7 messages AA; stored without an acknowledgement (in flight at a kill): {unacked_stored}; duplicates: {duplicates}",
        started.elapsed().as_secs_f64(),
        acked.requests,
        acked.alerts.len(),
        acked.requests as f64 / streaming.as_secs_f64(),
        acked.hl7.len(),
    );
    anyhow::ensure!(
        acked.requests > 0 && !acked.hl7.is_empty(),
        "nothing was acknowledged: the test proved nothing"
    );
    assert!(missing.is_empty(), "{} acknowledged alerts lost, first {:?}", missing.len(), missing.first());
    assert!(missing_hl7.is_empty(), "{} HL7 messages answered AA lost: {missing_hl7:?}", missing_hl7.len());
    let head = verify_chain(&data)?;
    println!("audit chain verifies through record {head}");
    Ok(())
}

/// `wardwatch audit verify --json` on `data`: fails unless the whole chain
/// and every checkpoint verify; the last verified record.
fn verify_chain(data: &Path) -> anyhow::Result<u64> {
    let dir = data.to_string_lossy();
    let out = crate::support::run(&["audit", "verify", "--data-dir", &dir, "--json"], None)?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("audit verify printed {:?}", String::from_utf8_lossy(&out.stderr)))?;
    anyhow::ensure!(
        out.status.success() && report["ok"] == true,
        "the audit chain does not verify: {report}"
    );
    report["verified_through"].as_u64().context("no verified_through")
}
