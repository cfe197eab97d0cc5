use chrono::DateTime;

use super::*;
use crate::normalize::{self, Receipt};

fn alert(text: &str) -> Alert {
    let receipt = Receipt {
        received_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
        source_addr: "192.0.2.7:5140".parse().ok(),
        listener: Some("tcp://127.0.0.1:5514".into()),
    };
    let raw = format!("<11>1 2024-05-01T10:00:00.25+02:00 gw app 12 BEACON [x@1 a=\"b\"] {text}");
    match normalize::decode(Format::Rfc5424, raw.as_bytes(), &receipt) {
        Ok(a) => a,
        Err(e) => panic!("fixture does not parse: {e}"),
    }
}

#[test]
fn alerts_come_back_exactly_as_stored_newest_first() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    let mut store = Store::open(dir.path())?;
    let mut batch = vec![Ingested::Alert(alert("first")), Ingested::Alert(alert("second"))];
    store.append(&mut batch)?;
    let stored: Vec<Alert> = batch
        .into_iter()
        .filter_map(|i| match i {
            Ingested::Alert(a) => Some(a),
            Ingested::Rejected(_) | Ingested::Device(_) => None,
        })
        .collect();
    assert!(stored.iter().all(|a| a.id.is_some()), "append gives ids");

    let read = Store::open_read_only(dir.path())?.recent_alerts(10)?;
    assert_eq!(read, vec![stored[1].clone(), stored[0].clone()]);
    assert_eq!(store.alert(stored[0].id.unwrap_or(AlertId(-1)))?, Some(stored[0].clone()));
    assert_eq!(store.recent_alerts(1)?.len(), 1);
    Ok(())
}

#[test]
fn rejected_messages_are_kept_raw_with_their_error() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    let mut store = Store::open(dir.path())?;
    let rejected = Rejected {
        received_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap_or_default(),
        source_addr: "127.0.0.1:9".parse().ok(),
        listener: Some("udp://127.0.0.1:5514".into()),
        format: Some(Format::Rfc5424),
        error: "rfc5424: expected '<' and a priority at byte 0".into(),
        raw: RawMessage(vec![0xff, b'x', 0]),
    };
    store.append(&mut [Ingested::Rejected(rejected.clone())])?;
    assert_eq!(store.recent_rejected(10)?, vec![rejected]);
    assert_eq!(store.counts()?, (0, 1));
    Ok(())
}

#[test]
fn reading_where_nothing_was_stored_says_so() {
    let dir = tempfile::tempdir().ok();
    let path = dir.as_ref().map(|d| d.path().join("nothing-here")).unwrap_or_default();
    assert!(matches!(Store::open_read_only(&path), Err(StoreError::Missing(_))));
}

#[test]
fn reopening_keeps_data_and_schema() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    Store::open(dir.path())?.append(&mut [Ingested::Alert(alert("kept"))])?;
    let store = Store::open(dir.path())?;
    assert_eq!(store.recent_alerts(10)?.first().map(|a| a.name.clone()).as_deref(), Some("kept"));
    Ok(())
}

#[test]
fn device_observations_latest_per_device() -> Result<(), StoreError> {
    use crate::model::{DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation, PatientKeyHash};
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    let mut store = Store::open(dir.path())?;
    let obs = |dev: &str, control: &str, alarm: bool| DeviceObservation {
        id: None,
        device_id: DeviceId::eui64(dev).unwrap_or_else(|| panic!("bad fixture {dev}")),
        location: Some(DeviceLocation {
            point_of_care: Some("ICU".into()),
            room: None,
            bed: Some("2".into()),
            facility: None,
        }),
        patient_associated: true,
        patient_key_hash: PatientKeyHash::from_hex(&"ab".repeat(32)),
        message_type: "ORU^R01^ORU_R01".into(),
        control_id: control.into(),
        sending_application: Some("GW".into()),
        sending_facility: None,
        observed_at: Some("2024-05-01T10:00:00".into()),
        received_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap_or_default(),
        source_addr: "127.0.0.1:9".parse().ok(),
        listener: Some("mllp://127.0.0.1:2575".into()),
        observation_count: 3,
        alarm: alarm.then(|| DeviceAlarm {
            code: "MDC_EVT_HI".into(),
            priority: Some("PH".into()),
            state: None,
            phase: None,
        }),
    };
    let mut batch = vec![
        Ingested::Device(obs("BBBBBBBBBBBBBBBB", "1", false)),
        Ingested::Device(obs("AAAAAAAAAAAAAAAA", "2", false)),
        Ingested::Device(obs("BBBBBBBBBBBBBBBB", "3", true)),
    ];
    store.append(&mut batch)?;
    let stored: Vec<DeviceObservation> = batch
        .into_iter()
        .filter_map(|i| match i {
            Ingested::Device(d) => Some(d),
            _ => None,
        })
        .collect();
    assert!(stored.iter().all(|d| d.id.is_some()));
    let latest = Store::open_read_only(dir.path())?.latest_device_observations()?;
    assert_eq!(latest, vec![stored[1].clone(), stored[2].clone()]);
    Ok(())
}
