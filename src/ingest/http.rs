//! JSON alerts posted by gateways over HTTP (`POST /v1/alerts`), with
//! hyper's HTTP/1 server. `docs/ingest-json.md` is the integrators' view.
//!
//! A request goes through, in order: path (404), method (405), bearer token
//! (401, 403), content type (415), declared and streamed size (413), the
//! JSON codec (400). Only then is anything queued: the alerts of the body,
//! each awaited on the store's queue (back-pressure: the response waits,
//! nothing is dropped), or, for a body the codec refuses, the body kept raw
//! with the reason. The 202 is sent only once the writer says the alerts
//! are durable (committed; one [`Ingested::Flush`] per request); if the
//! store does not write within [`STORE_WAIT`] (a full disk), the answer is
//! 503 with `Retry-After`, counted as `store_unavailable`. Bodies refused for authentication, type or size are
//! counted and logged, never stored. Tokens are never logged; their names are.
//!
//! [`serve_connection`] takes any byte stream: `https://` is the same serving
//! behind the TLS handshake of `tls://` listeners (the `[tls]` files, ALPN
//! `http/1.1`); an `https://` listener without usable `[tls]` settings does
//! not start, and its error names the problem.

mod idle;
mod tokens;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use tokens::{
    sha256_hex, Auth, HttpConfig, NewToken, TokenConfigError, TokenEntry, Tokens, TOKEN_PREFIX,
};

use super::tcp::Upgrade;
use super::tls::Handshake;
use super::{IngestConfig, Ingested, Listener, NotDurable, Outcome, Rejected, Transport};
use crate::codec::ParseError;
use crate::model::{Format, RawMessage};
use crate::normalize::{self, Receipt};

/// The one path alerts are posted to.
pub const ALERTS_PATH: &str = "/v1/alerts";
/// A request's headers must arrive within this, counted from the connection's
/// start or the previous response: slow senders hold no connection, and a
/// keep-alive connection left idle this long is closed (hyper's header timer).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's body must arrive within this.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request waits for its alerts to be durable before it is
/// answered 503 (the store is failing: a full disk).
const STORE_WAIT: Duration = Duration::from_secs(10);
/// What a 503 for a store that is not writing asks the sender to wait, in seconds.
const RETRY_AFTER_S: u64 = 5;
/// After shutdown is asked for, how long a request under way may still finish.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub(super) async fn bind(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    // https://: the same serving behind the `[tls]` handshake of tls:// listeners.
    let handshake = match listener.url().transport {
        Transport::Https => Some(Arc::new(Handshake::new(&config, &[b"http/1.1"])?)),
        _ => None,
    };
    let state = State::new(listener.clone(), &config, tx);
    if state.tokens.is_empty() {
        tracing::warn!(listener = %listener.url(), "No [[http.tokens]] configured: every request will be refused with 401.");
    }
    let conn_tasks = tasks.clone();
    let (l, idle, stop) = (listener.clone(), config.idle_timeout, shutdown.clone());
    super::tcp::accept_loop(listener, config.max_connections, shutdown, tasks, move |stream, peer, slot| {
        let (state, shutdown) = (state.clone(), stop.clone());
        match &handshake {
            None => conn_tasks.spawn(serve_connection(slot, state, stream, peer, idle, shutdown)),
            Some(tls) => {
                let (tls, listener) = (tls.clone(), l.clone());
                // The handshake holds the connection's slot, as for tls://.
                conn_tasks.spawn(async move {
                    if let Some(stream) = tls.upgrade(&listener, stream, peer).await {
                        serve_connection(slot, state, stream, peer, idle, shutdown).await;
                    }
                })
            }
        };
    })
    .await
}

/// What every request of a listener needs.
pub(super) struct State {
    listener: Arc<Listener>,
    tokens: Tokens,
    max_body: usize,
    tx: mpsc::Sender<Ingested>,
}

impl State {
    /// One per listener, shared by its connections (plain or, later, TLS).
    pub(super) fn new(
        listener: Arc<Listener>,
        config: &IngestConfig,
        tx: mpsc::Sender<Ingested>,
    ) -> Arc<Self> {
        Arc::new(Self { tokens: Tokens::new(&config.http), max_body: config.max_message_bytes, tx, listener })
    }
}

