#![no_main]
//! MLLP framing, fed in arbitrary chunks, never panics and never yields a
//! message over the limit or one holding a frame byte.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use wardwatch::codec::mllp::{MllpDecoder, MllpFrame, END, START};

const MAX: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else { return };
    let cut = (cut as usize).min(stream.len());
    let mut decoder = MllpDecoder::new(MAX);
    let mut buf = BytesMut::new();
    for chunk in [&stream[..cut], &stream[cut..]] {
        buf.extend_from_slice(chunk);
        while let Ok(Some(f)) = decoder.decode(&mut buf) {
            check(&f);
        }
    }
    while let Ok(Some(f)) = decoder.decode_eof(&mut buf) {
        check(&f);
    }
});

fn check(f: &MllpFrame) {
    if let MllpFrame::Message(m) = f {
        assert!(m.len() <= MAX);
        assert!(!m.contains(&START) && !m.contains(&END));
    }
}
