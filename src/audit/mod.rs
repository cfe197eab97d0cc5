//! The audit log's chain: what a record is, how it is hashed, how the chain's
//! head is signed, and how a chain is verified. Storage is in `store`
//! (the `audit_log` and `audit_checkpoints` tables), export in [`export`].
//!
//! Every record is `(seq, at, actor, kind, body)`. Its hash is
//! `SHA-256(prev_hash || canonical bytes)`, where the canonical bytes are a
//! domain tag and each field length-prefixed ([`canonical_bytes`]); the first
//! record's `prev_hash` is 32 zero bytes. The order of records is bound by the
//! links; checkpoints bind a sequence number to a head hash and are signed
//! with the console's Ed25519 key, so a chain rewritten from some point on by
//! someone without that key does not verify.

mod anchor;
pub mod base;
pub mod bench;
pub mod export;
pub mod open;
pub mod retention;
pub mod settings;
mod status;
mod verify;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use anchor::{Anchor, ANCHOR_FILE};
pub use base::Base;
pub use status::{AuditState, AuditStatus, VERIFIED_FILE};
pub use verify::{verify_chain, Damage, DamageKind, Report, VerifyFrom};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first record.
pub const GENESIS: Hash = [0; 32];

/// A checkpoint is signed after this many records (and at every clean stop).
pub const CHECKPOINT_EVERY: u64 = 10_000;

const RECORD_DOMAIN: &[u8] = b"wardwatch audit record v1\0";
const CHECKPOINT_DOMAIN: &[u8] = b"wardwatch audit checkpoint v1\0";

/// The kinds of record this build writes. Kinds are text in the log, so
/// later kinds need no schema change.
pub mod kind {
    pub const ALERT_RECEIVED: &str = "alert.received";
    pub const ALERT_REJECTED: &str = "alert.rejected";
    pub const DEVICE_OBSERVED: &str = "device.observed";
    pub const CONSOLE_STARTED: &str = "console.started";
    pub const CONSOLE_STOPPED: &str = "console.stopped";
    /// The settings in force at a start, when they differ from the last ones recorded.
    pub const CONFIG_SETTINGS: &str = "config.settings";
    pub const KEY_CREATED: &str = "key.created";
    pub const KEY_ROTATED: &str = "key.rotated";
    pub const RECOVERY_SET: &str = "key.recovery_passphrase_set";
    pub const AUDIT_EXPORTED: &str = "audit.exported";
    pub const AUDIT_VERIFIED: &str = "audit.verified";
    /// A segment of the chain moved into an archive (`wardwatch audit archive`).
    pub const AUDIT_ARCHIVED: &str = "audit.archived";
    /// A device first seen in traffic, staged until a person confirms it.
    pub const DEVICE_STAGED: &str = "device.staged";
    /// A person confirmed a device and put it in a ward (room, bed).
    pub const DEVICE_ASSIGNED: &str = "device.assigned";
    /// A person set a device's clinical-use state, with a reason.
    pub const CLINICAL_USE_SET: &str = "device.clinical_use_set";
    /// An address moved to another device (DHCP): the old mapping ended.
    pub const IDENTITY_MOVED: &str = "device.identity_moved";
    /// An inventory file was imported (who, which file, what changed).
    pub const INVENTORY_IMPORTED: &str = "inventory.imported";
    /// A resolved (or long-quiet) incident came back.
    pub const INCIDENT_RECURRED: &str = "incident.recurred";
    /// The incident rules in force at a start, when they differ from the last ones recorded.
    pub const INCIDENT_RULES: &str = "incident.rules";
    /// What the notification policy decided for an incident: sent, summarised, escalated.
    pub const NOTIFICATION_SENT: &str = "notification.sent";
    /// A maintenance window set or ended by a person.
    pub const MAINTENANCE_SET: &str = "maintenance.set";
    pub const MAINTENANCE_ENDED: &str = "maintenance.ended";
    /// A person's account made, changed (roles, wards, PIN), disabled.
    pub const PERSON_ADDED: &str = "person.added";
    pub const PERSON_CHANGED: &str = "person.changed";
    /// A login that succeeded, one that failed, an account locked by failures.
    pub const LOGIN: &str = "auth.login";
    pub const LOGIN_FAILED: &str = "auth.failed";
    pub const LOCKED_OUT: &str = "auth.locked_out";
    pub const LOGOUT: &str = "auth.logout";
    /// An operation refused by the permission matrix.
    pub const REFUSED: &str = "access.refused";
    /// Care-safe response: a request, each step of its gate, its dispatch.
    pub const RESPONSE_REQUESTED: &str = "response.requested";
    pub const RESPONSE_ACKNOWLEDGED: &str = "response.acknowledged";
    pub const RESPONSE_SIGNED_OFF: &str = "response.signed_off";
    pub const RESPONSE_BREAK_GLASS: &str = "response.break_glass";
    pub const RESPONSE_OUT_OF_USE: &str = "response.out_of_use";
    pub const RESPONSE_REFUSED: &str = "response.refused";
    pub const RESPONSE_WITHDRAWN: &str = "response.withdrawn";
    pub const RESPONSE_APPROVED: &str = "response.approved";
    pub const RESPONSE_REGATED: &str = "response.regated";
    pub const RESPONSE_DISPATCHING: &str = "response.dispatching";
    pub const RESPONSE_DONE: &str = "response.done";
    pub const RESPONSE_RETRY: &str = "response.retry";
    pub const RESPONSE_FAILED: &str = "response.failed";
    pub const RESPONSE_TIMED_OUT: &str = "response.timed_out";
    pub const RESPONSE_CHECKLIST: &str = "response.checklist";
    pub const RESPONSE_TICKED: &str = "response.ticked";
    /// The response catalogue in force, when it differs from the last recorded.
    pub const RESPONSE_CATALOGUE: &str = "response.catalogue";
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit record body: {0}")]
    Body(#[from] serde_json::Error),
}

/// A record to append; the chain gives it its number and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    /// JSON, no insignificant white space. Verification hashes the bytes
    /// as stored and never re-encodes them; bodies written by this build
    /// come from `serde_json` in the order the types declare their fields,
    /// maps sorted (`BTreeMap`). [`canonical_json`] sorts every object, for
    /// bodies built from loose values.
    pub body: Vec<u8>,
}

