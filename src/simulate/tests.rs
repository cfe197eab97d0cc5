//! The simulated hospital is well formed, and every message the generator
//! makes is read by the console's own codecs as what it claims to be.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::messages::eve_json_of;
use super::plan::Plan;
use super::*;
use crate::codec::{eve, hl7, json};
use crate::hospital::{
    is_cve, AssetId, CriticalityTier, Device, DeviceKind, Identity, IdentityKind, Inventory, WardKind,
};
use crate::model::{Alert, Format};
use crate::normalize::{self, AutoDecoded, Layers, Receipt};

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_714_557_600, 250_000_000).unwrap_or_default() // 2024-05-01T10:00:00.25Z
}

fn receipt() -> Receipt {
    Receipt {
        received_at: start(),
        source_addr: "127.0.0.1:40000".parse().ok(),
        listener: Some("tcp://127.0.0.1:5514".into()),
    }
}

fn identity(d: &Device, kind: IdentityKind) -> Option<&str> {
    d.identities.iter().find(|i| i.kind == kind).map(|i| i.value.as_str())
}

fn ip_of(d: &Device) -> Option<IpAddr> {
    identity(d, IdentityKind::Ip).and_then(|s| s.parse().ok())
}

fn options(scenario: Scenario) -> SimOptions {
    SimOptions { scenario, ..SimOptions::default() }
}

fn first(inv: &Inventory, scenario: Scenario, n: usize) -> Vec<Timed> {
    traffic(inv, &options(scenario), start()).take(n).collect()
}

#[test]
fn the_hospital_has_its_wards_and_devices() {
    let inv = hospital(DEFAULT_SEED);
    assert!(inv.wards.len() >= 7, "{} wards", inv.wards.len());
    assert!((400..=500).contains(&inv.devices.len()), "{} devices", inv.devices.len());
    let kinds: BTreeSet<WardKind> = inv.wards.iter().map(|w| w.kind).collect();
    for k in [
        WardKind::Icu,
        WardKind::Emergency,
        WardKind::Oncology,
        WardKind::General,
        WardKind::Theatre,
        WardKind::Maternity,
        WardKind::Imaging,
        WardKind::Laboratory,
        WardKind::HomeCare,
    ] {
        assert!(kinds.contains(&k), "no {k:?} ward");
    }
    assert!(inv.wards.iter().all(|w| w.site == SITE));
    let ward_ids: BTreeSet<_> = inv.wards.iter().map(|w| &w.id).collect();
    assert_eq!(ward_ids.len(), inv.wards.len(), "ward ids repeat");
    for d in &inv.devices {
        let ward = d.location.ward.as_ref().unwrap_or_else(|| panic!("{} has no ward", d.id));
        assert!(ward_ids.contains(ward), "{} is in unknown ward {ward}", d.id);
        assert!(!d.staged && d.manufacturer.is_some() && d.model.is_some() && d.firmware.is_some(), "{d:?}");
        if ward.as_str() == "home-care" {
            assert_eq!((&d.location.room, &d.location.bed), (&None, &None), "{} at home has a room", d.id);
        }
        if d.location.bed.is_some() {
            assert!(d.location.room.is_some(), "{} has a bed without a room", d.id);
        }
    }
    let every_kind: BTreeSet<DeviceKind> = inv.devices.iter().map(|d| d.kind).collect();
    for k in DeviceKind::ALL.iter().filter(|k| **k != DeviceKind::Other) {
        assert!(every_kind.contains(k), "no {k:?}");
    }
    let assets: BTreeSet<_> = inv.devices.iter().map(|d| &d.id).collect();
    assert_eq!(assets.len(), inv.devices.len(), "asset ids repeat");
}

