//! Inventory files in and out: the CSV or JSON export of a CMMS
//! (computerised maintenance management system) or an asset list, read with
//! a column mapping into an [`ImportPlan`] (the dry run the console shows
//! before anything is written), and the inventory written back
//! ([`export`]). Pure: no I/O, no clock; never panics on any input.
//!
//! ```text
//! plan(bytes, InventoryFormat, &Mapping, &current, &staged) -> Result<ImportPlan, InventoryError>
//! ImportPlan { rows: Vec<RowReport>, new_wards, upserts, adopted, ignored_columns, untouched, blank_rows, format }
//! ImportPlan::counts() -> PlanCounts, ImportPlan::report() -> String
//! export(&Inventory, InventoryFormat) -> Vec<u8>
//! Mapping::default(), Mapping::with_overrides(&["asset_id=Asset Tag"]), Field::column()
//! ```
//!
//! # The file
//! - CSV: RFC 4180 (quoted fields may hold commas, quotes and newlines), a
//!   header row, comma-separated. JSON: an array of flat objects; a value is
//!   text, a number or `null` (absent); the header is the union of the keys.
//!   A UTF-8 byte-order mark at the start is skipped. Over [`MAX_BYTES`] or
//!   [`MAX_ROWS`] records, the file is refused.
//! - Each [`Field`] is read from the column the [`Mapping`] names (by
//!   default the field's own name, [`Field::column`]), matched exactly after
//!   trimming the header. `asset_id` and `kind` are required: a header
//!   without them is a file-level [`InventoryError::MissingColumns`]. Other
//!   header columns are listed in [`ImportPlan::ignored_columns`] and never
//!   read (an ignored column may hold anything: multi-line notes, bytes that
//!   are not UTF-8, JSON objects).
//! - Each cell is trimmed; an empty cell (or `null`) is absent. A record
//!   with nothing in any cell is skipped and counted (`blank_rows`:
//!   spreadsheets save trailing empty rows).
//!
//! # A row
//! - `asset_id`: 1-64 characters, not `seen-...` (the ids of devices
//!   staged from traffic). `kind`: a [`DeviceKind`] spelling or label.
//! - Criticality: `tier` (a [`CriticalityTier`] spelling or label), or the
//!   three Fennigkoh–Smith factors `function`, `physical_risk` and
//!   `maintenance` together, whose [`Factors::tier`] it then is; with both,
//!   the given tier is used and the factors recorded; with neither the row
//!   is invalid.
//! - `ward`: a ward id (1-32 of `a-z 0-9 - _`, after lowercasing). A ward
//!   the inventory does not have becomes a new ward, made from the first row
//!   written that names it: `ward_name` (or the id), `ward_kind` (a
//!   [`WardKind`], `other` when absent or not one), `site` (or
//!   [`DEFAULT_SITE`]). These three are not read otherwise: an import does
//!   not rename wards.
//! - `room`, `bed`: text up to 64 characters; `manufacturer`, `model`,
//!   `firmware`, `site`, `ward_name`: up to 128; no control characters.
//! - `ip`, `mac`, `hostname`, `eui64`, `serial`: one value each, in the
//!   spelling of [`Identity::new`].
//! - `patching`: `hospital`, `manufacturer` (or `vendor`), `not_patchable`
//!   (or `none`, `no`), `unknown`; absent is `unknown`.
//! - `vulnerabilities`: CVE ids separated by `;` or `,`, a `!` after one that
//!   is known exploited (`CVE-2019-0708!;CVE-2020-25165`).
//! - A field whose column the file does not have at all keeps the current
//!   device's value (for a new device, its empty value): an export without
//!   a `vulnerabilities` column does not clear them. Criticality is the
//!   exception: every row must give it. An empty cell clears the field.
//! - Every problem of a row is listed, each prefixed by its column as
//!   mapped (`IP Address: "10.1.2" is not an IP address`); a cell that is
//!   not UTF-8 is one (`not UTF-8 (byte 0xE9 at offset N)`, N counted in the
//!   cell), and so is a CSV record with a different number of fields than
//!   the header.
//!
//! # Outcomes
//! A row is [`RowOutcome::Invalid`] when it has problems, or repeats an
//! earlier row's asset id (`duplicate of line N`). Otherwise it is checked
//! against the others and the inventory, and is a
//! [`RowOutcome::Conflict`] when an identity of it is
//! - claimed by an earlier valid row of the file (the first claim holds it);
//! - held by another confirmed device of `current` that keeps it after the
//!   import: one the file does not list, lists with that identity, or lists
//!   in a row that is not written (so two devices may swap addresses in one
//!   file, but never end up sharing one);
//! - held by a staged device that an earlier row takes over.
//!
//! An identity held by a staged device (in `staged`, or marked staged in
//! `current`) is no conflict: the row takes that device over
//! ([`ImportPlan::adopted`]). Other rows are [`RowOutcome::New`],
//! [`RowOutcome::Changed`] (naming the fields) or [`RowOutcome::Unchanged`];
//! only new and changed rows are in [`ImportPlan::upserts`]. An import never
//! deletes: devices the file does not mention are counted in `untouched`.
//!
//! [`DeviceKind`]: crate::hospital::DeviceKind
//! [`CriticalityTier`]: crate::hospital::CriticalityTier
//! [`Factors::tier`]: crate::hospital::Factors::tier
//! [`WardKind`]: crate::hospital::WardKind
//! [`Identity::new`]: crate::hospital::Identity::new

