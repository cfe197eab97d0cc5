//! The hospital's tables: wards, devices, their identities over time, the
//! newest clinical-use evidence per device, when each was last heard from,
//! and the open incidents (alerts folded per device and condition).
//!
//! The writer calls [`attach_alert`], [`observe_device`] and
//! [`observe_context`] inside its batch transaction: every alert is attached
//! to a device by its identities (valid at the alert's time), and a device
//! address nobody knows is *staged* (a `device.staged` audit record), never
//! put in a ward by itself. People's changes (an import, assigning a staged
//! device, setting clinical use) are [`Store`] methods that write the change
//! and its audit record in one transaction.
//!
//! Identities have a validity period: `valid_to_us` is NULL for the current
//! holder, and a partial unique index allows one current holder per
//! identity. When an address moves to another device (a DHCP lease, or a
//! gateway naming a device by its EUI-64 with a new IP), the old row is
//! closed and a new one opened, so an old alert still resolves to the device
//! that held the address then.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::{micros, Store, StoreError};
use crate::audit::{kind, Entry};
use crate::hospital::{
    assess, AssetId, ClinicalUse, Device, DeviceState, HealthRules, Identity, IdentityKind, Inventory,
    Location, UseEvidence, UseSource, UseState, Ward, WardId,
};
use crate::model::{Alert, DeviceContext, DeviceObservation};
use crate::normalize::is_device_address;

/// What the writer learnt while attaching an item: the device, and the audit
/// records it owes (a device staged, an address moved).
#[derive(Debug, Default)]
pub(super) struct Attached {
    /// For an alert: its devices, primary first. For an observation or a
    /// sighting: the one device.
    pub devices: Vec<(AssetId, Role)>,
    pub entries: Vec<Entry>,
}

impl Attached {
    pub fn primary(&self) -> Option<&AssetId> {
        self.devices.first().map(|(d, _)| d)
    }
}

/// How an alert is about a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The gateway said the alert is about this device (`device.*`).
    Named,
    /// The source of what was seen: the device that did it.
    Source,
    /// The destination: the device it was done to.
    Target,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Named => "named",
            Self::Source => "source",
            Self::Target => "target",
        }
    }
}

/// From this severity (high) on, an alert is also about its destination:
/// the target of an attack is at risk, not only its source.
const TARGET_SEVERITY: u8 = 7;

fn ident(kind: IdentityKind, value: &str) -> Option<Identity> {
    Identity::new(kind, value).ok()
}

fn is_local(i: &Identity) -> bool {
    i.kind != IdentityKind::Ip || i.value.parse::<IpAddr>().is_ok_and(is_device_address)
}

/// The device that held `identity` at `at_us`, and whether it is staged.
fn resolve(
    tx: &rusqlite::Connection,
    identity: &Identity,
    at_us: i64,
) -> rusqlite::Result<Option<(AssetId, bool)>> {
    tx.prepare_cached(
        "SELECT i.device_id, d.staged FROM device_identities i JOIN devices d ON d.id = i.device_id
         WHERE i.kind = ?1 AND i.value = ?2 AND i.valid_from_us <= ?3
           AND (i.valid_to_us IS NULL OR i.valid_to_us > ?3)
         ORDER BY i.valid_from_us DESC LIMIT 1",
    )?
    .query_row(params![identity.kind.as_str(), identity.value, at_us], |r| {
        Ok((AssetId(r.get(0)?), r.get::<_, bool>(1)?))
    })
    .optional()
}

/// The current holder of `identity`, if any.
fn holder(tx: &Transaction<'_>, identity: &Identity) -> rusqlite::Result<Option<AssetId>> {
    tx.prepare_cached(
        "SELECT device_id FROM device_identities WHERE kind = ?1 AND value = ?2 AND valid_to_us IS NULL",
    )?
    .query_row(params![identity.kind.as_str(), identity.value], |r| Ok(AssetId(r.get(0)?)))
    .optional()
}

