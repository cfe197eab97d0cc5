#![no_main]
//! The EVE JSON parser and its mapping never panic; errors point inside the input.

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::eve;
use wardwatch::normalize::{from_eve, Receipt};

fuzz_target!(|data: &[u8]| {
    match eve::parse(data) {
        Ok(r) => {
            let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
            let _ = from_eve(&r, data, &receipt);
        }
        Err(e) => assert!(e.offset <= data.len()),
    }
});
