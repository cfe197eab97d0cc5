//! One record's cells to a device: every problem of the row, each prefixed
//! by its column as mapped.

use std::fmt::Display;

use super::table::Cell;
use super::{Field, Mapping};
use crate::hospital::{
    is_cve, AssetId, Criticality, CriticalityTier, Device, DeviceKind, Factors, Identity, IdentityKind,
    Location, Patching, Vulnerability, Ward, WardId, WardKind,
};

/// Free text (manufacturer, model, firmware, site, ward name), in characters.
pub(super) const MAX_TEXT: usize = 128;
/// Asset ids, rooms and beds, in characters.
pub(super) const MAX_SHORT: usize = 64;
/// Ward ids, in bytes (ASCII).
pub(super) const MAX_WARD_ID: usize = 32;
/// The site of a new ward when the file names none.
pub const DEFAULT_SITE: &str = "Main site";

/// A row read into the device it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Draft {
    /// The complete record to write (`staged` false).
    pub device: Device,
    /// The ward the row names, as a new ward would be made from it.
    pub ward: Option<Ward>,
}

/// The row's asset id when it has a readable one, and its device or every
/// problem. `current` is the inventory's device of that asset id: fields
/// whose column the file does not have at all keep its values.
pub(super) fn read(
    cells: &[Cell],
    present: &[bool],
    mapping: &Mapping,
    current: impl FnOnce(&AssetId) -> Option<Device>,
) -> (Option<AssetId>, Result<Draft, Vec<String>>) {
    let mut row = Row { cells, mapping, errors: Vec::new() };
    let asset = row.required(Field::AssetId, asset_id).map(AssetId);
    let current = asset.as_ref().and_then(current);
    let kept = |f: Field| !present.get(f.index()).copied().unwrap_or(false);
    let kind = row.required(Field::Kind, |s| {
        DeviceKind::parse(s)
            .ok_or_else(|| not_one_of(s, "a device kind", DeviceKind::ALL.iter().map(|k| k.as_str())))
    });

    let text = |row: &mut Row, f: Field, max: usize, old: Option<&Option<String>>| match old {
        Some(old) if kept(f) => old.clone(),
        _ => row.get(f, |s| free_text(s, max)),
    };
    let old = current.as_ref();
    let manufacturer = text(&mut row, Field::Manufacturer, MAX_TEXT, old.map(|d| &d.manufacturer));
    let model = text(&mut row, Field::Model, MAX_TEXT, old.map(|d| &d.model));
    let firmware = text(&mut row, Field::Firmware, MAX_TEXT, old.map(|d| &d.firmware));
    let site = row.get(Field::Site, |s| free_text(s, MAX_TEXT));
    let ward = match old {
        Some(d) if kept(Field::Ward) => d.location.ward.clone(),
        _ => row.get(Field::Ward, ward_id),
    };
    let ward_name = row.get(Field::WardName, |s| free_text(s, MAX_TEXT));
    let ward_kind =
        row.get(Field::WardKind, |s| Ok::<_, String>(WardKind::parse(s).unwrap_or(WardKind::Other)));
    let room = text(&mut row, Field::Room, MAX_SHORT, old.map(|d| &d.location.room));
    let bed = text(&mut row, Field::Bed, MAX_SHORT, old.map(|d| &d.location.bed));

    let mut identities = Vec::new();
    for (f, kind) in IDENTITY_FIELDS {
        match old {
            Some(d) if kept(f) => identities.extend(d.identities.iter().filter(|i| i.kind == kind).cloned()),
            _ => identities.extend(row.get(f, |s| Identity::new(kind, s))),
        }
    }
    identities.sort();
    identities.dedup();

    let criticality = row.criticality();
    let patching = match old {
        Some(d) if kept(Field::Patching) => d.patching,
        _ => row.get(Field::Patching, patching).unwrap_or(Patching::Unknown),
    };
    let vulnerabilities = match old {
        Some(d) if kept(Field::Vulnerabilities) => d.vulnerabilities.clone(),
        _ => row.vulnerabilities(),
    };

    let (Some(id), Some(kind), Some(criticality), true) =
        (asset.clone(), kind, criticality, row.errors.is_empty())
    else {
        return (asset, Err(row.errors));
    };
    let ward = ward.map(|id| Ward {
        name: ward_name.unwrap_or_else(|| id.0.clone()),
        site: site.unwrap_or_else(|| DEFAULT_SITE.to_owned()),
        kind: ward_kind.unwrap_or(WardKind::Other),
        id,
    });
    let device = Device {
        id,
        kind,
        manufacturer,
        model,
        firmware,
        identities,
        location: Location { ward: ward.as_ref().map(|w| w.id.clone()), room, bed },
        criticality,
        patching,
        vulnerabilities,
        staged: false,
    };
    (asset, Ok(Draft { device, ward }))
}

