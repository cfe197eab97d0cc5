#![no_main]
//! HL7 v2: parsing, redaction, ACK salvage and building, and the mapping to
//! device observations never panic; errors point inside the input; a
//! redacted copy never grows a PID field.

use libfuzzer_sys::fuzz_target;
use wardwatch::codec::hl7::{self, ack};
use wardwatch::normalize::{hl7 as to_devices, Receipt};
use wardwatch::privacy::PatientIdKey;

fuzz_target!(|data: &[u8]| {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    let ctx = match hl7::parse(data) {
        Ok(m) => {
            let key = PatientIdKey::from_bytes([9; 32]);
            let _ = to_devices::observations(&m, Some(&key), &receipt);
            ack::AckContext::from_message(&m)
        }
        Err(e) => {
            assert!(e.offset <= data.len());
            ack::AckContext::salvage(data)
        }
    };
    let err = ack::AckError::new(ack::AckCode::Reject, 102, "fuzz");
    let built = ack::build(&ctx, Err(&err), "WW1", receipt.received_at);
    assert!(built.starts_with(b"MSH"));
    let redacted = hl7::redact(data);
    for seg in redacted.split(|&b| b == b'\r') {
        if seg.starts_with(b"PID") {
            assert!(seg.len() <= 3 || seg.ends_with(hl7::REDACTED.as_bytes()));
        }
    }
});
