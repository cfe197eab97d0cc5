//! JSON inventory files: an array of flat objects, a key per column.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Number, Value};

use super::table::{resolve, Cell, Record, Table};
use super::{Field, InventoryError, Mapping, MAX_ROWS};

/// Reads every object; the header is the union of their (trimmed) keys.
pub(super) fn read(input: &[u8], mapping: &Mapping) -> Result<Table, InventoryError> {
    let value: Value = serde_json::from_slice(input).map_err(|e| {
        let position = format!(" at line {} column {}", e.line(), e.column());
        let reason = e.to_string();
        InventoryError::NotJson {
            line: e.line(),
            column: e.column(),
            reason: reason.strip_suffix(&position).unwrap_or(&reason).to_owned(),
        }
    })?;
    let Value::Array(items) = value else {
        return Err(InventoryError::NotAnArray { found: kind_of(&value) });
    };
    if items.len() > MAX_ROWS {
        return Err(InventoryError::TooManyRows { limit: MAX_ROWS });
    }
    let mut objects = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Object(map) => {
                objects.push(map.iter().map(|(k, v)| (k.trim(), v)).collect::<BTreeMap<&str, &Value>>())
            }
            other => return Err(InventoryError::NotAnObject { record: i + 1, found: kind_of(other) }),
        }
    }
    if objects.is_empty() {
        return Ok(Table::default());
    }
    let header: Vec<String> = objects
        .iter()
        .flat_map(|o| o.keys().copied())
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let (columns, ignored) = resolve(&header, mapping)?;
    let mut table = Table { ignored, ..Table::default() };
    for f in Field::ALL {
        table.present[f.index()] = columns[f.index()].is_some();
    }
    for (i, object) in objects.iter().enumerate() {
        let blank = object.values().all(|v| match v {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        });
        if blank {
            table.blank += 1;
            continue;
        }
        let cells = columns
            .iter()
            .map(|c| c.and_then(|i| object.get(header[i].as_str())).map_or(Cell::Absent, |v| cell(v)))
            .collect();
        table.records.push(Record { line: i as u64 + 1, cells: Ok(cells) });
    }
    Ok(table)
}

fn cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Absent,
        Value::String(s) => Cell::text(s),
        Value::Number(n) => Cell::Text(number(n)),
        other => Cell::Bad(format!("expected text, a number or null, found {}", kind_of(other))),
    }
}

/// An integer as digits, also when written `9.0`; other numbers as JSON
/// writes them.
fn number(n: &Number) -> String {
    if n.is_f64() {
        if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15) {
            return format!("{f:.0}");
        }
    }
    n.to_string()
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
