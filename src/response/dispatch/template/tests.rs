use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::response::dispatch::tests::order;
use crate::response::dispatch::OrderDevice;

fn rendered(template: &str, order: &Order) -> Result<Value, String> {
    Template::parse(template).and_then(|t| t.render(order)).map_err(|e| e.to_string())
}

#[test]
fn a_lone_placeholder_keeps_the_value_s_type() {
    let o = order();
    let check = |placeholder: &str, want: Value| {
        let template = json!({ "v": placeholder }).to_string();
        assert_eq!(rendered(&template, &o), Ok(json!({ "v": want })), "{placeholder}");
    };
    check("{{order.request_id}}", json!(9001));
    check("{{order.incident_id}}", json!(77));
    check("{{order.break_glass}}", json!(false));
    check("{{device.ips}}", json!(["10.20.30.40", "10.20.30.41"]));
    check("{{order.approved_by}}", json!(["bob", "carol"]));
    check("{{device.id}}", json!("INF-0042"));
    check("{{ device.id }}", json!("INF-0042"));
    check("{{order.destination}}", Value::Null);
    check("{{order.action}}", json!("quarantine"));
    check("{{order.idempotency_key}}", json!("wardwatch-9001"));
    check("{{device.ward}}", json!("ICU-3"));
    check(
        "{{device}}",
        json!({
            "id": "INF-0042", "kind": "infusion_pump", "ward": "ICU-3",
            "ips": ["10.20.30.40", "10.20.30.41"], "macs": ["00:11:22:33:44:55"], "hostname": "pump-42"
        }),
    );
    let whole = serde_json::to_value(&o).unwrap_or_default();
    assert!(whole.is_object());
    check("{{order}}", whole);
}

#[test]
fn text_around_a_placeholder_makes_a_string() {
    let o = order();
    let check = |text: &str, want: &str| {
        let template = json!({ "v": text }).to_string();
        assert_eq!(rendered(&template, &o), Ok(json!({ "v": want })), "{text}");
    };
    check("WW-{{order.request_id}}", "WW-9001");
    check("{{device.id}} on {{device.ward}}", "INF-0042 on ICU-3");
    check("ips: {{device.ips}}", "ips: 10.20.30.40, 10.20.30.41");
    check("break glass: {{order.break_glass}}", "break glass: false");
    check("to [{{order.destination}}]", "to []");
    check("no placeholder", "no placeholder");
    check("}} alone {", "}} alone {");
    check("{{order.request_id}}{{order.incident_id}}", "900177");
}