/// Gives `identity` to `device` from `at_us`, ending any other holder's
/// claim then. Returns the previous holder when there was another.
fn claim(
    tx: &Transaction<'_>,
    device: &AssetId,
    identity: &Identity,
    at_us: i64,
) -> rusqlite::Result<Option<AssetId>> {
    let previous = holder(tx, identity)?;
    if previous.as_ref() == Some(device) {
        return Ok(None);
    }
    if previous.is_some() {
        tx.prepare_cached(
            "UPDATE device_identities SET valid_to_us = MAX(?3, valid_from_us)
             WHERE kind = ?1 AND value = ?2 AND valid_to_us IS NULL",
        )?
        .execute(params![identity.kind.as_str(), identity.value, at_us])?;
    }
    tx.prepare_cached(
        "INSERT INTO device_identities (kind, value, device_id, valid_from_us) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, value, valid_from_us) DO UPDATE SET device_id = excluded.device_id, valid_to_us = NULL",
    )?
    .execute(params![identity.kind.as_str(), identity.value, device.as_str(), at_us])?;
    Ok(previous)
}

/// Ends every current identity of `device` that `keep` does not list.
fn release_others(
    tx: &Transaction<'_>,
    device: &AssetId,
    keep: &[Identity],
    at_us: i64,
) -> rusqlite::Result<()> {
    let current = current_identities(tx, device)?;
    for i in current.iter().filter(|i| !keep.contains(i)) {
        tx.prepare_cached(
            "UPDATE device_identities SET valid_to_us = MAX(?4, valid_from_us)
             WHERE kind = ?1 AND value = ?2 AND device_id = ?3 AND valid_to_us IS NULL",
        )?
        .execute(params![i.kind.as_str(), i.value, device.as_str(), at_us])?;
    }
    Ok(())
}

fn current_identities(tx: &rusqlite::Connection, device: &AssetId) -> rusqlite::Result<Vec<Identity>> {
    let mut stmt = tx.prepare_cached(
        "SELECT kind, value FROM device_identities WHERE device_id = ?1 AND valid_to_us IS NULL ORDER BY kind, value",
    )?;
    let rows = stmt.query_map([device.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (k, value) = row?;
        if let Some(kind) = IdentityKind::parse(&k) {
            out.push(Identity { kind, value });
        }
    }
    out.sort();
    Ok(out)
}

fn write_device(tx: &Transaction<'_>, d: &Device, at_us: i64) -> Result<(), StoreError> {
    let doc = serde_json::to_string(d).map_err(crate::audit::AuditError::from)?;
    tx.prepare_cached(
        "INSERT INTO devices (id, ward_id, staged, doc, updated_us) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET ward_id = excluded.ward_id, staged = excluded.staged,
            doc = excluded.doc, updated_us = excluded.updated_us",
    )
    .and_then(|mut s| {
        s.execute(params![d.id.as_str(), d.location.ward.as_ref().map(WardId::as_str), d.staged, doc, at_us])
    })
    .map_err(|e| sqlite(tx, e))?;
    Ok(())
}

pub(super) fn sqlite(tx: &Transaction<'_>, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite { path: tx.path().map(Into::into).unwrap_or_default(), source }
}

/// Stages a device for `identity`, seen at `at`: a `device.staged` record.
fn stage(
    tx: &Transaction<'_>,
    identity: Identity,
    at: DateTime<Utc>,
    why: &str,
) -> Result<(AssetId, Entry), StoreError> {
    let device = Device::staged_from(identity.clone());
    let at_us = at.timestamp_micros();
    write_device(tx, &device, at_us)?;
    claim(tx, &device.id, &identity, at_us).map_err(|e| sqlite(tx, e))?;
    #[derive(Serialize)]
    struct Staged<'a> {
        device: &'a AssetId,
        identity: &'a Identity,
        seen_in: &'a str,
    }
    let entry = Entry::new(
        at,
        "console",
        kind::DEVICE_STAGED,
        &Staged { device: &device.id, identity: &identity, seen_in: why },
    )?;
    Ok((device.id, entry))
}

fn touch(tx: &Transaction<'_>, device: &AssetId, at_us: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO device_activity (device_id, first_seen_us, last_seen_us) VALUES (?1, ?2, ?2)
         ON CONFLICT (device_id) DO UPDATE SET first_seen_us = MIN(first_seen_us, excluded.first_seen_us),
            last_seen_us = MAX(last_seen_us, excluded.last_seen_us)",
    )?
    .execute(params![device.as_str(), at_us])?;
    Ok(())
}

