//! Splitting a syslog byte stream into messages (RFC 6587).
//!
//! Each frame is either octet-counted (`MSG-LEN SP MSG`, section 3.4.1) or
//! non-transparent (`MSG` ended by LF, or by NUL as some senders do, section
//! 3.4.2). The method is detected per frame from its first byte: a digit
//! starts an octet count, anything else a delimited message, so one
//! connection may even mix the two. A frame over the size limit is skipped
//! whole and reported, never cut into pieces that would parse as messages.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

/// What the framer found next in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete message, delimiters and counts removed.
    Message(Bytes),
    /// A message longer than the limit was skipped; `len` is its length when
    /// known (octet counting) or how much of it was seen (delimited).
    Oversize { len: usize },
    /// Bytes that cannot be framed, such as a bad octet count or a stream
    /// that ended inside a frame. They are handed on so they can be kept.
    Malformed { bytes: Bytes, reason: &'static str },
}

/// The RFC 6587 decoder for one connection.
#[derive(Debug)]
pub struct SyslogFramer {
    max_len: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a frame.
    Start,
    /// Skipping the rest of an octet-counted frame over the limit.
    SkipCount { remaining: usize },
    /// Skipping a delimited frame over the limit until its delimiter.
    SkipDelimited { seen: usize },
}

/// The longest MSG-LEN accepted: more digits than this cannot be a real count.
const MAX_LEN_DIGITS: usize = 10;

impl SyslogFramer {
    pub fn new(max_len: usize) -> Self {
        Self { max_len, state: State::Start }
    }

    fn octet_counted(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        let digits = buf.iter().take(MAX_LEN_DIGITS + 1).take_while(|b| b.is_ascii_digit()).count();
        if digits == buf.len() && digits <= MAX_LEN_DIGITS {
            return None; // the count goes on in the next read
        }
        let len_ok = digits <= MAX_LEN_DIGITS && buf.get(digits) == Some(&b' ');
        let len = std::str::from_utf8(&buf[..digits.min(MAX_LEN_DIGITS)])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&n| n > 0);
        let Some(len) = len.filter(|_| len_ok) else {
            // Framing is lost: take the bytes up to the next delimiter as one
            // malformed frame and start again after it.
            return self.malformed_until_delimiter(buf, "bad octet count");
        };
        if len > self.max_len {
            buf.advance(digits + 1);
            let skip = len.min(buf.len());
            buf.advance(skip);
            if skip < len {
                self.state = State::SkipCount { remaining: len - skip };
            }
            return Some(Frame::Oversize { len });
        }
        if buf.len() < digits + 1 + len {
            buf.reserve(digits + 1 + len - buf.len());
            return None;
        }
        buf.advance(digits + 1);
        Some(Frame::Message(buf.split_to(len).freeze()))
    }

    /// Takes the bytes up to the next delimiter as one malformed frame; waits
    /// for more when there is none yet, and skips the run as oversize when it
    /// grows past the limit.
    fn malformed_until_delimiter(&mut self, buf: &mut BytesMut, reason: &'static str) -> Option<Frame> {
        match buf.iter().take(self.max_len + 1).position(|&b| b == b'\n' || b == 0) {
            Some(i) => {
                let bytes = buf.split_to(i).freeze();
                buf.advance(1);
                Some(Frame::Malformed { bytes, reason })
            }
            None if buf.len() > self.max_len => {
                self.state = State::SkipDelimited { seen: buf.len() };
                buf.clear();
                None
            }
            None => None,
        }
    }

    fn delimited(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        match buf.iter().take(self.max_len + 2).position(|&b| b == b'\n' || b == 0) {
            Some(i) => {
                let mut msg = buf.split_to(i);
                buf.advance(1);
                if msg.last() == Some(&b'\r') {
                    msg.truncate(msg.len() - 1);
                }
                if msg.len() > self.max_len {
                    return Some(Frame::Oversize { len: msg.len() });
                }
                Some(Frame::Message(msg.freeze()))
            }
            None if buf.len() > self.max_len + 1 => {
                // Over the limit: skip to its delimiter, which may be further on.
                if let Some(i) = buf.iter().position(|&b| b == b'\n' || b == 0) {
                    buf.advance(i + 1);
                    return Some(Frame::Oversize { len: i });
                }
                let seen = buf.len();
                buf.clear();
                self.state = State::SkipDelimited { seen };
                None
            }
            None => None,
        }
    }
}