#[test]
fn identities_are_unique_canonical_and_derived_as_documented() {
    let inv = hospital(DEFAULT_SEED);
    let mut seen: BTreeMap<&Identity, &str> = BTreeMap::new();
    for d in &inv.devices {
        let mut sorted = d.identities.clone();
        sorted.sort();
        assert_eq!(sorted, d.identities, "{} identities not sorted", d.id);
        for i in &d.identities {
            assert_eq!(Identity::new(i.kind, &i.value).as_ref(), Ok(i), "{} {i} is not canonical", d.id);
            if let Some(other) = seen.insert(i, d.id.as_str()) {
                panic!("{i} of {} is also {other}'s", d.id);
            }
        }
        let ip = ip_of(d).unwrap_or_else(|| panic!("{} has no IP", d.id));
        assert!(matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10), "{} at {ip}", d.id);
        assert!(identity(d, IdentityKind::Serial).is_some(), "{} has no serial", d.id);
        if let Some(mac) = identity(d, IdentityKind::Mac) {
            let first = u8::from_str_radix(&mac[..2], 16).unwrap_or(0);
            assert_eq!(first & 0x03, 0x02, "{mac} is not a locally administered unicast MAC");
            if let Some(eui) = identity(d, IdentityKind::Eui64) {
                let m = mac.replace(':', "").to_ascii_uppercase();
                assert_eq!(eui, format!("{}FFFE{}", &m[..6], &m[6..]), "{} EUI-64 not from its MAC", d.id);
            }
        }
        let bedside_hl7 = matches!(
            d.kind,
            DeviceKind::PatientMonitor
                | DeviceKind::InfusionPump
                | DeviceKind::SyringePump
                | DeviceKind::Ventilator
        ) && d.location.bed.is_some();
        if bedside_hl7 {
            assert!(identity(d, IdentityKind::Eui64).is_some(), "{} reports HL7 without an EUI-64", d.id);
        }
        if let Some(h) = identity(d, IdentityKind::Hostname) {
            assert!(h.split('-').count() >= 2 && !h.contains(' '), "{h}");
        }
    }
    assert!(inv.devices.iter().any(|d| identity(d, IdentityKind::Hostname) == Some("icu-pump-012")));
}

#[test]
fn criticality_patching_and_vulnerabilities_are_a_realistic_mix() {
    let inv = hospital(DEFAULT_SEED);
    let tiers: BTreeSet<CriticalityTier> = inv.devices.iter().map(|d| d.criticality.tier).collect();
    assert_eq!(tiers.len(), CriticalityTier::ALL.len(), "tiers: {tiers:?}");
    for d in &inv.devices {
        let f = d.criticality.factors.unwrap_or_else(|| panic!("{} has no factors", d.id));
        assert_eq!(d.criticality.tier, f.tier(), "{}", d.id);
        let mut sorted = d.vulnerabilities.clone();
        sorted.sort();
        assert_eq!(sorted, d.vulnerabilities);
        for v in &d.vulnerabilities {
            assert!(is_cve(&v.cve), "{}", v.cve);
            assert_eq!(
                v.known_exploited,
                ["CVE-2019-0708", "CVE-2017-0144"].contains(&v.cve.as_str()),
                "{}",
                v.cve
            );
        }
    }
    let tier_of = |k: DeviceKind| inv.devices.iter().find(|d| d.kind == k).map(|d| d.criticality.tier);
    assert_eq!(tier_of(DeviceKind::Ventilator), Some(CriticalityTier::LifeSustaining));
    assert_eq!(tier_of(DeviceKind::InfusionPump), Some(CriticalityTier::LifeSupporting));
    assert_eq!(tier_of(DeviceKind::Workstation), Some(CriticalityTier::NonClinical));
    let patching: BTreeSet<&str> = inv.devices.iter().map(|d| d.patching.as_str()).collect();
    assert_eq!(patching, BTreeSet::from(["hospital", "manufacturer", "not_patchable"]));
    assert!(inv.devices.iter().filter(|d| d.has_known_exploited()).count() >= 4);
    let with =
        |cve: &str| inv.devices.iter().filter(|d| d.vulnerabilities.iter().any(|v| v.cve == cve)).count();
    for cve in [
        "CVE-2020-25165",
        "CVE-2022-26390",
        "CVE-2021-33885",
        "CVE-2020-6962",
        "CVE-2020-16216",
        "CVE-2019-10964",
    ] {
        assert!(with(cve) > 0, "no device with {cve}");
    }
}

