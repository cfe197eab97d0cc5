#![no_main]
//! A webhook template from any text is refused or renders, for an order
//! whose values hold JSON and placeholder syntax, into JSON that parses
//! back; no order value ever adds structure.

use libfuzzer_sys::fuzz_target;
use wardwatch::response::dispatch::{Order, OrderDevice, Template};
use wardwatch::response::ActionId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(template) = Template::parse(text) else { return };
    let hostile = "\"}],{{order.reason}}\\\u{0}\n";
    let order = Order {
        request_id: 7,
        action: ActionId::new("quarantine").unwrap_or_else(|| unreachable!()),
        action_title: hostile.to_owned(),
        incident_id: 3,
        incident_key: hostile.to_owned(),
        condition: "c2-beacon".to_owned(),
        device: Some(OrderDevice {
            id: hostile.to_owned(),
            kind: "patient_monitor".to_owned(),
            ward: Some(hostile.to_owned()),
            ips: vec!["10.0.0.1".to_owned(), hostile.to_owned()],
            macs: vec![],
            hostname: None,
        }),
        destination: None,
        grade: "clinician_signoff".to_owned(),
        requested_by: hostile.to_owned(),
        approved_by: vec![hostile.to_owned()],
        break_glass: true,
        reason: hostile.to_owned(),
    };
    if let Ok(value) = template.render(&order) {
        let text = serde_json::to_string(&value).unwrap_or_else(|e| panic!("{e}"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, value);
    }
});
