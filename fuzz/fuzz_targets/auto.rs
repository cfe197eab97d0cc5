#![no_main]
//! What the listeners run on every message: never panics, and a message is
//! an alert, EVE device context, or an error pointing inside it.

use libfuzzer_sys::fuzz_target;
use wardwatch::normalize::{decode_auto, Receipt};

fuzz_target!(|data: &[u8]| {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    if let Err(e) = decode_auto(data, &receipt) {
        assert!(e.offset <= data.len());
    }
});