#[test]
fn the_seed_decides_everything_and_only_the_details() {
    let (a, b, c) = (hospital(1), hospital(1), hospital(2));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let shape = |inv: &Inventory| -> Vec<(String, DeviceKind, Option<String>)> {
        inv.devices.iter().map(|d| (d.id.to_string(), d.kind, d.location.bed.clone())).collect()
    };
    assert_eq!(shape(&a), shape(&c), "the seed changed the hospital's structure");
    let m1: Vec<_> = first(&a, Scenario::All, 300).into_iter().map(|t| t.message.payload).collect();
    let m2: Vec<_> = first(&b, Scenario::All, 300).into_iter().map(|t| t.message.payload).collect();
    assert_eq!(m1, m2);
    let other = SimOptions { seed: 99, ..options(Scenario::All) };
    let m3: Vec<_> = traffic(&a, &other, start()).take(300).map(|t| t.message.payload).collect();
    assert_ne!(m1, m3);
}

#[test]
fn about_sixty_percent_of_the_reporting_devices_are_in_use_with_a_patient() {
    let inv = hospital(DEFAULT_SEED);
    let plan = Plan::new(&inv);
    let capable = inv
        .devices
        .iter()
        .filter(|d| {
            matches!(
                d.kind,
                DeviceKind::PatientMonitor
                    | DeviceKind::InfusionPump
                    | DeviceKind::SyringePump
                    | DeviceKind::Ventilator
            ) && identity(d, IdentityKind::Eui64).is_some()
                && d.location.room.is_some()
        })
        .count();
    let in_use = plan.reporters.iter().filter(|r| r.patient.is_some()).count();
    let share = in_use as f64 / capable as f64;
    assert!((0.5..0.7).contains(&share), "{in_use} of {capable} in use");
    let silent = capable - plan.reporters.len();
    assert!(silent > 0 && silent < capable / 3, "{silent} silent of {capable}");
    // Devices at one bed share its patient; record numbers are made up.
    for r in plan.reporters.iter().filter_map(|r| r.patient.as_ref()) {
        assert!(r.starts_with("SIM") && r.len() == 10, "{r}");
    }
}

