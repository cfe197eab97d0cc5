//! What an inventory file holds (its format, and the fields of a device
//! record), and which column of the file holds each field.

use std::path::Path;

use serde::Serialize;

use super::InventoryError;

/// How an inventory file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryFormat {
    /// RFC 4180 CSV, comma-separated, with a header row.
    Csv,
    /// A JSON array of flat objects.
    Json,
}

impl InventoryFormat {
    pub const ALL: [InventoryFormat; 2] = [Self::Csv, Self::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    /// `csv` or `json`, any case.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(s))
    }

    /// From the file's extension (`.csv`, `.json`, any case).
    pub fn from_path(path: &Path) -> Option<Self> {
        path.extension().and_then(|e| e.to_str()).and_then(Self::parse)
    }

    /// What a record is called in this format's reports: a CSV record is
    /// placed by its line, a JSON one by its index in the array.
    pub(super) fn place(self, n: u64) -> String {
        match self {
            Self::Csv => format!("line {n}"),
            Self::Json => format!("record {n}"),
        }
    }
}

/// A field of a device record in an inventory file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    AssetId,
    Kind,
    Manufacturer,
    Model,
    Firmware,
    Site,
    Ward,
    WardName,
    WardKind,
    Room,
    Bed,
    Ip,
    Mac,
    Hostname,
    Eui64,
    Serial,
    Tier,
    Function,
    PhysicalRisk,
    Maintenance,
    Patching,
    Vulnerabilities,
}

impl Field {
    /// Every field, in the order of an exported file's columns.
    pub const ALL: [Field; 22] = [
        Self::AssetId,
        Self::Kind,
        Self::Manufacturer,
        Self::Model,
        Self::Firmware,
        Self::Site,
        Self::Ward,
        Self::WardName,
        Self::WardKind,
        Self::Room,
        Self::Bed,
        Self::Ip,
        Self::Mac,
        Self::Hostname,
        Self::Eui64,
        Self::Serial,
        Self::Tier,
        Self::Function,
        Self::PhysicalRisk,
        Self::Maintenance,
        Self::Patching,
        Self::Vulnerabilities,
    ];

    /// Without these a file is refused.
    pub const REQUIRED: [Field; 2] = [Self::AssetId, Self::Kind];

    /// The field's name, which is also its default column name and the
    /// column (or key) `export` writes.
    pub fn column(self) -> &'static str {
        match self {
            Self::AssetId => "asset_id",
            Self::Kind => "kind",
            Self::Manufacturer => "manufacturer",
            Self::Model => "model",
            Self::Firmware => "firmware",
            Self::Site => "site",
            Self::Ward => "ward",
            Self::WardName => "ward_name",
            Self::WardKind => "ward_kind",
            Self::Room => "room",
            Self::Bed => "bed",
            Self::Ip => "ip",
            Self::Mac => "mac",
            Self::Hostname => "hostname",
            Self::Eui64 => "eui64",
            Self::Serial => "serial",
            Self::Tier => "tier",
            Self::Function => "function",
            Self::PhysicalRisk => "physical_risk",
            Self::Maintenance => "maintenance",
            Self::Patching => "patching",
            Self::Vulnerabilities => "vulnerabilities",
        }
    }

    /// From its name (`Field::column`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.column() == s)
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// Which column of the file (CSV header, JSON key) holds each field.
/// Columns are matched exactly, after trimming the header's spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    columns: [String; Field::ALL.len()],
}

impl Default for Mapping {
    /// Every field in the column of its own name (`Field::column`): what
    /// `export` writes.
    fn default() -> Self {
        Self { columns: Field::ALL.map(|f| f.column().to_owned()) }
    }
}

impl Mapping {
    /// The default mapping with some fields in other columns, each given as
    /// `FIELD=COLUMN` (`asset_id=Asset Tag`, `ip=IP Address`); a later
    /// override of a field wins. Refuses an unknown field, naming the known
    /// ones, and an entry that is not `FIELD=COLUMN`.
    pub fn with_overrides<S: AsRef<str>>(overrides: &[S]) -> Result<Self, InventoryError> {
        let mut mapping = Self::default();
        for entry in overrides {
            let entry = entry.as_ref();
            let Some((field, column)) = entry.split_once('=') else {
                return Err(InventoryError::BadOverride { entry: entry.to_owned() });
            };
            let (field, column) = (field.trim(), column.trim());
            let Some(field) = Field::parse(field) else {
                return Err(InventoryError::UnknownField {
                    field: field.to_owned(),
                    known: Field::ALL.map(Field::column).to_vec(),
                });
            };
            if column.is_empty() {
                return Err(InventoryError::BadOverride { entry: entry.to_owned() });
            }
            mapping.set(field, column);
        }
        Ok(mapping)
    }

    /// Reads `field` from `column`.
    pub fn set(&mut self, field: Field, column: &str) {
        column.trim().clone_into(&mut self.columns[field.index()]);
    }

    /// The column that holds `field`.
    pub fn column(&self, field: Field) -> &str {
        &self.columns[field.index()]
    }
}