/// Records `evidence` as the device's newest when it is at least as new as
/// what is stored.
pub(super) fn put_evidence(
    tx: &Transaction<'_>,
    device: &AssetId,
    evidence: &UseEvidence,
) -> Result<(), StoreError> {
    let doc = serde_json::to_string(evidence).map_err(crate::audit::AuditError::from)?;
    tx.prepare_cached(
        "INSERT INTO clinical_use (device_id, evidence, at_us) VALUES (?1, ?2, ?3)
         ON CONFLICT (device_id) DO UPDATE SET evidence = excluded.evidence, at_us = excluded.at_us
         WHERE excluded.at_us >= clinical_use.at_us",
    )
    .and_then(|mut s| s.execute(params![device.as_str(), doc, evidence.at.timestamp_micros()]))
    .map_err(|e| sqlite(tx, e))?;
    Ok(())
}

/// One end of a conversation: its MAC (hardware, so it outranks the
/// address) and IP.
fn end(mac: Option<&str>, ip: Option<IpAddr>) -> (Option<Identity>, Option<Identity>) {
    (
        mac.and_then(|m| ident(IdentityKind::Mac, m)),
        ip.map(|ip| Identity { kind: IdentityKind::Ip, value: ip.to_string() }),
    )
}

/// Resolves one end: by MAC first, then IP. A device found by its MAC with
/// an address that is not (or no longer) its own takes the address over
/// (a DHCP lease moved), with a `device.identity_moved` record.
fn resolve_end(
    tx: &Transaction<'_>,
    (mac, ip): &(Option<Identity>, Option<Identity>),
    at: DateTime<Utc>,
    entries: &mut Vec<Entry>,
) -> Result<Option<(AssetId, bool)>, StoreError> {
    let at_us = at.timestamp_micros();
    if let Some(mac) = mac {
        if let Some((id, staged)) = resolve(tx, mac, at_us).map_err(|e| sqlite(tx, e))? {
            take_address(tx, &id, ip.as_ref(), at, entries)?;
            return Ok(Some((id, staged)));
        }
    }
    match ip {
        Some(ip) => resolve(tx, ip, at_us).map_err(|e| sqlite(tx, e)),
        None => Ok(None),
    }
}

fn take_address(
    tx: &Transaction<'_>,
    device: &AssetId,
    ip: Option<&Identity>,
    at: DateTime<Utc>,
    entries: &mut Vec<Entry>,
) -> Result<(), StoreError> {
    let Some(ip) = ip.filter(|i| is_local(i)) else { return Ok(()) };
    if let Some(previous) = claim(tx, device, ip, at.timestamp_micros()).map_err(|e| sqlite(tx, e))? {
        entries.push(moved(at, ip, &previous, device)?);
    }
    Ok(())
}