mod csv;
mod export;
mod json;
mod mapping;
mod row;
mod table;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

pub use export::export;
pub use mapping::{Field, InventoryFormat, Mapping};
pub use row::DEFAULT_SITE;

use super::{AssetId, Device, Identity, Inventory, Ward, WardId};
use table::Table;

/// Files over this size are refused (16 MiB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Files with more records than this are refused.
pub const MAX_ROWS: usize = 100_000;

/// What is wrong with the file as a whole. Problems of single rows are not
/// errors: they are [`RowOutcome::Invalid`] in the plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("the file is {bytes} bytes; inventory files are at most {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the file has more than {limit} records")]
    TooManyRows { limit: usize },
    #[error("the file is empty")]
    Empty,
    #[error(
        "missing column{} {}; the file has {}",
        if missing.len() == 1 { "" } else { "s" },
        quoted(missing),
        if found.is_empty() { "none".to_owned() } else { quoted(found) }
    )]
    MissingColumns { missing: Vec<String>, found: Vec<String> },
    #[error("column {column:?} is in the header more than once")]
    DuplicateColumn { column: String },
    #[error("the header is not UTF-8 (column {column}, byte 0x{byte:02X} at offset {offset}); save the file as UTF-8")]
    HeaderNotUtf8 { column: usize, byte: u8, offset: usize },
    #[error("CSV line {line}: {reason}")]
    Csv { line: u64, reason: String },
    #[error("not JSON: {reason} at line {line}, column {column}")]
    NotJson { line: usize, column: usize, reason: String },
    #[error("the JSON document is {found}, not an array of objects")]
    NotAnArray { found: &'static str },
    #[error("JSON record {record} is {found}, not an object")]
    NotAnObject { record: usize, found: &'static str },
    #[error("unknown field {field:?} in the mapping; the fields are {}", known.join(", "))]
    UnknownField { field: String, known: Vec<&'static str> },
    #[error("mapping {entry:?} is not FIELD=COLUMN")]
    BadOverride { entry: String },
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

/// The dry run of an import: what each row would do, and what would be
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    pub format: InventoryFormat,
    /// One per data row, in file order.
    pub rows: Vec<RowReport>,
    /// Wards the written rows name that the inventory does not have.
    pub new_wards: Vec<Ward>,
    /// The complete records to write: new and changed rows only, `staged`
    /// false, in file order.
    pub upserts: Vec<Device>,
    /// (staged device, the imported device that takes it over), in file
    /// order.
    pub adopted: Vec<(AssetId, AssetId)>,
    /// Header columns (JSON keys) no field maps to.
    pub ignored_columns: Vec<String>,
    /// Confirmed devices of the inventory the file does not mention: left as
    /// they are (an import never deletes).
    pub untouched: usize,
    /// Records with nothing in them, skipped.
    pub blank_rows: usize,
}

/// What one data row would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowReport {
    /// CSV: the physical line the record starts on (1 is the header); JSON:
    /// the record's 1-based index in the array.
    pub line: u64,
    /// The row's asset id, when it has a readable one.
    pub asset: Option<AssetId>,
    pub outcome: RowOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RowOutcome {
    /// A device the inventory does not have.
    New,
    /// A device of the inventory, with these fields different (`kind`,
    /// `manufacturer`, `model`, `firmware`, `identities`, `location`,
    /// `criticality`, `patching`, `vulnerabilities`).
    Changed {
        fields: Vec<&'static str>,
    },
    Unchanged,
    /// Readable, but not written: it clashes with another row or device.
    /// Several reasons are joined with `; `.
    Conflict {
        reason: String,
    },
    /// Every problem of the row.
    Invalid {
        errors: Vec<String>,
    },
}

/// How many rows have each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub conflicting: usize,
    pub invalid: usize,
}

/// Reads `input` as an inventory file and plans its import into `current`,
/// with `staged` the devices seen in traffic and not yet confirmed. Writes
/// nothing: the caller shows the plan, then writes `new_wards` and
/// `upserts` and merges `adopted`.
pub fn plan(
    input: &[u8],
    format: InventoryFormat,
    mapping: &Mapping,
    current: &Inventory,
    staged: &[Device],
) -> Result<ImportPlan, InventoryError> {
    if input.len() > MAX_BYTES {
        return Err(InventoryError::TooLarge { bytes: input.len(), limit: MAX_BYTES });
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if input.trim_ascii().is_empty() {
        return Err(InventoryError::Empty);
    }
    let table = match format {
        InventoryFormat::Csv => csv::read(input, mapping)?,
        InventoryFormat::Json => json::read(input, mapping)?,
    };
    Ok(Planner::new(format, current, staged).plan(table, mapping))
}

/// A row read, with what is known of it so far.
struct Row {
    line: u64,
    asset: Option<AssetId>,
    read: Result<row::Draft, Vec<String>>,
    conflicts: Vec<String>,
}

struct Planner<'a> {
    format: InventoryFormat,
    current: &'a Inventory,
    confirmed: HashMap<&'a AssetId, &'a Device>,
    /// Identity to the confirmed device holding it (the first, if several).
    held: HashMap<&'a Identity, &'a AssetId>,
    /// Identity to the staged device holding it.
    staged: HashMap<&'a Identity, &'a AssetId>,
}

impl<'a> Planner<'a> {
    fn new(format: InventoryFormat, current: &'a Inventory, staged: &'a [Device]) -> Self {
        let mut planner =
            Self { format, current, confirmed: HashMap::new(), held: HashMap::new(), staged: HashMap::new() };
        for d in &current.devices {
            if d.staged {
                for i in &d.identities {
                    planner.staged.entry(i).or_insert(&d.id);
                }
            } else {
                planner.confirmed.entry(&d.id).or_insert(d);
                for i in &d.identities {
                    planner.held.entry(i).or_insert(&d.id);
                }
            }
        }
        for d in staged {
            for i in &d.identities {
                planner.staged.entry(i).or_insert(&d.id);
            }
        }
        planner
    }

    fn place(&self, line: u64) -> String {
        self.format.place(line)
    }

    fn plan(&self, table: Table, mapping: &Mapping) -> ImportPlan {
        let mut rows = self.read(table.records, &table.present, mapping);
        let written = self.check(&mut rows);
        self.finish(rows, &written, table.ignored, table.blank)
    }

    /// Reads every record; a repeated asset id makes the later row invalid.
    fn read(&self, records: Vec<table::Record>, present: &[bool], mapping: &Mapping) -> Vec<Row> {
        let mut first: HashMap<AssetId, u64> = HashMap::new();
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            let (asset, read) = match record.cells {
                Ok(cells) => {
                    row::read(&cells, present, mapping, |id| self.confirmed.get(id).map(|d| (*d).clone()))
                }
                Err(e) => (None, Err(vec![e])),
            };
            let mut read = read;
            if let Some(id) = &asset {
                if let Some(line) = first.get(id) {
                    let mut errors = vec![format!("duplicate of {}", self.place(*line))];
                    errors.extend(read.err().unwrap_or_default());
                    read = Err(errors);
                } else {
                    first.insert(id.clone(), record.line);
                }
            }
            rows.push(Row { line: record.line, asset, read, conflicts: Vec::new() });
        }
        rows
    }

    /// Finds the conflicts of the readable rows; gives, per row, whether it
    /// is written.
    fn check(&self, rows: &mut [Row]) -> Vec<bool> {
        // The row of each asset id (after `read`, only the first is readable).
        let by_asset: HashMap<AssetId, usize> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.read.as_ref().ok().map(|d| (d.device.id.clone(), i)))
            .collect();
        let mut claims: HashMap<Identity, usize> = HashMap::new();
        let mut adopter: HashMap<&AssetId, usize> = HashMap::new();
        // Rows that may take an identity only if the row of the confirmed
        // device holding it now is written (and so gives it up).
        let mut relies: Vec<Vec<(usize, Identity)>> = vec![Vec::new(); rows.len()];
        for i in 0..rows.len() {
            let Ok(draft) = &rows[i].read else { continue };
            let mut conflicts = Vec::new();
            for identity in &draft.device.identities {
                if let Some(&j) = claims.get(identity) {
                    conflicts.push(format!("{identity} is also claimed by {}", self.named(&rows[j])));
                } else {
                    claims.insert(identity.clone(), i);
                }
                if let Some(&holder) = self.held.get(identity).filter(|h| ***h != draft.device.id) {
                    let releases = by_asset.get(holder).filter(|&&j| {
                        rows[j].read.as_ref().is_ok_and(|d| !d.device.identities.contains(identity))
                    });
                    match releases {
                        Some(&j) => relies[j].push((i, identity.clone())),
                        None => conflicts.push(format!("{identity} belongs to {holder} in the inventory")),
                    }
                }
                if let Some(&seen) = self.staged.get(identity) {
                    match adopter.get(seen) {
                        Some(&j) if j != i => conflicts.push(format!(
                            "{identity} is of the staged device {seen}, which {} takes over",
                            self.named(&rows[j])
                        )),
                        _ => {
                            adopter.insert(seen, i);
                        }
                    }
                }
            }
            rows[i].conflicts = conflicts;
        }
        let mut written: Vec<bool> = rows.iter().map(|r| r.read.is_ok() && r.conflicts.is_empty()).collect();
        // A row not written keeps its device's identities: rows that took
        // one of them conflict after all, and may in turn keep theirs.
        let mut queue: Vec<usize> =
            (0..rows.len()).filter(|&i| rows[i].read.is_ok() && !written[i]).collect();
        while let Some(j) = queue.pop() {
            for (i, identity) in std::mem::take(&mut relies[j]) {
                let holder = rows[j].asset.as_ref().map(|a| a.to_string()).unwrap_or_default();
                rows[i].conflicts.push(format!("{identity} belongs to {holder} in the inventory"));
                if written[i] {
                    written[i] = false;
                    queue.push(i);
                }
            }
        }
        written
    }

    /// `line 7 (INF-0007)`.
    fn named(&self, row: &Row) -> String {
        match &row.asset {
            Some(id) => format!("{} ({id})", self.place(row.line)),
            None => self.place(row.line),
        }
    }

    fn finish(&self, rows: Vec<Row>, written: &[bool], ignored: Vec<String>, blank: usize) -> ImportPlan {
        let known_wards: HashSet<&WardId> = self.current.wards.iter().map(|w| &w.id).collect();
        let mut plan = ImportPlan {
            format: self.format,
            rows: Vec::with_capacity(rows.len()),
            new_wards: Vec::new(),
            upserts: Vec::new(),
            adopted: Vec::new(),
            ignored_columns: ignored,
            untouched: 0,
            blank_rows: blank,
        };
        let mut mentioned: HashSet<AssetId> = HashSet::new();
        for (i, row) in rows.into_iter().enumerate() {
            mentioned.extend(row.asset.clone());
            let outcome = match row.read {
                Err(errors) => RowOutcome::Invalid { errors },
                Ok(_) if !written.get(i).copied().unwrap_or(false) => {
                    RowOutcome::Conflict { reason: row.conflicts.join("; ") }
                }
                Ok(draft) => {
                    let device = draft.device;
                    if let Some(ward) = draft.ward {
                        if !known_wards.contains(&ward.id) && !plan.new_wards.iter().any(|w| w.id == ward.id)
                        {
                            plan.new_wards.push(ward);
                        }
                    }
                    let mut taken: Vec<&AssetId> = Vec::new();
                    for identity in &device.identities {
                        if let Some(&seen) = self.staged.get(identity) {
                            if !taken.contains(&seen) {
                                taken.push(seen);
                                plan.adopted.push((seen.clone(), device.id.clone()));
                            }
                        }
                    }
                    match self.confirmed.get(&device.id) {
                        None => {
                            plan.upserts.push(device);
                            RowOutcome::New
                        }
                        Some(old) => {
                            let fields = changed(old, &device);
                            if fields.is_empty() {
                                RowOutcome::Unchanged
                            } else {
                                plan.upserts.push(device);
                                RowOutcome::Changed { fields }
                            }
                        }
                    }
                }
            };
            plan.rows.push(RowReport { line: row.line, asset: row.asset, outcome });
        }
        plan.untouched = self.confirmed.keys().filter(|id| !mentioned.contains(**id)).count();
        plan
    }
}

