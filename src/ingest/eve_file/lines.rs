//! A growing file cut into lines: pure, no I/O.
//!
//! Bytes come in chunks as the file grows; a line is handed on only once its
//! newline has arrived. A line longer than the limit is skipped whole, up to
//! its newline, and reported with its length: at most `max` bytes are ever
//! held, whatever the writer does.

/// What the splitter found in the bytes it was given. `end` is the file
/// offset just past the piece's newline: where to resume once it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// A complete line, without its newline (nor a CR before it).
    Line { bytes: Vec<u8>, end: u64 },
    /// A line over the limit, skipped: `len` bytes before its newline.
    Oversize { len: usize, end: u64 },
}

#[derive(Debug)]
pub(super) struct LineSplitter {
    max: usize,
    /// The file offset of the first byte not yet handed on in a piece.
    start: u64,
    /// The beginning of a line whose newline has not come yet.
    buf: Vec<u8>,
    /// While skipping an oversize line: how many of its bytes went by.
    skipping: Option<usize>,
}

impl LineSplitter {
    /// A splitter for lines of at most `max` bytes, fed from file offset `start`.
    pub(super) fn new(max: usize, start: u64) -> Self {
        Self { max, start, buf: Vec::new(), skipping: None }
    }

    /// Bytes of a line not complete yet (held, or skipped when oversize).
    pub(super) fn pending(&self) -> usize {
        self.skipping.unwrap_or(self.buf.len())
    }

    /// Cuts `chunk`, the bytes that follow everything pushed so far, into
    /// pieces appended to `out`; an unfinished last line waits for the rest.
    pub(super) fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Piece>) {
        while let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            let head = &chunk[..i];
            let len = self.pending() + head.len();
            self.start += len as u64 + 1;
            let end = self.start;
            if self.skipping.take().is_some() || len > self.max {
                self.buf.clear();
                out.push(Piece::Oversize { len, end });
            } else {
                let mut bytes = std::mem::take(&mut self.buf);
                bytes.extend_from_slice(head);
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                out.push(Piece::Line { bytes, end });
            }
            chunk = &chunk[i + 1..];
        }
        match &mut self.skipping {
            Some(skipped) => *skipped += chunk.len(),
            None if self.buf.len() + chunk.len() > self.max => {
                self.skipping = Some(self.buf.len() + chunk.len());
                self.buf = Vec::new();
            }
            None => self.buf.extend_from_slice(chunk),
        }
    }

    /// The unfinished last line, as a piece, for a file that will not grow
    /// again (it was rotated away): its writer stopped mid-line.
    pub(super) fn finish(&mut self) -> Option<Piece> {
        let len = self.pending();
        if len == 0 {
            return None;
        }
        self.start += len as u64;
        let end = self.start;
        Some(match self.skipping.take() {
            Some(_) => Piece::Oversize { len, end },
            None => Piece::Line { bytes: std::mem::take(&mut self.buf), end },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` in order to a splitter with limit `max` from offset 0,
    /// then lists the pieces (lines as text, oversize as `<oversize N>`, each
    /// with its end) and the bytes still pending.
    fn check(max: usize, chunks: &[&str], expected: &[(&str, u64)], pending: usize) {
        let mut s = LineSplitter::new(max, 0);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c.as_bytes(), &mut out);
        }
        let got: Vec<(String, u64)> = out
            .into_iter()
            .map(|p| match p {
                Piece::Line { bytes, end } => (String::from_utf8_lossy(&bytes).into_owned(), end),
                Piece::Oversize { len, end } => (format!("<oversize {len}>"), end),
            })
            .collect();
        let expected: Vec<(String, u64)> = expected.iter().map(|(l, e)| ((*l).to_owned(), *e)).collect();
        assert_eq!(got, expected, "chunks {chunks:?}");
        assert_eq!(s.pending(), pending, "pending after {chunks:?}");
    }

    #[test]
    fn lines_are_handed_on_only_when_complete() {
        check(16, &["a\nbb\n"], &[("a", 2), ("bb", 5)], 0);
        check(16, &["a\nb"], &[("a", 2)], 1);
        check(16, &["a\nb", "b", "\n"], &[("a", 2), ("bb", 5)], 0);
        check(16, &["{\"x\"", ":1}", "\n{"], &[("{\"x\":1}", 8)], 1);
        check(16, &["crlf\r\n"], &[("crlf", 6)], 0);
        check(16, &["\n\n"], &[("", 1), ("", 2)], 0);
        check(16, &[""], &[], 0);
    }

    #[test]
    fn oversize_lines_are_skipped_whole_and_never_held() {
        // Exactly the limit fits; one more does not.
        check(4, &["abcd\nabcde\nok\n"], &[("abcd", 5), ("<oversize 5>", 11), ("ok", 14)], 0);
        // Over the limit before the newline comes: skipped, counted in full.
        check(4, &["abc", "defgh", "ij", "\nok\n"], &[("<oversize 10>", 11), ("ok", 14)], 0);
        check(4, &["abcdefgh"], &[], 8);
        check(4, &["abcdefgh", "ijk\nab"], &[("<oversize 11>", 12)], 2);
    }

    #[test]
    fn ends_count_from_the_start_offset() {
        let mut s = LineSplitter::new(8, 100);
        let mut out = Vec::new();
        s.push(b"ab\nc", &mut out);
        assert_eq!(out, [Piece::Line { bytes: b"ab".to_vec(), end: 103 }]);
    }

    #[test]
    fn finishing_hands_on_the_unfinished_line() {
        let mut s = LineSplitter::new(4, 0);
        let mut out = Vec::new();
        s.push(b"ok\ntail", &mut out);
        assert_eq!(s.finish(), Some(Piece::Line { bytes: b"tail".to_vec(), end: 7 }));
        assert_eq!(s.finish(), None);
        s.push(b"toolong", &mut out);
        assert_eq!(s.finish(), Some(Piece::Oversize { len: 7, end: 14 }));
    }
}