/// Finds the devices an alert is about, staging what is unknown:
///
/// 1. When a gateway names the device (`device.eui64`, `serial`, `mac`,
///    `ip`, or a JSON alert's `hostname`), that device alone (it takes the
///    named IP over when it moved).
/// 2. Otherwise the source end, when it is a device (known, or a local
///    address, which is staged); and the destination when it is a known,
///    confirmed device and either the source is not one or the alert is
///    high or critical (an attack on it).
/// 3. With neither, a local destination address is staged.
///
/// The first device is the alert's primary one.
pub(super) fn attach_alert(tx: &Transaction<'_>, a: &Alert) -> Result<Attached, StoreError> {
    let at = a.received_at;
    let at_us = at.timestamp_micros();
    let mut out = Attached::default();
    let mut found: Vec<(AssetId, Role)> = Vec::new();
    let fields = &a.details.fields;
    let named: Vec<Identity> = [
        ("device.eui64", IdentityKind::Eui64),
        ("device.serial", IdentityKind::Serial),
        ("device.mac", IdentityKind::Mac),
        ("device.ip", IdentityKind::Ip),
    ]
    .into_iter()
    .filter_map(|(key, kind)| fields.get(key).and_then(|v| ident(kind, v)))
    .chain(
        (a.format == crate::model::Format::Json)
            .then(|| a.hostname.as_deref().and_then(|h| ident(IdentityKind::Hostname, h)))
            .flatten(),
    )
    .collect();
    for i in &named {
        if let Some((id, _)) = resolve(tx, i, at_us).map_err(|e| sqlite(tx, e))? {
            let ip = named.iter().find(|n| n.kind == IdentityKind::Ip);
            if i.kind != IdentityKind::Ip {
                take_address(tx, &id, ip, at, &mut out.entries)?;
            }
            found.push((id, Role::Named));
            break;
        }
    }
    if found.is_empty() {
        if let Some(first) = named.iter().find(|i| is_local(i)) {
            let (id, entry) = stage(tx, first.clone(), at, "a gateway alert")?;
            out.entries.push(entry);
            found.push((id, Role::Named));
        }
    }
    if found.is_empty() {
        let src = end(a.details.src_mac.as_deref(), a.src_ip);
        let dst = end(a.details.dst_mac.as_deref(), a.dst_ip);
        let source = match resolve_end(tx, &src, at, &mut out.entries)? {
            Some(found) => Some(found),
            None => match src.1.clone().or(src.0.clone()).filter(is_local) {
                Some(i) => {
                    let (id, entry) = stage(tx, i, at, "an alert")?;
                    out.entries.push(entry);
                    Some((id, true))
                }
                None => None,
            },
        };
        let target = resolve_end(tx, &dst, at, &mut out.entries)?;
        let source_confirmed = source.as_ref().is_some_and(|(_, staged)| !staged);
        if let Some((id, _)) = &source {
            found.push((id.clone(), Role::Source));
        }
        match target {
            Some((id, false))
                if (!source_confirmed || a.severity.value() >= TARGET_SEVERITY)
                    && source.as_ref().is_none_or(|(s, _)| s != &id) =>
            {
                found.push((id, Role::Target));
            }
            Some((id, true)) if source.is_none() => found.push((id, Role::Target)),
            None if source.is_none() => {
                if let Some(i) = dst.1.clone().or(dst.0.clone()).filter(is_local) {
                    let (id, entry) = stage(tx, i, at, "an alert")?;
                    out.entries.push(entry);
                    found.push((id, Role::Target));
                }
            }
            _ => {}
        }
    }
    for (id, _) in &found {
        touch(tx, id, at_us).map_err(|e| sqlite(tx, e))?;
    }
    if let (Some(state), Some((id, Role::Named))) =
        (fields.get("clinical_use").and_then(|s| UseState::parse(s)), found.first())
    {
        let evidence = UseEvidence { state, source: UseSource::Gateway { listener: a.listener.clone() }, at };
        put_evidence(tx, id, &evidence)?;
    }
    out.devices = found;
    Ok(out)
}

/// Links a stored alert to its devices (the incidents are folded by
/// [`super::incidents::fold_alert`]).
pub(super) fn link_alert(
    tx: &Transaction<'_>,
    devices: &[(AssetId, Role)],
    alert_id: i64,
) -> Result<(), StoreError> {
    for (id, role) in devices {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO alert_devices (device_id, alert_id, role) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![id.as_str(), alert_id, role.as_str()]))
        .map_err(|e| sqlite(tx, e))?;
    }
    Ok(())
}

fn moved(at: DateTime<Utc>, identity: &Identity, from: &AssetId, to: &AssetId) -> Result<Entry, StoreError> {
    #[derive(Serialize)]
    struct Moved<'a> {
        identity: &'a Identity,
        from: &'a AssetId,
        to: &'a AssetId,
    }
    Ok(Entry::new(at, "console", kind::IDENTITY_MOVED, &Moved { identity, from, to })?)
}

/// A device gateway's observation: the device (staged when unknown) and its
/// clinical-use evidence: in use when a patient is associated, idle when not.
pub(super) fn observe_device(tx: &Transaction<'_>, d: &DeviceObservation) -> Result<Attached, StoreError> {
    let identity = Identity { kind: IdentityKind::Eui64, value: d.device_id.as_str().to_owned() };
    let at_us = d.received_at.timestamp_micros();
    let mut out = Attached::default();
    let device = match resolve(tx, &identity, at_us).map_err(|e| sqlite(tx, e))? {
        Some((id, _)) => id,
        None => {
            let (id, entry) = stage(tx, identity, d.received_at, "an HL7 observation")?;
            out.entries.push(entry);
            id
        }
    };
    touch(tx, &device, at_us).map_err(|e| sqlite(tx, e))?;
    out.devices.push((device.clone(), Role::Named));
    let state = if d.patient_associated { UseState::InUse } else { UseState::Idle };
    let source =
        UseSource::Hl7 { message_type: d.message_type.clone(), patient_associated: d.patient_associated };
    put_evidence(tx, &device, &UseEvidence { state, source, at: d.received_at })?;
    Ok(out)
}

