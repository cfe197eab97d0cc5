//! Sending the simulated traffic to a console over real sockets.
//!
//! One task per channel, each fed by a bounded queue; the dispatcher walks
//! the generator and hands each message to its channel at the message's
//! time (a timer, not a busy loop). A channel whose connection is down
//! reconnects with capped exponential back-off (100 ms to 2 s) and retries
//! the message it holds; meanwhile its queue fills, and what does not fit is
//! counted as dropped (a simulator does not buffer without limit). At the
//! end of the duration each channel gets [`DRAIN_GRACE`] to send what is
//! queued; on cancellation they stop at once. Every message is counted
//! once: `generated = sent + failed + dropped`.
//!
//! - syslog `tcp://`: RFC 6587 octet counting (`LEN SP MSG`); a failed write
//!   reconnects and sends the message again (up to three tries).
//! - syslog `udp://`: one message per datagram (RFC 5426).
//! - MLLP: one message in flight; each ACK is read (15 s at most) and its
//!   MSA-1 counted: `AA` is sent, `AE`/`AR` failed. A connection that
//!   closes before the ACK is reopened and the message sent again (so the
//!   console may get it twice: MLLP is at-least-once).
//! - HTTP: hyper's client, `POST` with the bearer token; `202` is sent, `503`
//!   is retried after its `Retry-After` (five tries), anything else failed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroize;

use super::traffic::{traffic, Channel};
use super::{Scenario, SimOptions, MAX_RATE};
use crate::codec::mllp::{MllpDecoder, MllpFrame};
use crate::hospital::Inventory;

/// How long channels may take, after the duration, to send what is queued.
pub const DRAIN_GRACE: Duration = Duration::from_secs(10);
const QUEUE: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const ACK_TIMEOUT: Duration = Duration::from_secs(15);
const HTTP_TIMEOUT: Duration = Duration::from_secs(40);
const TRIES: u32 = 3;
const HTTP_503_TRIES: u32 = 5;

/// Why the simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no target: give at least one of a syslog, MLLP or HTTP target")]
    NoTarget,
    #[error("target {target:?}: {reason}")]
    Target { target: String, reason: String },
    #[error("rate {0} is not a number of messages per second from 0 to {MAX_RATE}")]
    Rate(f64),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("a sending task stopped unexpectedly: {0}")]
    Task(String),
}

/// How syslog is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogTransport {
    /// RFC 6587 octet counting.
    Tcp,
    /// RFC 5426, one message per datagram.
    Udp,
}

/// `tcp://HOST:PORT` or `udp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    pub transport: SyslogTransport,
    /// `HOST:PORT`, resolved at each connection.
    pub address: String,
}

impl FromStr for SyslogTarget {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, SimError> {
        let bad = |reason: &str| SimError::Target { target: s.to_owned(), reason: reason.to_owned() };
        let (transport, rest) = if let Some(r) = s.strip_prefix("tcp://") {
            (SyslogTransport::Tcp, r)
        } else if let Some(r) = s.strip_prefix("udp://") {
            (SyslogTransport::Udp, r)
        } else {
            return Err(bad("expected tcp://HOST:PORT or udp://HOST:PORT"));
        };
        let rest = rest.trim_end_matches('/');
        match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
                Ok(Self { transport, address: rest.to_owned() })
            }
            _ => Err(bad("expected HOST:PORT after the scheme, with a port from 1 to 65535")),
        }
    }
}

impl fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.transport {
            SyslogTransport::Tcp => "tcp",
            SyslogTransport::Udp => "udp",
        };
        write!(f, "{scheme}://{}", self.address)
    }
}

/// A bearer token for an `http://` listener: never printed, wiped on drop.
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(redacted)")
    }
}

