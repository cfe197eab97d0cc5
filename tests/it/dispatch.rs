//! The response adapters against real peers on 127.0.0.1: an HTTP server
//! (hyper's server connection, plain and behind rustls) that records every
//! request and answers as each test says, a UDP socket and a TCP listener
//! for CEF syslog, whose messages are read back with the crate's own
//! parsers. The bearer token test uses the real OS keyring: run under
//! `scripts/with-desktop-session.sh`, e.g.
//! `scripts/with-desktop-session.sh cargo test -p wardwatch --test it dispatch`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Decoder;

use wardwatch::codec::framing::{Frame, SyslogFramer};
use wardwatch::codec::{cef, rfc5424};
use wardwatch::ingest::{tls_server_config, TlsFiles};
use wardwatch::keys::ConsoleId;
use wardwatch::response::dispatch::{
    backoff, Adapter, AdapterConfig, Adapters, Attempt, CefSyslogConfig, ConfigError, Order, OrderDevice,
    RetryPolicy, TokenError, TokenStore, WebhookConfig, WebhookToken,
};
use wardwatch::response::ActionId;

use crate::tls::Pki;

type R = Result<(), Box<dyn std::error::Error>>;

/// The longest any test waits for a peer.
const WAIT: Duration = Duration::from_secs(10);

fn order() -> Result<Order, &'static str> {
    Ok(Order {
        request_id: 4711,
        action: ActionId::new("quarantine").ok_or("bad action id")?,
        action_title: "Full network quarantine".into(),
        incident_id: 31,
        incident_key: "device:INF-0042/c2-beacon".into(),
        condition: "c2-beacon".into(),
        device: Some(OrderDevice {
            id: "INF-0042".into(),
            kind: "infusion_pump".into(),
            ward: Some("ICU-3".into()),
            ips: vec!["10.20.30.40".into(), "10.20.30.41".into()],
            macs: vec!["00:11:22:33:44:55".into()],
            hostname: None,
        }),
        destination: Some("203.0.113.9".into()),
        grade: "coordinate".into(),
        requested_by: "alice".into(),
        approved_by: vec!["bob".into()],
        break_glass: false,
        reason: "Beaconing to a known C2 \"server\"".into(),
    })
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// A real HTTP/1 server on 127.0.0.1 that records each request before it
/// answers it with the next of `answers` (the last one again when they run out).
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(answers: &[(u16, &str)], tls: Option<TlsAcceptor>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<Mutex<VecDeque<(u16, String)>>> =
            Arc::new(Mutex::new(answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect()));
        let (seen_by_task, answers_by_task) = (seen.clone(), answers);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, answers, tls) = (seen_by_task.clone(), answers_by_task.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, seen, answers).await,
                        // A handshake the client refuses ends here.
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, seen, answers).await;
                            }
                        }
                    }
                });
            }
        });
        Ok(Self { addr, seen, task })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn serve<S>(stream: S, seen: Arc<Mutex<Vec<Seen>>>, answers: Arc<Mutex<VecDeque<(u16, String)>>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let (seen, answers) = (seen.clone(), answers.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            let headers = parts
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            if let Ok(mut s) = seen.lock() {
                s.push(Seen { method: parts.method.to_string(), path: parts.uri.to_string(), headers, body });
            }
            let (status, text) = answers
                .lock()
                .ok()
                .and_then(|mut a| if a.len() > 1 { a.pop_front() } else { a.front().cloned() })
                .unwrap_or((200, String::new()));
            let mut response = Response::new(Full::new(Bytes::from(text)));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok::<_, Infallible>(response)
        }
    });
    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
}

fn webhook(name: &str, url: String) -> WebhookConfig {
    WebhookConfig {
        name: name.into(),
        url,
        method: "POST".into(),
        template: None,
        token: None,
        ca_file: None,
        timeout_ms: 5_000,
        headers: Default::default(),
    }
}

fn tokens() -> Result<TokenStore, Box<dyn std::error::Error>> {
    Ok(TokenStore::new(ConsoleId::random()?))
}

fn adapter(config: WebhookConfig) -> Result<Adapter, Box<dyn std::error::Error>> {
    Ok(Adapter::new(&AdapterConfig::Webhook(config), &tokens()?)?)
}

const TEMPLATE: &str = r#"{
    "device": "{{device.id}}", "ips": "{{device.ips}}", "ticket": "WW-{{order.request_id}}",
    "emergency": "{{order.break_glass}}", "why": "{{order.reason}}", "request": "{{order.request_id}}"
}"#;

