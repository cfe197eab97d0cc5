#![no_main]
//! LEEF, found anywhere in a message and mapped to an alert, never panics;
//! errors point inside the input.

use libfuzzer_sys::fuzz_target;
use wardwatch::normalize::{leef, Receipt};

fuzz_target!(|data: &[u8]| {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    if let Err(e) = leef::decode(data, &receipt) {
        assert!(e.offset <= data.len());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = wardwatch::codec::leef::parse(text) {
            assert!(e.offset <= data.len());
        }
    }
});