/// Decodes one message with the console's own code and checks it says what
/// the generator meant; returns the alert it makes, if any.
fn check(inv: &Inventory, t: &Timed) -> Option<Alert> {
    let m = &t.message;
    let device = m.device.as_ref().and_then(|id| inv.devices.iter().find(|d| &d.id == id));
    let text = String::from_utf8_lossy(&m.payload).into_owned();
    match m.kind {
        MessageKind::Cef => {
            assert_eq!(m.channel, Channel::Syslog);
            let (layers, alert) = match normalize::decode_auto(&m.payload, &receipt()) {
                Ok(AutoDecoded::Alert(layers, alert)) => (layers, alert),
                other => panic!("not an alert ({other:?}): {text}"),
            };
            assert!(matches!(layers, Layers::Cef(Some(_), _)), "not CEF in RFC 5424: {text}");
            assert_eq!(alert.format, Format::Cef);
            assert_eq!(
                (alert.vendor.as_deref(), alert.product.as_deref()),
                (Some("Wardwatch"), Some("Simulated IoMT platform"))
            );
            assert_eq!(
                alert.event_time.map(|t| t.timestamp_millis()),
                Some(t.at.timestamp_millis()),
                "{text}"
            );
            if let Some(d) = device {
                assert_eq!(alert.src_ip, ip_of(d), "{text}");
                assert_eq!(alert.details.src_mac.as_deref(), identity(d, IdentityKind::Mac), "{text}");
            }
            Some(alert)
        }
        MessageKind::EveInSyslog => {
            assert_eq!(m.channel, Channel::Syslog);
            assert!(text.starts_with("<174>") && text.contains(" ids-01 suricata["), "{text}");
            // The console's syslog listener reads it as EVE: an alert, or context.
            let decoded =
                normalize::decode_auto(&m.payload, &receipt()).unwrap_or_else(|e| panic!("{e}: {text}"));
            let json = eve_json_of(&m.payload).unwrap_or_else(|| panic!("no EVE JSON in {text}"));
            let record = eve::parse(json).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(record.timestamp.timestamp_micros(), t.at.timestamp_micros());
            assert_eq!(record.host.as_deref(), Some("ids-01"));
            if let Some(d) = device {
                let ip = ip_of(d);
                assert!(record.src_ip == ip || record.dest_ip == ip, "{text}");
            }
            match record.event_type.as_str() {
                "alert" => {
                    let alert =
                        normalize::from_eve(&record, json, &receipt()).unwrap_or_else(|| panic!("{text}"));
                    assert_eq!(alert.format, Format::Eve);
                    match decoded {
                        AutoDecoded::Alert(Layers::Eve(..), a) => assert_eq!(a.name, alert.name, "{text}"),
                        other => panic!("the listener does not read it as an EVE alert ({other:?}): {text}"),
                    }
                    Some(alert)
                }
                "flow" | "dns" | "tls" => {
                    assert!(matches!(decoded, AutoDecoded::Context { .. }), "not context: {text}");
                    assert!(record.details.is_some(), "{text}");
                    assert!(!normalize::context_of(&record).is_empty(), "no device sighted: {text}");
                    None
                }
                other => panic!("unexpected event type {other}: {text}"),
            }
        }
        MessageKind::Hl7Oru => {
            assert_eq!(m.channel, Channel::Mllp);
            let msg = hl7::parse(&m.payload).unwrap_or_else(|e| panic!("{e}: {text}"));
            let obs = normalize::hl7::observations(&msg, None, &receipt())
                .unwrap_or_else(|e| panic!("{e:?}: {text}"));
            assert_eq!(obs.len(), 1, "{text}");
            let d = device.unwrap_or_else(|| panic!("HL7 about no device: {text}"));
            assert_eq!(Some(obs[0].device_id.as_str()), identity(d, IdentityKind::Eui64), "{text}");
            assert_eq!(obs[0].patient_associated, m.with_patient, "{text}");
            let loc = obs[0].location.as_ref().unwrap_or_else(|| panic!("no PV1-3: {text}"));
            assert_eq!(loc.point_of_care.as_deref(), d.location.ward.as_ref().map(|w| w.as_str()));
            assert_eq!((&loc.room, &loc.bed), (&d.location.room, &d.location.bed), "{text}");
            assert!(obs[0].observation_count >= 1);
            assert_eq!(text.contains("SIMULATED^PATIENT"), m.with_patient, "{text}");
            None
        }
        MessageKind::JsonAlert => {
            assert_eq!(m.channel, Channel::Http);
            let alerts = json::parse(&m.payload).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(alerts.len(), 1);
            let a = &alerts[0];
            let d = device.unwrap_or_else(|| panic!("JSON about no device: {text}"));
            let dev = a.device.as_ref().unwrap_or_else(|| panic!("no device: {text}"));
            assert_eq!(dev.eui64.as_deref(), identity(d, IdentityKind::Eui64));
            assert_eq!(dev.serial.as_deref(), identity(d, IdentityKind::Serial));
            assert_eq!(dev.ip, ip_of(d));
            assert!(a.clinical_use.is_some(), "{text}");
            assert_eq!(a.observed_at.map(|t| t.timestamp_millis()), Some(t.at.timestamp_millis()));
            Some(normalize::json::from_json(a, &m.payload, &receipt()))
        }
    }
}

#[test]
fn every_message_of_every_scenario_decodes_as_what_it_claims() {
    let inv = hospital(DEFAULT_SEED);
    for scenario in Scenario::ALL {
        let messages = first(&inv, scenario, 4000);
        assert_eq!(messages.len(), 4000);
        let mut last = Duration::ZERO;
        let mut kinds: BTreeSet<(Channel, bool)> = BTreeSet::new();
        for t in &messages {
            assert!(t.offset >= last, "{scenario}: out of order");
            last = t.offset;
            assert_eq!(t.at, start() + chrono::Duration::from_std(t.offset).unwrap_or_default());
            check(&inv, t);
            kinds.insert((t.message.channel, t.message.with_patient));
        }
        for c in Channel::ALL {
            assert!(kinds.iter().any(|(k, _)| *k == c), "{scenario}: no {c:?} message");
        }
        assert!(kinds.contains(&(Channel::Mllp, true)) && kinds.contains(&(Channel::Mllp, false)));
        let stories: BTreeSet<Scenario> = messages.iter().filter_map(|t| t.message.story).collect();
        let expected: BTreeSet<Scenario> = scenario.stories().iter().copied().collect();
        assert_eq!(stories, expected, "{scenario}");
    }
}