#[tokio::test]
async fn a_webhook_posts_the_filled_template_once() -> R {
    let server = Server::start(&[(200, "{\"ok\":true}")], None).await?;
    let mut config = webhook("nac", format!("http://{}/api/quarantine?site=north", server.addr));
    config.template = Some(TEMPLATE.into());
    config.headers.insert("X-Source".into(), "wardwatch".into());
    let got = adapter(config)?.attempt(&order()?).await;
    assert_eq!(got, Attempt::Done { detail: "HTTP 200 from 127.0.0.1".into() });
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let r = &seen[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/quarantine?site=north"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("idempotency-key"), Some("wardwatch-4711"));
    assert_eq!(r.header("host"), Some(server.addr.to_string().as_str()));
    assert_eq!(r.header("x-source"), Some("wardwatch"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.json()?,
        json!({
            "device": "INF-0042", "ips": ["10.20.30.40", "10.20.30.41"], "ticket": "WW-4711",
            "emergency": false, "why": "Beaconing to a known C2 \"server\"", "request": 4711
        })
    );
    Ok(())
}

#[tokio::test]
async fn without_a_template_the_body_is_the_order() -> R {
    let server = Server::start(&[(204, "")], None).await?;
    let mut config = webhook("nac", format!("http://{}", server.addr));
    config.method = "PUT".into();
    let o = order()?;
    let got = adapter(config)?.attempt(&o).await;
    assert_eq!(got, Attempt::Done { detail: "HTTP 204 from 127.0.0.1".into() });
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("PUT", "/"));
    assert_eq!(seen[0].json()?, serde_json::to_value(&o)?);
    Ok(())
}

#[tokio::test]
async fn statuses_decide_whether_to_retry() -> R {
    let o = order()?;
    let long = "x".repeat(300);
    for (status, body, retry) in [
        (500, "boom", true),
        (502, "", true),
        (503, "busy", true),
        (429, "slow down", true),
        (400, "{\"error\":\"unknown device INF-0042\"}", false),
        (401, "bad token", false),
        (404, "no such path", false),
        (409, long.as_str(), false),
        (301, "moved", false),
    ] {
        let server = Server::start(&[(status, body)], None).await?;
        let got = adapter(webhook("nac", format!("http://{}/q", server.addr)))?.attempt(&o).await;
        let Attempt::Failed { error, retry: got_retry } = &got else {
            return Err(format!("{status}: {got:?}").into());
        };
        assert_eq!(*got_retry, retry, "{status}: {error}");
        assert!(error.starts_with(&format!("HTTP {status} from 127.0.0.1")), "{status}: {error}");
        assert_eq!(server.seen().len(), 1, "{status}");
        if status == 409 {
            assert!(error.ends_with(&format!(": {}…", "x".repeat(200))), "{error}");
        } else if !body.is_empty() {
            assert!(error.ends_with(&format!(": {body}")), "{status}: {error}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() -> R {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, mut rx) = mpsc::channel(4);
    // Accepts, keeps the connection open, never reads or answers.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            let _ = tx.send(()).await;
        }
    });
    let mut config = webhook("nac", format!("http://{addr}/q"));
    config.timeout_ms = 300;
    let started = std::time::Instant::now();
    let got = adapter(config)?.attempt(&order()?).await;
    let took = started.elapsed();
    holder.abort();
    let Attempt::TimedOut { after_ms } = got else { return Err(format!("{got:?}").into()) };
    assert!((300..3_000).contains(&after_ms), "{after_ms}");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(tokio::time::timeout(WAIT, rx.recv()).await?, Some(()), "the server never saw the connection");
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_is_retried() -> R {
    // A port nobody listens on: bound, then released.
    let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let got = adapter(webhook("nac", format!("http://{addr}/q")))?.attempt(&order()?).await;
    let Attempt::Failed { error, retry } = &got else { return Err(format!("{got:?}").into()) };
    assert!(*retry, "{error}");
    assert!(error.contains(&format!("cannot connect to {addr}")), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_retried() -> R {
    let mut config = webhook("nac", "http://no-such-host.invalid:8080/q".into());
    config.timeout_ms = 3_000;
    let got = adapter(config)?.attempt(&order()?).await;
    let Attempt::Failed { error, retry } = &got else { return Err(format!("{got:?}").into()) };
    assert!(*retry, "{error}");
    assert!(error.contains("no-such-host.invalid"), "{error}");
    Ok(())
}

#[tokio::test]
async fn retries_with_the_backoff_until_done() -> R {
    let server = Server::start(&[(503, "busy"), (503, "still busy"), (200, "")], None).await?;
    let webhook = adapter(webhook("nac", format!("http://{}/q", server.addr)))?;
    let policy = RetryPolicy { max_attempts: 5, base_ms: 20, cap_ms: 100 };
    let o = order()?;
    let mut outcomes = Vec::new();
    let mut made = 0;
    while let Some(wait) = backoff(made, &policy) {
        tokio::time::sleep(wait).await;
        let got = webhook.attempt(&o).await;
        made += 1;
        let again = matches!(got, Attempt::Failed { retry: true, .. });
        outcomes.push(got);
        if !again {
            break;
        }
    }
    assert_eq!(made, 3, "{outcomes:?}");
    assert!(
        matches!(&outcomes[0], Attempt::Failed { retry: true, error } if error.contains("503")),
        "{outcomes:?}"
    );
    assert!(matches!(&outcomes[1], Attempt::Failed { retry: true, error } if error.contains("still busy")));
    assert_eq!(outcomes[2], Attempt::Done { detail: "HTTP 200 from 127.0.0.1".into() });
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert_eq!(r.header("idempotency-key"), Some("wardwatch-4711"));
        assert_eq!(r.body, seen[0].body);
    }
    Ok(())
}

fn acceptor(pki: &Pki) -> Result<TlsAcceptor, Box<dyn std::error::Error>> {
    let files = TlsFiles {
        cert_file: pki.path("server.pem"),
        key_file: pki.path("server.key"),
        client_ca_file: None,
    };
    let mut config = (*tls_server_config(&files)?).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[tokio::test]
async fn https_checks_the_server_against_the_ca_file() -> R {
    let tmp = tempfile::tempdir()?;
    let pki = Pki::new(&tmp.path().join("pki"))?;
    let other = Pki::new(&tmp.path().join("other"))?;
    let server = Server::start(&[(201, "")], Some(acceptor(&pki)?)).await?;
    let port = server.addr.port();
    for host in ["localhost", "127.0.0.1"] {
        let mut config = webhook("nac", format!("https://{host}:{port}/q"));
        config.ca_file = Some(pki.path("ca.pem"));
        let got = adapter(config)?.attempt(&order()?).await;
        assert_eq!(got, Attempt::Done { detail: format!("HTTP 201 from {host}") });
    }
    assert_eq!(server.seen().len(), 2);
    // A CA that did not sign the server's certificate.
    let mut config = webhook("nac", format!("https://localhost:{port}/q"));
    config.ca_file = Some(other.path("ca.pem"));
    let got = adapter(config)?.attempt(&order()?).await;
    let Attempt::Failed { error, retry } = &got else { return Err(format!("{got:?}").into()) };
    assert!(!retry, "{error}");
    assert!(error.contains("TLS handshake with localhost failed"), "{error}");
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(server.seen().len(), 2, "a request went through a refused handshake");
    Ok(())
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_configuration_error() -> R {
    let tmp = tempfile::tempdir()?;
    let mut config = webhook("nac", "https://localhost:8443/q".into());
    config.ca_file = Some(tmp.path().join("missing.pem"));
    let got = Adapters::new(&[AdapterConfig::Webhook(config)], &tokens()?).err();
    let Some(ConfigError::Adapter { adapter, field, reason }) = &got else {
        return Err(format!("{got:?}").into());
    };
    assert_eq!((adapter.as_str(), *field), ("\"nac\"", "ca_file"));
    assert!(reason.contains("missing.pem"), "{reason}");
    Ok(())
}

/// Needs an OS keyring: run under scripts/with-desktop-session.sh.
#[tokio::test]
async fn the_bearer_token_comes_from_the_keyring() -> R {
    let server = Server::start(&[(200, "")], None).await?;
    let store = tokens()?;
    let secret = "ww-test-token.Zx81_q";
    let set = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || -> Result<_, TokenError> {
            store.set("nac", &WebhookToken::new(secret.to_owned())?)
        })
        .await?
    };
    match set {
        Err(TokenError::NoKeyring { reason }) => {
            return Err(format!("no OS keyring ({reason}): run under scripts/with-desktop-session.sh").into())
        }
        other => eprintln!("token stored in the {}", other?),
    }
    let mut config = webhook("nac", format!("http://{}/q", server.addr));
    config.token = Some("nac".into());
    let adapters = Adapters::new(&[AdapterConfig::Webhook(config)], &store)?;
    let nac = adapters.get("nac").ok_or("no adapter nac")?;
    let shown = format!("{nac:?}");
    assert!(!shown.contains(secret), "{shown}");
    let got = nac.attempt(&order()?).await;
    assert_eq!(got, Attempt::Done { detail: "HTTP 200 from 127.0.0.1".into() });
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {secret}").as_str()));
    // Without the token, nothing is sent.
    let deleted = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.delete("nac")).await??
    };
    assert!(
        deleted,
        "the keyring lost the token before it was deleted: run under scripts/with-desktop-session.sh"
    );
    let got = nac.attempt(&order()?).await;
    assert_eq!(
        got,
        Attempt::Failed {
            error: "token nac is not in the keyring: set it with `wardwatch response token set nac`".into(),
            retry: false,
        }
    );
    assert_eq!(server.seen().len(), 1);
    Ok(())
}

fn syslog(target: String) -> AdapterConfig {
    AdapterConfig::CefSyslog(CefSyslogConfig {
        name: "siem".into(),
        target,
        facility: Some("local3".into()),
        timeout_ms: 5_000,
    })
}

/// An order whose reason holds every character CEF escapes.
fn awkward_order() -> Result<Order, &'static str> {
    let mut o = order()?;
    o.reason = "ward=ICU-3 | pump \\ bay 4\nsecond line=\"yes\"\r\nthird".into();
    o.break_glass = true;
    o.approved_by = vec!["bob".into(), "carol".into()];
    Ok(o)
}

