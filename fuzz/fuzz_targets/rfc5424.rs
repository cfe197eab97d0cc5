#![no_main]
//! The RFC 5424 parsers (strict and lenient) and the mapping to an alert
//! never panic; an error always points inside the input; a strictly valid
//! message reads the same leniently, with no deviation.

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::rfc5424;
use wardwatch::normalize::{from_rfc5424, Receipt};

fuzz_target!(|data: &[u8]| {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    let lenient = rfc5424::parse_lenient(data);
    match &lenient {
        Ok(l) => {
            let _ = from_rfc5424(&l.message, data, &receipt);
        }
        Err(e) => assert!(e.offset <= data.len()),
    }
    match rfc5424::parse(data) {
        Ok(m) => {
            let _ = from_rfc5424(&m, data, &receipt);
            match lenient {
                Ok(l) => {
                    assert_eq!(l.message, m, "strict and lenient readings differ");
                    assert!(l.deviations.is_empty(), "a strictly valid message has deviations: {:?}", l.deviations);
                }
                Err(e) => panic!("strictly valid but refused leniently: {e}"),
            }
        }
        Err(e) => assert!(e.offset <= data.len()),
    }
});
