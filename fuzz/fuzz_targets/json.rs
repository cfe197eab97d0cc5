#![no_main]
//! The JSON alert codec and its mapping never panic; an accepted document
//! gives alerts whose raw bytes lie inside it, and errors point inside it.

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::json;
use wardwatch::normalize::{self, Receipt};

fuzz_target!(|data: &[u8]| {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    match normalize::json::decode(data, &receipt) {
        Ok(alerts) => {
            for (_, alert) in &alerts {
                assert!(alert.raw.as_bytes().len() <= data.len());
                assert!(alert.severity.value() <= 10);
            }
            // The codec alone agrees with the mapping.
            assert_eq!(json::parse(data).map(|r| r.len()).ok(), Some(alerts.len()));
        }
        Err(e) => assert!(e.offset <= data.len(), "{e:?}"),
    }
});
