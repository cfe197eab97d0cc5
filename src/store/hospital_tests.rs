//! The hospital tables through the writer's path (`append`) and people's
//! changes, on real SQLCipher files.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::audit::{verify_chain, VerifyFrom};
use crate::hospital::{
    AssetId, Criticality, CriticalityTier, Device, DeviceKind, Health, Identity, IdentityKind, Location,
    Patching, UseSource, UseState, Ward, WardId, WardKind,
};
use crate::model::{DeviceContext, DeviceId, DeviceObservation};
use crate::normalize::{self, Receipt};

pub(super) fn key() -> crate::keys::SecretKey {
    crate::keys::SecretKey::from_bytes([7; 32])
}

pub(super) fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).single().unwrap_or_default() + Duration::seconds(s)
}

pub(super) fn id(s: &str) -> AssetId {
    AssetId(s.into())
}

fn ip(v: &str) -> Identity {
    Identity::new(IdentityKind::Ip, v).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn pump(asset: &str, ip_: &str, eui: &str) -> Device {
    Device {
        id: id(asset),
        kind: DeviceKind::InfusionPump,
        manufacturer: Some("BD".into()),
        model: Some("Alaris 8015".into()),
        firmware: Some("12.1.2".into()),
        identities: vec![ip(ip_), Identity::new(IdentityKind::Eui64, eui).unwrap_or_else(|e| panic!("{e}"))],
        location: Location {
            ward: Some(WardId("icu".into())),
            room: Some("3".into()),
            bed: Some("B".into()),
        },
        criticality: Criticality { tier: CriticalityTier::LifeSupporting, factors: None },
        patching: Patching::Manufacturer,
        vulnerabilities: vec![],
        staged: false,
    }
}

pub(super) fn icu() -> Ward {
    Ward {
        id: WardId("icu".into()),
        site: "General".into(),
        name: "Intensive care".into(),
        kind: WardKind::Icu,
    }
}

/// A CEF alert from `src` to `dst`, received at `at`.
pub(super) fn cef(src: &str, dst: &str, name: &str, severity: u8, at: DateTime<Utc>) -> Ingested {
    let receipt =
        Receipt { received_at: at, source_addr: None, listener: Some("tcp://127.0.0.1:5514".into()) };
    let raw = format!("CEF:0|Sim|IDS|1|100|{name}|{severity}|src={src} dst={dst}");
    match normalize::decode_auto(raw.as_bytes(), &receipt).map(normalize::AutoDecoded::into_alert) {
        Ok(Some(a)) => Ingested::Alert(a),
        other => panic!("fixture does not decode to an alert: {other:?}"),
    }
}

fn hl7(eui: &str, patient: bool, at: DateTime<Utc>) -> Ingested {
    Ingested::Device(DeviceObservation {
        id: None,
        device_id: DeviceId::eui64(eui).unwrap_or_else(|| panic!("{eui}")),
        location: None,
        patient_associated: patient,
        patient_key_hash: None,
        message_type: "ORU^R01^ORU_R01".into(),
        control_id: "1".into(),
        sending_application: None,
        sending_facility: None,
        observed_at: None,
        received_at: at,
        source_addr: None,
        listener: None,
        observation_count: 1,
        alarm: None,
    })
}

pub(super) fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(dir.path(), &key()).unwrap_or_else(|e| panic!("{e}"));
    (dir, store)
}

pub(super) fn import(
    store: &mut Store,
    devices: &[Device],
    at: DateTime<Utc>,
) -> Result<ImportApplied, StoreError> {
    store.apply_import(&[icu()], devices, &[], "tester", &serde_json::json!({"file": "test.csv"}), at)
}

pub(super) fn state<'a>(view: &'a HospitalView, asset: &str) -> &'a crate::hospital::DeviceState {
    view.devices
        .iter()
        .find(|d| d.device.id.as_str() == asset)
        .unwrap_or_else(|| panic!("no {asset} in {view:#?}"))
}

#[test]
fn alerts_attach_to_inventory_devices_and_fold_into_incidents() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[pump("ICU-P1", "10.1.0.5", "0011223344556677")], t(0))?;
    let mut batch: Vec<Ingested> =
        (0..5).map(|i| cef("203.0.113.9", "10.1.0.5", "Exploit attempt", 8, t(10 + i))).collect();
    batch.push(cef("203.0.113.9", "10.1.0.5", "Port scan", 3, t(20)));
    batch.push(hl7("0011223344556677", true, t(21)));
    store.append(&mut batch)?;

    let view = store.hospital_view(t(30), &ViewRules::default())?;
    let p = state(&view, "ICU-P1");
    assert_eq!(p.incidents.len(), 2, "{:#?}", p.incidents);
    assert_eq!((p.incidents[0].condition.as_str(), p.incidents[0].count), ("Exploit attempt", 5));
    assert_eq!((p.incidents[0].first_seen, p.incidents[0].last_seen), (t(10), t(14)));
    assert_eq!(p.clinical_use.state, UseState::InUse);
    assert!(matches!(p.clinical_use.source, UseSource::Hl7 { patient_associated: true, .. }));
    assert_eq!(p.last_seen, Some(t(21)));
    // High severity on a life-supporting device: one step past at risk.
    assert_eq!(p.assessment.health, Health::CompromisedSuspected);
    assert_eq!(store.device_alerts(&id("ICU-P1"), 100)?.len(), 6);
    // The public attacker is never staged; nothing else is either.
    assert_eq!(store.staged_devices()?, vec![]);
    Ok(())
}

