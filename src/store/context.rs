//! Device context: what the network shows of each device (last seen, what
//! it was seen doing, whom it talks to), kept as summaries.
//!
//! Each sighting upserts three rows: the device's own, its (device, event
//! type) count and its (device, peer) conversation. The tables therefore
//! grow with distinct devices and conversations, not with records. Times
//! only widen (`first_seen` the earliest, `last_seen` the latest), so
//! reading a file again, or records arriving out of order, never moves a
//! device's last sighting back.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{micros, Store, StoreError};

pub(super) const UPSERT_SEEN: &str = "INSERT INTO device_seen (ip, first_seen_us, last_seen_us, records)
     VALUES (?1, ?2, ?2, 1)
     ON CONFLICT (ip) DO UPDATE SET
        first_seen_us = MIN(first_seen_us, excluded.first_seen_us),
        last_seen_us = MAX(last_seen_us, excluded.last_seen_us),
        records = records + 1";

pub(super) const UPSERT_EVENT_TYPE: &str =
    "INSERT INTO device_event_types (ip, event_type, count, last_seen_us)
     VALUES (?1, ?2, 1, ?3)
     ON CONFLICT (ip, event_type) DO UPDATE SET
        count = count + 1,
        last_seen_us = MAX(last_seen_us, excluded.last_seen_us)";

pub(super) const UPSERT_PEER: &str =
    "INSERT INTO device_peers (ip, peer_ip, first_seen_us, last_seen_us, count)
     VALUES (?1, ?2, ?3, ?3, 1)
     ON CONFLICT (ip, peer_ip) DO UPDATE SET
        first_seen_us = MIN(first_seen_us, excluded.first_seen_us),
        last_seen_us = MAX(last_seen_us, excluded.last_seen_us),
        count = count + 1";

/// A device and when it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSeen {
    pub ip: IpAddr,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Sightings folded in.
    pub records: u64,
}

/// How often a device was seen doing one thing (`flow`, `dns`, `tls`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventTypeSeen {
    pub event_type: String,
    pub count: u64,
    pub last_seen: DateTime<Utc>,
}

/// An address a device talked with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerSeen {
    pub ip: IpAddr,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: u64,
}

/// Everything kept about one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceSummary {
    #[serde(flatten)]
    pub seen: DeviceSeen,
    /// Most frequent first.
    pub event_types: Vec<EventTypeSeen>,
    /// Most recently seen first, at most the number asked for.
    pub peers: Vec<PeerSeen>,
    /// How many peers there are in all.
    pub peer_count: u64,
}

impl Store {
    /// What is known of the device at `ip`, with its `peer_limit` most recent peers.
    #[tracing::instrument(skip_all)]
    pub fn device_context(&self, ip: IpAddr, peer_limit: usize) -> Result<Option<DeviceSummary>, StoreError> {
        let key = ip.to_string();
        let wrap = |e| self.wrap(e);
        let seen = self
            .conn
            .query_row(
                "SELECT first_seen_us, last_seen_us, records FROM device_seen WHERE ip = ?1",
                [&key],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
            )
            .optional()
            .map_err(wrap)?;
        let Some((first, last, records)) = seen else { return Ok(None) };
        let seen =
            DeviceSeen { ip, first_seen: time(first)?, last_seen: time(last)?, records: records as u64 };

        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT event_type, count, last_seen_us FROM device_event_types
                 WHERE ip = ?1 ORDER BY count DESC, event_type",
            )
            .map_err(wrap)?;
        let event_types = stmt
            .query_map([&key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
            .map_err(wrap)?
            .map(|row| {
                let (event_type, count, last) = row.map_err(wrap)?;
                Ok(EventTypeSeen { event_type, count: count as u64, last_seen: time(last)? })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;

        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT peer_ip, first_seen_us, last_seen_us, count FROM device_peers
                 WHERE ip = ?1 ORDER BY last_seen_us DESC, peer_ip LIMIT ?2",
            )
            .map_err(wrap)?;
        let peers = stmt
            .query_map(params![key, peer_limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })
            .map_err(wrap)?
            .map(|row| {
                let (peer, first, last, count) = row.map_err(wrap)?;
                Ok(PeerSeen {
                    ip: peer.parse().map_err(|_| corrupt("bad peer address"))?,
                    first_seen: time(first)?,
                    last_seen: time(last)?,
                    count: count as u64,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let peer_count = self
            .conn
            .query_row("SELECT COUNT(*) FROM device_peers WHERE ip = ?1", [&key], |r| r.get::<_, i64>(0))
            .map_err(wrap)? as u64;
        Ok(Some(DeviceSummary { seen, event_types, peers, peer_count }))
    }

    /// The `limit` most recently seen devices, most recent first.
    #[tracing::instrument(skip_all)]
    pub fn devices(&self, limit: usize) -> Result<Vec<DeviceSeen>, StoreError> {
        let wrap = |e| self.wrap(e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT ip, first_seen_us, last_seen_us, records FROM device_seen
                 ORDER BY last_seen_us DESC, ip LIMIT ?1",
            )
            .map_err(wrap)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })
            .map_err(wrap)?;
        rows.map(|row| {
            let (ip, first, last, records) = row.map_err(wrap)?;
            Ok(DeviceSeen {
                ip: ip.parse().map_err(|_| corrupt("bad device address"))?,
                first_seen: time(first)?,
                last_seen: time(last)?,
                records: records as u64,
            })
        })
        .collect()
    }
}

fn time(us: i64) -> Result<DateTime<Utc>, StoreError> {
    micros(us).ok_or_else(|| corrupt("bad time"))
}

/// Context rows have no row id: a value this build cannot read is reported as row 0.
fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt { id: 0, reason: reason.to_owned() }
}