impl Entry {
    /// An entry whose body is `body` as canonical JSON.
    pub fn new<T: Serialize + ?Sized>(
        at: DateTime<Utc>,
        actor: impl Into<String>,
        kind: &str,
        body: &T,
    ) -> Result<Self, AuditError> {
        Ok(Self { at, actor: actor.into(), kind: kind.to_owned(), body: serde_json::to_vec(body)? })
    }
}

/// `value` as canonical JSON. `serde_json::Value`'s objects keep their keys
/// sorted (the crate is built without `preserve_order`), so going through a
/// `Value` sorts every object, nested ones included.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&serde_json::to_value(value)?)
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub at_us: i64,
    pub actor: String,
    pub kind: String,
    pub body: Vec<u8>,
    pub prev_hash: Hash,
    pub hash: Hash,
}

/// The bytes a record's hash covers after `prev_hash`: a domain tag, the
/// time in microseconds (i64, big-endian), then actor, kind and body, each
/// preceded by its length (u32, big-endian). Pinned by a test: changing it
/// would make every existing log fail to verify.
pub fn canonical_bytes(at_us: i64, actor: &str, kind: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_DOMAIN.len() + 20 + actor.len() + kind.len() + body.len());
    out.extend_from_slice(RECORD_DOMAIN);
    out.extend_from_slice(&at_us.to_be_bytes());
    for part in [actor.as_bytes(), kind.as_bytes(), body] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// `SHA-256(prev || canonical_bytes(..))`, without building the bytes.
pub fn record_hash(prev: &Hash, at_us: i64, actor: &[u8], kind: &[u8], body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(RECORD_DOMAIN);
    h.update(at_us.to_be_bytes());
    for part in [actor, kind, body] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// The last record of a chain: its number and hash. An empty chain's head is
/// `{ seq: 0, hash: GENESIS }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
}

impl Head {
    pub const EMPTY: Head = Head { seq: 0, hash: GENESIS };

    /// Appends `entry` after this head: the record and the new head.
    pub fn next(&self, entry: Entry) -> Record {
        let at_us = entry.at.timestamp_micros();
        let hash = record_hash(&self.hash, at_us, entry.actor.as_bytes(), entry.kind.as_bytes(), &entry.body);
        Record {
            seq: self.seq + 1,
            at_us,
            actor: entry.actor,
            kind: entry.kind,
            body: entry.body,
            prev_hash: self.hash,
            hash,
        }
    }
}

/// A signed statement that the chain's record `seq` has hash `head_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub head_hash: Hash,
    pub at_us: i64,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl Checkpoint {
    pub fn sign(head: Head, at: DateTime<Utc>, key: &SigningKey) -> Self {
        let public_key = key.verifying_key().to_bytes();
        let at_us = at.timestamp_micros();
        let signature = key.sign(&checkpoint_message(head.seq, &head.hash, at_us, &public_key)).to_bytes();
        Self { seq: head.seq, head_hash: head.hash, at_us, public_key, signature }
    }

    /// Whether the signature is good for the checkpoint's own public key.
    pub fn signature_ok(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.public_key) else { return false };
        let msg = checkpoint_message(self.seq, &self.head_hash, self.at_us, &self.public_key);
        key.verify(&msg, &Signature::from_bytes(&self.signature)).is_ok()
    }
}

fn checkpoint_message(seq: u64, head: &Hash, at_us: i64, public_key: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 32 + 8 + 32);
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(head);
    m.extend_from_slice(&at_us.to_be_bytes());
    m.extend_from_slice(public_key);
    m
}

/// A short, stable name for a console's public key, for people to compare:
/// `ed25519:` and the first 16 bytes of its SHA-256, in hex.
pub fn key_fingerprint(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    format!("ed25519:{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod retention_tests;
#[cfg(test)]
mod tests;