#[test]
fn unknown_local_devices_are_staged_with_an_audit_record_and_adopted_on_import() -> Result<(), StoreError> {
    let (dir, mut store) = open();
    store.append(&mut [
        cef("10.9.9.9", "198.51.100.1", "Beacon", 9, t(0)),
        hl7("AABBCCDDEEFF0011", false, t(1)),
        Ingested::Context(DeviceContext {
            device: "10.9.9.10".parse().unwrap_or_else(|e| panic!("{e}")),
            peer: None,
            event_type: "flow".into(),
            seen_at: t(2),
        }),
    ])?;
    let staged = store.staged_devices()?;
    let ids: Vec<&str> = staged.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["seen-eui64-AABBCCDDEEFF0011", "seen-ip-10.9.9.10", "seen-ip-10.9.9.9"]);
    assert!(staged.iter().all(|d| d.staged && d.location.ward.is_none()), "never put in a ward by itself");
    let kinds: Vec<String> = audit_kinds(&store)?;
    assert_eq!(kinds.iter().filter(|k| *k == kind::DEVICE_STAGED).count(), 3, "{kinds:?}");

    // The inventory names 10.9.9.9: the imported device adopts the staged one.
    let mut ws = pump("IMG-WS1", "10.9.9.9", "0102030405060708");
    ws.kind = DeviceKind::Workstation;
    store.apply_import(&[icu()], &[ws], &[(id("seen-ip-10.9.9.9"), id("IMG-WS1"))], "tester", &"x", t(5))?;
    let view = store.hospital_view(t(6), &ViewRules::default())?;
    let w = state(&view, "IMG-WS1");
    assert_eq!(w.incidents.len(), 1);
    assert_eq!(w.last_seen, Some(t(0)));
    assert!(store.device(&id("seen-ip-10.9.9.9"))?.is_none());
    assert_eq!(store.device_alerts(&id("IMG-WS1"), 10)?.len(), 1);
    assert_eq!(store.resolve(&ip("10.9.9.9"), t(1))?, Some(id("IMG-WS1")), "history moves with it");
    assert_chain_intact(&store)?;
    drop(dir);
    Ok(())
}

pub(super) fn audit_kinds(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        store.connection().prepare("SELECT kind FROM audit_log ORDER BY seq").map_err(|e| store.wrap(e))?;
    let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| store.wrap(e))?;
    rows.collect::<rusqlite::Result<_>>().map_err(|e| store.wrap(e))
}

pub(super) fn assert_chain_intact(store: &Store) -> Result<(), StoreError> {
    let report =
        verify_chain(store.connection(), VerifyFrom::Genesis, None, None).map_err(|e| store.wrap(e))?;
    assert!(report.ok(), "{:?}", report.damage);
    assert_eq!(report.records, audit_kinds(store)?.len() as u64);
    Ok(())
}

#[test]
fn an_address_that_moves_keeps_old_alerts_with_the_old_device() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(
        &mut store,
        &[pump("P1", "10.1.0.5", "0011223344556677"), pump("P2", "10.1.0.6", "0011223344556688")],
        t(0),
    )?;
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "Old", 5, t(10))])?;
    // A gateway says P2 (by EUI-64) now has 10.1.0.5: the lease moved.
    let receipt =
        Receipt { received_at: t(20), source_addr: None, listener: Some("http://127.0.0.1:8080".into()) };
    let body = br#"{"event_class":"checkin","name":"Check-in late","severity":2,"device":{"eui64":"0011223344556688","ip":"10.1.0.5"},"clinical_use":"in_use"}"#;
    let a = normalize::decode(crate::model::Format::Json, body, &receipt).unwrap_or_else(|e| panic!("{e}"));
    store.append(&mut [Ingested::Alert(a), cef("203.0.113.9", "10.1.0.5", "New", 5, t(30))])?;

    assert_eq!(store.resolve(&ip("10.1.0.5"), t(15))?, Some(id("P1")));
    assert_eq!(store.resolve(&ip("10.1.0.5"), t(25))?, Some(id("P2")));
    let names = |d| -> Result<Vec<String>, StoreError> {
        Ok(store.device_alerts(&id(d), 10)?.into_iter().map(|a| a.name).collect())
    };
    assert_eq!(names("P1")?, ["Old"]);
    assert_eq!(names("P2")?, ["New", "Check-in late"]);
    let history = store.identity_history(&id("P1"))?;
    let old = history.iter().find(|h| h.identity == ip("10.1.0.5")).unwrap_or_else(|| panic!("{history:?}"));
    assert_eq!((old.from, old.to), (t(0), Some(t(20))));
    assert!(audit_kinds(&store)?.contains(&kind::IDENTITY_MOVED.to_owned()));
    let view = store.hospital_view(t(40), &ViewRules::default())?;
    assert_eq!(state(&view, "P2").clinical_use.state, UseState::InUse, "the gateway's clinical_use");
    Ok(())
}