impl Decoder for SyslogFramer {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        loop {
            match self.state {
                State::SkipCount { remaining } => {
                    let n = remaining.min(buf.len());
                    buf.advance(n);
                    if n < remaining {
                        self.state = State::SkipCount { remaining: remaining - n };
                        return Ok(None);
                    }
                    self.state = State::Start;
                }
                State::SkipDelimited { seen } => match buf.iter().position(|&b| b == b'\n' || b == 0) {
                    Some(i) => {
                        buf.advance(i + 1);
                        self.state = State::Start;
                        return Ok(Some(Frame::Oversize { len: seen + i }));
                    }
                    None => {
                        self.state = State::SkipDelimited { seen: seen + buf.len() };
                        buf.clear();
                        return Ok(None);
                    }
                },
                State::Start => {
                    // Blank lines and stray delimiters between frames are not messages.
                    let blank = buf.iter().take_while(|&&b| matches!(b, b'\n' | b'\r' | 0)).count();
                    buf.advance(blank);
                    return Ok(match buf.first() {
                        None => None,
                        Some(b) if b.is_ascii_digit() => self.octet_counted(buf),
                        Some(_) => self.delimited(buf),
                    });
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        match self.state {
            State::SkipDelimited { seen } => {
                self.state = State::Start;
                buf.clear();
                Ok(Some(Frame::Oversize { len: seen }))
            }
            State::SkipCount { .. } => {
                self.state = State::Start;
                buf.clear();
                Ok(None) // already reported when the count was read
            }
            State::Start if buf.is_empty() => Ok(None),
            State::Start => {
                let rest = buf.split().freeze();
                if rest.first().is_some_and(u8::is_ascii_digit) {
                    Ok(Some(Frame::Malformed { bytes: rest, reason: "stream ended inside a frame" }))
                } else if rest.len() > self.max_len {
                    Ok(Some(Frame::Oversize { len: rest.len() }))
                } else {
                    // A last delimited message without its LF, as many senders end.
                    Ok(Some(Frame::Message(rest)))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one after another and returns every frame, EOF included.
    fn frames(max_len: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut framer = SyslogFramer::new(max_len);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Ok(Some(f)) = framer.decode(&mut buf) {
                out.push(f);
            }
        }
        while let Ok(Some(f)) = framer.decode_eof(&mut buf) {
            out.push(f);
        }
        out
    }

    fn msg(s: &str) -> Frame {
        Frame::Message(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn octet_counting() {
        assert_eq!(
            frames(100, &[b"16 <1>1 - - - - - -17 <2>12 A B C D E -"]),
            vec![msg("<1>1 - - - - - -"), msg("<2>12 A B C D E -")]
        );
        // A message may hold LF and NUL when counted.
        assert_eq!(frames(100, &[b"5 a\nb\0c"]), vec![msg("a\nb\0c")]);
    }

    #[test]
    fn octet_counting_across_reads() {
        let want = vec![msg("<1>1 - - - - - - hello"), msg("<1>1 - - - - - -")];
        let stream: &[u8] = b"22 <1>1 - - - - - - hello16 <1>1 - - - - - -";
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(frames(100, &[a, b]), want, "split at {split}");
        }
    }

    #[test]
    fn delimited_by_lf_crlf_and_nul() {
        assert_eq!(
            frames(100, &[b"<1>a\n<2>b\r\n<3>c\0<4>d"]),
            vec![msg("<1>a"), msg("<2>b"), msg("<3>c"), msg("<4>d")]
        );
        assert_eq!(frames(100, &[b"<1>a", b"bc\n\n\n<2>d\n"]), vec![msg("<1>abc"), msg("<2>d")]);
    }

    #[test]
    fn methods_mix_on_one_connection() {
        assert_eq!(frames(100, &[b"<1>lf\n4 <2>c<3>lf\n"]), vec![msg("<1>lf"), msg("<2>c"), msg("<3>lf")]);
    }

    #[test]
    fn oversize_counted_frame_is_skipped_whole() {
        let big = format!("20 <1>{}", "x".repeat(17));
        let stream = format!("{big}5 <1>ok");
        assert_eq!(frames(10, &[stream.as_bytes()]), vec![Frame::Oversize { len: 20 }, msg("<1>ok")]);
        // Also when the oversize frame arrives over several reads.
        let (a, b) = stream.split_at(7);
        assert_eq!(
            frames(10, &[a.as_bytes(), b.as_bytes()]),
            vec![Frame::Oversize { len: 20 }, msg("<1>ok")]
        );
    }

    #[test]
    fn oversize_delimited_frame_is_skipped_to_its_delimiter() {
        let long = format!("<1>{}", "y".repeat(30));
        let stream = format!("{long}\n<2>ok\n");
        assert_eq!(frames(10, &[stream.as_bytes()]), vec![Frame::Oversize { len: 33 }, msg("<2>ok")]);
        let (a, b) = stream.split_at(20);
        assert_eq!(
            frames(10, &[a.as_bytes(), b.as_bytes()]),
            vec![Frame::Oversize { len: 33 }, msg("<2>ok")]
        );
        // Exactly at the limit is fine.
        assert_eq!(frames(5, &[b"<1>ab\n"]), vec![msg("<1>ab")]);
        assert_eq!(frames(5, &[b"<1>abc\n"]), vec![Frame::Oversize { len: 6 }]);
    }

    #[test]
    fn bad_counts_are_malformed_and_framing_recovers() {
        assert_eq!(
            frames(100, &[b"12x <1>bad\n<2>good\n"]),
            vec![
                Frame::Malformed { bytes: Bytes::from_static(b"12x <1>bad"), reason: "bad octet count" },
                msg("<2>good")
            ]
        );
        assert_eq!(
            frames(100, &[b"0 \n"]),
            vec![Frame::Malformed { bytes: Bytes::from_static(b"0 "), reason: "bad octet count" }]
        );
        assert_eq!(
            frames(100, &[b"99999999999999 x\n"]),
            vec![Frame::Malformed {
                bytes: Bytes::from_static(b"99999999999999 x"),
                reason: "bad octet count"
            }]
        );
    }

    #[test]
    fn stream_ending_inside_a_counted_frame_is_reported() {
        assert_eq!(
            frames(100, &[b"30 <1>short"]),
            vec![Frame::Malformed {
                bytes: Bytes::from_static(b"30 <1>short"),
                reason: "stream ended inside a frame"
            }]
        );
    }

    proptest::proptest! {
        /// Any sequence of counted messages, cut anywhere, comes back intact.
        #[test]
        fn counted_messages_survive_any_cut(
            msgs in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 1..40), 1..8),
            cut in 0usize..400,
        ) {
            let mut stream = Vec::new();
            for m in &msgs {
                stream.extend_from_slice(format!("{} ", m.len()).as_bytes());
                stream.extend_from_slice(m);
            }
            let cut = cut.min(stream.len());
            let (a, b) = stream.split_at(cut);
            let want: Vec<Frame> = msgs.iter().map(|m| Frame::Message(Bytes::copy_from_slice(m))).collect();
            proptest::prop_assert_eq!(frames(64, &[a, b]), want);
        }

        /// Arbitrary bytes never panic the framer and never yield a frame over the limit.
        #[test]
        fn arbitrary_streams_stay_bounded(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..8),
        ) {
            let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            for f in frames(16, &chunks) {
                match f {
                    Frame::Message(m) => proptest::prop_assert!(m.len() <= 16),
                    Frame::Malformed { bytes, .. } => proptest::prop_assert!(bytes.len() <= 16 + MAX_LEN_DIGITS + 1),
                    Frame::Oversize { .. } => {}
                }
            }
        }
    }
}
