#![no_main]
//! The EVE JSON parser and its mappings (to an alert, or to device context)
//! never panic; errors point inside the input; a record gives at most two
//! sightings (one per end).

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::eve;
use wardwatch::normalize::{context_of, from_eve, Receipt};

fuzz_target!(|data: &[u8]| {
    match eve::parse(data) {
        Ok(r) => {
            let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
            let _ = from_eve(&r, data, &receipt);
            assert!(context_of(&r).len() <= 2, "more than two sightings from one record");
        }
        Err(e) => assert!(e.offset <= data.len()),
    }
});
