//! A file read into records of cells, one cell per field, whatever its
//! format: what `csv` and `json` give `plan`.

use super::{Field, InventoryError, Mapping};

/// What a record says in the column of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cell {
    /// No column, an empty cell (after trimming), or JSON `null`.
    Absent,
    /// Trimmed, never empty.
    Text(String),
    /// A value that cannot be read as text, and why (without the column).
    Bad(String),
}

impl Cell {
    /// A trimmed cell: empty is absent.
    pub(super) fn text(s: &str) -> Self {
        match s.trim() {
            "" => Self::Absent,
            t => Self::Text(t.to_owned()),
        }
    }
}

/// One data record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    /// CSV: the physical line the record starts on; JSON: its 1-based index.
    pub line: u64,
    /// One cell per field (`Field::index`), or why the record could not be
    /// cut into them.
    pub cells: Result<Vec<Cell>, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Table {
    /// Per field (`Field::index`): whether the file has its column.
    pub present: [bool; Field::ALL.len()],
    /// Header columns no field maps to, in header order.
    pub ignored: Vec<String>,
    pub records: Vec<Record>,
    /// Records with nothing in any cell, skipped.
    pub blank: usize,
}

/// Per field, the index of its column in `header` (trimmed names); refuses
/// a header without a required column, or with a mapped column twice.
pub(super) fn resolve(
    header: &[String],
    mapping: &Mapping,
) -> Result<([Option<usize>; Field::ALL.len()], Vec<String>), InventoryError> {
    let columns = Field::ALL.map(|f| header.iter().position(|h| h == mapping.column(f)));
    let missing: Vec<String> = Field::REQUIRED
        .iter()
        .filter(|f| columns[f.index()].is_none())
        .map(|f| mapping.column(*f).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(InventoryError::MissingColumns { missing, found: header.to_vec() });
    }
    for i in columns.iter().flatten() {
        if header.iter().filter(|h| **h == header[*i]).count() > 1 {
            return Err(InventoryError::DuplicateColumn { column: header[*i].clone() });
        }
    }
    let mut ignored: Vec<String> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if !columns.contains(&Some(i)) && !ignored.contains(h) {
            ignored.push(h.clone());
        }
    }
    Ok((columns, ignored))
}
