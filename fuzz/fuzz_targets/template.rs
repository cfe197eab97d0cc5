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
        assert!(same(&back, &value), "{back} != {value}");
    }
});

/// Equal, but for the last bit of a float: serde_json's float parsing is
/// not correctly rounded (a template's `1.1111111111111111e+47` may come
/// back one unit in the last place off), which is not what is tested here.
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (a, b) {
        (Number(x), Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => (x - y).abs() <= f64::EPSILON * 4.0 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Object(x), Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => a == b,
    }
}