/// The identity columns, with the kind each holds.
pub(super) const IDENTITY_FIELDS: [(Field, IdentityKind); 5] = [
    (Field::Ip, IdentityKind::Ip),
    (Field::Mac, IdentityKind::Mac),
    (Field::Hostname, IdentityKind::Hostname),
    (Field::Eui64, IdentityKind::Eui64),
    (Field::Serial, IdentityKind::Serial),
];

struct Row<'a> {
    cells: &'a [Cell],
    mapping: &'a Mapping,
    errors: Vec<String>,
}

/// A cell: absent, text, or a problem already listed.
enum Got<'a> {
    Absent,
    Text(&'a str),
    Broken,
}

impl<'a> Row<'a> {
    fn error(&mut self, f: Field, e: impl Display) {
        self.errors.push(format!("{}: {e}", self.mapping.column(f)));
    }

    fn cell(&mut self, f: Field) -> Got<'a> {
        match self.cells.get(f.index()) {
            None | Some(Cell::Absent) => Got::Absent,
            Some(Cell::Text(s)) => Got::Text(s),
            Some(Cell::Bad(e)) => {
                self.error(f, e);
                Got::Broken
            }
        }
    }

    /// The cell read by `parse`, or `None` when absent or wrong (listed).
    fn get<T, E: Display>(&mut self, f: Field, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        self.parsed(f, parse).ok().flatten()
    }

    /// `Ok(None)` when absent, `Err` when wrong (listed).
    fn parsed<T, E: Display>(
        &mut self,
        f: Field,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ()> {
        match self.cell(f) {
            Got::Absent => Ok(None),
            Got::Broken => Err(()),
            Got::Text(s) => match parse(s) {
                Ok(v) => Ok(Some(v)),
                Err(e) => {
                    self.error(f, e);
                    Err(())
                }
            },
        }
    }

    fn required<T, E: Display>(&mut self, f: Field, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        match self.parsed(f, parse) {
            Ok(None) => {
                self.error(f, "missing");
                None
            }
            other => other.ok().flatten(),
        }
    }

    /// The tier as given, or from the three factors; factors given with a
    /// tier are recorded beside it.
    fn criticality(&mut self) -> Option<Criticality> {
        let tier = self.parsed(Field::Tier, |s| {
            CriticalityTier::parse(s).ok_or_else(|| {
                not_one_of(s, "a criticality tier", CriticalityTier::ALL.iter().map(|k| k.as_str()))
            })
        });
        let names = format!(
            "{}, {} and {}",
            self.mapping.column(Field::Function),
            self.mapping.column(Field::PhysicalRisk),
            self.mapping.column(Field::Maintenance)
        );
        let any_factor = [Field::Function, Field::PhysicalRisk, Field::Maintenance]
            .iter()
            .any(|f| !matches!(self.cells.get(f.index()), None | Some(Cell::Absent)));
        // Each factor checked on its own against `Factors::new`'s ranges.
        let factor_of = |row: &mut Self, f: Field, check: fn(u8) -> Result<Factors, String>| {
            let v = row.parsed(f, |s| factor(s, check));
            if any_factor && matches!(v, Ok(None)) {
                row.error(f, format_args!("missing ({names} go together)"));
            }
            v
        };
        let function = factor_of(self, Field::Function, |v| Factors::new(v, 1, 1));
        let risk = factor_of(self, Field::PhysicalRisk, |v| Factors::new(2, v, 1));
        let maintenance = factor_of(self, Field::Maintenance, |v| Factors::new(2, 1, v));
        let factors = match (function, risk, maintenance) {
            (Ok(Some(f)), Ok(Some(r)), Ok(Some(m))) => Factors::new(f, r, m).ok(),
            _ => None,
        };
        match (tier, factors) {
            (Ok(Some(tier)), factors) if !any_factor || factors.is_some() => {
                Some(Criticality { tier, factors })
            }
            (Ok(None), Some(factors)) => Some(Criticality::from_factors(factors)),
            (Ok(None), None) if !any_factor => {
                self.errors
                    .push(format!("no criticality: give {}, or {names}", self.mapping.column(Field::Tier)));
                None
            }
            _ => None,
        }
    }

    /// `;`- or `,`-separated CVE ids, `!` after one that is known exploited.
    fn vulnerabilities(&mut self) -> Vec<Vulnerability> {
        let Got::Text(s) = self.cell(Field::Vulnerabilities) else {
            return Vec::new();
        };
        let mut found: Vec<Vulnerability> = Vec::new();
        for item in s.split([';', ',']).map(str::trim).filter(|i| !i.is_empty()) {
            let (id, known_exploited) = match item.strip_suffix('!') {
                Some(id) => (id.trim_end(), true),
                None => (item, false),
            };
            let cve = id.to_ascii_uppercase();
            if !is_cve(&cve) {
                self.error(Field::Vulnerabilities, format_args!("{item:?} is not a CVE id (CVE-2020-25165)"));
                continue;
            }
            match found.iter_mut().find(|v| v.cve == cve) {
                Some(v) => v.known_exploited |= known_exploited,
                None => found.push(Vulnerability { cve, known_exploited }),
            }
        }
        found.sort();
        found
    }
}