/// Serves HTTP/1 on one connection until the peer leaves, falls silent for
/// `idle`, or shutdown is asked for (then a request under way may finish).
/// Generic over the stream: plain TCP here, TLS for `https://` later.
pub(super) async fn serve_connection<S>(
    _slot: OwnedSemaphorePermit,
    state: Arc<State>,
    stream: S,
    peer: SocketAddr,
    idle: Option<Duration>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let listener = state.listener.clone();
    listener.counters().connection_opened();
    tracing::debug!(listener = %listener.url(), peer = %peer, "Connection opened.");
    let io = TokioIo::new(idle::IdleTimeout::new(stream, idle));
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req, peer).await) }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(DRAIN_GRACE, conn.as_mut()).await.unwrap_or(Ok(()))
        }
    };
    if let Err(e) = result {
        tracing::debug!(listener = %listener.url(), peer = %peer, error = %e, "Connection ended with an error.");
    }
    listener.counters().connection_closed();
    tracing::debug!(listener = %listener.url(), peer = %peer, "Connection closed.");
}

/// A JSON response.
fn reply(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Full<Bytes>> {
    reply(status, json!({ "error": message.into() }))
}

/// The answer when the store did not make a request's alerts durable in
/// time: nothing is acknowledged, the sender sends the same request again
/// after `Retry-After` (what was queued may then be stored twice:
/// at-least-once).
fn unavailable() -> Response<Full<Bytes>> {
    let mut r = reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({
            "error": format!(
                "the console's store did not write within {} s (disk full or failing; see `wardwatch status`); \
                 nothing in this request is acknowledged: send it again after Retry-After",
                STORE_WAIT.as_secs()
            ),
            "retry_after_s": RETRY_AFTER_S,
        }),
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    r
}

/// A response after which the connection closes (the body was not read whole).
fn closing(mut r: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// `application/json`, with no charset or UTF-8.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
        && parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => true,
        })
}

async fn handle(st: &State, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let l = &st.listener;
    let url = l.url();
    if req.uri().path() != ALERTS_PATH {
        l.counters().bad_request();
        tracing::debug!(listener = %url, peer = %peer, "Request for an unknown path refused (404).");
        return error(StatusCode::NOT_FOUND, format!("no such path; alerts go to POST {ALERTS_PATH}"));
    }
    if req.method() != Method::POST {
        l.counters().bad_request();
        tracing::debug!(listener = %url, peer = %peer, method = %req.method(), "Method refused (405).");
        let mut r =
            error(StatusCode::METHOD_NOT_ALLOWED, format!("method {} not allowed; use POST", req.method()));
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let token = match st.tokens.check(req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes)) {
        Auth::Allowed(name) => name,
        Auth::Disabled(name) => {
            let n = l.counters().unauthorized();
            tracing::warn!(listener = %url, peer = %peer, token = %name, unauthorized = n, "Disabled token refused (403).");
            return closing(error(StatusCode::FORBIDDEN, format!("token {name:?} is disabled")));
        }
        refused => {
            let n = l.counters().unauthorized();
            let why = match refused {
                Auth::Missing => "no bearer token",
                Auth::Malformed => "malformed Authorization header; expected: Bearer TOKEN",
                _ => "unknown bearer token",
            };
            if n == 1 || n.is_power_of_two() {
                tracing::warn!(listener = %url, peer = %peer, unauthorized = n, reason = why, "Request without a valid token refused (401).");
            } else {
                tracing::debug!(listener = %url, peer = %peer, unauthorized = n, reason = why, "Request without a valid token refused (401).");
            }
            let challenge = match refused {
                Auth::Missing => "Bearer realm=\"wardwatch\"",
                _ => "Bearer realm=\"wardwatch\", error=\"invalid_token\"",
            };
            let mut r = closing(error(StatusCode::UNAUTHORIZED, why));
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            return r;
        }
    };
    if !is_json(req.headers().get(header::CONTENT_TYPE)) {
        l.counters().bad_request();
        tracing::debug!(listener = %url, peer = %peer, token = %token, "Content type refused (415).");
        return closing(error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected Content-Type: application/json"));
    }
    let too_large =
        || closing(error(StatusCode::PAYLOAD_TOO_LARGE, format!("body larger than {} bytes", st.max_body)));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared.filter(|&n| n > st.max_body as u64) {
        l.oversize(usize::try_from(len).unwrap_or(usize::MAX), peer, st.max_body);
        return too_large();
    }
    let collected =
        tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), st.max_body).collect()).await;
    let body = match collected {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            l.oversize(st.max_body + 1, peer, st.max_body);
            return too_large();
        }
        Ok(Err(e)) => {
            l.counters().bad_request();
            tracing::debug!(listener = %url, peer = %peer, error = %e, "Body could not be read.");
            return closing(error(StatusCode::BAD_REQUEST, "the body could not be read"));
        }
        Err(_) => {
            l.counters().bad_request();
            tracing::debug!(listener = %url, peer = %peer, token = %token, "Body not received in time (408).");
            return closing(error(StatusCode::REQUEST_TIMEOUT, "request body not received in time"));
        }
    };
    ingest(st, &body, peer, &token).await
}

