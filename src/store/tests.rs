use chrono::DateTime;

use super::*;
use crate::normalize::{self, Receipt};

fn key() -> crate::keys::SecretKey {
    crate::keys::SecretKey::from_bytes([5; 32])
}

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
    let mut store = Store::open(dir.path(), &key())?;
    let mut lenient = alert("second");
    lenient.parse_mode = ParseMode::Lenient(vec!["2 spaces after the version".into()]);
    lenient.details.action = Some("blocked".into());
    lenient.details.fields.insert("deviceType".into(), "Patient monitor".into());
    let mut batch = vec![Ingested::Alert(alert("first")), Ingested::Alert(lenient)];
    store.append(&mut batch)?;
    let stored: Vec<Alert> = batch
        .into_iter()
        .filter_map(|i| match i {
            Ingested::Alert(a) => Some(a),
            Ingested::Rejected(_) | Ingested::Context(_) | Ingested::Device(_) | Ingested::Flush(_) => None,
        })
        .collect();
    assert!(stored.iter().all(|a| a.id.is_some()), "append gives ids");
    assert_eq!(stored[0].parse_mode, ParseMode::Strict);

    let read = Store::open_read_only(dir.path(), &key())?.recent_alerts(10)?;
    assert_eq!(read, vec![stored[1].clone(), stored[0].clone()]);
    assert_eq!(store.alert(stored[0].id.unwrap_or(AlertId(-1)))?, Some(stored[0].clone()));
    assert_eq!(store.recent_alerts(1)?.len(), 1);
    Ok(())
}

#[test]
fn rejected_messages_are_kept_raw_with_their_error() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    let mut store = Store::open(dir.path(), &key())?;
    let rejected = Rejected {
        received_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap_or_default(),
        source_addr: "127.0.0.1:9".parse().ok(),
        listener: Some("udp://127.0.0.1:5514".into()),
        format: Some(Format::Rfc5424),
        error: "rfc5424: expected '<' and a priority at byte 0".into(),
        raw: RawMessage(vec![0xff, b'x', 0]),
    };
    store.append(&mut [Ingested::Rejected(rejected.clone())])?;
    let stored = store.recent_rejected(10)?;
    assert_eq!(stored.iter().map(|s| &s.rejected).collect::<Vec<_>>(), vec![&rejected]);
    assert!(stored[0].id > 0);
    assert_eq!(store.counts()?, (0, 1));
    Ok(())
}

#[test]
fn reading_where_nothing_was_stored_says_so() {
    let dir = tempfile::tempdir().ok();
    let path = dir.as_ref().map(|d| d.path().join("nothing-here")).unwrap_or_default();
    assert!(matches!(Store::open_read_only(&path, &key()), Err(StoreError::Missing(_))));
}

#[test]
fn reopening_keeps_data_and_schema() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    Store::open(dir.path(), &key())?.append(&mut [Ingested::Alert(alert("kept"))])?;
    let store = Store::open(dir.path(), &key())?;
    assert_eq!(store.recent_alerts(10)?.first().map(|a| a.name.clone()).as_deref(), Some("kept"));
    Ok(())
}

fn sighting(device: &str, peer: Option<&str>, event_type: &str, at_s: i64) -> Ingested {
    Ingested::Context(crate::model::DeviceContext {
        device: device.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        peer: peer.and_then(|p| p.parse().ok()),
        event_type: event_type.into(),
        seen_at: DateTime::from_timestamp(at_s, 0).unwrap_or_default(),
    })
}