fn asset_id(s: &str) -> Result<String, String> {
    if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("seen-")) {
        return Err(format!("{s:?} is reserved for devices staged from traffic (seen-...)"));
    }
    free_text(s, MAX_SHORT)
}

fn free_text(s: &str, max: usize) -> Result<String, String> {
    if s.chars().any(char::is_control) {
        Err(format!("{s:?} contains a control character"))
    } else if s.chars().count() > max {
        Err(format!("longer than {max} characters"))
    } else {
        Ok(s.to_owned())
    }
}

fn ward_id(s: &str) -> Result<WardId, String> {
    let id = s.to_ascii_lowercase();
    let ok = id.len() <= MAX_WARD_ID
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(WardId(id))
    } else {
        Err(format!("{s:?} is not a ward id (1-{MAX_WARD_ID} letters, digits, - or _)"))
    }
}

fn patching(s: &str) -> Result<Patching, String> {
    let key = s.to_ascii_lowercase().replace(['-', ' '], "_");
    match key.as_str() {
        "vendor" => Ok(Patching::Manufacturer),
        "none" | "no" => Ok(Patching::NotPatchable),
        k => Patching::parse(k)
            .ok_or_else(|| not_one_of(s, "a patching value", Patching::ALL.iter().map(|p| p.as_str()))),
    }
}

/// A factor: a whole number that `check` accepts.
fn factor(s: &str, check: impl FnOnce(u8) -> Result<Factors, String>) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(v) => check(v).map(|_| v),
        Err(_) if is_integer(s) => Err(format!("{s:?} is out of range")),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn not_one_of<'s>(s: &str, what: &str, known: impl Iterator<Item = &'s str>) -> String {
    format!("{s:?} is not {what} ({})", known.collect::<Vec<_>>().join(", "))
}
