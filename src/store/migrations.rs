//! The schema, as an append-only list of migrations. A shipped migration is
//! never edited: a test pins each one's fingerprint.

use rusqlite::{Connection, Transaction};

/// Each entry takes the schema from version `i` to `i + 1` (`PRAGMA user_version`).
pub const MIGRATIONS: &[&str] = &[
    // 1: alerts and the messages that could not be decoded.
    "CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        received_at_us INTEGER NOT NULL,
        event_time TEXT,
        source_addr TEXT,
        listener TEXT,
        format TEXT NOT NULL,
        severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 10),
        vendor TEXT,
        product TEXT,
        event_class TEXT NOT NULL,
        name TEXT NOT NULL,
        message TEXT NOT NULL,
        hostname TEXT,
        src_ip TEXT,
        dst_ip TEXT,
        src_port INTEGER,
        dst_port INTEGER,
        proto TEXT,
        raw BLOB NOT NULL
    );
    CREATE INDEX alerts_received_at ON alerts (received_at_us);
    CREATE TABLE rejected (
        id INTEGER PRIMARY KEY,
        received_at_us INTEGER NOT NULL,
        source_addr TEXT,
        listener TEXT,
        format TEXT,
        error TEXT NOT NULL,
        raw BLOB NOT NULL
    );",
    // 2: how an alert departed from its format's grammar (a JSON array of
    // sentences) when it was read leniently; NULL when it was strict.
    "ALTER TABLE alerts ADD COLUMN deviations TEXT;",
    // 3: device context from records that are not alerts (Suricata flows,
    // DNS, TLS, ...): summaries upserted per device, per (device, event
    // type) and per (device, peer), so they grow with the number of distinct
    // devices and conversations, never with the number of records.
    "CREATE TABLE device_seen (
        ip TEXT PRIMARY KEY,
        first_seen_us INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL,
        records INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE device_event_types (
        ip TEXT NOT NULL,
        event_type TEXT NOT NULL,
        count INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL,
        PRIMARY KEY (ip, event_type)
    ) WITHOUT ROWID;
    CREATE TABLE device_peers (
        ip TEXT NOT NULL,
        peer_ip TEXT NOT NULL,
        first_seen_us INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (ip, peer_ip)
    ) WITHOUT ROWID;",
    // 4: what device gateways say about devices (HL7 over MLLP): which device,
    // where, whether a patient is attached. Never a name or a patient id: only
    // the keyed hash of the id (see `privacy`).
    "CREATE TABLE device_observations (
        id INTEGER PRIMARY KEY,
        received_at_us INTEGER NOT NULL,
        observed_at TEXT,
        device_id TEXT NOT NULL,
        point_of_care TEXT,
        room TEXT,
        bed TEXT,
        facility TEXT,
        patient_associated INTEGER NOT NULL CHECK (patient_associated IN (0, 1)),
        patient_key_hash TEXT CHECK (patient_key_hash IS NULL OR length(patient_key_hash) = 64),
        message_type TEXT NOT NULL,
        control_id TEXT NOT NULL,
        sending_application TEXT,
        sending_facility TEXT,
        source_addr TEXT,
        listener TEXT,
        observation_count INTEGER NOT NULL,
        alarm_code TEXT,
        alarm_priority TEXT,
        alarm_state TEXT,
        alarm_phase TEXT
    );
    CREATE INDEX device_observations_device ON device_observations (device_id, id);",
    // 5: what senders say beyond the common fields (MACs, destination host,
    // action, category, vendor fields), as a JSON object; NULL when nothing.
    "ALTER TABLE alerts ADD COLUMN details TEXT;",
    // 6: the audit log: a hash chain of records (see `audit`) and signed
    // checkpoints of its head. Append-only: triggers refuse changes. Each
    // alert, rejected message and device observation names its record.
    "CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY CHECK (seq > 0),
        at_us INTEGER NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        body BLOB NOT NULL,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
    );
    CREATE INDEX audit_log_at ON audit_log (at_us);
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        head_hash BLOB NOT NULL,
        at_us INTEGER NOT NULL,
        public_key BLOB NOT NULL,
        signature BLOB NOT NULL
    );
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit records are never changed'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit records are never deleted'); END;
    CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'checkpoints are never changed'); END;
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'checkpoints are never deleted'); END;
    ALTER TABLE alerts ADD COLUMN audit_seq INTEGER;
    ALTER TABLE rejected ADD COLUMN audit_seq INTEGER;
    ALTER TABLE device_observations ADD COLUMN audit_seq INTEGER;",
    // 7: retention. `audit_base` records each archived segment of the chain
    // (see `audit::base`); it is append-only, each base follows the last and
    // names a stored record with a signed checkpoint of its hash. Records at
    // or below the newest base may then be deleted (they are in the archive),
    // and checkpoints below it; the checkpoint at the base stays.
    "CREATE TABLE audit_base (
        seq INTEGER PRIMARY KEY CHECK (seq > 0),
        first_seq INTEGER NOT NULL CHECK (first_seq > 0 AND first_seq <= seq),
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        archive_file TEXT NOT NULL,
        archive_sha256 TEXT NOT NULL CHECK (length(archive_sha256) = 64),
        at_us INTEGER NOT NULL,
        public_key BLOB NOT NULL,
        signature BLOB NOT NULL
    );
    CREATE TRIGGER audit_base_no_update BEFORE UPDATE ON audit_base
        BEGIN SELECT RAISE(ABORT, 'audit bases are never changed'); END;
    CREATE TRIGGER audit_base_no_delete BEFORE DELETE ON audit_base
        BEGIN SELECT RAISE(ABORT, 'audit bases are never deleted'); END;
    CREATE TRIGGER audit_base_follows BEFORE INSERT ON audit_base
        WHEN NEW.first_seq != (SELECT COALESCE(MAX(seq), 0) FROM audit_base) + 1
            OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)
            OR NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seq = NEW.seq AND head_hash = NEW.hash)
        BEGIN SELECT RAISE(ABORT, 'a base follows the last one and names a stored, checkpointed record'); END;
    DROP TRIGGER audit_log_no_delete;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_base)
        BEGIN SELECT RAISE(ABORT, 'audit records are deleted only once archived'); END;
    DROP TRIGGER audit_checkpoints_no_delete;
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        WHEN OLD.seq >= (SELECT COALESCE(MAX(seq), 0) FROM audit_base)
        BEGIN SELECT RAISE(ABORT, 'checkpoints are deleted only below the base'); END;",
    // 8: finds the last `config.settings` record at start without a scan
    // of the log; partial, so appending any other record costs nothing.
    "CREATE INDEX audit_log_settings ON audit_log (seq) WHERE kind = 'config.settings';",
    // 9: the hospital (see `store::hospital`): wards and devices (as JSON
    // documents, with the columns queries need), each device's identities
    // over time (one current holder per identity), the newest clinical-use
    // evidence and last sighting per device, open incidents (alerts folded
    // per device and condition), the devices each alert is about (source,
    // target or named by a gateway) and its primary one.
    "CREATE TABLE wards (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        ward_id TEXT,
        staged INTEGER NOT NULL CHECK (staged IN (0, 1)),
        doc TEXT NOT NULL,
        updated_us INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX devices_ward ON devices (ward_id);
    CREATE TABLE device_identities (
        kind TEXT NOT NULL CHECK (kind IN ('ip', 'mac', 'hostname', 'eui64', 'serial')),
        value TEXT NOT NULL,
        device_id TEXT NOT NULL,
        valid_from_us INTEGER NOT NULL,
        valid_to_us INTEGER CHECK (valid_to_us IS NULL OR valid_to_us >= valid_from_us),
        PRIMARY KEY (kind, value, valid_from_us)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX device_identities_current ON device_identities (kind, value) WHERE valid_to_us IS NULL;
    CREATE INDEX device_identities_device ON device_identities (device_id);
    CREATE TABLE device_activity (
        device_id TEXT PRIMARY KEY,
        first_seen_us INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE clinical_use (
        device_id TEXT PRIMARY KEY,
        evidence TEXT NOT NULL,
        at_us INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        condition TEXT NOT NULL,
        severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 10),
        count INTEGER NOT NULL,
        first_us INTEGER NOT NULL,
        last_us INTEGER NOT NULL,
        first_alert INTEGER,
        last_alert INTEGER,
        closed_us INTEGER
    );
    CREATE UNIQUE INDEX incidents_open ON incidents (device_id, condition) WHERE closed_us IS NULL;
    CREATE INDEX incidents_recent ON incidents (last_us) WHERE closed_us IS NULL;
    CREATE TABLE alert_devices (
        device_id TEXT NOT NULL,
        alert_id INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('named', 'source', 'target')),
        PRIMARY KEY (device_id, alert_id)
    ) WITHOUT ROWID;
    ALTER TABLE alerts ADD COLUMN device_id TEXT;",
    // 10: incidents (see `store::incidents`): one row per subject (a device,
    // an address, a flooding condition) and condition for ever, reopened
    // when it recurs; the people's work on it (state, owner, mute with
    // reason and expiry, silence, outcome), the notification policy's
    // memory, its contributing sources and alerts, its history, and
    // maintenance windows. The old table's newest row per device and
    // condition is kept.
    "CREATE TABLE incidents_v10 (
        id INTEGER PRIMARY KEY,
        subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'address', 'signature')),
        subject TEXT NOT NULL,
        device_id TEXT,
        condition TEXT NOT NULL,
        title TEXT NOT NULL,
        storm INTEGER NOT NULL DEFAULT 0 CHECK (storm IN (0, 1)),
        severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 10),
        count INTEGER NOT NULL,
        first_us INTEGER NOT NULL,
        last_us INTEGER NOT NULL,
        first_alert INTEGER,
        last_alert INTEGER,
        sources TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
        owner TEXT,
        assignee TEXT,
        muted_until_us INTEGER,
        mute_reason TEXT,
        muted_by TEXT,
        silenced_until_us INTEGER,
        outcome TEXT,
        reopened INTEGER NOT NULL DEFAULT 0,
        notice TEXT,
        CHECK ((muted_until_us IS NULL) = (mute_reason IS NULL))
    );
    INSERT INTO incidents_v10 (id, subject_kind, subject, device_id, condition, title, severity, count,
        first_us, last_us, first_alert, last_alert, state)
        SELECT id, 'device', device_id, device_id, condition, condition, severity, count, first_us, last_us,
            first_alert, last_alert, CASE WHEN closed_us IS NULL THEN 'open' ELSE 'resolved' END
        FROM incidents WHERE id IN (SELECT MAX(id) FROM incidents GROUP BY device_id, condition);
    DROP TABLE incidents;
    ALTER TABLE incidents_v10 RENAME TO incidents;
    CREATE UNIQUE INDEX incidents_key ON incidents (subject_kind, subject, condition);
    CREATE INDEX incidents_recent ON incidents (last_us);
    CREATE INDEX incidents_device ON incidents (device_id);
    CREATE TABLE incident_alerts (
        incident_id INTEGER NOT NULL,
        alert_id INTEGER NOT NULL,
        PRIMARY KEY (incident_id, alert_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO incident_alerts (incident_id, alert_id)
        SELECT i.id, d.alert_id FROM incidents i
        JOIN alert_devices d ON d.device_id = i.device_id
        JOIN alerts a ON a.id = d.alert_id AND a.name = i.condition;
    CREATE TABLE incident_events (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL,
        at_us INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        text TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
    CREATE TABLE maintenance_windows (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL CHECK (scope IN ('device', 'ward')),
        target TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        end_us INTEGER NOT NULL CHECK (end_us > start_us),
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_us INTEGER NOT NULL,
        ended_us INTEGER
    );
    CREATE INDEX maintenance_active ON maintenance_windows (end_us);",
    // 11: people (see `store::people`): local accounts with their roles,
    // wards (for nurses), Argon2id password and PIN hashes (PHC strings: the
    // parameters are kept with the hash), the last full login (a PIN works
    // only after one that day), failures in a row and the lock they started.
    "CREATE TABLE people (
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        roles TEXT NOT NULL,
        wards TEXT NOT NULL DEFAULT '[]',
        password_hash TEXT NOT NULL,
        pin_hash TEXT,
        full_login_us INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until_us INTEGER,
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_us INTEGER NOT NULL,
        created_by TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 12: care-safe response (see `store::responses`): each request with the
    // grade and gate it had when made, what people gave its gate (JSON:
    // ward acknowledgement, sign-off, break-glass), the device taken out of
    // use, its dispatch (adapter, attempts, next retry, last result, the
    // manual checklist), and each step's history.
    "CREATE TABLE response_requests (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents (id),
        device TEXT,
        ward TEXT,
        action TEXT NOT NULL,
        title TEXT NOT NULL,
        grade TEXT NOT NULL,
        gate TEXT NOT NULL,
        reasons TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_us INTEGER NOT NULL,
        reason TEXT NOT NULL,
        state TEXT NOT NULL,
        given TEXT NOT NULL,
        out_of_use TEXT,
        adapter TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_us INTEGER,
        last_result TEXT,
        checklist TEXT,
        updated_us INTEGER NOT NULL
    );
    CREATE INDEX response_requests_incident ON response_requests (incident_id, id);
    CREATE INDEX response_requests_state ON response_requests (state);
    CREATE TABLE response_events (
        id INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL REFERENCES response_requests (id),
        at_us INTEGER NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX response_events_request ON response_events (request_id, id);",
];

pub(super) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Applies every migration the database has not had yet, each in its own transaction.
pub(super) fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    let current = version(conn)?;
    if current > MIGRATIONS.len() as i64 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!("schema version {current} is newer than this build knows ({})", MIGRATIONS.len())),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        step(&tx, sql, i + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "Schema migrated.");
    }
    Ok(())
}

