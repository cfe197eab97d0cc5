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
    let ids: Vec<Option<String>> = msg.obx.iter().map(|o| o.equipment.iter().find_map(|e| e.eui64())).collect();
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
