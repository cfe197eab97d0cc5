#![no_main]
//! The BSD syslog parser and its mapping never panic; errors point inside the input.

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::rfc3164;
use wardwatch::normalize::{from_rfc3164, Receipt};

fuzz_target!(|data: &[u8]| {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    match rfc3164::parse(data, receipt.received_at) {
        Ok(m) => {
            let _ = from_rfc3164(&m, data, &receipt);
        }
        Err(e) => assert!(e.offset <= data.len()),
    }
});