#[test]
fn every_expectation_names_a_real_device_and_the_traffic_fulfils_it() {
    let inv = hospital(DEFAULT_SEED);
    assert!(expectations(&inv, Scenario::Background).is_empty());
    let all = expectations(&inv, Scenario::All);
    let stories: BTreeSet<Scenario> = all.iter().map(|e| e.scenario).collect();
    assert_eq!(stories, BTreeSet::from(Scenario::STORIES));
    for scenario in Scenario::ALL {
        let expected = expectations(&inv, scenario);
        // Five seconds of `all` must already show every story.
        let five = SimOptions { duration: Some(Duration::from_secs(5)), ..options(scenario) };
        let messages: Vec<Timed> = traffic(&inv, &five, start()).collect();
        let alerts: Vec<(Option<&AssetId>, Alert)> =
            messages.iter().filter_map(|t| check(&inv, t).map(|a| (t.message.device.as_ref(), a))).collect();
        for e in &expected {
            let device = inv
                .devices
                .iter()
                .find(|d| d.id == e.device)
                .unwrap_or_else(|| panic!("{e:?}: no such device"));
            match &e.expected {
                Expected::Alert { name, min_severity } => {
                    let ip = ip_of(device);
                    let found = alerts.iter().any(|(about, a)| {
                        &a.name == name
                            && a.severity.value() >= *min_severity
                            && (*about == Some(&device.id))
                            && (a.src_ip == ip || a.dst_ip == ip || a.format == Format::Json)
                    });
                    assert!(found, "{scenario}: nothing fulfils {e:?}");
                }
                Expected::InUse => {
                    let found = messages.iter().any(|t| {
                        t.message.device.as_ref() == Some(&device.id)
                            && (t.message.with_patient
                                || (t.message.kind == MessageKind::JsonAlert
                                    && String::from_utf8_lossy(&t.message.payload)
                                        .contains("\"clinical_use\":\"in_use\"")))
                    });
                    assert!(found, "{scenario}: nothing fulfils {e:?}");
                }
            }
        }
    }
    // The pump attacked is in intensive care and in use; the C2 workstation runs Windows 7.
    let device = |s: Scenario| {
        let id = expectations(&inv, s).first().map(|e| e.device.clone());
        inv.devices.iter().find(|d| Some(&d.id) == id.as_ref())
    };
    let pump = device(Scenario::PumpExploit);
    assert_eq!(pump.and_then(|d| d.location.ward.as_ref()).map(|w| w.as_str()), Some("icu"));
    assert!(pump.is_some_and(|d| d.kind == DeviceKind::InfusionPump));
    assert!(device(Scenario::C2Beacon).is_some_and(|d| d.has_known_exploited()));
}

#[test]
fn rates_durations_and_the_storm_are_as_documented() {
    let inv = hospital(DEFAULT_SEED);
    let count = |scenario, rate, secs| {
        let o =
            SimOptions { scenario, rate, duration: Some(Duration::from_secs(secs)), ..SimOptions::default() };
        let all: Vec<Timed> = traffic(&inv, &o, start()).collect();
        assert!(all.iter().all(|t| t.offset <= Duration::from_secs(secs)));
        all
    };
    let background = count(Scenario::Background, 20.0, 60).len();
    assert!((1080..=1320).contains(&background), "{background} in 60 s at 20/s");
    let storm = count(Scenario::ScannerStorm, 0.0, 30);
    assert_eq!(storm.len(), 3000, "one storm in its first 30 s");
    assert!(storm.iter().all(|t| t.offset <= Duration::from_secs(16)));
    let targets: BTreeSet<_> = storm.iter().map(|t| t.message.payload.len()).collect();
    assert!(targets.len() > 10);
    assert!(count(Scenario::Background, 0.0, 60).is_empty(), "rate 0 without a story sends nothing");
    let beacons = count(Scenario::C2Beacon, 0.0, 60);
    assert!((10..=16).contains(&beacons.len()), "{} C2 messages in a minute", beacons.len());
}

#[test]
fn an_empty_inventory_generates_nothing_and_does_not_spin() {
    let inv = Inventory::default();
    assert_eq!(traffic(&inv, &options(Scenario::All), start()).take(10).count(), 0);
    assert!(expectations(&inv, Scenario::All).is_empty());
}

#[test]
fn scenario_names_round_trip() {
    for s in Scenario::ALL {
        assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        assert!(!s.description().is_empty());
    }
    assert_eq!("Pump_Exploit".parse::<Scenario>(), Ok(Scenario::PumpExploit));
    assert!("nope".parse::<Scenario>().is_err_and(|e| e.contains("c2-beacon")));
}