/// A sighting in traffic that is not an alert: the device was heard from.
pub(super) fn observe_context(tx: &Transaction<'_>, c: &DeviceContext) -> Result<Attached, StoreError> {
    let identity = Identity { kind: IdentityKind::Ip, value: c.device.to_string() };
    let at_us = c.seen_at.timestamp_micros();
    let mut out = Attached::default();
    let device = match resolve(tx, &identity, at_us).map_err(|e| sqlite(tx, e))? {
        Some((id, _)) => id,
        None => {
            let (id, entry) = stage(tx, identity, c.seen_at, "network traffic")?;
            out.entries.push(entry);
            id
        }
    };
    touch(tx, &device, at_us).map_err(|e| sqlite(tx, e))?;
    out.devices.push((device, Role::Source));
    Ok(out)
}

/// The whole hospital as the console sees it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HospitalView {
    pub wards: Vec<Ward>,
    /// Every device, confirmed and staged, with its state.
    pub devices: Vec<DeviceState>,
}

impl HospitalView {
    /// The devices of `ward`; `None` for the staged queue (no ward).
    pub fn in_ward<'a>(&'a self, ward: Option<&'a WardId>) -> impl Iterator<Item = &'a DeviceState> + 'a {
        self.devices.iter().filter(move |d| d.device.location.ward.as_ref() == ward)
    }
}

/// An identity of a device with its validity period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityPeriod {
    pub identity: Identity,
    pub from: DateTime<Utc>,
    /// `None` while the device still holds it.
    pub to: Option<DateTime<Utc>>,
}

/// What a person changes, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub ward: WardId,
    pub room: Option<String>,
    pub bed: Option<String>,
}

/// What an applied import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportApplied {
    pub wards_created: usize,
    pub devices_written: usize,
    pub adopted: usize,
    pub audit_seq: u64,
}

/// Options of the state rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewRules {
    pub health: HealthRules,
    pub idle_after: Duration,
}

impl Default for ViewRules {
    fn default() -> Self {
        Self { health: HealthRules::default(), idle_after: crate::hospital::DEFAULT_IDLE_AFTER }
    }
}

fn load_device(doc: &str, id: &str) -> Result<Device, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt { id: 0, reason: format!("device {id}: {e}") })
}