impl Drop for BearerToken {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Where to send each channel; a channel without a target is not generated.
#[derive(Debug, Default)]
pub struct Targets {
    pub syslog: Option<SyslogTarget>,
    pub mllp: Option<SocketAddr>,
    /// The URL (`http://HOST:PORT/v1/alerts`; a URL without a path gets
    /// `/v1/alerts`) and the bearer token.
    pub http: Option<(String, BearerToken)>,
}

/// What happened on one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelReport {
    pub target: Option<String>,
    /// Messages generated for this channel: `sent + failed + dropped`.
    pub generated: u64,
    /// Delivered: written (syslog), acknowledged `AA` (MLLP), `202` (HTTP).
    pub sent: u64,
    /// Given up on after tries, or refused by the console (`AE`, `AR`,
    /// HTTP other than 202).
    pub failed: u64,
    /// Never tried: the queue was full while the channel was down, or the
    /// run stopped before their turn.
    pub dropped: u64,
    /// Connections opened again after one was lost or refused.
    pub reconnects: u64,
    /// Messages sent again (after a failed write, a lost connection, a 503).
    pub retried: u64,
    /// MLLP acknowledgement codes.
    pub aa: u64,
    pub ae: u64,
    pub ar: u64,
    /// The last problem, in words (never a message's content).
    pub last_error: Option<String>,
}

impl ChannelReport {
    fn new(target: String) -> Self {
        Self { target: Some(target), ..Self::default() }
    }

    fn merge(&mut self, task: ChannelReport) {
        self.sent += task.sent;
        self.failed += task.failed;
        self.dropped += task.dropped;
        self.reconnects += task.reconnects;
        self.retried += task.retried;
        self.aa += task.aa;
        self.ae += task.ae;
        self.ar += task.ar;
        if task.last_error.is_some() {
            self.last_error = task.last_error;
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct SendReport {
    pub scenario: Scenario,
    pub seed: u64,
    pub rate: f64,
    /// From the first message to the last channel done.
    pub elapsed_ms: u64,
    /// Whether it ended by cancellation rather than by its duration.
    pub cancelled: bool,
    pub syslog: ChannelReport,
    pub mllp: ChannelReport,
    pub http: ChannelReport,
    /// Messages generated per story (`background` for the rest).
    pub by_story: BTreeMap<String, u64>,
}

impl SendReport {
    pub fn channel(&self, c: Channel) -> &ChannelReport {
        match c {
            Channel::Syslog => &self.syslog,
            Channel::Mllp => &self.mllp,
            Channel::Http => &self.http,
        }
    }

    fn channel_mut(&mut self, c: Channel) -> &mut ChannelReport {
        match c {
            Channel::Syslog => &mut self.syslog,
            Channel::Mllp => &mut self.mllp,
            Channel::Http => &mut self.http,
        }
    }
}

/// Capped exponential back-off.
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(2);

    fn new() -> Self {
        Self(Self::FIRST)
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }

    /// Waits, then doubles the next wait; false when stopped meanwhile.
    async fn wait(&mut self, stop: &CancellationToken) -> bool {
        let d = self.0;
        self.0 = (self.0 * 2).min(Self::MAX);
        tokio::select! {
            () = stop.cancelled() => false,
            () = tokio::time::sleep(d) => true,
        }
    }
}

async fn recv(rx: &mut mpsc::Receiver<Vec<u8>>, stop: &CancellationToken) -> Option<Vec<u8>> {
    tokio::select! {
        biased;
        () = stop.cancelled() => None,
        m = rx.recv() => m,
    }
}

/// Counts what is left in the queue as dropped.
fn drain_dropped(mut rx: mpsc::Receiver<Vec<u8>>, report: &mut ChannelReport) {
    rx.close();
    while rx.try_recv().is_ok() {
        report.dropped += 1;
    }
}

async fn connect(address: &str, stop: &CancellationToken) -> Result<TcpStream, String> {
    tokio::select! {
        () = stop.cancelled() => Err("stopped".to_owned()),
        r = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)) => match r {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(format!("cannot connect to {address}: {e}")),
            Err(_) => Err(format!("cannot connect to {address}: no answer in {} s", CONNECT_TIMEOUT.as_secs())),
        },
    }
}

