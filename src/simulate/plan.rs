//! Who does what in the simulated hospital, derived from the inventory
//! alone (not from the seed), so that [`super::expectations`] and the
//! generator agree for any seed: which devices report HL7 and which of
//! them are in use with a patient, the ward gateways and network services,
//! and the actors of each scenario.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::rng::stable_hash;
use super::Scenario;
use crate::hospital::{Device, DeviceKind, IdentityKind, Inventory, WardId, WardKind};

/// A device with its identities at hand.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub device: &'a Device,
    pub ward: Option<WardKind>,
    pub ip: Option<IpAddr>,
    pub mac: Option<&'a str>,
    pub hostname: Option<&'a str>,
    pub eui64: Option<&'a str>,
    pub serial: Option<&'a str>,
}

impl<'a> Node<'a> {
    fn new(device: &'a Device, inventory: &Inventory) -> Self {
        let id = |k: IdentityKind| device.identities.iter().find(|i| i.kind == k).map(|i| i.value.as_str());
        let ward = device
            .location
            .ward
            .as_ref()
            .and_then(|w| inventory.wards.iter().find(|x| &x.id == w))
            .map(|w| w.kind);
        Self {
            device,
            ward,
            ip: id(IdentityKind::Ip).and_then(|s| s.parse().ok()),
            mac: id(IdentityKind::Mac),
            hostname: id(IdentityKind::Hostname),
            eui64: id(IdentityKind::Eui64),
            serial: id(IdentityKind::Serial),
        }
    }

    pub fn ward_id(&self) -> Option<&'a WardId> {
        self.device.location.ward.as_ref()
    }

    fn model_has(&self, needle: &str) -> bool {
        self.device.model.as_deref().is_some_and(|m| m.contains(needle))
    }
}

/// One device that sends HL7 observations through its ward's gateway.
#[derive(Debug)]
pub(crate) struct Reporter {
    pub node: usize,
    pub gateway: usize,
    /// The made-up record number of the patient it is attached to, when in use.
    pub patient: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub nodes: Vec<Node<'a>>,
    pub reporters: Vec<Reporter>,
    /// Devices on the hospital's own network (not home care), with an address.
    pub network: Vec<usize>,
    /// Home-care devices the home-care gateway reports on, and whether each
    /// is in use with its patient.
    pub home: Vec<(usize, bool)>,
    pub home_gateway: Option<usize>,
    pub dns: Option<usize>,
    pub pacs: Option<usize>,
    pub scanner: Option<usize>,
    pub c2_workstation: Option<usize>,
    pub pump_target: Option<usize>,
    pub exploit_source: Option<usize>,
    pub glucose: Option<usize>,
    pub weak_monitor: Option<usize>,
    pub weak_monitor_client: Option<usize>,
}

/// The kinds that report over HL7 (IHE PCD-01) when at a bed.
fn reports_hl7(node: &Node<'_>) -> bool {
    matches!(
        node.device.kind,
        DeviceKind::PatientMonitor
            | DeviceKind::InfusionPump
            | DeviceKind::SyringePump
            | DeviceKind::Ventilator
    ) && node.eui64.is_some()
        && node.device.location.room.is_some()
        && node.ward != Some(WardKind::HomeCare)
}

fn percent(key: &str) -> u64 {
    stable_hash(key) % 100
}