#[test]
fn people_assign_staged_devices_and_set_clinical_use_with_a_record() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    store.append(&mut [hl7("AABBCCDDEEFF0011", true, t(1))])?;
    let staged = id("seen-eui64-AABBCCDDEEFF0011");
    let to = Assignment { ward: WardId("icu".into()), room: Some("4".into()), bed: Some("A".into()) };
    let nowhere = Assignment { ward: WardId("nowhere".into()), room: None, bed: None };
    assert!(matches!(
        store.assign_device(&staged, &nowhere, "it.officer", "x", t(2)),
        Err(StoreError::UnknownWard(_))
    ));
    assert!(matches!(
        store.assign_device(&id("nope"), &to, "it.officer", "x", t(2)),
        Err(StoreError::UnknownDevice(_))
    ));
    let d = store.assign_device(&staged, &to, "it.officer", "pump found at bed 4A", t(2))?;
    assert!(!d.staged);
    assert_eq!(store.staged_devices()?, vec![]);

    store.set_clinical_use(&staged, UseState::Maintenance, "biomed.b", "battery swap", t(3))?;
    let view = store.hospital_view(t(4), &ViewRules::default())?;
    let s = state(&view, staged.as_str());
    assert_eq!(s.clinical_use.state, UseState::Maintenance);
    assert_eq!(s.clinical_use.describe(t(4)), "In maintenance (set by biomed.b: battery swap, 1 s ago)");
    // Newer machine evidence wins over what a person set.
    store.append(&mut [hl7("AABBCCDDEEFF0011", true, t(5))])?;
    let view = store.hospital_view(t(6), &ViewRules::default())?;
    assert_eq!(state(&view, staged.as_str()).clinical_use.state, UseState::InUse);
    let kinds = audit_kinds(&store)?;
    for k in [kind::INVENTORY_IMPORTED, kind::DEVICE_ASSIGNED, kind::CLINICAL_USE_SET] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    Ok(())
}

#[test]
fn a_second_connection_appends_without_forking_the_chain() -> Result<(), StoreError> {
    let (dir, mut writer) = open();
    import(&mut writer, &[pump("P1", "10.1.0.5", "0011223344556677")], t(0))?;
    let mut person = Store::open(dir.path(), &key())?;
    writer.append(&mut [cef("203.0.113.9", "10.1.0.5", "A", 5, t(1))])?;
    person.set_clinical_use(&id("P1"), UseState::Idle, "nurse.a", "patient discharged", t(2))?;
    writer.append(&mut [cef("203.0.113.9", "10.1.0.5", "B", 5, t(3))])?;
    assert_chain_intact(&writer)?;
    Ok(())
}

#[test]
fn an_incident_quiet_for_a_day_is_reopened_when_its_condition_returns() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[pump("P1", "10.1.0.5", "0011223344556677")], t(0))?;
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "Scan", 3, t(1))])?;
    let day = store.incident_rules().recurrence().num_seconds();
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "Scan", 3, t(2 + day))])?;
    let view = store.hospital_view(t(3 + day), &ViewRules::default())?;
    let p = state(&view, "P1");
    assert_eq!(p.incidents.len(), 1, "one incident, reopened, not a second one");
    assert_eq!(
        (p.incidents[0].count, p.incidents[0].first_seen, p.incidents[0].last_seen),
        (2, t(1), t(2 + day))
    );
    let record = store.incident_record(p.incidents[0].id)?.unwrap_or_else(|| panic!("no incident"));
    assert_eq!(record.reopened, 1);
    assert!(audit_kinds(&store)?.contains(&kind::INCIDENT_RECURRED.to_owned()));
    // And a day after that, nothing is open.
    let later = store.hospital_view(t(4 + 2 * day), &ViewRules::default())?;
    assert!(state(&later, "P1").incidents.is_empty());
    Ok(())
}