impl Store {
    /// Every ward, by id.
    pub fn wards(&self) -> Result<Vec<Ward>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT doc FROM wards ORDER BY id").map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for doc in rows {
            let doc = doc.map_err(|e| self.wrap(e))?;
            out.push(
                serde_json::from_str(&doc)
                    .map_err(|e| StoreError::Corrupt { id: 0, reason: format!("ward: {e}") })?,
            );
        }
        Ok(out)
    }

    /// Every device (confirmed and staged), by id, with current identities.
    pub fn all_devices(&self) -> Result<Vec<Device>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT id, doc FROM devices ORDER BY id").map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc) = row.map_err(|e| self.wrap(e))?;
            out.push(load_device(&doc, &id)?);
        }
        let mut ids: HashMap<String, Vec<Identity>> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT device_id, kind, value FROM device_identities WHERE valid_to_us IS NULL")
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(|e| self.wrap(e))?;
        for row in rows {
            let (device, k, value) = row.map_err(|e| self.wrap(e))?;
            if let Some(kind) = IdentityKind::parse(&k) {
                ids.entry(device).or_default().push(Identity { kind, value });
            }
        }
        for d in &mut out {
            let mut current = ids.remove(d.id.as_str()).unwrap_or_default();
            current.sort();
            d.identities = current;
        }
        Ok(out)
    }

    /// The confirmed inventory: wards and the devices that are not staged.
    pub fn inventory(&self) -> Result<Inventory, StoreError> {
        let devices = self.all_devices()?.into_iter().filter(|d| !d.staged).collect();
        Ok(Inventory { wards: self.wards()?, devices })
    }

    /// The devices staged from traffic, waiting for a person.
    pub fn staged_devices(&self) -> Result<Vec<Device>, StoreError> {
        Ok(self.all_devices()?.into_iter().filter(|d| d.staged).collect())
    }

    /// Every device with its clinical use, last sighting, open incidents
    /// and health at `now`.
    pub fn hospital_view(&self, now: DateTime<Utc>, rules: &ViewRules) -> Result<HospitalView, StoreError> {
        let devices = self.all_devices()?;
        let mut evidence: HashMap<String, UseEvidence> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT device_id, evidence FROM clinical_use")
                .map_err(|e| self.wrap(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| self.wrap(e))?;
            for row in rows {
                let (id, doc) = row.map_err(|e| self.wrap(e))?;
                // Unreadable evidence counts as none: the state is then unknown,
                // which is treated as in use.
                if let Ok(e) = serde_json::from_str(&doc) {
                    evidence.insert(id, e);
                }
            }
        }
        let mut seen: HashMap<String, i64> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT device_id, last_seen_us FROM device_activity")
                .map_err(|e| self.wrap(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| self.wrap(e))?;
            for row in rows {
                let (id, at) = row.map_err(|e| self.wrap(e))?;
                seen.insert(id, at);
            }
        }
        let mut incidents = super::incidents::open_per_device(self, now)?;
        let states = devices
            .into_iter()
            .map(|device| {
                let clinical_use =
                    ClinicalUse::derive(evidence.get(device.id.as_str()), now, rules.idle_after);
                let last_seen = seen.get(device.id.as_str()).copied().and_then(micros);
                let incidents = incidents.remove(device.id.as_str()).unwrap_or_default();
                let assessment = assess(&device, &clinical_use, &incidents, last_seen, now, &rules.health);
                DeviceState { device, clinical_use, last_seen, incidents, assessment }
            })
            .collect();
        Ok(HospitalView { wards: self.wards()?, devices: states })
    }

    /// The newest alerts attached to `device`.
    pub fn device_alerts(&self, device: &AssetId, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT alert_id FROM alert_devices WHERE device_id = ?1 ORDER BY alert_id DESC LIMIT ?2",
                )
                .map_err(|e| self.wrap(e))?;
            let rows = stmt
                .query_map(params![device.as_str(), limit as i64], |r| r.get(0))
                .map_err(|e| self.wrap(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.wrap(e))?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.alert(crate::model::AlertId(id))? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The device an alert was attached to when it was stored.
    pub fn alert_device(&self, alert: crate::model::AlertId) -> Result<Option<AssetId>, StoreError> {
        self.conn
            .query_row("SELECT device_id FROM alerts WHERE id = ?1", [alert.0], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()
            .map(|o| o.flatten().map(AssetId))
            .map_err(|e| self.wrap(e))
    }

    /// Every identity `device` has held, newest first.
    pub fn identity_history(&self, device: &AssetId) -> Result<Vec<IdentityPeriod>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, value, valid_from_us, valid_to_us FROM device_identities WHERE device_id = ?1
                 ORDER BY valid_from_us DESC, kind, value",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([device.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (k, value, from, to) = row.map_err(|e| self.wrap(e))?;
            let (Some(kind), Some(from)) = (IdentityKind::parse(&k), micros(from)) else { continue };
            out.push(IdentityPeriod { identity: Identity { kind, value }, from, to: to.and_then(micros) });
        }
        Ok(out)
    }

    /// The device holding `identity` at `at`.
    pub fn resolve(&self, identity: &Identity, at: DateTime<Utc>) -> Result<Option<AssetId>, StoreError> {
        let found = resolve(&self.conn, identity, at.timestamp_micros()).map_err(|e| self.wrap(e))?;
        Ok(found.map(|(id, _)| id))
    }

    /// Writes an import: new wards, the devices (with their identities from
    /// `at`), staged devices adopted by imported ones (their alerts,
    /// incidents and evidence move over), and one `inventory.imported`
    /// record, in one transaction.
    pub fn apply_import(
        &mut self,
        wards: &[Ward],
        devices: &[Device],
        adopted: &[(AssetId, AssetId)],
        actor: &str,
        summary: &impl Serialize,
        at: DateTime<Utc>,
    ) -> Result<ImportApplied, StoreError> {
        let entry = Entry::new(at, actor, kind::INVENTORY_IMPORTED, summary)?;
        let at_us = at.timestamp_micros();
        let (head, ()) = self.change(vec![entry], |tx| {
            for w in wards {
                put_ward(tx, w)?;
            }
            for (staged, by) in adopted {
                adopt(tx, staged, by)?;
            }
            for d in devices {
                let mut d = d.clone();
                d.staged = false;
                write_device(tx, &d, at_us)?;
                release_others(tx, &d.id, &d.identities, at_us).map_err(|e| sqlite(tx, e))?;
                for i in &d.identities {
                    claim(tx, &d.id, i, at_us).map_err(|e| sqlite(tx, e))?;
                }
            }
            Ok(())
        })?;
        Ok(ImportApplied {
            wards_created: wards.len(),
            devices_written: devices.len(),
            adopted: adopted.len(),
            audit_seq: head.seq,
        })
    }

    /// A person confirms a device (staged or not) and puts it in a ward,
    /// with a `device.assigned` record naming who and why.
    pub fn assign_device(
        &mut self,
        device: &AssetId,
        to: &Assignment,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Device, StoreError> {
        #[derive(Serialize)]
        struct Assigned<'a> {
            device: &'a AssetId,
            #[serde(flatten)]
            to: &'a Assignment,
            was_staged: bool,
            reason: &'a str,
        }
        let mut current = self.device(device)?.ok_or_else(|| unknown_device(device))?;
        if !self.wards()?.iter().any(|w| w.id == to.ward) {
            return Err(StoreError::UnknownWard(to.ward.to_string()));
        }
        let entry = Entry::new(
            at,
            actor,
            kind::DEVICE_ASSIGNED,
            &Assigned { device, to, was_staged: current.staged, reason },
        )?;
        current.staged = false;
        current.location =
            Location { ward: Some(to.ward.clone()), room: to.room.clone(), bed: to.bed.clone() };
        let at_us = at.timestamp_micros();
        self.change(vec![entry], |tx| write_device(tx, &current, at_us))?;
        Ok(current)
    }

    /// A person sets a device's clinical-use state, with a reason: a
    /// `device.clinical_use_set` record, and the newest evidence.
    pub fn set_clinical_use(
        &mut self,
        device: &AssetId,
        state: UseState,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<UseEvidence, StoreError> {
        #[derive(Serialize)]
        struct Set<'a> {
            device: &'a AssetId,
            state: UseState,
            reason: &'a str,
        }
        if self.device(device)?.is_none() {
            return Err(unknown_device(device));
        }
        let evidence = UseEvidence {
            state,
            source: UseSource::Person { actor: actor.to_owned(), reason: reason.to_owned() },
            at,
        };
        let entry = Entry::new(at, actor, kind::CLINICAL_USE_SET, &Set { device, state, reason })?;
        self.change(vec![entry], |tx| put_evidence(tx, device, &evidence))?;
        Ok(evidence)
    }

    /// One device, with its current identities.
    pub fn device(&self, id: &AssetId) -> Result<Option<Device>, StoreError> {
        let doc: Option<String> = self
            .conn
            .query_row("SELECT doc FROM devices WHERE id = ?1", [id.as_str()], |r| r.get(0))
            .optional()
            .map_err(|e| self.wrap(e))?;
        let Some(doc) = doc else { return Ok(None) };
        let mut d = load_device(&doc, id.as_str())?;
        d.identities = current_identities(&self.conn, id).map_err(|e| self.wrap(e))?;
        Ok(Some(d))
    }
}