#[test]
fn structure_numbers_and_keys_are_kept() {
    let template =
        r#"{"a": [1, 2.5, true, null, {"b": "{{order.grade}}"}], "n": {"m": ["{{device.macs}}"]}}"#;
    assert_eq!(
        rendered(template, &order()),
        Ok(
            json!({"a": [1, 2.5, true, null, {"b": "clinician_signoff"}], "n": {"m": [["00:11:22:33:44:55"]]}})
        )
    );
    assert_eq!(rendered(r#""{{device.id}}""#, &order()), Ok(json!("INF-0042")));
    assert_eq!(rendered("[]", &order()), Ok(json!([])));
}

#[test]
fn an_order_without_a_device_gives_nulls() {
    let mut o = order();
    o.device = None;
    assert_eq!(
        rendered(r#"{"id": "{{device.id}}", "ips": "{{device.ips}}", "t": "dev {{device.id}}."}"#, &o),
        Ok(json!({"id": null, "ips": null, "t": "dev ."}))
    );
}

#[test]
fn bad_templates_are_refused_when_parsed() {
    let check = |template: &str, want: &str| {
        let got = Template::parse(template).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(got.contains(want), "{template}: {got:?} should say {want:?}");
    };
    check(r#"{"a": "#, "the template is not JSON");
    check(
        r#"{"a": "{{order.nope}}"}"#,
        "unknown placeholder {{order.nope}} at /a (known: order, order.request_id",
    );
    check(r#"{"a": ["x", "{{device.serial}}"]}"#, "unknown placeholder {{device.serial}} at /a/1");
    check(r#"{"a/b": {"c~d": "{{ }}"}}"#, "unknown placeholder {{}} at /a~1b/c~0d");
    check(r#"{"a": "{{order.reason"}"#, "a {{ has no closing }} at /a");
    check(r#"{"{{device.id}}": 1}"#, "not in object keys: \"{{device.id}}\" at /{{device.id}}");
    check(r#""{{x}}""#, "unknown placeholder {{x}} at /");
}

#[test]
fn an_unknown_placeholder_at_render_is_an_error() {
    let got = render(&json!({"a": {"b": "x {{order.secret}}"}}), &order());
    assert_eq!(got, Err(TemplateError::Unknown { name: "order.secret".into(), at: "/a/b".into() }));
}

#[test]
fn every_listed_placeholder_has_a_value() {
    let mut o = order();
    o.destination = Some("203.0.113.9".into());
    for name in PLACEHOLDERS {
        let v = value(name, &o);
        assert!(matches!(&v, Some(v) if !v.is_null()), "{name}: {v:?}");
    }
    assert_eq!(value("order.nope", &o), None);
}

#[test]
fn order_values_cannot_break_out() -> Result<(), String> {
    let mut o = order();
    o.reason = r#"", "injected": true, "x": "{{order.request_id}}"#.into();
    o.requested_by = "{{order.break_glass}}".into();
    if let Some(d) = o.device.as_mut() {
        d.id = "}} {{ \" \\ \n".into();
        d.ips = vec!["\"]}".into()];
    }
    let template = r#"{"reason": "{{order.reason}}", "who": "by {{order.requested_by}}", "id": "{{device.id}}", "ips": "{{device.ips}}"}"#;
    let body = rendered(template, &o)?.to_string();
    let back: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let fields = back.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(fields, ["id", "ips", "reason", "who"]);
    assert_eq!(back["reason"], json!(o.reason));
    assert_eq!(back["who"], json!("by {{order.break_glass}}"));
    assert_eq!(back["id"], json!("}} {{ \" \\ \n"));
    assert_eq!(back["ips"], json!(["\"]}"]));
    Ok(())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[{}\"\\\\\n=|a-z ]{0,20}",
        Just("{{order.reason}}".to_owned()),
        Just("\", \"x\": {\"y\": 1}, \"".to_owned()),
    ]
}

fn any_order() -> impl Strategy<Value = Order> {
    (
        (any::<i64>(), any::<i64>(), text(), text(), text(), proptest::option::of(text())),
        (text(), text(), proptest::collection::vec(text(), 0..3), any::<bool>(), text()),
        proptest::option::of((
            text(),
            text(),
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..3),
        )),
    )
        .prop_map(
            |(
                (request_id, incident_id, title, key, condition, destination),
                (grade, by, approved, bg, reason),
                device,
            )| {
                let mut o = order();
                o.request_id = request_id;
                o.incident_id = incident_id;
                o.action_title = title;
                o.incident_key = key;
                o.condition = condition;
                o.destination = destination;
                o.grade = grade;
                o.requested_by = by;
                o.approved_by = approved;
                o.break_glass = bg;
                o.reason = reason;
                o.device = device.map(|(id, kind, ward, ips)| OrderDevice {
                    id,
                    kind,
                    ward,
                    ips,
                    macs: vec![],
                    hostname: None,
                });
                o
            },
        )
}

const EVERY: &str = r#"{
    "request": "{{order.request_id}}", "title": "{{order.action_title}}", "key": "{{order.incident_key}}",
    "cond": "c={{order.condition}}", "dst": "{{order.destination}}", "grade": "{{order.grade}}",
    "by": "{{order.requested_by}}", "approved": "{{order.approved_by}}", "bg": "{{order.break_glass}}",
    "reason": "{{order.reason}}", "text": "{{order.reason}} / {{device.id}}",
    "device": {"id": "{{device.id}}", "kind": "{{device.kind}}", "ward": "{{device.ward}}", "ips": "{{device.ips}}"},
    "whole": "{{order}}"
}"#;

proptest! {
    #[test]
    fn any_order_renders_to_json_that_parses_back(o in any_order()) {
        let template = Template::parse(EVERY).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let body = serde_json::to_string(&template.render(&o).map_err(|e| TestCaseError::fail(e.to_string()))?)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Value = serde_json::from_str(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back["request"], &json!(o.request_id));
        prop_assert_eq!(&back["title"], &json!(o.action_title));
        prop_assert_eq!(&back["key"], &json!(o.incident_key));
        prop_assert_eq!(&back["cond"], &json!(format!("c={}", o.condition)));
        prop_assert_eq!(&back["dst"], &json!(o.destination));
        prop_assert_eq!(&back["grade"], &json!(o.grade));
        prop_assert_eq!(&back["by"], &json!(o.requested_by));
        prop_assert_eq!(&back["approved"], &json!(o.approved_by));
        prop_assert_eq!(&back["bg"], &json!(o.break_glass));
        prop_assert_eq!(&back["reason"], &json!(o.reason));
        let id = o.device.as_ref().map(|d| d.id.clone());
        prop_assert_eq!(&back["text"], &json!(format!("{} / {}", o.reason, id.clone().unwrap_or_default())));
        prop_assert_eq!(&back["device"]["id"], &json!(id));
        prop_assert_eq!(&back["device"]["ips"], &json!(o.device.as_ref().map(|d| d.ips.clone())));
        prop_assert_eq!(&back["whole"], &serde_json::to_value(&o).map_err(|e| TestCaseError::fail(e.to_string()))?);
        let keys: Vec<&String> = back.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        prop_assert_eq!(keys.len(), 13);
    }
}
