//! RFC 6587: syslog over TCP, octet-counted or delimited, detected per frame.
//!
//! The accept loop and the per-connection loop (framing, back-pressure, idle
//! timeout, oversize handling, the `max_connections` limit, counters) are
//! generic over what the accepted socket is turned into: [`Plain`] keeps the
//! TCP stream, `tls` wraps it in a TLS session first (see [`Upgrade`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncRead;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{not_a_socket, FrameItems, IngestConfig, Ingested, Listener, ListenerState};
use crate::codec::framing::{Frame, SyslogFramer};

/// After shutdown is asked for, how long a connection may still deliver what
/// is already on its way.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// After shutdown is asked for, how long a message may still wait for room
/// on the store's queue (a store that cannot write must not hang the stop).
const STOP_WAIT: Duration = Duration::from_secs(3);

/// What an accepted TCP connection becomes before frames are read from it.
///
/// Runs in the connection's own task while it holds one of the
/// `max_connections` slots, so a slow peer delays nobody else. `None` ends
/// the connection: the implementation has already counted and logged why.
pub(super) trait Upgrade: Send + Sync + 'static {
    type Stream: AsyncRead + Unpin + Send + 'static;

    fn upgrade(
        &self,
        listener: &Listener,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<Self::Stream>> + Send;
}

/// Plain TCP: the stream as accepted.
pub(super) struct Plain;

impl Upgrade for Plain {
    type Stream = TcpStream;

    async fn upgrade(&self, _listener: &Listener, stream: TcpStream, _peer: SocketAddr) -> Option<TcpStream> {
        Some(stream)
    }
}

pub(super) async fn bind(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    bind_with(listener, config, tx, shutdown, tasks, Plain).await
}

/// Binds the listener's address and serves each accepted connection,
/// turned into a stream by `upgrade`, until `shutdown` is cancelled.
pub(super) async fn bind_with<U: Upgrade>(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
    upgrade: U,
) -> std::io::Result<SocketAddr> {
    let conn_tasks = tasks.clone();
    let upgrade = Arc::new(upgrade);
    let (l, c, stop) = (listener.clone(), config.clone(), shutdown.clone());
    accept_loop(listener, config.max_connections, shutdown, tasks, move |stream, peer, slot| {
        let (listener, config, tx, shutdown, upgrade) =
            (l.clone(), c.clone(), tx.clone(), stop.clone(), upgrade.clone());
        conn_tasks.spawn(async move {
            let stream = tokio::select! {
                // A plain stream is ready at once: it then gets the drain grace like any other.
                biased;
                s = upgrade.upgrade(&listener, stream, peer) => s,
                () = shutdown.cancelled() => None,
            };
            if let Some(stream) = stream {
                connection(slot, listener, config, tx, shutdown, stream, peer).await;
            }
        });
    })
    .await
}