#[test]
fn device_context_is_folded_into_bounded_summaries() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    let mut store = Store::open(dir.path(), &key())?;
    let pump = "10.20.8.52";
    // A thousand flows between the same two ends make one peer row.
    let mut batch: Vec<Ingested> =
        (0..1000).map(|i| sighting(pump, Some("10.20.0.80"), "flow", 1_700_000_000 + i)).collect();
    batch.push(sighting(pump, Some("10.20.0.53"), "dns", 1_700_000_500));
    // Out of order (a file read again): times only widen.
    batch.push(sighting(pump, Some("10.20.0.80"), "http", 1_600_000_000));
    batch.push(sighting(pump, None, "flow", 1_700_000_999));
    batch.push(sighting("10.20.0.80", Some(pump), "flow", 1_700_000_001));
    store.append(&mut batch)?;
    store.append(&mut [sighting(pump, Some("10.20.0.53"), "dns", 1_700_000_600)])?;

    let reader = Store::open_read_only(dir.path(), &key())?;
    let ip: IpAddr = pump.parse().map_err(|_| StoreError::Corrupt { id: 0, reason: "ip".into() })?;
    let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or_default();
    let got = reader.device_context(ip, 10)?.ok_or(StoreError::Missing(dir.path().into()))?;
    assert_eq!(got.seen.ip, ip);
    assert_eq!(got.seen.records, 1004);
    assert_eq!((got.seen.first_seen, got.seen.last_seen), (at(1_600_000_000), at(1_700_000_999)));
    let types: Vec<(&str, u64)> = got.event_types.iter().map(|t| (t.event_type.as_str(), t.count)).collect();
    assert_eq!(types, [("flow", 1001), ("dns", 2), ("http", 1)]);
    let peers: Vec<(String, u64, i64, i64)> = got
        .peers
        .iter()
        .map(|p| (p.ip.to_string(), p.count, p.first_seen.timestamp(), p.last_seen.timestamp()))
        .collect();
    assert_eq!(
        peers,
        [
            ("10.20.0.80".to_owned(), 1001, 1_600_000_000, 1_700_000_999),
            ("10.20.0.53".to_owned(), 2, 1_700_000_500, 1_700_000_600),
        ]
    );
    assert_eq!(got.peer_count, 2);
    assert_eq!(reader.device_context(ip, 1)?.map(|d| (d.peers.len(), d.peer_count)), Some((1, 2)));
    let rows: i64 = reader
        .conn
        .query_row("SELECT COUNT(*) FROM device_peers", [], |r| r.get(0))
        .map_err(|e| reader.wrap(e))?;
    assert_eq!(rows, 3, "one row per (device, peer), not per record");

    let devices: Vec<String> = reader.devices(10)?.iter().map(|d| d.ip.to_string()).collect();
    assert_eq!(devices, [pump, "10.20.0.80"], "most recently seen first");
    assert_eq!(reader.device_context("10.9.9.9".parse().unwrap_or(ip), 10)?, None);
    // Context makes no alert and no rejection.
    assert_eq!(reader.counts()?, (0, 0));
    Ok(())
}

#[test]
fn device_observations_latest_per_device() -> Result<(), StoreError> {
    use crate::model::{DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation, PatientKeyHash};
    let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir { path: "tmp".into(), source: e })?;
    let mut store = Store::open(dir.path(), &key())?;
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
    let latest = Store::open_read_only(dir.path(), &key())?.latest_device_observations()?;
    assert_eq!(latest, vec![stored[1].clone(), stored[2].clone()]);
    Ok(())
}

#[test]
fn a_database_from_before_encryption_is_encrypted_and_its_records_join_the_chain(
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(DB_FILE);
    // A database as the previous build left it: unencrypted, schema 5, one alert.
    {
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let tx = conn.transaction()?;
        for (i, sql) in MIGRATIONS.iter().take(5).enumerate() {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.execute(
            "INSERT INTO alerts (received_at_us, format, severity, event_class, name, message, raw)
             VALUES (1700000000000000, 'rfc5424', 3, 'BEACON', 'legacy', 'a legacy alert', x'4c4547414359')",
            [],
        )?;
        tx.commit()?;
    }
    assert!(std::fs::read(&path)?.starts_with(b"SQLite format 3\0"));

    let store = Store::open(dir.path(), &key())?;
    let alerts = store.recent_alerts(5)?;
    assert_eq!(alerts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["legacy"]);
    assert_eq!(store.head().seq, 1, "the legacy alert has its audit record");
    drop(store);
    let bytes = std::fs::read(&path)?;
    assert!(!bytes.starts_with(b"SQLite format 3\0"), "encrypted now");
    assert!(!bytes.windows(6).any(|w| w == b"LEGACY"), "its raw bytes are not readable");
    // Opening again adopts nothing twice.
    assert_eq!(Store::open(dir.path(), &key())?.head().seq, 1);
    Ok(())
}

#[test]
fn the_database_uses_16_kib_pages_and_hmac_sha256_and_other_settings_do_not_open_it(
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), &key())?;
    let setting = |name: &str| -> rusqlite::Result<String> {
        store.connection().query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
    };
    // The file format: changing either makes every existing database unreadable.
    assert_eq!(setting("cipher_page_size")?, "16384");
    assert_eq!(setting("cipher_hmac_algorithm")?, "HMAC_SHA256");
    assert_eq!(
        super::cipher::CIPHER_SETTINGS,
        [("cipher_page_size", "16384"), ("cipher_hmac_algorithm", "HMAC_SHA256")]
    );
    drop(store);
    let len = std::fs::metadata(dir.path().join(DB_FILE))?.len();
    assert!(len > 0 && len % 16384 == 0, "{len} bytes is not a whole number of 16 KiB pages");
    // The right key with SQLCipher 4's default settings does not read it.
    let conn = Connection::open(dir.path().join(DB_FILE))?;
    conn.execute_batch(&super::key_pragma("key", &key()))?;
    super::quiet_cipher_log(&conn);
    let read = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0));
    assert_eq!(read.err().and_then(|e| e.sqlite_error_code()), Some(rusqlite::ErrorCode::NotADatabase));
    Ok(())
}
