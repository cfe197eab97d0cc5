//! The simulated hospital: St Elsewhere General, ten wards, about 450
//! devices.
//!
//! Structure (wards, rooms, beds, how many of which model) is fixed; the
//! seed picks among equivalent firmware builds and makes the serial numbers
//! and the second octet of every MAC and EUI-64, so two seeds give two
//! hospitals of the same shape.
//!
//! Identities:
//! - IP `10.<ward number>.<class>.<n>`: class 1 monitors (and home glucose
//!   monitors), 2 infusion pumps (and home insulin pumps), 3 syringe pumps,
//!   4 ventilators and anaesthesia machines, 10 computers, 20 gateways,
//!   central stations and nurse call, 30 imaging, 40 laboratory; `n` from 11.
//!   Home-care devices have an address of the remote-monitoring VPN (ward 9).
//! - MAC `02:SS:WW:CC:NN:NN`, locally administered (no vendor OUI claimed).
//! - EUI-64 `02SSWWFFFECCNNNN` (the MAC with `FF:FE` in the middle) for the
//!   devices that report HL7 or are reported by the home-care gateway, and
//!   for the gateways themselves (their MSH-3).
//! - Host name `<ward>-<kind>-<nnn>` (`icu-pump-012`); home devices have
//!   none (they are radio devices behind the patient's home gateway).
//! - Serial: the model's prefix and seven digits.

use std::collections::BTreeMap;

use super::catalogue::{self as cat, Model};
use super::rng::{stable_hash, Rng};
use crate::hospital::{
    AssetId, Criticality, Device, DeviceKind, Factors, Identity, IdentityKind, Inventory, Location,
    Vulnerability, Ward, WardId, WardKind,
};

/// The site every ward belongs to.
pub const SITE: &str = "St Elsewhere General (simulated)";

/// Where the devices of one group go in their ward.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// Round-robin over the ward's bed spaces, starting at this one.
    Beds(usize),
    /// In this room, at no bed.
    Room(&'static str),
    /// Round-robin over these rooms.
    Rooms(&'static [&'static str]),
    /// In the ward, in no room (home care).
    Ward,
    /// In this room, with this host name (network services).
    Host(&'static str, &'static str),
    /// In the ward, in no room, with this host name (the home-care gateway).
    WardHost(&'static str),
}

struct WardSpec {
    id: &'static str,
    name: &'static str,
    kind: WardKind,
    number: u8,
    /// Bed spaces: (room, bed); theatres have rooms but no beds.
    beds: fn() -> Vec<(String, Option<String>)>,
    devices: &'static [(&'static Model, usize, Place)],
}

fn rooms_with_beds(prefix: &str, rooms: usize, beds: &[&str]) -> Vec<(String, Option<String>)> {
    (1..=rooms)
        .flat_map(|r| beds.iter().map(move |b| (format!("{prefix}{r:02}"), Some((*b).to_owned()))))
        .collect()
}

fn no_beds() -> Vec<(String, Option<String>)> {
    Vec::new()
}