/// A TCP connection that is opened when needed and counted when reopened.
struct Link {
    address: String,
    stream: Option<TcpStream>,
    opened_once: bool,
    backoff: Backoff,
}

impl Link {
    fn new(address: String) -> Self {
        Self { address, stream: None, opened_once: false, backoff: Backoff::new() }
    }

    /// The open connection, opening it (with back-off) as needed; `None`
    /// when stopped first.
    async fn get(&mut self, stop: &CancellationToken, report: &mut ChannelReport) -> Option<&mut TcpStream> {
        while self.stream.is_none() {
            match connect(&self.address, stop).await {
                Ok(s) => {
                    if self.opened_once {
                        report.reconnects += 1;
                    }
                    self.opened_once = true;
                    self.backoff.reset();
                    self.stream = Some(s);
                }
                Err(e) => {
                    if stop.is_cancelled() {
                        return None;
                    }
                    report.last_error = Some(e);
                    if !self.backoff.wait(stop).await {
                        return None;
                    }
                }
            }
        }
        self.stream.as_mut()
    }

    fn lost(&mut self, report: &mut ChannelReport, why: String) {
        self.stream = None;
        report.last_error = Some(why);
    }
}

async fn syslog_tcp(
    address: String,
    mut rx: mpsc::Receiver<Vec<u8>>,
    stop: CancellationToken,
) -> ChannelReport {
    let mut report = ChannelReport::default();
    let mut link = Link::new(address);
    while let Some(msg) = recv(&mut rx, &stop).await {
        let mut frame = format!("{} ", msg.len()).into_bytes();
        frame.extend_from_slice(&msg);
        let mut tries = 0;
        loop {
            let Some(stream) = link.get(&stop, &mut report).await else {
                report.dropped += 1;
                break;
            };
            match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&frame)).await {
                Ok(Ok(())) => {
                    report.sent += 1;
                    break;
                }
                Ok(Err(e)) => link.lost(&mut report, format!("write failed: {e}")),
                Err(_) => link.lost(&mut report, format!("write blocked for {} s", WRITE_TIMEOUT.as_secs())),
            }
            tries += 1;
            if tries >= TRIES {
                report.failed += 1;
                break;
            }
            report.retried += 1;
        }
    }
    drain_dropped(rx, &mut report);
    report
}

async fn syslog_udp(
    address: String,
    mut rx: mpsc::Receiver<Vec<u8>>,
    stop: CancellationToken,
) -> ChannelReport {
    let mut report = ChannelReport::default();
    let peer = match tokio::net::lookup_host(&address).await.map(|mut a| a.next()) {
        Ok(Some(p)) => Some(p),
        Ok(None) => {
            report.last_error = Some(format!("{address} has no address"));
            None
        }
        Err(e) => {
            report.last_error = Some(format!("cannot resolve {address}: {e}"));
            None
        }
    };
    let local: SocketAddr = match peer {
        Some(SocketAddr::V6(_)) => SocketAddr::from(([0u16; 8], 0)),
        _ => SocketAddr::from(([0u8; 4], 0)),
    };
    let socket = match (peer, UdpSocket::bind(local).await) {
        (Some(_), Ok(s)) => Some(s),
        (_, Err(e)) => {
            report.last_error = Some(format!("cannot open a UDP socket: {e}"));
            None
        }
        (None, Ok(_)) => None,
    };
    while let Some(msg) = recv(&mut rx, &stop).await {
        match (&socket, peer) {
            (Some(s), Some(p)) => match s.send_to(&msg, p).await {
                Ok(_) => report.sent += 1,
                Err(e) => {
                    report.failed += 1;
                    report.last_error = Some(format!("send failed: {e}"));
                }
            },
            _ => report.failed += 1,
        }
    }
    drain_dropped(rx, &mut report);
    report
}

