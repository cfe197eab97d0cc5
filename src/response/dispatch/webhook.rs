//! The webhook adapter: one attempt is one HTTP/1.1 request, with hyper's
//! client connection over a TCP stream of our own, or a rustls TLS stream
//! (https, with the configured CA file and the `ring` provider).
//!
//! Every request carries `Content-Type: application/json` and
//! `Idempotency-Key: wardwatch-<request id>` (the same for each attempt of
//! an order, so a receiver can drop a repeat), and `Authorization: Bearer`
//! when a token is configured (read from the keyring at each attempt, never
//! logged). How it went:
//!
//! | what happened | [`Attempt`] |
//! |---|---|
//! | 2xx | `Done` ("HTTP 200 from HOST") |
//! | 429, 5xx | `Failed`, retry |
//! | other statuses (4xx, 3xx: redirects are not followed) | `Failed`, no retry |
//! | DNS failure, refused connection, connection reset or closed before the answer | `Failed`, retry |
//! | no connection (TCP and TLS) within `timeout_ms` | `Failed`, retry: nothing was sent |
//! | the request sent but no response within `timeout_ms` | `TimedOut` |
//! | the server's certificate refused | `Failed`, no retry, naming the cause |
//! | the template cannot be filled, the token is not in the keyring | `Failed`, no retry |
//!
//! A refusal's error holds the status and at most [`BODY_SHOWN`] bytes of
//! the response body, as lossless text (see [`shown`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::config::{invalid, parse_webhook, HttpTarget, Scheme, WebhookConfig};
use super::template::Template;
use super::token::TokenStore;
use super::{idempotency_key, Attempt, Order};
use crate::ingest::{tls_read_certs, TlsError};