/// The accept loop every TCP-based listener shares (syslog over TCP and TLS,
/// MLLP, HTTP): binds the listener's address, hands each accepted connection
/// to `serve` with the connection slot it holds, and refuses (closes and
/// counts) connections past `max_connections`, until `shutdown`; then marks
/// the listener stopped.
pub(super) async fn accept_loop<F>(
    listener: Arc<Listener>,
    max_connections: usize,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
    mut serve: F,
) -> std::io::Result<SocketAddr>
where
    F: FnMut(TcpStream, SocketAddr, OwnedSemaphorePermit) + Send + 'static,
{
    let socket = TcpListener::bind(listener.url().addr().ok_or_else(not_a_socket)?).await?;
    let bound = socket.local_addr()?;
    let slots = Arc::new(Semaphore::new(max_connections));
    tasks.spawn(async move {
        loop {
            let accepted = tokio::select! {
                r = socket.accept() => r,
                () = shutdown.cancelled() => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // Closing at once tells the sender to come back later.
                        drop(stream);
                        let n = listener.counters().refused();
                        if n == 1 || n.is_power_of_two() {
                            tracing::warn!(listener = %listener.url(), peer = %peer, refused = n, max = max_connections, "Connection limit reached: connection refused.");
                        }
                        continue;
                    };
                    serve(stream, peer, slot);
                }
                Err(e) => {
                    // Usually out of file descriptors: wait a little rather than spin.
                    tracing::warn!(listener = %listener.url(), error = %e, "Accept failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        listener.set(ListenerState::Stopped, None, None);
    });
    Ok(bound)
}

async fn connection<S: AsyncRead + Unpin + Send>(
    _slot: OwnedSemaphorePermit,
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    stream: S,
    peer: SocketAddr,
) {
    listener.counters().connection_opened();
    tracing::debug!(listener = %listener.url(), peer = %peer, "Connection opened.");
    let mut frames = FramedRead::new(stream, SyslogFramer::new(config.max_message_bytes));
    loop {
        let next = tokio::select! {
            f = next_or_idle(&mut frames, config.idle_timeout) => match f {
                Ok(f) => f,
                Err(idle) => {
                    tracing::debug!(listener = %listener.url(), peer = %peer, idle_s = idle.as_secs(), "Idle connection closed.");
                    break;
                }
            },
            () = shutdown.cancelled() => {
                // Take in what is already on its way, then stop.
                while let Ok(Some(f)) = tokio::time::timeout(DRAIN_GRACE, frames.next()).await {
                    if !handle(&listener, &config, &tx, &shutdown, f, peer).await {
                        break;
                    }
                }
                break;
            }
        };
        match next {
            Some(f) => {
                if !handle(&listener, &config, &tx, &shutdown, f, peer).await {
                    break;
                }
            }
            None => break,
        }
    }
    listener.counters().connection_closed();
    tracing::debug!(listener = %listener.url(), peer = %peer, "Connection closed.");
}

/// The next frame, or `Err(limit)` when none came within the idle limit.
async fn next_or_idle<S: AsyncRead + Unpin>(
    frames: &mut FramedRead<S, SyslogFramer>,
    idle: Option<Duration>,
) -> Result<Option<std::io::Result<Frame>>, Duration> {
    match idle {
        Some(limit) => tokio::time::timeout(limit, frames.next()).await.map_err(|_| limit),
        None => Ok(frames.next().await),
    }
}

/// Handles one framing result; `false` when the connection should end.
async fn handle(
    listener: &Listener,
    config: &IngestConfig,
    tx: &mpsc::Sender<Ingested>,
    shutdown: &CancellationToken,
    frame: std::io::Result<Frame>,
    peer: SocketAddr,
) -> bool {
    let items = match frame {
        Ok(Frame::Message(bytes)) => listener.decode(&bytes, peer),
        Ok(Frame::Malformed { bytes, reason }) => FrameItems::one(listener.malformed(&bytes, peer, reason)),
        Ok(Frame::Oversize { len }) => {
            listener.oversize(len, peer, config.max_message_bytes);
            return true;
        }
        Err(e) => {
            tracing::debug!(listener = %listener.url(), peer = %peer, error = %e, "Read failed; closing.");
            return false;
        }
    };
    // Waiting here when the queue is full stops reading: back-pressure. It
    // waits as long as the store needs, except when the console is stopping
    // while the store cannot write (a full disk): then a stop must not hang.
    let gave_up = async {
        shutdown.cancelled().await;
        tokio::time::sleep(STOP_WAIT).await;
    };
    tokio::pin!(gave_up);
    for item in items {
        tokio::select! {
            sent = tx.send(item) => {
                if sent.is_err() {
                    listener.count_dropped(Some(peer.ip()));
                    tracing::warn!(listener = %listener.url(), "Store has stopped: TCP message dropped.");
                    return false;
                }
            }
            () = &mut gave_up => {
                let n = listener.count_dropped(Some(peer.ip()));
                tracing::warn!(listener = %listener.url(), peer = %peer, dropped = n, "Console stopping while the store is not writing: TCP message dropped, connection closed.");
                return false;
            }
        }
    }
    true
}
