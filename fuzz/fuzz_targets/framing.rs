#![no_main]
//! RFC 6587 framing, fed in arbitrary chunks, never panics and never yields a
//! message over the limit.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use wardwatch::codec::framing::{Frame, SyslogFramer};

const MAX: usize = 64;

fuzz_target!(|data: &[u8]| {
    // The first byte decides where the stream is cut into reads.
    let Some((&cut, stream)) = data.split_first() else { return };
    let cut = (cut as usize).min(stream.len());
    let mut framer = SyslogFramer::new(MAX);
    let mut buf = BytesMut::new();
    for chunk in [&stream[..cut], &stream[cut..]] {
        buf.extend_from_slice(chunk);
        while let Ok(Some(f)) = framer.decode(&mut buf) {
            check(&f);
        }
    }
    while let Ok(Some(f)) = framer.decode_eof(&mut buf) {
        check(&f);
    }
});

fn check(f: &Frame) {
    if let Frame::Message(m) = f {
        assert!(m.len() <= MAX);
    }
}