impl<'a> Plan<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let nodes: Vec<Node<'a>> = inventory.devices.iter().map(|d| Node::new(d, inventory)).collect();
        let find = |pred: &dyn Fn(&Node<'a>) -> bool| nodes.iter().position(pred);
        let by_host = |h: &str| nodes.iter().position(|n| n.hostname == Some(h));

        let mut gateways: BTreeMap<&WardId, usize> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if n.device.kind == DeviceKind::Gateway && n.ward != Some(WardKind::HomeCare) {
                if let Some(w) = n.ward_id() {
                    gateways.entry(w).or_insert(i);
                }
            }
        }
        // Beds (or theatres) are occupied at about 70%; at an occupied bed,
        // about 86% of its devices are connected: about 60% in use overall.
        // A bed's devices share its patient.
        let mut beds: BTreeMap<String, usize> = BTreeMap::new();
        let mut reporters = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            if !reports_hl7(n) {
                continue;
            }
            let Some(gateway) = n.ward_id().and_then(|w| gateways.get(w)).copied() else { continue };
            let loc = &n.device.location;
            let bed_key = format!(
                "{}|{}|{}",
                loc.ward.as_ref().map_or("", |w| w.as_str()),
                loc.room.as_deref().unwrap_or(""),
                loc.bed.as_deref().unwrap_or("")
            );
            let ordinal = beds.len();
            let ordinal = *beds.entry(bed_key.clone()).or_insert(ordinal);
            let occupied = percent(&format!("bed|{bed_key}")) < 70;
            let connected = percent(&format!("use|{}", n.device.id)) < 86;
            let patient = (occupied && connected).then(|| mrn(ordinal));
            // Devices without a patient: half report anyway (standby), half are silent.
            if patient.is_some() || percent(&format!("standby|{}", n.device.id)) < 50 {
                reporters.push(Reporter { node: i, gateway, patient });
            }
        }
        let network = (0..nodes.len())
            .filter(|&i| nodes[i].ip.is_some() && nodes[i].ward != Some(WardKind::HomeCare))
            .collect();
        let home_kinds =
            |n: &Node<'_>| matches!(n.device.kind, DeviceKind::GlucoseMonitor | DeviceKind::InsulinPump);
        let home = (0..nodes.len())
            .filter(|&i| nodes[i].ward == Some(WardKind::HomeCare) && home_kinds(&nodes[i]))
            .map(|i| (i, percent(&format!("home|{}", nodes[i].device.id)) < 85))
            .collect();

        let in_use = |i: usize| reporters.iter().any(|r| r.node == i && r.patient.is_some());
        let pump_in_icu =
            |n: &Node<'_>| n.device.kind == DeviceKind::InfusionPump && n.ward == Some(WardKind::Icu);
        let pump_target = nodes
            .iter()
            .enumerate()
            .position(|(i, n)| {
                pump_in_icu(n)
                    && in_use(i)
                    && n.device.vulnerabilities.iter().any(|v| v.cve == "CVE-2020-25165")
            })
            .or_else(|| nodes.iter().enumerate().position(|(i, n)| pump_in_icu(n) && in_use(i)));
        let bedside_monitor = |n: &Node<'_>| n.device.kind == DeviceKind::PatientMonitor && n.eui64.is_some();
        let weak_monitor = nodes
            .iter()
            .enumerate()
            .position(|(i, n)| {
                bedside_monitor(n) && n.ward == Some(WardKind::Emergency) && n.model_has("B650") && in_use(i)
            })
            .or_else(|| find(&|n| bedside_monitor(n) && n.ward == Some(WardKind::Emergency)));
        let workstation_in = |k: WardKind| {
            move |n: &Node<'_>| {
                n.device.kind == DeviceKind::Workstation && n.ward == Some(k) && n.ip.is_some()
            }
        };
        Self {
            home_gateway: find(&|n| {
                n.device.kind == DeviceKind::Gateway && n.ward == Some(WardKind::HomeCare)
            }),
            dns: by_host("dns-01"),
            pacs: by_host("pacs-01"),
            scanner: by_host("vulnscan-01").or_else(|| find(&|n| n.model_has("vulnerability scanner"))),
            c2_workstation: find(&|n| workstation_in(WardKind::Imaging)(n) && n.device.has_known_exploited())
                .or_else(|| find(&workstation_in(WardKind::Imaging))),
            pump_target,
            exploit_source: find(&workstation_in(WardKind::Emergency)),
            glucose: find(&|n| {
                n.device.kind == DeviceKind::GlucoseMonitor
                    && n.ward == Some(WardKind::HomeCare)
                    && n.ip.is_some()
            }),
            weak_monitor,
            weak_monitor_client: find(&workstation_in(WardKind::Emergency)),
            nodes,
            reporters,
            network,
            home,
        }
    }

    pub fn reporter_of(&self, node: usize) -> Option<&Reporter> {
        self.reporters.iter().find(|r| r.node == node)
    }

    /// Whether `story` has its actors in this inventory.
    pub fn can_play(&self, story: Scenario) -> bool {
        match story {
            Scenario::C2Beacon => self.c2_workstation.is_some(),
            Scenario::PumpExploit => {
                self.pump_target.is_some_and(|p| self.reporter_of(p).is_some())
                    && self.exploit_source.is_some()
            }
            Scenario::ScannerStorm => self.scanner.is_some() && self.network.len() > 1,
            Scenario::HomeGlucoseCloud => self.glucose.is_some(),
            Scenario::DefaultCredentials => self.weak_monitor.is_some(),
            Scenario::All | Scenario::Background => true,
        }
    }
}

/// A made-up medical record number, unique per bed space: `SIM` and seven
/// digits (7919 is prime to 10^7, so distinct ordinals give distinct numbers).
fn mrn(ordinal: usize) -> String {
    format!("SIM{:07}", (ordinal as u64 * 7_919 + 1_000_003) % 10_000_000)
}
