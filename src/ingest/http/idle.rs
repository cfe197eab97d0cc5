//! A stream that fails a read when nothing has arrived for a while: closes
//! keep-alive connections left idle and senders that stall mid-request.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Wraps any stream (TCP now, TLS later); writes pass through untouched.
pub(super) struct IdleTimeout<S> {
    inner: S,
    limit: Option<Duration>,
    timer: Pin<Box<Sleep>>,
    /// Whether `timer` runs for the read now pending.
    armed: bool,
}

impl<S> IdleTimeout<S> {
    /// `None` never times out.
    pub(super) fn new(inner: S, limit: Option<Duration>) -> Self {
        let timer = Box::pin(tokio::time::sleep(limit.unwrap_or(Duration::ZERO)));
        Self { inner, limit, timer, armed: false }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let Some(limit) = this.limit else {
                    return Poll::Pending;
                };
                if !this.armed {
                    this.timer.as_mut().reset(Instant::now() + limit);
                    this.armed = true;
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("nothing received for {} s", limit.as_secs()),
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_silent_peer_times_out_and_a_talking_one_does_not() -> io::Result<()> {
        let (client, server) = tokio::io::duplex(64);
        let mut s = IdleTimeout::new(server, Some(Duration::from_millis(100)));
        let mut client = client;
        tokio::io::AsyncWriteExt::write_all(&mut client, b"hi").await?;
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hi");
        let e = s.read(&mut buf).await.err().map(|e| e.kind());
        assert_eq!(e, Some(io::ErrorKind::TimedOut));
        Ok(())
    }
}