/// Checks a received syslog message against `o`.
fn check_message(bytes: &[u8], o: &Order) -> R {
    let msg = rfc5424::parse(bytes)?;
    assert_eq!((msg.facility, msg.severity), (19, 4), "local3, warning for a break-glass order");
    assert_eq!(msg.appname.as_deref(), Some("wardwatch"));
    assert_eq!(msg.msgid.as_deref(), Some("response"));
    assert_eq!(msg.procid.as_deref(), Some(std::process::id().to_string().as_str()));
    let text = msg.message.ok_or("no MSG")?;
    let record = cef::parse(&text)?;
    assert_eq!(record.version, 0);
    assert_eq!((&*record.device_vendor, &*record.device_product), ("Wardwatch", "Wardwatch"));
    assert_eq!(record.device_event_class_id, "response.quarantine");
    assert_eq!(record.name, "Full network quarantine");
    assert_eq!(record.severity_value(), Some(9));
    let ext = |k: &str| record.extension(k);
    assert_eq!(ext("requestId"), Some("4711"));
    assert_eq!(ext("incidentId"), Some("31"));
    assert_eq!(ext("incidentKey"), Some("device:INF-0042/c2-beacon"));
    assert_eq!(ext("deviceId"), Some("INF-0042"));
    assert_eq!(ext("deviceIps"), Some("10.20.30.40,10.20.30.41"));
    assert_eq!(ext("destination"), Some("203.0.113.9"));
    assert_eq!(ext("grade"), Some("coordinate"));
    assert_eq!(ext("requestedBy"), Some("alice"));
    assert_eq!(ext("approvedBy"), Some("bob,carol"));
    assert_eq!(ext("breakGlass"), Some("true"));
    assert_eq!(ext("reason"), Some(o.reason.as_str()));
    Ok(())
}