static WARDS: &[WardSpec] = &[
    WardSpec {
        id: "icu",
        name: "Intensive care unit",
        kind: WardKind::Icu,
        number: 1,
        beds: || rooms_with_beds("R", 12, &["A", "B"]),
        devices: &[
            (&cat::MX800, 24, Place::Beds(0)),
            (&cat::ALARIS_OLD, 48, Place::Beds(0)),
            (&cat::PERFUSOR_L82, 24, Place::Beds(0)),
            (&cat::EVITA_V500, 8, Place::Beds(0)),
            (&cat::HAMILTON_C6, 6, Place::Beds(8)),
            (&cat::PIC_IX, 2, Place::Room("NS")),
            (&cat::WORKSTATION, 4, Place::Room("NS")),
            (&cat::NURSE_CALL, 1, Place::Room("NS")),
            (&cat::GATEWAY, 1, Place::Room("COMMS")),
        ],
    },
    WardSpec {
        id: "ed",
        name: "Emergency department",
        kind: WardKind::Emergency,
        number: 2,
        beds: || rooms_with_beds("BAY", 16, &["1"]),
        devices: &[
            (&cat::B650, 16, Place::Beds(0)),
            (&cat::SIGMA_V8, 20, Place::Beds(0)),
            (&cat::HAMILTON_C6, 2, Place::Beds(0)),
            (&cat::CIC_PRO, 1, Place::Room("NS")),
            (&cat::WORKSTATION, 4, Place::Room("NS")),
            (&cat::NURSE_CALL, 1, Place::Room("NS")),
            (&cat::GATEWAY, 1, Place::Room("COMMS")),
        ],
    },
    WardSpec {
        id: "onc",
        name: "Oncology",
        kind: WardKind::Oncology,
        number: 3,
        beds: || rooms_with_beds("R", 10, &["A", "B"]),
        devices: &[
            (&cat::INFUSOMAT_L81, 34, Place::Beds(0)),
            (&cat::PERFUSOR_L81, 10, Place::Beds(0)),
            (&cat::MX450, 6, Place::Beds(0)),
            (&cat::WORKSTATION, 3, Place::Room("NS")),
            (&cat::NURSE_CALL, 1, Place::Room("NS")),
            (&cat::GATEWAY, 1, Place::Room("COMMS")),
        ],
    },
    WardSpec {
        id: "med",
        name: "General medicine",
        kind: WardKind::General,
        number: 4,
        beds: || rooms_with_beds("R", 8, &["A", "B", "C", "D"]),
        devices: &[
            (&cat::SPECTRUM_IQ, 32, Place::Beds(0)),
            (&cat::MX450, 12, Place::Beds(0)),
            (&cat::WORKSTATION, 4, Place::Room("NS")),
            (&cat::NURSE_CALL, 1, Place::Room("NS")),
            (&cat::GATEWAY, 1, Place::Room("COMMS")),
        ],
    },
    WardSpec {
        id: "theatres",
        name: "Operating theatres",
        kind: WardKind::Theatre,
        number: 5,
        beds: || (1..=6).map(|t| (format!("TH{t}"), None)).collect(),
        devices: &[
            (&cat::AISYS_CS2, 6, Place::Beds(0)),
            (&cat::MX800, 6, Place::Beds(0)),
            (&cat::ALARIS_NEW, 12, Place::Beds(0)),
            (&cat::PERFUSOR_L81, 12, Place::Beds(0)),
            (&cat::WORKSTATION, 6, Place::Beds(0)),
            (&cat::GATEWAY, 1, Place::Room("COMMS")),
        ],
    },
    WardSpec {
        id: "mat",
        name: "Maternity",
        kind: WardKind::Maternity,
        number: 6,
        beds: || rooms_with_beds("R", 8, &["A", "B"]),
        devices: &[
            (&cat::B650, 14, Place::Beds(0)),
            (&cat::INFUSOMAT_L82, 12, Place::Beds(0)),
            (&cat::CSCS, 1, Place::Room("NS")),
            (&cat::WORKSTATION, 3, Place::Room("NS")),
            (&cat::NURSE_CALL, 1, Place::Room("NS")),
            (&cat::GATEWAY, 1, Place::Room("COMMS")),
        ],
    },
    WardSpec {
        id: "img",
        name: "Imaging",
        kind: WardKind::Imaging,
        number: 7,
        beds: no_beds,
        devices: &[
            // The acquisition workplaces first: `img-acq-001` drives CT1.
            (&cat::ACQ_WIN7, 4, Place::Rooms(&["CT1", "CT2", "XR1", "XR2"])),
            (&cat::SOMATOM_AS, 1, Place::Room("CT1")),
            (&cat::SOMATOM_GO, 1, Place::Room("CT2")),
            (&cat::SIGNA_ARTIST, 1, Place::Room("MR1")),
            (&cat::SIGNA_PREMIER, 1, Place::Room("MR2")),
            (&cat::EPIQ_7, 3, Place::Rooms(&["US1", "US2", "US3"])),
            (&cat::AFFINITI_70, 3, Place::Rooms(&["US1", "US2", "US3"])),
            (&cat::YSIO_MAX, 2, Place::Rooms(&["XR1", "XR2"])),
            (&cat::READING_WS, 4, Place::Room("READ")),
        ],
    },
    WardSpec {
        id: "lab",
        name: "Laboratory",
        kind: WardKind::Laboratory,
        number: 8,
        beds: no_beds,
        devices: &[
            (&cat::ARCHITECT_CI, 2, Place::Room("CORE")),
            (&cat::ARCHITECT_I2000, 1, Place::Room("CORE")),
            (&cat::COBAS_8000, 2, Place::Room("CORE")),
            (&cat::COBAS_PRO, 1, Place::Room("CORE")),
            (&cat::WORKSTATION, 4, Place::Room("CORE")),
        ],
    },
    WardSpec {
        id: "home-care",
        name: "Home care",
        kind: WardKind::HomeCare,
        number: 9,
        beds: no_beds,
        devices: &[
            (&cat::DEXCOM_G6, 25, Place::Ward),
            (&cat::DEXCOM_G7, 20, Place::Ward),
            (&cat::MINIMED_780G, 20, Place::Ward),
            (&cat::PARADIGM_722, 5, Place::Ward),
            (&cat::HOME_GATEWAY, 1, Place::WardHost("homecare-gw-01")),
        ],
    },
    WardSpec {
        id: "it",
        name: "IT and network services",
        kind: WardKind::Other,
        number: 10,
        beds: no_beds,
        devices: &[
            (&cat::SCANNER, 1, Place::Host("DC1", "vulnscan-01")),
            (&cat::DNS_SERVER, 1, Place::Host("DC1", "dns-01")),
            (&cat::PACS_SERVER, 1, Place::Host("DC1", "pacs-01")),
            (&cat::IDS_SENSOR, 1, Place::Host("DC1", "ids-01")),
            (&cat::IOMT_PLATFORM, 1, Place::Host("DC1", "iomt-01")),
        ],
    },
];