/// Decodes an accepted body and queues what it holds.
async fn ingest(st: &State, body: &Bytes, peer: SocketAddr, token: &str) -> Response<Full<Bytes>> {
    let l = &st.listener;
    let source = Some(peer.ip());
    let receipt = Receipt {
        received_at: chrono::Utc::now(),
        source_addr: Some(peer),
        listener: Some(l.url().to_string()),
    };
    let stopping = || error(StatusCode::SERVICE_UNAVAILABLE, "console is stopping; retry later");
    let deadline = tokio::time::Instant::now() + STORE_WAIT;
    match normalize::json::decode(body, &receipt) {
        Ok(alerts) => {
            let n = alerts.len();
            for _ in 0..n {
                l.count(source, Outcome::Received);
            }
            // Waiting here when the queue is full holds the response
            // (back-pressure); the answer waits until the alerts are durable.
            let items = alerts.into_iter().map(|(_, alert)| Ingested::Alert(alert));
            let (queued, durable) = super::queue_durably(&st.tx, items, deadline).await;
            for _ in 0..queued {
                l.count(source, Outcome::Parsed);
            }
            for _ in queued..n {
                l.count_dropped(source);
            }
            match durable {
                Ok(()) => {
                    tracing::debug!(listener = %l.url(), peer = %peer, token = %token, accepted = n, "Alerts accepted.");
                    reply(StatusCode::ACCEPTED, json!({ "accepted": n }))
                }
                Err(NotDurable::Stopped(why)) => {
                    tracing::warn!(listener = %l.url(), token = %token, queued, lost = n - queued, reason = %why, "Store has stopped: alerts refused with 503.");
                    stopping()
                }
                Err(NotDurable::TimedOut) => {
                    let count = l.counters().store_unavailable();
                    if count == 1 || count.is_power_of_two() {
                        tracing::warn!(listener = %l.url(), token = %token, queued, not_queued = n - queued, store_unavailable = count, "Store not writing: request answered 503.");
                    }
                    unavailable()
                }
            }
        }
        Err(e) => {
            l.count(source, Outcome::Received);
            // The reason without the alert's index in a batch, so that one
            // kind of mistake is one row however many alerts made it.
            let text = e.to_string();
            let reason =
                text.strip_prefix('[').and_then(|t| t.split_once("].")).map_or(text.as_str(), |(_, r)| r);
            l.count_rejected(source, &format!("json: {reason}"));
            tracing::info!(listener = %l.url(), peer = %peer, token = %token, field = e.field.as_deref().unwrap_or("-"), offset = e.offset, "Body refused (400); kept raw.");
            let response =
                reply(StatusCode::BAD_REQUEST, json!({ "error": e.to_string(), "field": e.field }));
            let rejected = Rejected {
                received_at: receipt.received_at,
                source_addr: receipt.source_addr,
                listener: receipt.listener,
                format: Some(Format::Json),
                error: ParseError::from(e).to_string(),
                raw: RawMessage(body.to_vec()),
            };
            // The refusal does not wait for more than the bound: the body is
            // kept when the store can, but the sender's mistake is told now.
            match super::queue_durably(&st.tx, [Ingested::Rejected(rejected)], deadline).await {
                (0, Err(NotDurable::Stopped(_))) => {
                    l.count_dropped(source);
                    tracing::warn!(listener = %l.url(), token = %token, "Store has stopped: refused body not kept.");
                    stopping()
                }
                _ => response,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let ok = |s: &'static str| is_json(Some(&HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("Application/JSON; charset=UTF-8"));
        assert!(ok("application/json;charset=\"utf-8\""));
        assert!(!ok("application/json; charset=latin1"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonx"));
        assert!(!is_json(None));
    }
}