/// MSA-1 of an acknowledgement.
fn ack_code(ack: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(ack);
    let sep = text.strip_prefix("MSH").and_then(|r| r.chars().next()).unwrap_or('|');
    text.split(['\r', '\n'])
        .find(|s| s.starts_with("MSA"))
        .and_then(|s| s.split(sep).nth(1))
        .map(|c| c.trim().to_owned())
}

/// Reads the next MLLP frame that is a message.
async fn read_ack(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    decoder: &mut MllpDecoder,
) -> Result<Bytes, String> {
    loop {
        match decoder.decode(buf) {
            Ok(Some(MllpFrame::Message(m))) => return Ok(m),
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => return Err(format!("bad ACK framing: {e}")),
        }
        match stream.read_buf(buf).await {
            Ok(0) => return Err("connection closed before the ACK".to_owned()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading the ACK failed: {e}")),
        }
    }
}

async fn mllp(
    address: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    stop: CancellationToken,
) -> ChannelReport {
    let mut report = ChannelReport::default();
    let mut link = Link::new(address.to_string());
    let mut buf = BytesMut::new();
    let mut decoder = MllpDecoder::new(1 << 20);
    while let Some(msg) = recv(&mut rx, &stop).await {
        let frame = MllpDecoder::frame(&msg);
        let mut tries = 0;
        loop {
            let Some(stream) = link.get(&stop, &mut report).await else {
                report.dropped += 1;
                break;
            };
            let exchange = async {
                stream.write_all(&frame).await.map_err(|e| format!("write failed: {e}"))?;
                read_ack(stream, &mut buf, &mut decoder).await
            };
            match tokio::time::timeout(ACK_TIMEOUT, exchange).await {
                Ok(Ok(ack)) => {
                    match ack_code(&ack).as_deref() {
                        Some("AA" | "CA") => {
                            report.aa += 1;
                            report.sent += 1;
                        }
                        Some(code @ ("AE" | "CE")) => {
                            report.ae += 1;
                            report.failed += 1;
                            report.last_error = Some(format!("the console answered {code}"));
                        }
                        Some(code @ ("AR" | "CR")) => {
                            report.ar += 1;
                            report.failed += 1;
                            report.last_error = Some(format!("the console answered {code}"));
                        }
                        other => {
                            report.failed += 1;
                            report.last_error = Some(format!("an ACK without a known MSA-1: {other:?}"));
                        }
                    }
                    break;
                }
                Ok(Err(e)) => link.lost(&mut report, e),
                Err(_) => link.lost(&mut report, format!("no ACK within {} s", ACK_TIMEOUT.as_secs())),
            }
            buf.clear();
            decoder = MllpDecoder::new(1 << 20);
            tries += 1;
            if tries >= TRIES {
                report.failed += 1;
                break;
            }
            report.retried += 1;
        }
    }
    drain_dropped(rx, &mut report);
    report
}

/// `http://HOST:PORT[/PATH]`, with `/v1/alerts` when there is no path.
fn http_uri(url: &str) -> Result<Uri, SimError> {
    let bad = |reason: &str| SimError::Target { target: url.to_owned(), reason: reason.to_owned() };
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(bad("https:// is not supported by the simulator; use http://")),
        _ => return Err(bad("expected http://HOST:PORT/v1/alerts")),
    }
    if uri.authority().is_none() {
        return Err(bad("expected http://HOST:PORT/v1/alerts"));
    }
    if uri.path() == "/" || uri.path().is_empty() {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        return format!("http://{authority}/v1/alerts").parse().map_err(|_| bad("not a URL"));
    }
    Ok(uri)
}

/// The `error` of a JSON error body, else its first characters.
fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