/// The address class (third octet) of a kind of device.
fn class(model: &Model) -> u8 {
    match (model.kind, model.slug) {
        (_, "central") => 20,
        (DeviceKind::PatientMonitor | DeviceKind::GlucoseMonitor, _) => 1,
        (DeviceKind::InfusionPump | DeviceKind::InsulinPump, _) => 2,
        (DeviceKind::SyringePump, _) => 3,
        (DeviceKind::Ventilator | DeviceKind::AnaesthesiaMachine, _) => 4,
        (DeviceKind::Workstation, _) => 10,
        (DeviceKind::Gateway | DeviceKind::NurseCall, _) => 20,
        (DeviceKind::ImagingModality, _) => 30,
        (DeviceKind::LabAnalyser, _) => 40,
        (DeviceKind::Other, _) => 50,
    }
}

/// Fennigkoh–Smith factors (function, physical risk, maintenance) for a
/// device of this model in this kind of ward.
fn factors(model: &Model, ward: WardKind) -> (u8, u8, u8) {
    let acute = matches!(ward, WardKind::Icu | WardKind::Theatre | WardKind::Emergency);
    match (model.kind, model.slug) {
        (DeviceKind::Ventilator | DeviceKind::AnaesthesiaMachine, _) => (10, 5, 5),
        (DeviceKind::InfusionPump | DeviceKind::SyringePump, _) => (9, 5, 4),
        (DeviceKind::InsulinPump, _) => (9, 5, 3),
        (DeviceKind::PatientMonitor, "central") => (7, 4, 3),
        (DeviceKind::PatientMonitor, _) if acute => (7, 5, 3),
        (DeviceKind::PatientMonitor, _) => (6, 3, 3),
        (DeviceKind::GlucoseMonitor, _) => (6, 3, 1),
        (DeviceKind::ImagingModality, _) => (6, 3, 5),
        (DeviceKind::LabAnalyser, _) => (5, 3, 4),
        (DeviceKind::NurseCall, _) => (2, 4, 2),
        (DeviceKind::Workstation, "acq") => (3, 3, 2),
        (DeviceKind::Gateway, _) => (3, 3, 2),
        (DeviceKind::Workstation | DeviceKind::Other, _) => (3, 2, 1),
    }
}

