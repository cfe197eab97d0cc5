//! HL7 v2 over MLLP from medical-device gateways, answered with an HL7 ACK.
//!
//! Per message: frame ([`MllpDecoder`]), parse ([`hl7::parse`]), make the
//! device observations ([`normalize::hl7::observations`], which hashes the
//! patient identifier with the console's [`PatientIdKey`]), queue them, wait
//! until the writer says they are durable (one [`Ingested::Flush`] per
//! message), and only then answer `AA`; a store that does not write within
//! [`STORE_WAIT`] gets the message answered `AE` (send again), counted as
//! `store_unavailable`. A message that is understood but unusable is
//! answered `AE`, one that is unreadable or of an unsupported type or version
//! `AR`; either way it is kept as [`Rejected`] **in redacted form**
//! ([`hl7::redact`]: PID, NK1 and the like reduced to their segment id),
//! because raw HL7 carries patient names.
//!
//! Connections are limited and closed when idle as in `tcp.rs`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{IngestConfig, Ingested, Listener, NotDurable, Outcome, Rejected};
use crate::codec::hl7::{self, ack, ack::AckCode, ack::AckContext, ack::AckError};
use crate::codec::mllp::{MllpDecoder, MllpFrame};
use crate::model::{Format, RawMessage};
use crate::normalize::{self, Receipt};
use crate::privacy::PatientIdKey;

/// After shutdown is asked for, how long a connection may still deliver what
/// is already on its way.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// How long a message waits for its observations to be durable before it is
/// answered AE (the store is failing: a full disk).
const STORE_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn bind(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    let key: Arc<PatientIdKey> = config.patient_key.clone().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an mllp listener needs the console's patient-id key",
        )
    })?;
    let conn_tasks = tasks.clone();
    let (l, c, stop) = (listener.clone(), config.clone(), shutdown.clone());
    super::tcp::accept_loop(listener, config.max_connections, shutdown, tasks, move |stream, peer, slot| {
        let conn = Conn { listener: l.clone(), config: c.clone(), tx: tx.clone(), key: key.clone(), peer };
        conn_tasks.spawn(conn.run(slot, stop.clone(), stream));
    })
    .await
}

struct Conn {
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    key: Arc<PatientIdKey>,
    peer: SocketAddr,
}

/// What to do after a frame.
enum Next {
    Continue,
    Close,
}

impl Conn {
    async fn run(self, _slot: OwnedSemaphorePermit, shutdown: CancellationToken, stream: TcpStream) {
        let url = self.listener.url().clone();
        self.listener.counters().connection_opened();
        tracing::debug!(listener = %url, peer = %self.peer, "Connection opened.");
        let (read, mut write) = stream.into_split();
        let mut frames = FramedRead::new(read, MllpDecoder::new(self.config.max_message_bytes));
        loop {
            let next = tokio::select! {
                f = next_or_idle(&mut frames, self.config.idle_timeout) => match f {
                    Ok(f) => f,
                    Err(idle) => {
                        tracing::debug!(listener = %url, peer = %self.peer, idle_s = idle.as_secs(), "Idle connection closed.");
                        break;
                    }
                },
                () = shutdown.cancelled() => {
                    while let Ok(Some(f)) = tokio::time::timeout(DRAIN_GRACE, frames.next()).await {
                        if matches!(self.handle(f, &mut write).await, Next::Close) {
                            break;
                        }
                    }
                    break;
                }
            };
            match next {
                Some(f) => {
                    if matches!(self.handle(f, &mut write).await, Next::Close) {
                        break;
                    }
                }
                None => break,
            }
        }
        let _ = write.shutdown().await;
        self.listener.counters().connection_closed();
        tracing::debug!(listener = %url, peer = %self.peer, "Connection closed.");
    }

    fn receipt(&self) -> Receipt {
        Receipt {
            received_at: Utc::now(),
            source_addr: Some(self.peer),
            listener: Some(self.listener.url().to_string()),
        }
    }

    async fn handle(&self, frame: std::io::Result<MllpFrame>, write: &mut OwnedWriteHalf) -> Next {
        let url = self.listener.url();
        match frame {
            Ok(MllpFrame::Message(bytes)) => self.message(&bytes, write).await,
            Ok(MllpFrame::Oversize { len, head }) => {
                self.listener.oversize(len, self.peer, self.config.max_message_bytes);
                let err = AckError::new(
                    AckCode::Reject,
                    207,
                    format!(
                        "message of {len} bytes is over this listener's limit of {}",
                        self.config.max_message_bytes
                    ),
                );
                self.answer(&AckContext::salvage(&head), Err(&err), write).await
            }
            Ok(MllpFrame::Malformed { bytes, reason }) => {
                // No ACK: there is no message to answer.
                self.listener.count(Some(self.peer.ip()), Outcome::Received);
                self.listener.count_rejected(Some(self.peer.ip()), &format!("mllp framing: {reason}"));
                tracing::debug!(listener = %url, peer = %self.peer, reason, bytes = bytes.len(), "Unframeable bytes kept, redacted.");
                self.queue(vec![self.rejected(&bytes, None, format!("mllp framing: {reason}"))]).await
            }
            Err(e) => {
                tracing::debug!(listener = %url, peer = %self.peer, error = %e, "Read failed; closing.");
                Next::Close
            }
        }
    }