/// The `Authorization` header for `token`, marked sensitive (hyper then
/// leaves it out of its debug output).
fn authorization(token: &BearerToken, url: &str) -> Result<HeaderValue, SimError> {
    let value = zeroize::Zeroizing::new(format!("Bearer {}", token.expose_secret()));
    let mut header = HeaderValue::from_str(&value).map_err(|_| SimError::Target {
        target: url.to_owned(),
        reason: "the token has characters a header cannot carry".to_owned(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

async fn http(
    uri: Uri,
    auth: HeaderValue,
    mut rx: mpsc::Receiver<Vec<u8>>,
    stop: CancellationToken,
) -> ChannelReport {
    let mut report = ChannelReport::default();
    // The console closes idle keep-alive connections after 10 s: let the
    // pool forget them sooner, so that a request never races that close.
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(5)).build_http();
    let mut backoff = Backoff::new();
    'messages: while let Some(body) = recv(&mut rx, &stop).await {
        let body = Bytes::from(body);
        let (mut errors, mut busy) = (0, 0);
        loop {
            let request = Request::post(uri.clone())
                .header(AUTHORIZATION, auth.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()));
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    report.failed += 1;
                    report.last_error = Some(format!("cannot build the request: {e}"));
                    continue 'messages;
                }
            };
            let outcome = tokio::select! {
                () = stop.cancelled() => { report.dropped += 1; break 'messages; }
                r = tokio::time::timeout(HTTP_TIMEOUT, client.request(request)) => r,
            };
            match outcome {
                Ok(Ok(response)) => {
                    backoff.reset();
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let bytes = match tokio::time::timeout(HTTP_TIMEOUT, response.into_body().collect()).await
                    {
                        Ok(Ok(b)) => b.to_bytes(),
                        _ => Bytes::new(),
                    };
                    if status == StatusCode::ACCEPTED {
                        report.sent += 1;
                        break;
                    }
                    report.last_error = Some(format!("HTTP {status}: {}", error_text(&bytes)));
                    busy += 1;
                    if status != StatusCode::SERVICE_UNAVAILABLE || busy >= HTTP_503_TRIES {
                        report.failed += 1;
                        break;
                    }
                    report.retried += 1;
                    let wait = Duration::from_secs(retry_after.unwrap_or(5).clamp(1, 30));
                    tokio::select! {
                        () = stop.cancelled() => { report.dropped += 1; break 'messages; }
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                Ok(Err(e)) => {
                    let connect = e.is_connect();
                    report.last_error = Some(format!("request failed: {e}"));
                    // Not listening yet: wait for it. Lost mid-request: a few tries.
                    if !connect {
                        errors += 1;
                        if errors >= TRIES {
                            report.failed += 1;
                            break;
                        }
                    }
                    report.retried += 1;
                    if !backoff.wait(&stop).await {
                        report.dropped += 1;
                        break 'messages;
                    }
                }
                Err(_) => {
                    report.last_error = Some(format!("no answer within {} s", HTTP_TIMEOUT.as_secs()));
                    errors += 1;
                    if errors >= TRIES {
                        report.failed += 1;
                        break;
                    }
                    report.retried += 1;
                }
            }
        }
    }
    drain_dropped(rx, &mut report);
    report
}

/// Plays the traffic of `inventory` under `options` to `targets` until the
/// duration ends or `cancel` fires, and says what happened per channel.
/// Errors only for what makes running impossible (no target, a bad target
/// or rate); a console that is away is retried, and counted.
pub async fn run(
    targets: Targets,
    inventory: &Inventory,
    options: SimOptions,
    cancel: CancellationToken,
) -> Result<SendReport, SimError> {
    if targets.syslog.is_none() && targets.mllp.is_none() && targets.http.is_none() {
        return Err(SimError::NoTarget);
    }
    if !options.rate.is_finite() || !(0.0..=MAX_RATE).contains(&options.rate) {
        return Err(SimError::Rate(options.rate));
    }
    let http_target = match targets.http {
        Some((url, token)) => Some((http_uri(&url)?, authorization(&token, &url)?)),
        None => None,
    };
    let mut report = SendReport {
        scenario: options.scenario,
        seed: options.seed,
        rate: options.rate,
        elapsed_ms: 0,
        cancelled: false,
        syslog: ChannelReport::default(),
        mllp: ChannelReport::default(),
        http: ChannelReport::default(),
        by_story: BTreeMap::new(),
    };
    // Stopped at once on cancellation, or after the grace at the end.
    let stop = cancel.child_token();
    let mut senders: BTreeMap<Channel, mpsc::Sender<Vec<u8>>> = BTreeMap::new();
    let mut tasks = Vec::new();
    if let Some(t) = targets.syslog {
        let (tx, rx) = mpsc::channel(QUEUE);
        senders.insert(Channel::Syslog, tx);
        report.syslog = ChannelReport::new(t.to_string());
        let task = match t.transport {
            SyslogTransport::Tcp => tokio::spawn(syslog_tcp(t.address, rx, stop.clone())),
            SyslogTransport::Udp => tokio::spawn(syslog_udp(t.address, rx, stop.clone())),
        };
        tasks.push((Channel::Syslog, task));
    }
    if let Some(addr) = targets.mllp {
        let (tx, rx) = mpsc::channel(QUEUE);
        senders.insert(Channel::Mllp, tx);
        report.mllp = ChannelReport::new(format!("mllp://{addr}"));
        tasks.push((Channel::Mllp, tokio::spawn(mllp(addr, rx, stop.clone()))));
    }
    if let Some((uri, auth)) = http_target {
        let (tx, rx) = mpsc::channel(QUEUE);
        senders.insert(Channel::Http, tx);
        report.http = ChannelReport::new(uri.to_string());
        tasks.push((Channel::Http, tokio::spawn(http(uri, auth, rx, stop.clone()))));
    }

    let t0 = tokio::time::Instant::now();
    // Far enough to be never: an offset past it cannot be reached anyway.
    let never = t0 + Duration::from_secs(100 * 365 * 24 * 3600);
    for timed in traffic(inventory, &options, chrono::Utc::now()) {
        // Paced even when the channel has no target, so that a run whose
        // messages all go elsewhere waits rather than spins.
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = tokio::time::sleep_until(t0.checked_add(timed.offset).unwrap_or(never)) => {}
        }
        let Some(tx) = senders.get(&timed.message.channel) else { continue };
        let story = timed.message.story.map_or("background", Scenario::name);
        *report.by_story.entry(story.to_owned()).or_default() += 1;
        let channel = report.channel_mut(timed.message.channel);
        channel.generated += 1;
        if tx.try_send(timed.message.payload).is_err() {
            channel.dropped += 1;
        }
    }
    report.cancelled = cancel.is_cancelled();
    drop(senders);

    let grace = tokio::time::sleep(DRAIN_GRACE);
    tokio::pin!(grace);
    let mut outcomes = Vec::new();
    for (channel, mut task) in tasks {
        let joined = tokio::select! {
            r = &mut task => r,
            () = &mut grace => { stop.cancel(); task.await }
        };
        outcomes.push((channel, joined));
    }
    stop.cancel();
    for (channel, joined) in outcomes {
        match joined {
            Ok(r) => report.channel_mut(channel).merge(r),
            Err(e) => return Err(SimError::Task(format!("{} channel: {e}", channel.as_str()))),
        }
    }
    report.elapsed_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_refuse_with_reasons() {
        let ok = |s: &str| s.parse::<SyslogTarget>().map(|t| (t.transport, t.address.clone(), t.to_string()));
        assert_eq!(
            ok("tcp://127.0.0.1:5514").ok(),
            Some((SyslogTransport::Tcp, "127.0.0.1:5514".into(), "tcp://127.0.0.1:5514".into()))
        );
        assert_eq!(ok("udp://localhost:514/").ok().map(|t| t.1), Some("localhost:514".into()));
        assert_eq!(ok("udp://[::1]:514").ok().map(|t| t.1), Some("[::1]:514".into()));
        for bad in ["tls://h:1", "tcp://h", "tcp://:1", "tcp://h:0", "tcp://h:99999", "h:514"] {
            assert!(bad.parse::<SyslogTarget>().is_err(), "{bad} accepted");
        }
        let uri = |s: &str| http_uri(s).map(|u| u.to_string());
        assert_eq!(uri("http://127.0.0.1:8080").ok().as_deref(), Some("http://127.0.0.1:8080/v1/alerts"));
        assert_eq!(uri("http://h:1/v1/alerts").ok().as_deref(), Some("http://h:1/v1/alerts"));
        assert!(
            matches!(uri("https://h:1/"), Err(SimError::Target { reason, .. }) if reason.contains("https"))
        );
        assert!(uri("ftp://h/").is_err() && uri("not a url").is_err());
    }

    #[test]
    fn ack_codes_and_error_bodies_are_read() {
        assert_eq!(ack_code(b"MSH|^~\\&|WARDWATCH|SEC\rMSA|AA|SIM1\r").as_deref(), Some("AA"));
        assert_eq!(ack_code(b"MSH#^~\\&#X\rMSA#AE#SIM1#store\r").as_deref(), Some("AE"));
        assert_eq!(ack_code(b"MSH|^~\\&|X\r"), None);
        assert_eq!(error_text(br#"{"error": "unknown bearer token"}"#), "unknown bearer token");
        assert_eq!(error_text(b"oops"), "oops");
    }

    #[test]
    fn a_token_never_prints() {
        let t = BearerToken::new("ww_secret".into());
        assert_eq!(format!("{t:?}"), "BearerToken(redacted)");
        let targets = Targets { http: Some(("u".into(), t)), ..Targets::default() };
        assert!(!format!("{targets:?}").contains("ww_"));
    }

    #[tokio::test]
    async fn no_target_and_bad_rates_are_refused() {
        let inv = Inventory::default();
        let run_with = |targets, rate| {
            run(targets, &inv, SimOptions { rate, ..SimOptions::default() }, CancellationToken::new())
        };
        assert!(matches!(run_with(Targets::default(), 1.0).await, Err(SimError::NoTarget)));
        let udp = || Targets { syslog: "udp://127.0.0.1:9".parse().ok(), ..Targets::default() };
        assert!(matches!(run_with(udp(), -1.0).await, Err(SimError::Rate(_))));
        assert!(matches!(run_with(udp(), f64::NAN).await, Err(SimError::Rate(_))));
    }

    #[tokio::test]
    async fn messages_for_channels_without_a_target_are_paced_not_spun() -> Result<(), SimError> {
        let inv = crate::simulate::hospital(crate::simulate::DEFAULT_SEED);
        let targets = Targets { mllp: "127.0.0.1:9".parse().ok(), ..Targets::default() };
        let options = SimOptions {
            scenario: Scenario::ScannerStorm,
            rate: 0.0,
            duration: Some(Duration::from_secs(1)),
            ..SimOptions::default()
        };
        let started = std::time::Instant::now();
        let report = run(targets, &inv, options, CancellationToken::new()).await?;
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
        assert_eq!((report.mllp.generated, report.syslog.target.clone()), (0, None));
        Ok(())
    }

    #[tokio::test]
    async fn udp_sends_one_datagram_per_message() -> Result<(), SimError> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| SimError::Io { what, source }
        };
        let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(io("bind"))?;
        let addr = socket.local_addr().map_err(io("local address"))?;
        let inv = crate::simulate::hospital(crate::simulate::DEFAULT_SEED);
        let targets = Targets { syslog: format!("udp://{addr}").parse().ok(), ..Targets::default() };
        let options = SimOptions {
            scenario: Scenario::Background,
            rate: 100.0,
            duration: Some(Duration::from_millis(500)),
            ..SimOptions::default()
        };
        let report = run(targets, &inv, options, CancellationToken::new()).await?;
        assert!(report.syslog.sent > 10 && report.syslog.sent == report.syslog.generated, "{report:?}");
        let mut got = 0;
        let mut buf = vec![0u8; 65_536];
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), socket.recv(&mut buf)).await {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(text.starts_with('<') && !text.starts_with(|c: char| c.is_ascii_digit()), "{text}");
            got += 1;
        }
        assert_eq!(got, report.syslog.sent);
        Ok(())
    }
}
