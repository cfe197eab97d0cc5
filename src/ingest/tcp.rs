//! RFC 6587: syslog over TCP, octet-counted or delimited, detected per frame.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{not_a_socket, IngestConfig, Ingested, Listener, ListenerState};
use crate::codec::framing::{Frame, SyslogFramer};

/// After shutdown is asked for, how long a connection may still deliver what
/// is already on its way.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

pub(super) async fn bind(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    let socket = TcpListener::bind(listener.url().addr().ok_or_else(not_a_socket)?).await?;
    let bound = socket.local_addr()?;
    let conn_tasks = tasks.clone();
    let slots = Arc::new(Semaphore::new(config.max_connections));
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
                            tracing::warn!(listener = %listener.url(), peer = %peer, refused = n, max = config.max_connections, "Connection limit reached: connection refused.");
                        }
                        continue;
                    };
                    conn_tasks.spawn(connection(
                        slot,
                        listener.clone(),
                        config.clone(),
                        tx.clone(),
                        shutdown.clone(),
                        stream,
                        peer,
                    ));
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

async fn connection(
    _slot: OwnedSemaphorePermit,
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    stream: TcpStream,
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
                    if !handle(&listener, &config, &tx, f, peer).await {
                        break;
                    }
                }
                break;
            }
        };
        match next {
            Some(f) => {
                if !handle(&listener, &config, &tx, f, peer).await {
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
async fn next_or_idle(
    frames: &mut FramedRead<TcpStream, SyslogFramer>,
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
    frame: std::io::Result<Frame>,
    peer: SocketAddr,
) -> bool {
    let item = match frame {
        Ok(Frame::Message(bytes)) => listener.decode(&bytes, peer),
        Ok(Frame::Malformed { bytes, reason }) => listener.malformed(&bytes, peer, reason),
        Ok(Frame::Oversize { len }) => {
            listener.oversize(len, peer, config.max_message_bytes);
            return true;
        }
        Err(e) => {
            tracing::debug!(listener = %listener.url(), peer = %peer, error = %e, "Read failed; closing.");
            return false;
        }
    };
    // Waiting here when the queue is full stops reading: back-pressure.
    if tx.send(item).await.is_err() {
        listener.count_dropped(Some(peer.ip()));
        tracing::warn!(listener = %listener.url(), "Store has stopped: TCP message dropped.");
        return false;
    }
    true
}