fn unknown_device(id: &AssetId) -> StoreError {
    StoreError::UnknownDevice(id.to_string())
}

fn put_ward(tx: &Transaction<'_>, w: &Ward) -> Result<(), StoreError> {
    let doc = serde_json::to_string(w).map_err(crate::audit::AuditError::from)?;
    tx.prepare_cached(
        "INSERT INTO wards (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
    )
    .and_then(|mut s| s.execute(params![w.id.as_str(), doc]))
    .map_err(|e| sqlite(tx, e))?;
    Ok(())
}

/// Moves everything known of staged device `staged` to `by` and removes
/// it: its alerts, incidents (a condition open on both is closed on the
/// staged side), sightings, clinical-use evidence (the newer wins) and its
/// identity rows, history included, so old alerts resolve to `by`.
fn adopt(tx: &Transaction<'_>, staged: &AssetId, by: &AssetId) -> Result<(), StoreError> {
    let (s, b) = (staged.as_str(), by.as_str());
    super::incidents::adopt(tx, staged, by)?;
    let steps: [(&str, &[&dyn rusqlite::ToSql]); 9] = [
        ("UPDATE alerts SET device_id = ?2 WHERE device_id = ?1", &[&s, &b]),
        ("UPDATE OR IGNORE alert_devices SET device_id = ?2 WHERE device_id = ?1", &[&s, &b]),
        ("DELETE FROM alert_devices WHERE device_id = ?1", &[&s]),
        (
            "INSERT INTO device_activity (device_id, first_seen_us, last_seen_us)
             SELECT ?2, first_seen_us, last_seen_us FROM device_activity WHERE device_id = ?1 AND true
             ON CONFLICT (device_id) DO UPDATE SET first_seen_us = MIN(first_seen_us, excluded.first_seen_us),
                last_seen_us = MAX(last_seen_us, excluded.last_seen_us)",
            &[&s, &b],
        ),
        (
            "INSERT INTO clinical_use (device_id, evidence, at_us)
             SELECT ?2, evidence, at_us FROM clinical_use WHERE device_id = ?1 AND true
             ON CONFLICT (device_id) DO UPDATE SET evidence = excluded.evidence, at_us = excluded.at_us
             WHERE excluded.at_us > clinical_use.at_us",
            &[&s, &b],
        ),
        ("DELETE FROM device_activity WHERE device_id = ?1", &[&s]),
        ("DELETE FROM clinical_use WHERE device_id = ?1", &[&s]),
        ("UPDATE device_identities SET device_id = ?2 WHERE device_id = ?1", &[&s, &b]),
        ("DELETE FROM devices WHERE id = ?1 AND staged = 1", &[&s]),
    ];
    for (sql, args) in steps {
        tx.execute(sql, args).map_err(|e| sqlite(tx, e))?;
    }
    Ok(())
}

