//! The inventory written as a file `plan` reads back unchanged.

use serde::Serialize;

use super::{Field, InventoryFormat};
use crate::hospital::{Device, IdentityKind, Inventory, Ward};

/// One device as a flat record: the fields in `Field::ALL` order, named by
/// `Field::column` (a test holds the two together).
#[derive(Serialize)]
struct Flat<'a> {
    asset_id: &'a str,
    kind: &'static str,
    manufacturer: Option<&'a str>,
    model: Option<&'a str>,
    firmware: Option<&'a str>,
    site: Option<&'a str>,
    ward: Option<&'a str>,
    ward_name: Option<&'a str>,
    ward_kind: Option<&'static str>,
    room: Option<&'a str>,
    bed: Option<&'a str>,
    ip: Option<&'a str>,
    mac: Option<&'a str>,
    hostname: Option<&'a str>,
    eui64: Option<&'a str>,
    serial: Option<&'a str>,
    tier: &'static str,
    function: Option<u8>,
    physical_risk: Option<u8>,
    maintenance: Option<u8>,
    patching: &'static str,
    vulnerabilities: String,
}

impl<'a> Flat<'a> {
    fn new(device: &'a Device, wards: &'a [Ward]) -> Self {
        let ward = device.location.ward.as_ref().and_then(|id| wards.iter().find(|w| &w.id == id));
        let identity =
            |kind: IdentityKind| device.identities.iter().find(|i| i.kind == kind).map(|i| i.value.as_str());
        let factors = device.criticality.factors;
        Self {
            asset_id: device.id.as_str(),
            kind: device.kind.as_str(),
            manufacturer: device.manufacturer.as_deref(),
            model: device.model.as_deref(),
            firmware: device.firmware.as_deref(),
            site: ward.map(|w| w.site.as_str()),
            ward: device.location.ward.as_ref().map(|w| w.as_str()),
            ward_name: ward.map(|w| w.name.as_str()),
            ward_kind: ward.map(|w| w.kind.as_str()),
            room: device.location.room.as_deref(),
            bed: device.location.bed.as_deref(),
            ip: identity(IdentityKind::Ip),
            mac: identity(IdentityKind::Mac),
            hostname: identity(IdentityKind::Hostname),
            eui64: identity(IdentityKind::Eui64),
            serial: identity(IdentityKind::Serial),
            tier: device.criticality.tier.as_str(),
            function: factors.map(|f| f.function),
            physical_risk: factors.map(|f| f.physical_risk),
            maintenance: factors.map(|f| f.maintenance),
            patching: device.patching.as_str(),
            vulnerabilities: device
                .vulnerabilities
                .iter()
                .map(|v| if v.known_exploited { format!("{}!", v.cve) } else { v.cve.clone() })
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

/// The inventory's confirmed devices (staged ones are not inventory yet),
/// in its order: CSV with the default header (written also when there is
/// no device), or a JSON array of flat objects with the same keys (absent
/// values `null`, factors numbers). Wards without devices have no row.
/// Only the first identity of each kind fits a row.
pub fn export(inventory: &Inventory, format: InventoryFormat) -> Vec<u8> {
    let rows = inventory.devices.iter().filter(|d| !d.staged).map(|d| Flat::new(d, &inventory.wards));
    // Writing into memory cannot fail: an error here would be a bug in a
    // serialiser, and gives an empty file rather than a panic.
    match format {
        InventoryFormat::Csv => csv(rows).unwrap_or_default(),
        InventoryFormat::Json => {
            let mut out = serde_json::to_vec_pretty(&rows.collect::<Vec<_>>()).unwrap_or_default();
            out.push(b'\n');
            out
        }
    }
}

fn csv<'a>(rows: impl Iterator<Item = Flat<'a>>) -> Result<Vec<u8>, ::csv::Error> {
    let mut writer = ::csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    writer.write_record(Field::ALL.map(Field::column))?;
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}
