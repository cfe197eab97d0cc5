//! HL7 device messages to [`DeviceObservation`]s: which device, where, and
//! whether a patient is attached. They are device context, not alerts.
//!
//! | message | read as |
//! |---|---|
//! | `ORU^R01` (IHE PCD-01) | one observation per device (OBX-18 EUI-64) |
//! | `ORU^R40` (IHE PCD-04) | the same, with the alarm's event, priority, state, phase |
//! | other types, versions before 2.3 or not 2.x | refused: `AR` |
//! | no OBX, or no OBX-18 EUI-64, or two patients | unusable: `AE` |
//!
//! OBX rows belong to the device named by the closest OBX-18 above them (the
//! MDS row in IHE PCD), or below them when no row above names one.

use crate::codec::hl7::ack::{AckCode, AckError};
use crate::codec::hl7::{Hl7Message, Location};
use crate::model::{DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation};
use crate::normalize::Receipt;
use crate::privacy::PatientIdKey;

/// The message types read.
const SUPPORTED: &[(&str, &str)] = &[("ORU", "R01"), ("ORU", "R40")];

/// Checks that `msg` is a message Wardwatch reads, and makes one observation
/// per device in it. The patient identifier is hashed with `key`; without a
/// key (`wardwatch parse`) no hash is made.
pub fn observations(
    msg: &Hl7Message,
    key: Option<&PatientIdKey>,
    receipt: &Receipt,
) -> Result<Vec<DeviceObservation>, AckError> {
    let mt = &msg.msh.message_type;
    if !SUPPORTED.iter().any(|(c, t)| mt.code == *c && mt.trigger == *t) {
        let code = if mt.code == "ORU" { 201 } else { 200 };
        return Err(AckError::new(
            AckCode::Reject,
            code,
            format!("message type {mt} is not supported (ORU^R01 and ORU^R40 are)"),
        ));
    }
    if !version_supported(&msg.msh.version) {
        return Err(AckError::new(
            AckCode::Reject,
            203,
            format!("HL7 version {:?} is not supported (2.3 to 2.9 are)", msg.msh.version),
        ));
    }
    if msg.obx.is_empty() {
        return Err(AckError::new(AckCode::Error, 101, "the message has no OBX segment"));
    }
    if msg.patient_id_count > 1 {
        return Err(AckError::new(
            AckCode::Error,
            100,
            "the message names more than one patient (PID-3); send one message per patient",
        ));
    }
    // Each OBX row's device: the closest OBX-18 above, else the first below.
    let ids: Vec<Option<String>> =
        msg.obx.iter().map(|o| o.equipment.iter().find_map(|e| e.eui64())).collect();
    let mut counts: Vec<(String, u32)> = Vec::new(); // (device, rows), in order of appearance
    let mut current: Option<String> = None;
    let mut orphans = 0u32;
    for id in &ids {
        if let Some(id) = id {
            current = Some(id.clone());
        }
        match &current {
            Some(dev) => {
                let entry = counts.iter_mut().find(|(d, _)| d == dev);
                match entry {
                    Some((_, n)) => *n += 1,
                    None => {
                        counts.push((dev.clone(), 1 + orphans));
                        orphans = 0;
                    }
                }
            }
            None => orphans += 1,
        }
    }
    if counts.is_empty() {
        return Err(AckError::new(
            AckCode::Error,
            101,
            "no device identity: no OBX-18 equipment instance identifier holds an EUI-64",
        ));
    }
    let patient_key_hash = match (&msg.patient_id, key) {
        (Some(p), Some(k)) => Some(k.hash(p)),
        _ => None,
    };
    let observed_at = msg
        .obr
        .iter()
        .find_map(|o| o.observation_time)
        .or_else(|| msg.obx.iter().find_map(|o| o.observation_time))
        .or(msg.msh.time)
        .map(|t| t.to_string());
    let alarm = msg.alarm.as_ref().map(|a| DeviceAlarm {
        code: a.event.mdc_name().map_or_else(|| a.event.code.clone(), str::to_owned),
        priority: a.priority.clone(),
        state: a.state.clone(),
        phase: a.phase.clone(),
    });
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    Ok(counts
        .into_iter()
        .filter_map(|(dev, n)| {
            Some(DeviceObservation {
                id: None,
                device_id: DeviceId::eui64(&dev)?,
                location: msg.location.as_ref().map(location),
                patient_associated: msg.patient_id.is_some(),
                patient_key_hash: patient_key_hash.clone(),
                message_type: mt.to_string(),
                control_id: msg.msh.control_id.clone(),
                sending_application: non_empty(msg.msh.sending_application.to_string()),
                sending_facility: non_empty(msg.msh.sending_facility.to_string()),
                observed_at: observed_at.clone(),
                received_at: receipt.received_at,
                source_addr: receipt.source_addr,
                listener: receipt.listener.clone(),
                observation_count: n,
                alarm: alarm.clone(),
            })
        })
        .collect())
}

fn version_supported(v: &str) -> bool {
    let mut parts = v.trim().split('.');
    matches!((parts.next(), parts.next().and_then(|m| m.parse::<u8>().ok())), (Some("2"), Some(3..=9)))
}

