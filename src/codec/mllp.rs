//! MLLP, the Minimal Lower Layer Protocol that carries HL7 v2 over TCP:
//! `<VT=0x0B> message <FS=0x1C><CR=0x0D>`.
//!
//! A frame ends at FS; the CR after it is taken when it comes (a sender that
//! writes FS alone and waits for its ACK is not kept waiting). A frame over
//! the size limit is skipped whole and reported with its first bytes (enough
//! to read its MSH and answer it). Bytes outside a frame are reported, except
//! CR, LF and spaces between frames, which senders commonly add. A VT inside
//! a frame means the frame before it was cut short: what was read of it is
//! reported, and the new frame starts.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

pub const START: u8 = 0x0b;
pub const END: u8 = 0x1c;
pub const CR: u8 = 0x0d;

/// How much of an oversize frame is kept to answer it.
pub const OVERSIZE_HEAD: usize = 1024;

/// What the decoder found next in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MllpFrame {
    /// One complete message, the framing bytes removed.
    Message(Bytes),
    /// A frame longer than the limit was skipped; `len` is its length and
    /// `head` its first [`OVERSIZE_HEAD`] bytes.
    Oversize { len: usize, head: Bytes },
    /// Bytes that were not inside a complete frame.
    Malformed { bytes: Bytes, reason: &'static str },
}

/// Frames an MLLP byte stream; `max_len` is the longest message accepted.
#[derive(Debug)]
pub struct MllpDecoder {
    max_len: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Between frames.
    Outside,
    /// Inside a frame; `scanned` bytes after VT hold no FS or VT yet.
    Inside { scanned: usize },
    /// Skipping the rest of an oversize frame.
    Skipping { len: usize, head: Bytes },
}

impl MllpDecoder {
    pub fn new(max_len: usize) -> Self {
        Self { max_len, state: State::Outside }
    }

    /// Wraps `message` in MLLP framing.
    pub fn frame(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() + 3);
        out.push(START);
        out.extend_from_slice(message);
        out.extend_from_slice(&[END, CR]);
        out
    }
}

