//! Follows a Suricata EVE JSON file across rotation and truncation.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{IngestConfig, Ingested, Listener};

pub(super) async fn start(
    listener: Arc<Listener>,
    _config: IngestConfig,
    _tx: mpsc::Sender<Ingested>,
    _shutdown: CancellationToken,
    _tasks: &TaskTracker,
) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("{}:// listeners are not built yet", listener.url().transport.scheme()),
    ))
}
