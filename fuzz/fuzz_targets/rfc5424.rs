#![no_main]
//! The RFC 5424 parser and its mapping to an alert never panic, and an error
//! always points inside the input.

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::rfc5424;
use wardwatch::normalize::{from_rfc5424, Receipt};

fuzz_target!(|data: &[u8]| {
    match rfc5424::parse(data) {
        Ok(m) => {
            let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
            let _ = from_rfc5424(&m, data, &receipt);
        }
        Err(e) => assert!(e.offset <= data.len()),
    }
});