impl Store {
    /// Plans an import of `input` against what this store holds now (see
    /// [`crate::hospital::inventory::plan`]): writes nothing.
    pub fn plan_import(
        &self,
        input: &[u8],
        format: crate::hospital::inventory::InventoryFormat,
        mapping: &crate::hospital::inventory::Mapping,
    ) -> Result<
        Result<crate::hospital::inventory::ImportPlan, crate::hospital::inventory::InventoryError>,
        StoreError,
    > {
        let current = self.inventory()?;
        let staged = self.staged_devices()?;
        Ok(crate::hospital::inventory::plan(input, format, mapping, &current, &staged))
    }

    /// Writes what `plan` says (new wards, new and changed devices, adopted
    /// staged devices) with one `inventory.imported` record naming the file,
    /// who, the counts and every device written.
    pub fn apply_plan(
        &mut self,
        plan: &crate::hospital::inventory::ImportPlan,
        actor: &str,
        file: &str,
        at: DateTime<Utc>,
    ) -> Result<ImportApplied, StoreError> {
        #[derive(Serialize)]
        struct Imported<'a> {
            file: &'a str,
            format: &'a str,
            counts: crate::hospital::inventory::PlanCounts,
            new_wards: Vec<&'a WardId>,
            written: Vec<&'a AssetId>,
            adopted: &'a [(AssetId, AssetId)],
        }
        let summary = Imported {
            file,
            format: plan.format.as_str(),
            counts: plan.counts(),
            new_wards: plan.new_wards.iter().map(|w| &w.id).collect(),
            written: plan.upserts.iter().map(|d| &d.id).collect(),
            adopted: &plan.adopted,
        };
        self.apply_import(&plan.new_wards, &plan.upserts, &plan.adopted, actor, &summary, at)
    }
}