#[tokio::test]
async fn cef_over_udp_arrives_whole() -> R {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let siem = Adapters::new(&[syslog(format!("udp://{}", socket.local_addr()?))], &tokens()?)?;
    let o = awkward_order()?;
    let got = siem.get("siem").ok_or("no adapter siem")?.attempt(&o).await;
    assert!(matches!(&got, Attempt::Done { detail } if detail.contains("udp://127.0.0.1:")), "{got:?}");
    let mut buf = vec![0u8; 65_536];
    let (n, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf)).await??;
    check_message(&buf[..n], &o)
}

#[tokio::test]
async fn cef_over_tcp_is_octet_counted() -> R {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let siem = Adapters::new(&[syslog(format!("tcp://{}", listener.local_addr()?))], &tokens()?)?;
    let o = awkward_order()?;
    let receiver = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        let mut all = Vec::new();
        // The adapter closes its side once the frame is written.
        stream.read_to_end(&mut all).await?;
        Ok::<_, std::io::Error>(all)
    });
    let got = siem.get("siem").ok_or("no adapter siem")?.attempt(&o).await;
    assert!(matches!(&got, Attempt::Done { detail } if detail.contains("tcp://127.0.0.1:")), "{got:?}");
    let all = tokio::time::timeout(WAIT, receiver).await???;
    let text = std::str::from_utf8(&all)?;
    let (len, msg) = text.split_once(' ').ok_or("no octet count")?;
    assert_eq!(len.parse::<usize>()?, msg.len(), "{text:?}");
    // And as the console's own listener frames it.
    let mut framer = SyslogFramer::new(1 << 16);
    let mut buf = BytesMut::from(&all[..]);
    let Some(Frame::Message(frame)) = framer.decode_eof(&mut buf)? else { return Err("no frame".into()) };
    assert!(buf.is_empty() && framer.decode_eof(&mut buf)?.is_none(), "more than one frame");
    check_message(&frame, &o)
}

#[tokio::test]
async fn cef_to_a_closed_tcp_port_is_retried() -> R {
    let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let siem = Adapter::new(&syslog(format!("tcp://{addr}")), &tokens()?)?;
    let got = siem.attempt(&order()?).await;
    let Attempt::Failed { error, retry } = &got else { return Err(format!("{got:?}").into()) };
    assert!(*retry, "{error}");
    assert!(error.contains(&format!("cannot connect to {addr}")), "{error}");
    Ok(())
}
