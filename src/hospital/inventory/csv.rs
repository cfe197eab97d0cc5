//! CSV inventory files: RFC 4180 as BurntSushi's `csv` reads it, cell bytes
//! checked for UTF-8 one by one.
//!
//! A record's line is the physical line it starts on. `csv` ends records at
//! LF, CRLF or a lone CR, but its `Position::line` counts only LFs, so a file
//! with old Mac line endings (CR alone) would put every record on line 1:
//! lines are counted here from the record's byte offset instead, with LF,
//! CRLF and CR each ending one (the same numbers as `csv`'s for LF and CRLF
//! files), and a record after blank lines is placed on its own line, not
//! on the first blank one as `csv` does.

use ::csv::{ByteRecord, ReaderBuilder};

use super::table::{resolve, Cell, Record, Table};
use super::{Field, InventoryError, Mapping, MAX_ROWS};

/// Reads the header and every record; row problems stay in the records.
pub(super) fn read(input: &[u8], mapping: &Mapping) -> Result<Table, InventoryError> {
    let mut reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
    let mut record = ByteRecord::new();
    let csv_error = |e: ::csv::Error| InventoryError::Csv {
        line: e.position().map_or(0, |p| p.line()),
        reason: e.to_string(),
    };
    if !reader.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(InventoryError::Empty);
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, bytes) in record.iter().enumerate() {
        match std::str::from_utf8(bytes) {
            Ok(s) => header.push(s.trim().to_owned()),
            Err(e) => {
                let offset = e.valid_up_to();
                return Err(InventoryError::HeaderNotUtf8 {
                    column: i + 1,
                    byte: bytes.get(offset).copied().unwrap_or_default(),
                    offset,
                });
            }
        }
    }
    let (columns, ignored) = resolve(&header, mapping)?;
    let mut table = Table { ignored, ..Table::default() };
    for f in Field::ALL {
        table.present[f.index()] = columns[f.index()].is_some();
    }
    let mut lines = Lines { input, offset: 0, line: 1 };
    let mut count = 0usize;
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        count += 1;
        if count > MAX_ROWS {
            return Err(InventoryError::TooManyRows { limit: MAX_ROWS });
        }
        let line = lines.at(record.position().map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX)));
        if record.iter().all(|b| b.trim_ascii().is_empty()) {
            table.blank += 1;
            continue;
        }
        let cells = if record.len() == header.len() {
            Ok(columns.iter().map(|c| c.and_then(|i| record.get(i)).map_or(Cell::Absent, cell)).collect())
        } else {
            Err(format!("expected {} fields, found {}", header.len(), record.len()))
        };
        table.records.push(Record { line, cells });
    }
    Ok(table)
}

fn cell(bytes: &[u8]) -> Cell {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cell::text(s),
        Err(e) => {
            let offset = e.valid_up_to();
            Cell::Bad(format!(
                "not UTF-8 (byte 0x{:02X} at offset {offset}); save the file as UTF-8",
                bytes.get(offset).copied().unwrap_or_default()
            ))
        }
    }
}

/// Counts lines up to byte offsets, in increasing order.
struct Lines<'a> {
    input: &'a [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line of the record that `csv` places at byte `offset`: the first
    /// line from there that is not empty (`csv` places a record after blank
    /// lines at the first of them; a record never starts with CR or LF).
    fn at(&mut self, offset: usize) -> u64 {
        let mut end = offset.min(self.input.len());
        while matches!(self.input.get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        for i in self.offset..end {
            match self.input[i] {
                b'\n' => self.line += 1,
                b'\r' if self.input.get(i + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
        }
        self.offset = self.offset.max(end);
        self.line
    }
}
