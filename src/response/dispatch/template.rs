//! A webhook's body: a JSON template whose string values may hold
//! placeholders, filled in with an order's values at each attempt.
//!
//! The template is parsed as JSON once ([`Template::parse`]); rendering
//! walks the parsed value and replaces placeholders *inside string values*
//! only, so the body is always valid JSON and no order value can add
//! structure to it (a reason holding `"`, `}` or `{{order.x}}` stays text:
//! values are inserted, never scanned again).
//!
//! - A string that is exactly one placeholder (`"{{device.ips}}"`, spaces
//!   inside the braces allowed) takes the value's own JSON type: an array for
//!   `device.ips`, a bool for `order.break_glass`, a number for the ids,
//!   `null` for an absent value (`order.destination`, any `device.*` of an
//!   order without a device), an object for `{{order}}` and `{{device}}`.
//! - Text around a placeholder makes a string: numbers and bools written
//!   out, arrays joined with `", "`, an absent value as nothing, objects as
//!   compact JSON.
//! - An unknown placeholder, a `{{` without its `}}`, or a placeholder in an
//!   object key is an error ([`TemplateError`]), found when the template is
//!   parsed.
//!
//! The placeholders are [`PLACEHOLDERS`].

use serde_json::{Map, Value};

use super::Order;

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "order",
    "order.request_id",
    "order.action",
    "order.action_title",
    "order.incident_id",
    "order.incident_key",
    "order.condition",
    "order.destination",
    "order.grade",
    "order.requested_by",
    "order.approved_by",
    "order.break_glass",
    "order.reason",
    "order.idempotency_key",
    "device",
    "device.id",
    "device.kind",
    "device.ward",
    "device.ips",
    "device.macs",
    "device.hostname",
];

/// Why a template cannot be used. `at` is a JSON pointer to the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is not JSON: {0}")]
    NotJson(String),
    #[error("unknown placeholder {{{{{name}}}}} at {at} (known: {known})", known = PLACEHOLDERS.join(", "))]
    Unknown { name: String, at: String },
    #[error("a {{{{ has no closing }}}} at {at}")]
    Unclosed { at: String },
    #[error("placeholders are filled in string values only, not in object keys: {key:?} at {at}")]
    InKey { key: String, at: String },
}

/// A parsed, checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Value);

impl Template {
    /// Parses `text` as JSON and checks its placeholders.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let value: Value = serde_json::from_str(text).map_err(|e| TemplateError::NotJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Checks the placeholders of an already parsed template.
    pub fn from_value(value: Value) -> Result<Self, TemplateError> {
        check(&value, &mut String::new())?;
        Ok(Self(value))
    }

    /// The body for `order`.
    pub fn render(&self, order: &Order) -> Result<Value, TemplateError> {
        render(&self.0, order)
    }
}

/// Renders any JSON value as a template for `order` (unchecked: an unknown
/// placeholder is an error here, not before).
pub fn render(template: &Value, order: &Order) -> Result<Value, TemplateError> {
    walk(template, &mut String::new(), &mut |s, at| fill(s, at, order))
}

fn check(template: &Value, at: &mut String) -> Result<(), TemplateError> {
    walk(template, at, &mut |s, at| {
        for part in scan(s, at)? {
            if let Part::Placeholder(name) = part {
                if !PLACEHOLDERS.contains(&name) {
                    return Err(TemplateError::Unknown { name: name.to_owned(), at: at.to_owned() });
                }
            }
        }
        Ok(Value::Null)
    })
    .map(drop)
}

/// A copy of `value` with every string replaced by `on_string`'s result.
fn walk(
    value: &Value,
    at: &mut String,
    on_string: &mut impl FnMut(&str, &str) -> Result<Value, TemplateError>,
) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => on_string(s, if at.is_empty() { "/" } else { at })?,
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                out.push(walk(item, at, on_string)?);
                at.truncate(len);
            }
            Value::Array(out)
        }
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, item) in fields {
                let len = at.len();
                at.push('/');
                // JSON pointer escapes (RFC 6901).
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                if key.contains("{{") {
                    return Err(TemplateError::InKey { key: key.clone(), at: at.clone() });
                }
                out.insert(key.clone(), walk(item, at, on_string)?);
                at.truncate(len);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part<'a> {
    Text(&'a str),
    /// The name between `{{` and `}}`, trimmed.
    Placeholder(&'a str),
}

/// Splits a template string into text and placeholders.
fn scan<'a>(s: &'a str, at: &str) -> Result<Vec<Part<'a>>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(&rest[..open]));
        }
        let inner = &rest[open + 2..];
        let Some(close) = inner.find("}}") else {
            return Err(TemplateError::Unclosed { at: at.to_owned() });
        };
        parts.push(Part::Placeholder(inner[..close].trim()));
        rest = &inner[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest));
    }
    Ok(parts)
}

fn fill(s: &str, at: &str, order: &Order) -> Result<Value, TemplateError> {
    let parts = scan(s, at)?;
    let lookup = |name: &str| {
        value(name, order).ok_or_else(|| TemplateError::Unknown { name: name.to_owned(), at: at.to_owned() })
    };
    match parts.as_slice() {
        [Part::Placeholder(name)] => lookup(name),
        _ if !parts.iter().any(|p| matches!(p, Part::Placeholder(_))) => Ok(Value::String(s.to_owned())),
        _ => {
            let mut out = String::with_capacity(s.len() + 32);
            for part in parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Placeholder(name) => write_text(&mut out, &lookup(name)?),
                }
            }
            Ok(Value::String(out))
        }
    }
}

/// A value written inside text.
fn write_text(out: &mut String, v: &Value) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_text(out, item);
            }
        }
        Value::Object(_) => out.push_str(&v.to_string()),
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

fn optional(s: Option<&String>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.clone()))
}

/// The value of placeholder `name` for `order`; `None` when there is no
/// such placeholder.
fn value(name: &str, order: &Order) -> Option<Value> {
    let device = order.device.as_ref();
    let of_device = |f: &dyn Fn(&super::OrderDevice) -> Value| device.map_or(Value::Null, f);
    Some(match name {
        "order" => serde_json::to_value(order).unwrap_or(Value::Null),
        "order.request_id" => Value::from(order.request_id),
        "order.action" => Value::String(order.action.as_str().to_owned()),
        "order.action_title" => Value::String(order.action_title.clone()),
        "order.incident_id" => Value::from(order.incident_id),
        "order.incident_key" => Value::String(order.incident_key.clone()),
        "order.condition" => Value::String(order.condition.clone()),
        "order.destination" => optional(order.destination.as_ref()),
        "order.grade" => Value::String(order.grade.clone()),
        "order.requested_by" => Value::String(order.requested_by.clone()),
        "order.approved_by" => strings(&order.approved_by),
        "order.break_glass" => Value::Bool(order.break_glass),
        "order.reason" => Value::String(order.reason.clone()),
        "order.idempotency_key" => Value::String(super::idempotency_key(order)),
        "device" => of_device(&|d| serde_json::to_value(d).unwrap_or(Value::Null)),
        "device.id" => of_device(&|d| Value::String(d.id.clone())),
        "device.kind" => of_device(&|d| Value::String(d.kind.clone())),
        "device.ward" => of_device(&|d| optional(d.ward.as_ref())),
        "device.ips" => of_device(&|d| strings(&d.ips)),
        "device.macs" => of_device(&|d| strings(&d.macs)),
        "device.hostname" => of_device(&|d| optional(d.hostname.as_ref())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