fn location(l: &Location) -> DeviceLocation {
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    DeviceLocation {
        point_of_care: some(&l.point_of_care),
        room: some(&l.room),
        bed: some(&l.bed),
        facility: some(&l.facility),
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::codec::hl7::parse;

    const PCD01: &[u8] = include_bytes!("../../tests/fixtures/hl7/pcd01-spo2.hl7");
    const PCD04: &[u8] = include_bytes!("../../tests/fixtures/hl7/pcd04-alarm.hl7");
    const NO_DEVICE: &[u8] = include_bytes!("../../tests/fixtures/hl7/pcd01-no-device.hl7");

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_714_557_600, 0).unwrap_or_default(),
            source_addr: "127.0.0.1:40000".parse().ok(),
            listener: Some("mllp://127.0.0.1:2575".into()),
        }
    }

    fn run(raw: &[u8], key: Option<&PatientIdKey>) -> Result<Vec<DeviceObservation>, AckError> {
        let msg = parse(raw).map_err(|e| AckError::new(AckCode::Reject, 102, e.to_string()))?;
        observations(&msg, key, &receipt())
    }

    #[test]
    fn pcd01_gives_one_device_observation_with_a_keyed_hash() -> Result<(), AckError> {
        let key = PatientIdKey::from_bytes([1; 32]);
        let obs = run(PCD01, Some(&key))?;
        assert_eq!(obs.len(), 1);
        let o = &obs[0];
        assert_eq!(o.device_id.as_str(), "0123456789ABCDEF");
        assert!(o.patient_associated);
        assert_eq!(o.patient_key_hash, Some(key.hash_parts("MRN-4711", "StElsewhere")));
        assert_eq!(o.observation_count, 5);
        assert_eq!(o.observed_at.as_deref(), Some("2024-05-01T09:59:55+02:00"));
        assert_eq!(o.location.as_ref().and_then(|l| l.bed.as_deref()), Some("B2"));
        assert_eq!((o.message_type.as_str(), o.control_id.as_str()), ("ORU^R01^ORU_R01", "MSG00042"));
        assert_eq!(o.sending_facility.as_deref(), Some("St Elsewhere ICU"));
        assert_eq!(o.alarm, None);
        let shown = format!("{o:?} {}", serde_json::to_string(o).unwrap_or_default());
        for secret in ["Testpatient", "Alice", "MRN-4711"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // Without a key (wardwatch parse): the association, but no hash.
        let bare = run(PCD01, None)?;
        assert_eq!((bare[0].patient_associated, bare[0].patient_key_hash.clone()), (true, None));
        Ok(())
    }

    #[test]
    fn pcd04_carries_the_alarm() -> Result<(), AckError> {
        let obs = run(PCD04, None)?;
        assert_eq!(
            obs[0].alarm,
            Some(DeviceAlarm {
                code: "MDC_EVT_FLOW_OCCL".into(),
                priority: Some("PH".into()),
                state: Some("active".into()),
                phase: Some("start".into()),
            })
        );
        assert_eq!(obs[0].device_id.as_str(), "00122100000000AB");
        Ok(())
    }

    #[test]
    fn rows_are_counted_per_device() -> Result<(), AckError> {
        let raw = b"MSH|^~\\&|GW||||||ORU^R01|M1|P|2.6\r\
OBX|1|NM|a|||||||||||||||\r\
OBX|2||mds|1.0.0.0|||||||X|||||||AAAAAAAAAAAAAAAA^EUI-64\r\
OBX|3|NM|b\r\
OBX|4||mds|2.0.0.0|||||||X|||||||BBBBBBBBBBBBBBBB^EUI-64\r\
OBX|5|NM|c\r\
OBX|6|NM|d\r";
        let obs = run(raw, None)?;
        let got: Vec<(&str, u32, bool)> =
            obs.iter().map(|o| (o.device_id.as_str(), o.observation_count, o.patient_associated)).collect();
        assert_eq!(got, [("AAAAAAAAAAAAAAAA", 3, false), ("BBBBBBBBBBBBBBBB", 3, false)]);
        Ok(())
    }

    #[test]
    fn refusals_say_ae_or_ar_and_why() {
        let check = |raw: &[u8], code: AckCode, hl7: u16, reason: &str| match run(raw, None) {
            Ok(o) => panic!("{:?} accepted: {o:?}", String::from_utf8_lossy(raw)),
            Err(e) => {
                assert_eq!((e.code, e.hl7_code), (code, hl7), "{e:?}");
                assert!(e.reason.contains(reason), "{e:?}");
            }
        };
        check(NO_DEVICE, AckCode::Error, 101, "no device identity");
        check(b"MSH|^~\\&|||||||ORU^R01|1|P|2.6\rPID|||x\r", AckCode::Error, 101, "no OBX");
        check(b"MSH|^~\\&|||||||ADT^A01|1|P|2.6\r", AckCode::Reject, 200, "ADT^A01 is not supported");
        check(b"MSH|^~\\&|||||||ORU^R30|1|P|2.6\r", AckCode::Reject, 201, "ORU^R30");
        check(b"MSH|^~\\&|||||||ORU^R01|1|P|2.2\r", AckCode::Reject, 203, "2.2");
        check(b"MSH|^~\\&|||||||ORU^R01|1|P|3.0\r", AckCode::Reject, 203, "3.0");
        check(
            b"MSH|^~\\&|||||||ORU^R01|1|P|2.6\rPID|||a\rOBX|1||x|||||||||||||||AAAAAAAAAAAAAAAA\rPID|||b\r",
            AckCode::Error,
            100,
            "more than one patient",
        );
    }
}