fn is_filler(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

impl Decoder for MllpDecoder {
    type Item = MllpFrame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<MllpFrame>, std::io::Error> {
        loop {
            match &mut self.state {
                State::Outside => {
                    let fill = buf.iter().take_while(|&&b| is_filler(b)).count();
                    buf.advance(fill);
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    if buf[0] == START {
                        buf.advance(1);
                        self.state = State::Inside { scanned: 0 };
                        continue;
                    }
                    // Stray bytes: up to the next VT, or the limit.
                    let limit = self.max_len.max(1);
                    match buf.iter().take(limit).position(|&b| b == START) {
                        Some(i) => {
                            let bytes = buf.split_to(i).freeze();
                            return Ok(Some(MllpFrame::Malformed {
                                bytes,
                                reason: "bytes outside an MLLP frame",
                            }));
                        }
                        None if buf.len() >= limit => {
                            let bytes = buf.split_to(limit).freeze();
                            return Ok(Some(MllpFrame::Malformed {
                                bytes,
                                reason: "bytes outside an MLLP frame",
                            }));
                        }
                        None => return Ok(None),
                    }
                }
                State::Inside { scanned } => {
                    let found = buf[*scanned..].iter().position(|&b| b == END || b == START);
                    match found.map(|i| i + *scanned) {
                        Some(i) if buf[i] == END => {
                            let msg = buf.split_to(i).freeze();
                            buf.advance(1);
                            self.state = State::Outside;
                            if buf.first() == Some(&CR) {
                                buf.advance(1);
                            }
                            if msg.len() > self.max_len {
                                let head = msg.slice(..OVERSIZE_HEAD.min(msg.len()));
                                return Ok(Some(MllpFrame::Oversize { len: msg.len(), head }));
                            }
                            return Ok(Some(MllpFrame::Message(msg)));
                        }
                        Some(i) => {
                            // A new frame began before this one ended.
                            let bytes = buf.split_to(i).freeze();
                            self.state = State::Outside;
                            if bytes.len() > self.max_len {
                                let head = bytes.slice(..OVERSIZE_HEAD.min(bytes.len()));
                                return Ok(Some(MllpFrame::Oversize { len: bytes.len(), head }));
                            }
                            return Ok(Some(MllpFrame::Malformed {
                                bytes,
                                reason: "MLLP frame cut short: a new frame started before its end",
                            }));
                        }
                        None if buf.len() > self.max_len => {
                            let len = buf.len();
                            let head = buf.split_to(OVERSIZE_HEAD.min(len)).freeze();
                            buf.clear();
                            self.state = State::Skipping { len, head };
                            return Ok(None);
                        }
                        None => {
                            *scanned = buf.len();
                            return Ok(None);
                        }
                    }
                }
                State::Skipping { len, head } => match buf.iter().position(|&b| b == END || b == START) {
                    Some(i) => {
                        let frame = MllpFrame::Oversize { len: *len + i, head: head.clone() };
                        buf.advance(i);
                        if buf.first() == Some(&END) {
                            buf.advance(1);
                            if buf.first() == Some(&CR) {
                                buf.advance(1);
                            }
                        }
                        self.state = State::Outside;
                        return Ok(Some(frame));
                    }
                    None => {
                        *len += buf.len();
                        buf.clear();
                        return Ok(None);
                    }
                },
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<MllpFrame>, std::io::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        let state = std::mem::replace(&mut self.state, State::Outside);
        match state {
            State::Skipping { len, head } => Ok(Some(MllpFrame::Oversize { len, head })),
            State::Inside { .. } => {
                let bytes = buf.split().freeze();
                Ok(Some(MllpFrame::Malformed { bytes, reason: "connection closed inside an MLLP frame" }))
            }
            State::Outside if buf.iter().any(|&b| !is_filler(b)) => {
                let bytes = buf.split().freeze();
                Ok(Some(MllpFrame::Malformed { bytes, reason: "bytes outside an MLLP frame" }))
            }
            State::Outside => {
                buf.clear();
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], max: usize) -> Vec<MllpFrame> {
        let mut d = MllpDecoder::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            while let Ok(Some(f)) = d.decode(&mut buf) {
                out.push(f);
            }
        }
        while let Ok(Some(f)) = d.decode_eof(&mut buf) {
            out.push(f);
        }
        out
    }

    fn msg(s: &str) -> MllpFrame {
        MllpFrame::Message(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn frames_in_one_read_or_byte_by_byte() {
        let stream = b"\x0bMSH|a\x1c\x0d\r\n\x0bMSH|b\rPID|\x1c\x0d";
        assert_eq!(run(&[stream], 100), vec![msg("MSH|a"), msg("MSH|b\rPID|")]);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run(&bytes, 100), vec![msg("MSH|a"), msg("MSH|b\rPID|")]);
    }

    #[test]
    fn fs_without_cr_still_ends_the_frame() {
        assert_eq!(run(&[b"\x0bone\x1c", b"\x0btwo\x1c\r"], 100), vec![msg("one"), msg("two")]);
    }

    #[test]
    fn bytes_outside_frames_are_reported() {
        let got = run(&[b"junk\x0bok\x1c\rtail"], 100);
        assert_eq!(
            got,
            vec![
                MllpFrame::Malformed {
                    bytes: Bytes::from_static(b"junk"),
                    reason: "bytes outside an MLLP frame"
                },
                msg("ok"),
                MllpFrame::Malformed {
                    bytes: Bytes::from_static(b"tail"),
                    reason: "bytes outside an MLLP frame"
                },
            ]
        );
    }

    #[test]
    fn oversize_frames_are_skipped_whole_with_their_head() {
        let big = format!("\x0bMSH|{}\x1c\r\x0bsmall\x1c\r", "x".repeat(50));
        let got = run(&[big.as_bytes()], 20);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(&got[0], MllpFrame::Oversize { len: 54, head } if head.starts_with(b"MSH|")));
        assert_eq!(got[1], msg("small"));
        // The same, arriving in small pieces (the skipping state carries over).
        let pieces: Vec<&[u8]> = big.as_bytes().chunks(7).collect();
        let got = run(&pieces, 20);
        assert!(matches!(&got[0], MllpFrame::Oversize { len: 54, .. }), "{got:?}");
        assert_eq!(got[1], msg("small"));
    }

    #[test]
    fn a_frame_cut_short_and_a_closed_connection_are_reported() {
        let got = run(&[b"\x0bhalf\x0bwhole\x1c\r\x0btrunc"], 100);
        assert!(matches!(&got[0], MllpFrame::Malformed { bytes, .. } if bytes.as_ref() == b"half"));
        assert_eq!(got[1], msg("whole"));
        assert!(
            matches!(&got[2], MllpFrame::Malformed { bytes, reason } if bytes.as_ref() == b"trunc" && reason.contains("closed"))
        );
    }

    #[test]
    fn framing_round_trips() {
        let framed = MllpDecoder::frame(b"MSH|^~\\&|x");
        assert_eq!(run(&[&framed], 100), vec![msg("MSH|^~\\&|x")]);
    }
}
