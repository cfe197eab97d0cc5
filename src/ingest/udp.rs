//! RFC 5426: one syslog message per datagram.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{not_a_socket, IngestConfig, Ingested, Listener, ListenerState};

pub(super) async fn bind(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    let socket = UdpSocket::bind(listener.url().addr().ok_or_else(not_a_socket)?).await?;
    let bound = socket.local_addr()?;
    tasks.spawn(async move {
        // One byte more than the limit tells an oversize datagram from one that fits.
        let mut buf = vec![0u8; config.max_message_bytes + 1];
        loop {
            let received = tokio::select! {
                r = socket.recv_from(&mut buf) => r,
                () = shutdown.cancelled() => break,
            };
            match received {
                Ok((n, peer)) => handle(&listener, &config, &tx, &buf[..n], peer),
                Err(e) => tracing::warn!(listener = %listener.url(), error = %e, "Receive failed."),
            }
        }
        // What the kernel already holds was received: take it in before stopping.
        while let Ok((n, peer)) = socket.try_recv_from(&mut buf) {
            handle(&listener, &config, &tx, &buf[..n], peer);
        }
        listener.set(ListenerState::Stopped, None, None);
    });
    Ok(bound)
}

fn handle(
    listener: &Listener,
    config: &IngestConfig,
    tx: &mpsc::Sender<Ingested>,
    datagram: &[u8],
    peer: SocketAddr,
) {
    if datagram.len() > config.max_message_bytes {
        // The buffer holds one byte over the limit: the datagram was at least this long.
        listener.oversize(datagram.len(), peer, config.max_message_bytes);
        return;
    }
    // Senders often end a datagram with LF or NUL; neither belongs to the message.
    let end = datagram.iter().rposition(|&b| !matches!(b, b'\n' | b'\r' | 0)).map_or(0, |i| i + 1);
    let item = listener.decode(&datagram[..end], peer);
    match tx.try_send(item) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            let n = listener.count_dropped(Some(peer.ip()));
            if n == 1 || n.is_power_of_two() {
                tracing::warn!(listener = %listener.url(), dropped = n, "Queue full: UDP messages dropped.");
            }
        }
        Err(TrySendError::Closed(_)) => {
            listener.count_dropped(Some(peer.ip()));
            tracing::warn!(listener = %listener.url(), "Store has stopped: UDP message dropped.");
        }
    }
}
