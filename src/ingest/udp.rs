//! RFC 5426: one syslog message per datagram.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

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
    let socket = bind_socket(listener.url().addr().ok_or_else(not_a_socket)?)?;
    let bound = socket.local_addr()?;
    let inode = socket_inode(&socket);
    tasks.spawn(async move {
        // One byte more than the limit tells an oversize datagram from one that fits.
        let mut buf = vec![0u8; config.max_message_bytes + 1];
        let mut kernel_check = tokio::time::interval(KERNEL_DROPS_EVERY);
        loop {
            let received = tokio::select! {
                r = socket.recv_from(&mut buf) => r,
                _ = kernel_check.tick() => {
                    if let Some(n) = inode.and_then(|i| kernel_drops(i, bound)) {
                        listener.counters().set_kernel_dropped(n);
                    }
                    continue;
                }
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
        if let Some(n) = inode.and_then(|i| kernel_drops(i, bound)) {
            listener.counters().set_kernel_dropped(n);
        }
        listener.set(ListenerState::Stopped, None, None);
    });
    Ok(bound)
}

/// How much the kernel may hold for the listener while it is busy: a burst
/// of a few thousand messages. Linux caps it at `net.core.rmem_max` (often
/// 208 KiB); raise that sysctl for more. Whatever does not fit is dropped
/// by the kernel and shown as `kernel_dropped`.
const RECEIVE_BUFFER_BYTES: usize = 8 << 20;

/// How often the kernel's drop count for the socket is read.
const KERNEL_DROPS_EVERY: Duration = Duration::from_secs(1);

fn bind_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = socket.set_recv_buffer_size(RECEIVE_BUFFER_BYTES) {
        tracing::warn!(error = %e, "Could not enlarge the UDP receive buffer; bursts may be dropped by the kernel.");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The socket's inode, which names it in `/proc/net/udp`.
fn socket_inode(socket: &UdpSocket) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    parse_socket_link(&link.to_string_lossy())
}

fn parse_socket_link(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The kernel's count of datagrams dropped for the socket with `inode`
/// (Linux; `None` where `/proc/net/udp` is not there to say).
fn kernel_drops(inode: u64, bound: SocketAddr) -> Option<u64> {
    let table = if bound.is_ipv4() { "/proc/net/udp" } else { "/proc/net/udp6" };
    drops_in_table(&std::fs::read_to_string(table).ok()?, inode)
}

/// The `drops` column of the row for `inode` in a `/proc/net/udp` table.
fn drops_in_table(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
        (cols.get(9)?.parse::<u64>().ok()? == inode).then(|| cols.get(12)?.parse().ok())?
    })
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
    // A datagram is dropped once, at its first item that finds no room.
    for item in listener.decode(&datagram[..end], peer) {
        match tx.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = listener.count_dropped(Some(peer.ip()));
                if n == 1 || n.is_power_of_two() {
                    tracing::warn!(listener = %listener.url(), dropped = n, "Queue full: UDP messages dropped.");
                }
                return;
            }
            Err(TrySendError::Closed(_)) => {
                listener.count_dropped(Some(peer.ip()));
                tracing::warn!(listener = %listener.url(), "Store has stopped: UDP message dropped.");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_drop_count_of_one_socket() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  915: 0100007F:158A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0
  916: 0100007F:158B 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 4243 2 0000000000000000 749
";
        assert_eq!(drops_in_table(table, 4243), Some(749));
        assert_eq!(drops_in_table(table, 4242), Some(0));
        assert_eq!(drops_in_table(table, 1), None);
        assert_eq!(parse_socket_link("socket:[4243]"), Some(4243));
        assert_eq!(parse_socket_link("pipe:[4243]"), None);
    }

    #[tokio::test]
    async fn a_bound_socket_finds_its_own_row() -> std::io::Result<()> {
        let socket = bind_socket("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?;
        let bound = socket.local_addr()?;
        let inode = socket_inode(&socket);
        assert!(inode.is_some(), "no inode for the socket");
        assert_eq!(inode.and_then(|i| kernel_drops(i, bound)), Some(0));
        Ok(())
    }
}