/// At most this many bytes of a refusal's body are shown in its error.
pub const BODY_SHOWN: usize = 200;
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// A webhook, ready to make attempts.
pub struct Webhook {
    name: String,
    target: HttpTarget,
    method: Method,
    template: Option<Template>,
    token: Option<String>,
    tokens: TokenStore,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("target", &self.target)
            .field("method", &self.method)
            .field("template", &self.template)
            .field("token", &self.token)
            .field("tls", &self.tls.as_ref().map(|(_, server_name)| server_name))
            .field("timeout", &self.timeout)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Webhook {
    /// From its configuration: checks it, and reads `ca_file`.
    pub fn new(c: &WebhookConfig, tokens: TokenStore) -> Result<Self, super::ConfigError> {
        let parsed = parse_webhook(c)?;
        let tls = match (parsed.target.scheme, &c.ca_file) {
            (Scheme::Https, Some(ca_file)) => {
                let config =
                    client_config(ca_file).map_err(|e| invalid(&c.name, "ca_file", e.to_string()))?;
                let server_name = ServerName::try_from(parsed.target.host.clone()).map_err(|e| {
                    invalid(&c.name, "url", format!("{:?} is not a TLS server name: {e}", parsed.target.host))
                })?;
                Some((TlsConnector::from(config), server_name))
            }
            _ => None,
        };
        Ok(Self {
            name: c.name.clone(),
            target: parsed.target,
            method: parsed.method,
            template: parsed.template,
            token: c.token.clone(),
            tokens,
            tls,
            timeout: Duration::from_millis(c.timeout_ms),
            headers: parsed.headers,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One request for `order`.
    pub async fn attempt(&self, order: &Order) -> Attempt {
        let body = match &self.template {
            None => serde_json::to_vec(order).map_err(|e| e.to_string()),
            Some(t) => t
                .render(order)
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::to_vec(&v).map_err(|e| e.to_string())),
        };
        let body = match body {
            Ok(b) => Bytes::from(b),
            Err(e) => return failed(format!("the body could not be made from the template: {e}"), false),
        };
        let authorization = match &self.token {
            None => None,
            Some(name) => match self.authorization(name).await {
                Ok(h) => Some(h),
                Err(attempt) => return attempt,
            },
        };
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(self.target.path_and_query.as_str())
            .header(HOST, self.target.authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY, idempotency_key(order));
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        if let Some(auth) = authorization {
            request = request.header(AUTHORIZATION, auth);
        }
        let request = match request.body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => return failed(format!("the request could not be made: {e}"), false),
        };
        let started = Instant::now();
        let deadline = started + self.timeout;
        let attempt = match tokio::time::timeout_at(deadline, self.connect()).await {
            Err(_) => failed(
                format!(
                    "no connection to {} within {} ms: nothing was sent",
                    self.host(),
                    self.timeout.as_millis()
                ),
                true,
            ),
            Ok(Err(attempt)) => attempt,
            Ok(Ok(Stream::Plain(tcp))) => self.exchange(tcp, request, deadline).await,
            Ok(Ok(Stream::Tls(tls))) => self.exchange(*tls, request, deadline).await,
        };
        let attempt = match attempt {
            Attempt::TimedOut { .. } => Attempt::TimedOut {
                after_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
            other => other,
        };
        match &attempt {
            Attempt::Done { .. } => {
                tracing::info!(adapter = %self.name, request = order.request_id, "Webhook attempt done.")
            }
            Attempt::Failed { error, retry } => {
                tracing::warn!(adapter = %self.name, request = order.request_id, retry, error = %error, "Webhook attempt failed.")
            }
            Attempt::TimedOut { after_ms } => {
                tracing::warn!(adapter = %self.name, request = order.request_id, after_ms, "Webhook attempt timed out: it may or may not have been carried out.")
            }
        }
        attempt
    }

    fn host(&self) -> &str {
        &self.target.host
    }

    /// The `Authorization` header with token `name`, marked sensitive (hyper
    /// then leaves it out of its debug output).
    async fn authorization(&self, name: &str) -> Result<HeaderValue, Attempt> {
        let (tokens, owned) = (self.tokens.clone(), name.to_owned());
        let read = tokio::task::spawn_blocking(move || tokens.get(&owned));
        let token = match tokio::time::timeout(self.timeout, read).await {
            Err(_) => {
                let error =
                    format!("the keyring did not give token {name} within {} ms", self.timeout.as_millis());
                return Err(failed(error, true));
            }
            Ok(Err(e)) => return Err(failed(format!("reading token {name} stopped: {e}"), true)),
            Ok(Ok(Err(e))) => return Err(failed(e.to_string(), false)),
            Ok(Ok(Ok(token))) => token,
        };
        let value = zeroize::Zeroizing::new(format!("Bearer {}", token.expose_secret()));
        let mut header = HeaderValue::from_str(&value)
            .map_err(|_| failed(format!("token {name} has characters a header cannot carry"), false))?;
        header.set_sensitive(true);
        Ok(header)
    }

    /// A TCP connection to the first address of the host that answers, then
    /// the TLS handshake for https.
    async fn connect(&self) -> Result<Stream, Attempt> {
        let (host, port) = (self.target.host.as_str(), self.target.port);
        let addrs = match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.collect::<Vec<_>>(),
            Err(e) => return Err(failed(format!("cannot resolve {host}: {e}"), true)),
        };
        let mut last = None;
        let mut tcp = None;
        for addr in &addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
            }
        }
        let Some(tcp) = tcp else {
            return Err(failed(last.unwrap_or_else(|| format!("{host} has no address")), true));
        };
        let _ = tcp.set_nodelay(true);
        let Some((connector, server_name)) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        match connector.connect(server_name.clone(), tcp).await {
            Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
            Err(e) => {
                // tokio-rustls reports TLS errors as InvalidData wrapping
                // rustls's error; anything else is the connection's.
                match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                    Some(tls) => Err(failed(format!("TLS handshake with {host} failed: {tls}"), false)),
                    None => Err(failed(format!("TLS handshake with {host} failed: {e}"), true)),
                }
            }
        }
    }

    /// Sends `request` on `stream`, reads the status (and, for a refusal,
    /// the start of the body), all before `deadline`.
    async fn exchange<S>(&self, stream: S, request: Request<Full<Bytes>>, deadline: Instant) -> Attempt
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let host = self.host();
        let head = async {
            let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
            let conn = Connection(tokio::spawn(conn));
            let response = sender.send_request(request).await?;
            Ok::<_, hyper::Error>((conn, response))
        };
        let (_conn, response) = match tokio::time::timeout_at(deadline, head).await {
            Err(_) => return Attempt::TimedOut { after_ms: 0 },
            Ok(Err(e)) => {
                // A reply that is not HTTP is not made better by trying again.
                let retry = !(e.is_parse() || e.is_user());
                return failed(format!("HTTP request to {host} failed: {e}"), retry);
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Done { detail: format!("HTTP {} from {host}", status.as_u16()) };
        }
        let body = start_of_body(response.into_body(), deadline).await;
        let retry = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
        let mut error = format!("HTTP {} from {host}", status.as_u16());
        if status.is_redirection() {
            error.push_str(" (redirects are not followed)");
        }
        if !body.is_empty() {
            error.push_str(": ");
            error.push_str(&shown(&body));
        }
        failed(error, retry)
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// The task driving a client connection: stopped (the socket closed) when
/// the attempt is over, whichever way it ended.
struct Connection(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn failed(error: String, retry: bool) -> Attempt {
    Attempt::Failed { error, retry }
}

/// The TLS client configuration: the server's certificate must chain to a
/// CA of `ca_file` and name the URL's host; ALPN `http/1.1`.
fn client_config(ca_file: &std::path::Path) -> Result<Arc<ClientConfig>, TlsError> {
    const CA: &str = "CA file";
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in tls_read_certs(CA, ca_file)? {
        roots.add(cert).map_err(|e| TlsError::Invalid {
            what: CA,
            path: ca_file.to_owned(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid { what: CA, path: ca_file.to_owned(), reason: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Up to `BODY_SHOWN + 1` bytes of a body (one more tells that it was cut),
/// whatever arrived before `deadline`.
async fn start_of_body(mut body: Incoming, deadline: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() <= BODY_SHOWN {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let room = BODY_SHOWN + 1 - out.len();
                    out.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            _ => break,
        }
    }
    out
}

/// At most [`BODY_SHOWN`] bytes of `body` as lossless text on one line:
/// UTF-8 as it is, `\` as `\\`, control characters escaped (`\n`,
/// `\u{1b}`), bytes that are not UTF-8 as `\xNN`; `…` when cut.
pub fn shown(body: &[u8]) -> String {
    let cut = body.len() > BODY_SHOWN;
    let body = &body[..body.len().min(BODY_SHOWN)];
    let mut out = String::with_capacity(body.len() + 8);
    for chunk in body.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if cut {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_shown_losslessly_and_cut() {
        let check = |body: &[u8], want: &str| assert_eq!(shown(body), want, "{body:?}");
        check(b"{\"error\":\"no such device\"}", "{\"error\":\"no such device\"}");
        check("d\u{e9}j\u{e0} vu".as_bytes(), "d\u{e9}j\u{e0} vu");
        check(b"line one\nline two\r\n", "line one\\nline two\\r\\n");
        check(b"a\\xff", "a\\\\xff");
        check(b"a\xffb\xc3", "a\\xffb\\xc3");
        check(b"\x1b[31m", "\\u{1b}[31m");
        check(&[b'x'; BODY_SHOWN], &"x".repeat(BODY_SHOWN));
        check(&[b'x'; BODY_SHOWN + 1], &format!("{}…", "x".repeat(BODY_SHOWN)));
        // A character cut at the limit shows as its bytes, not as a guess.
        let mut cut = vec![b'x'; BODY_SHOWN - 1];
        cut.extend_from_slice("\u{e9}".as_bytes());
        check(&cut, &format!("{}\\xc3…", "x".repeat(BODY_SHOWN - 1)));
    }
}