/// The simulated hospital for `seed`: the same seed gives the same
/// inventory, byte for byte.
pub fn hospital(seed: u64) -> Inventory {
    let mut rng = Rng::derive(seed, "hospital");
    let octet = (Rng::derive(seed, "mac").next_u64() & 0xff) as u8;
    let mut wards = Vec::new();
    let mut devices = Vec::new();
    let mut serials: BTreeMap<&str, u64> = BTreeMap::new();
    for spec in WARDS {
        let ward_id = WardId(spec.id.to_owned());
        wards.push(Ward {
            id: ward_id.clone(),
            site: SITE.to_owned(),
            name: spec.name.to_owned(),
            kind: spec.kind,
        });
        let beds = (spec.beds)();
        let mut hosts: BTreeMap<u8, u16> = BTreeMap::new();
        let mut names: BTreeMap<&str, u32> = BTreeMap::new();
        for &(model, count, place) in spec.devices {
            for i in 0..count {
                let class = class(model);
                let host = hosts.entry(class).or_insert(10);
                *host += 1;
                let host = *host;
                let number = names.entry(model.slug).or_insert(0);
                *number += 1;
                let (room, bed, hostname) = match place {
                    Place::Beds(from) => match beds.get((from + i) % beds.len().max(1)) {
                        Some((r, b)) => (Some(r.clone()), b.clone(), None),
                        None => (None, None, None),
                    },
                    Place::Room(r) => (Some(r.to_owned()), None, None),
                    Place::Rooms(rs) => (rs.get(i % rs.len().max(1)).map(|r| (*r).to_owned()), None, None),
                    Place::Ward => (None, None, None),
                    Place::Host(r, h) => (Some(r.to_owned()), None, Some(h.to_owned())),
                    Place::WardHost(h) => (None, None, Some(h.to_owned())),
                };
                let home = spec.kind == WardKind::HomeCare && matches!(place, Place::Ward);
                let hostname = match hostname {
                    Some(h) => Some(h),
                    None if home => None,
                    None => Some(format!("{}-{}-{:03}", spec.id, model.slug, number)),
                };
                let mac = [0x02, octet, spec.number, class, (host >> 8) as u8, (host & 0xff) as u8];
                let eui =
                    [0x02, octet, spec.number, 0xff, 0xfe, class, (host >> 8) as u8, (host & 0xff) as u8];
                let serial_base = serials.entry(model.serial_prefix).or_insert_with(|| {
                    1_000_000 + stable_hash(model.serial_prefix) % 4_000_000 + seed % 1_000_000
                });
                *serial_base += rng.between(1, 40);
                let mut identities = Vec::new();
                let mut add = |kind: IdentityKind, value: String| {
                    if let Ok(id) = Identity::new(kind, &value) {
                        identities.push(id);
                    }
                };
                add(IdentityKind::Ip, format!("10.{}.{}.{}", spec.number, class, host));
                if !home {
                    add(IdentityKind::Mac, hex_join(&mac, ":"));
                }
                if model.reports_hl7 || home || model.kind == DeviceKind::Gateway {
                    add(IdentityKind::Eui64, hex_join(&eui, ""));
                }
                if let Some(h) = &hostname {
                    add(IdentityKind::Hostname, h.clone());
                }
                add(IdentityKind::Serial, format!("{}{:07}", model.serial_prefix, *serial_base % 10_000_000));
                identities.sort();
                let (f, r, m) = factors(model, spec.kind);
                let criticality = match Factors::new(f, r, m) {
                    Ok(f) => Criticality::from_factors(f),
                    Err(_) => {
                        Criticality { tier: crate::hospital::CriticalityTier::LifeSupporting, factors: None }
                    }
                };
                let mut vulnerabilities: Vec<Vulnerability> = model
                    .cves
                    .iter()
                    .map(|(cve, kev)| Vulnerability { cve: (*cve).to_owned(), known_exploited: *kev })
                    .collect();
                vulnerabilities.sort();
                devices.push(Device {
                    id: AssetId(format!("STE-{:05}", devices.len() + 1)),
                    kind: model.kind,
                    manufacturer: Some(model.manufacturer.to_owned()),
                    model: Some(model.model.to_owned()),
                    firmware: rng.pick(model.firmware).map(|f| (*f).to_owned()),
                    identities,
                    location: Location { ward: Some(ward_id.clone()), room, bed },
                    criticality,
                    patching: model.patching,
                    vulnerabilities,
                    staged: false,
                });
            }
        }
    }
    Inventory { wards, devices }
}

fn hex_join(bytes: &[u8], sep: &str) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(sep)
}