/// The fields of `new` that differ from `old`.
fn changed(old: &Device, new: &Device) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            fields.push(name);
        }
    };
    check("kind", old.kind != new.kind);
    check("manufacturer", old.manufacturer != new.manufacturer);
    check("model", old.model != new.model);
    check("firmware", old.firmware != new.firmware);
    check("identities", old.identities != new.identities);
    check("location", old.location != new.location);
    check("criticality", old.criticality != new.criticality);
    check("patching", old.patching != new.patching);
    check("vulnerabilities", old.vulnerabilities != new.vulnerabilities);
    fields
}

impl ImportPlan {
    pub fn counts(&self) -> PlanCounts {
        let mut counts = PlanCounts::default();
        for row in &self.rows {
            match row.outcome {
                RowOutcome::New => counts.new += 1,
                RowOutcome::Changed { .. } => counts.changed += 1,
                RowOutcome::Unchanged => counts.unchanged += 1,
                RowOutcome::Conflict { .. } => counts.conflicting += 1,
                RowOutcome::Invalid { .. } => counts.invalid += 1,
            }
        }
        counts
    }

    /// The dry run in words, as the CLI prints it: a summary line, each row
    /// that is not unchanged, then new wards, staged devices taken over,
    /// ignored columns and what the file leaves alone. Values are quoted as
    /// Rust strings, so a control character in a file cannot forge a line.
    pub fn report(&self) -> String {
        use std::fmt::Write;
        let c = self.counts();
        let mut out = format!(
            "{}: {} new, {} changed, {} unchanged, {} conflicting, {} invalid\n",
            plural(self.rows.len(), "row"),
            c.new,
            c.changed,
            c.unchanged,
            c.conflicting,
            c.invalid
        );
        for row in &self.rows {
            let what = match &row.outcome {
                RowOutcome::Unchanged => continue,
                RowOutcome::New => "new".to_owned(),
                RowOutcome::Changed { fields } => format!("changed: {}", fields.join(", ")),
                RowOutcome::Conflict { reason } => format!("conflict: {reason}"),
                RowOutcome::Invalid { errors } => format!("invalid: {}", errors.join("; ")),
            };
            let place = self.format.place(row.line);
            let _ = match &row.asset {
                Some(id) => writeln!(out, "{place} ({}): {what}", printable(id.as_str())),
                None => writeln!(out, "{place}: {what}"),
            };
        }
        for w in &self.new_wards {
            let _ = writeln!(
                out,
                "new ward {}: {} ({}, {})",
                w.id,
                printable(&w.name),
                w.kind.label(),
                printable(&w.site)
            );
        }
        for (seen, by) in &self.adopted {
            let _ = writeln!(out, "staged device {seen} is taken over by {}", printable(by.as_str()));
        }
        if self.blank_rows > 0 {
            let _ = writeln!(out, "{} skipped", plural(self.blank_rows, "blank row"));
        }
        if !self.ignored_columns.is_empty() {
            let _ = writeln!(out, "columns ignored: {}", quoted(&self.ignored_columns));
        }
        if self.untouched > 0 {
            let _ = writeln!(
                out,
                "{} of the inventory not in the file left as {}",
                plural(self.untouched, "device"),
                if self.untouched == 1 { "it is" } else { "they are" }
            );
        }
        out
    }
}

/// Text from a file as it is when printable, else quoted with escapes.
fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) {
        format!("{s:?}")
    } else {
        s.to_owned()
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests;