fn step(tx: &Transaction<'_>, sql: &str, to: usize) -> rusqlite::Result<()> {
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", to as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a, 64 bits: a fingerprint that stays the same across Rust versions.
    fn fingerprint(s: &str) -> u64 {
        s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    }

    /// The fingerprints of shipped migrations. Append one when you add a
    /// migration; never change one: databases in the field already ran it.
    const SHIPPED: &[u64] = &[
        0xff5abcdbb3d9049a,
        0xac1ea8f7051643d7,
        0x6b81_1c43_64da_4df9,
        0xfcb7f03b6e06427d,
        0x611237965b7c5077,
        0xbe3825486b67ed46,
        0xd0875885e499a224,
        0x9cb0_90fe_3891_7aaa,
        0x0410_a4a8_246f_3bce,
        0x9ec2_8e20_0610_c9e9,
        0x684573e98b2c2f22,
        0x0fc6_b1c7_507b_0b41,
    ];

    #[test]
    fn shipped_migrations_are_never_edited() {
        assert!(MIGRATIONS.len() >= SHIPPED.len(), "a shipped migration was removed");
        for (i, (sql, want)) in MIGRATIONS.iter().zip(SHIPPED).enumerate() {
            assert_eq!(
                fingerprint(sql),
                *want,
                "migration {} was edited after shipping: add a new one instead",
                i + 1
            );
        }
        assert_eq!(MIGRATIONS.len(), SHIPPED.len(), "a new migration needs its fingerprint in SHIPPED");
    }

    #[test]
    fn migrations_apply_in_order_and_only_once() -> rusqlite::Result<()> {
        let mut conn = Connection::open_in_memory()?;
        apply(&mut conn)?;
        assert_eq!(version(&conn)?, MIGRATIONS.len() as i64);
        // Running again is a no-op, not an error.
        apply(&mut conn)?;
        assert_eq!(version(&conn)?, MIGRATIONS.len() as i64);
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(
            tables,
            [
                "alert_devices",
                "alerts",
                "audit_base",
                "audit_checkpoints",
                "audit_log",
                "clinical_use",
                "device_activity",
                "device_event_types",
                "device_identities",
                "device_observations",
                "device_peers",
                "device_seen",
                "devices",
                "incident_alerts",
                "incident_events",
                "incidents",
                "maintenance_windows",
                "people",
                "rejected",
                "response_events",
                "response_requests",
                "wards"
            ]
        );
        Ok(())
    }

    #[test]
    fn a_newer_schema_is_refused() -> rusqlite::Result<()> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)?;
        assert!(apply(&mut conn).is_err());
        Ok(())
    }
}