    async fn message(&self, raw: &[u8], write: &mut OwnedWriteHalf) -> Next {
        let source = Some(self.peer.ip());
        self.listener.count(source, Outcome::Received);
        let receipt = self.receipt();
        let url = self.listener.url();
        let (ctx, outcome) = match hl7::parse(raw) {
            Err(e) => {
                tracing::debug!(listener = %url, peer = %self.peer, offset = e.offset, reason = %e.reason, "HL7 message unreadable: AR.");
                let err =
                    AckError::new(AckCode::Reject, 102, format!("unreadable HL7 message: {}", e.reason));
                let key = format!("hl7: {}", e.reason);
                (AckContext::salvage(raw), Err((err, e.to_string(), key)))
            }
            Ok(msg) => {
                let ctx = AckContext::from_message(&msg);
                match normalize::hl7::observations(&msg, Some(&self.key), &receipt) {
                    Ok(obs) => (ctx, Ok(obs)),
                    Err(err) => {
                        tracing::debug!(listener = %url, peer = %self.peer, code = err.code.as_str(), reason = %err.reason, "HL7 message not accepted.");
                        let text = format!("hl7: {}", err.reason);
                        (ctx, Err((err, text.clone(), text)))
                    }
                }
            }
        };
        match outcome {
            Ok(observations) => {
                let n = observations.len();
                let items = observations.into_iter().map(Ingested::Device);
                let deadline = tokio::time::Instant::now() + STORE_WAIT;
                let (queued, durable) = super::queue_durably(&self.tx, items, deadline).await;
                if queued == n {
                    // Device context for the clinical-use state, not an alert.
                    self.listener.count_context(source);
                } else {
                    self.listener.count_dropped(source);
                }
                match durable {
                    // AA only once the observations are durable.
                    Ok(()) => self.answer(&ctx, Ok(()), write).await,
                    Err(NotDurable::TimedOut) => {
                        let count = self.listener.counters().store_unavailable();
                        if count == 1 || count.is_power_of_two() {
                            tracing::warn!(listener = %url, peer = %self.peer, store_unavailable = count, "Store not writing: HL7 message answered AE.");
                        }
                        let err = AckError::new(
                            AckCode::Error,
                            207,
                            format!(
                                "the console could not store the message within {} s (its store is not writing); send it again later",
                                STORE_WAIT.as_secs()
                            ),
                        );
                        self.answer(&ctx, Err(&err), write).await
                    }
                    Err(NotDurable::Stopped(why)) => {
                        tracing::warn!(listener = %url, reason = %why, "Store has stopped: HL7 message answered AE.");
                        let err = AckError::new(
                            AckCode::Error,
                            207,
                            "the console is stopping; send the message again later",
                        );
                        self.answer(&ctx, Err(&err), write).await;
                        Next::Close
                    }
                }
            }
            Err((err, text, key)) => {
                self.listener.count_rejected(source, &key);
                if let Next::Close = self.queue(vec![self.rejected(raw, Some(Format::Hl7), text)]).await {
                    return Next::Close;
                }
                self.answer(&ctx, Err(&err), write).await
            }
        }
    }

    /// A rejected message, kept with its personal data redacted.
    fn rejected(&self, raw: &[u8], format: Option<Format>, error: String) -> Ingested {
        let receipt = self.receipt();
        Ingested::Rejected(Rejected {
            received_at: receipt.received_at,
            source_addr: receipt.source_addr,
            listener: receipt.listener,
            format,
            error: format!("{error} (raw HL7 kept with personal data redacted)"),
            raw: RawMessage(hl7::redact(raw)),
        })
    }

    /// Queues `items`, waiting while the queue is full (back-pressure).
    async fn queue(&self, items: Vec<Ingested>) -> Next {
        for item in items {
            if self.tx.send(item).await.is_err() {
                self.listener.count_dropped(Some(self.peer.ip()));
                tracing::warn!(listener = %self.listener.url(), "Store has stopped: HL7 message not stored.");
                return Next::Close;
            }
        }
        Next::Continue
    }

    async fn answer(
        &self,
        ctx: &AckContext,
        outcome: Result<(), &AckError>,
        write: &mut OwnedWriteHalf,
    ) -> Next {
        let ack = ack::build(ctx, outcome, &fresh_control_id(), Utc::now());
        match write.write_all(&MllpDecoder::frame(&ack)).await {
            Ok(()) => Next::Continue,
            Err(e) => {
                tracing::debug!(listener = %self.listener.url(), peer = %self.peer, error = %e, "ACK not sent; closing.");
                Next::Close
            }
        }
    }
}

/// A control id for an ACK, unique within this process and over restarts:
/// `WW`, the time in microseconds and a counter, in hex (at most 20 characters,
/// the v2.5 limit).
fn fresh_control_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 0x1000;
    format!("WW{:x}{n:03x}", Utc::now().timestamp_micros())
}

/// The next frame, or `Err(limit)` when none came within the idle limit.
async fn next_or_idle(
    frames: &mut FramedRead<tokio::net::tcp::OwnedReadHalf, MllpDecoder>,
    idle: Option<Duration>,
) -> Result<Option<std::io::Result<MllpFrame>>, Duration> {
    match idle {
        Some(limit) => tokio::time::timeout(limit, frames.next()).await.map_err(|_| limit),
        None => Ok(frames.next().await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_control_ids_are_unique_and_fit_v25() {
        let ids: std::collections::HashSet<String> = (0..3000).map(|_| fresh_control_id()).collect();
        assert_eq!(ids.len(), 3000);
        assert!(ids.iter().all(|id| id.starts_with("WW") && id.len() <= 20), "{ids:?}");
    }
}
