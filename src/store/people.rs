//! Local accounts: people, their roles and wards, their password and PIN
//! hashes, and the lockout after failed attempts. Every change, every
//! login, failure and lockout is written with its audit record in one
//! transaction. A secret is never stored, logged or put in a record: only
//! its Argon2id hash is kept, and records say what happened, not with what.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::hospital::sqlite;
use super::{micros, Store, StoreError};
use crate::access::{self, Lockout, Role, SecretError};
use crate::audit::{kind, Entry};
use crate::hospital::WardId;

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub username: String,
    pub display_name: String,
    pub roles: BTreeSet<Role>,
    /// For a nurse: the wards she covers.
    pub wards: Vec<WardId>,
    pub has_pin: bool,
    pub disabled: bool,
    pub last_full_login: Option<DateTime<Utc>>,
}

/// Why a login or an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong secret: the same answer for both.
    #[error("the user name or the password is wrong")]
    Wrong,
    #[error("too many failed attempts: try again after {0}")]
    Locked(DateTime<Utc>),
    #[error("this account is disabled")]
    Disabled,
    #[error("a PIN works only after a full login with the password today")]
    NeedsFullLogin,
    #[error("there is already a person named {0}")]
    Exists(String),
    #[error("a user name is 2 to 64 letters, digits, '.', '_' or '-'")]
    BadName,
    #[error("a person needs at least one role")]
    NoRole,
    #[error("a nurse covers at least one ward (--ward)")]
    NurseWithoutWard,
    #[error("the last administrator keeps the role: add another administrator first")]
    LastAdmin,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Wrong => "auth.wrong",
            Self::Locked(_) => "auth.locked",
            Self::Disabled => "auth.disabled",
            Self::NeedsFullLogin => "auth.needs_full_login",
            Self::Exists(_) => "person.exists",
            Self::BadName => "person.bad_name",
            Self::NoRole => "person.no_role",
            Self::NurseWithoutWard => "person.nurse_without_ward",
            Self::LastAdmin => "person.last_admin",
            Self::Secret(e) => e.code(),
            Self::Store(e) => e.code(),
        }
    }
}

impl From<crate::audit::AuditError> for AuthError {
    fn from(e: crate::audit::AuditError) -> Self {
        Self::Store(e.into())
    }
}

/// How a person proves who they are.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    Password(&'a str),
    /// The short PIN of a shared station, after a full login that day.
    Pin(&'a str),
}

impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password(..)",
            Self::Pin(_) => "Pin(..)",
        })
    }
}

fn valid_name(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

struct Row {
    person: Person,
    password_hash: String,
    pin_hash: Option<String>,
    lockout: Lockout,
}

const COLUMNS: &str =
    "username, display_name, roles, wards, password_hash, pin_hash, full_login_us, failures,
    locked_until_us, disabled";

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let roles: String = r.get(2)?;
    let wards: String = r.get(3)?;
    let pin_hash: Option<String> = r.get(5)?;
    Ok(Row {
        person: Person {
            username: r.get(0)?,
            display_name: r.get(1)?,
            roles: serde_json::from_str(&roles).unwrap_or_default(),
            wards: serde_json::from_str(&wards).unwrap_or_default(),
            has_pin: pin_hash.is_some(),
            disabled: r.get(9)?,
            last_full_login: r.get::<_, Option<i64>>(6)?.and_then(micros),
        },
        password_hash: r.get(4)?,
        pin_hash,
        lockout: Lockout {
            failures: r.get::<_, i64>(7)?.clamp(0, i64::from(u32::MAX)) as u32,
            locked_until: r.get::<_, Option<i64>>(8)?.and_then(micros),
        },
    })
}

impl Store {
    /// Every person, by user name.
    pub fn people(&self) -> Result<Vec<Person>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM people ORDER BY username"))
            .map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map([], row_of).map_err(|e| self.wrap(e))?;
        rows.map(|r| r.map(|r| r.person)).collect::<rusqlite::Result<_>>().map_err(|e| self.wrap(e))
    }

    fn person_row(&self, username: &str) -> Result<Option<Row>, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM people WHERE username = ?1"))
            .and_then(|mut s| s.query_row([username], row_of).optional())
            .map_err(|e| self.wrap(e))
    }

    /// Whether anyone holds the admin role: until then the console asks
    /// for its first administrator.
    pub fn has_admin(&self) -> Result<bool, StoreError> {
        Ok(self.people()?.iter().any(|p| p.roles.contains(&Role::Admin) && !p.disabled))
    }

    /// Makes an account, audited (`person.added`, never with the password).
    #[allow(clippy::too_many_arguments)]
    pub fn add_person(
        &mut self,
        username: &str,
        display_name: &str,
        roles: &BTreeSet<Role>,
        wards: &[WardId],
        password: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Person, AuthError> {
        let username = username.trim();
        if !valid_name(username) {
            return Err(AuthError::BadName);
        }
        if roles.is_empty() {
            return Err(AuthError::NoRole);
        }
        if roles.contains(&Role::Nurse) && wards.is_empty() {
            return Err(AuthError::NurseWithoutWard);
        }
        if self.person_row(username)?.is_some() {
            return Err(AuthError::Exists(username.to_owned()));
        }
        let known: Vec<WardId> = self.wards()?.into_iter().map(|w| w.id).collect();
        if let Some(w) = wards.iter().find(|w| !known.contains(w)) {
            return Err(StoreError::UnknownWard(w.to_string()).into());
        }
        let hash = access::hash_password(password)?;
        let display = Some(display_name.trim()).filter(|d| !d.is_empty()).unwrap_or(username);
        #[derive(Serialize)]
        struct Body<'a> {
            username: &'a str,
            display_name: &'a str,
            roles: &'a BTreeSet<Role>,
            wards: &'a [WardId],
        }
        let body = Body { username, display_name: display, roles, wards };
        let entry = Entry::new(now, actor, kind::PERSON_ADDED, &body)?;
        let roles_json = serde_json::to_string(roles).map_err(crate::audit::AuditError::from)?;
        let wards_json = serde_json::to_string(wards).map_err(crate::audit::AuditError::from)?;
        self.change(vec![entry], |tx| {
            tx.execute(
                "INSERT INTO people (username, display_name, roles, wards, password_hash, created_us, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![username, display, roles_json, wards_json, hash, now.timestamp_micros(), actor],
            )
            .map_err(|e| sqlite(tx, e))?;
            Ok(())
        })?;
        self.person_row(username)?.map(|r| r.person).ok_or(AuthError::Wrong)
    }

    /// Sets a person's PIN for fast re-entry at a shared station, audited.
    pub fn set_pin(
        &mut self,
        username: &str,
        pin: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        self.person_row(username)?.ok_or(AuthError::Wrong)?;
        let hash = access::hash_pin(pin)?;
        let entry = Entry::new(
            now,
            actor,
            kind::PERSON_CHANGED,
            &serde_json::json!({"username": username, "pin": "set"}),
        )?;
        self.change(vec![entry], |tx| {
            tx.execute("UPDATE people SET pin_hash = ?2 WHERE username = ?1", params![username, hash])
                .map_err(|e| sqlite(tx, e))?;
            Ok(())
        })?;
        Ok(())
    }

    /// Changes a person's roles and wards, or disables (or enables) the
    /// account, audited (`person.changed` with before and after). The last
    /// administrator cannot lose the role or be disabled.
    pub fn change_person(
        &mut self,
        username: &str,
        roles: Option<&BTreeSet<Role>>,
        wards: Option<&[WardId]>,
        disabled: Option<bool>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Person, AuthError> {
        let before = self.person_row(username)?.ok_or(AuthError::Wrong)?.person;
        let roles = roles.cloned().unwrap_or_else(|| before.roles.clone());
        let wards = wards.map(<[WardId]>::to_vec).unwrap_or_else(|| before.wards.clone());
        let disabled = disabled.unwrap_or(before.disabled);
        if roles.is_empty() {
            return Err(AuthError::NoRole);
        }
        if roles.contains(&Role::Nurse) && wards.is_empty() {
            return Err(AuthError::NurseWithoutWard);
        }
        let known: Vec<WardId> = self.wards()?.into_iter().map(|w| w.id).collect();
        if let Some(w) = wards.iter().find(|w| !known.contains(w)) {
            return Err(StoreError::UnknownWard(w.to_string()).into());
        }
        let still_admin = roles.contains(&Role::Admin) && !disabled;
        let others = self
            .people()?
            .into_iter()
            .any(|p| p.username != username && p.roles.contains(&Role::Admin) && !p.disabled);
        if before.roles.contains(&Role::Admin) && !still_admin && !others {
            return Err(AuthError::LastAdmin);
        }
        let body = serde_json::json!({
            "username": username,
            "before": {"roles": before.roles, "wards": before.wards, "disabled": before.disabled},
            "after": {"roles": roles, "wards": wards, "disabled": disabled},
        });
        let entry = Entry::new(now, actor, kind::PERSON_CHANGED, &body)?;
        let roles_json = serde_json::to_string(&roles).map_err(crate::audit::AuditError::from)?;
        let wards_json = serde_json::to_string(&wards).map_err(crate::audit::AuditError::from)?;
        self.change(vec![entry], |tx| {
            tx.execute(
                "UPDATE people SET roles = ?2, wards = ?3, disabled = ?4 WHERE username = ?1",
                params![username, roles_json, wards_json, disabled],
            )
            .map_err(|e| sqlite(tx, e))?;
            Ok(())
        })?;
        self.person_row(username)?.map(|r| r.person).ok_or(AuthError::Wrong)
    }

    /// Checks who someone says they are at `now`: a login, a failure (and
    /// the lock it may start) or a refusal while locked, each audited. An
    /// unknown name and a wrong secret get the same answer.
    pub fn authenticate(
        &mut self,
        username: &str,
        proof: Proof<'_>,
        now: DateTime<Utc>,
    ) -> Result<Person, AuthError> {
        let username = username.trim();
        let how = match proof {
            Proof::Password(_) => "password",
            Proof::Pin(_) => "pin",
        };
        let Some(row) = self.person_row(username)? else {
            let entry = Entry::new(
                now,
                "console",
                kind::LOGIN_FAILED,
                &serde_json::json!({"username": username, "with": how, "why": "unknown user"}),
            )?;
            self.record([entry])?;
            return Err(AuthError::Wrong);
        };
        if row.person.disabled {
            let entry = Entry::new(
                now,
                "console",
                kind::LOGIN_FAILED,
                &serde_json::json!({"username": username, "with": how, "why": "disabled"}),
            )?;
            self.record([entry])?;
            return Err(AuthError::Disabled);
        }
        if let Some(until) = row.lockout.locked_at(now) {
            let entry = Entry::new(
                now,
                "console",
                kind::LOGIN_FAILED,
                &serde_json::json!({"username": username, "with": how, "why": "locked", "until": until}),
            )?;
            self.record([entry])?;
            return Err(AuthError::Locked(until));
        }
        let ok = match proof {
            Proof::Password(p) => access::verify(&row.password_hash, p),
            Proof::Pin(p) => {
                let today = row.person.last_full_login.is_some_and(|t| t.date_naive() == now.date_naive());
                if !today {
                    let entry = Entry::new(
                        now,
                        "console",
                        kind::LOGIN_FAILED,
                        &serde_json::json!({"username": username, "with": how, "why": "no full login today"}),
                    )?;
                    self.record([entry])?;
                    return Err(AuthError::NeedsFullLogin);
                }
                row.pin_hash.as_deref().is_some_and(|h| access::verify(h, p))
            }
        };
        let mut lockout = row.lockout;
        if ok {
            lockout.succeed();
            let entry = Entry::new(
                now,
                username,
                kind::LOGIN,
                &serde_json::json!({"username": username, "with": how, "roles": row.person.roles}),
            )?;
            let full = matches!(proof, Proof::Password(_));
            self.change(vec![entry], |tx| {
                tx.execute(
                    "UPDATE people SET failures = 0, locked_until_us = NULL,
                        full_login_us = CASE WHEN ?2 THEN ?3 ELSE full_login_us END WHERE username = ?1",
                    params![username, full, now.timestamp_micros()],
                )
                .map_err(|e| sqlite(tx, e))?;
                Ok(())
            })?;
            return self.person_row(username)?.map(|r| r.person).ok_or(AuthError::Wrong);
        }
        let locked = lockout.fail(now);
        let mut entries = vec![Entry::new(
            now,
            "console",
            kind::LOGIN_FAILED,
            &serde_json::json!({"username": username, "with": how, "why": "wrong secret", "failures": lockout.failures}),
        )?];
        if let Some(until) = locked {
            entries.push(Entry::new(
                now,
                "console",
                kind::LOCKED_OUT,
                &serde_json::json!({"username": username, "until": until, "failures": lockout.failures}),
            )?);
        }
        self.change(entries, |tx| {
            tx.execute(
                "UPDATE people SET failures = ?2, locked_until_us = ?3 WHERE username = ?1",
                params![username, lockout.failures, lockout.locked_until.map(|t| t.timestamp_micros())],
            )
            .map_err(|e| sqlite(tx, e))?;
            Ok(())
        })?;
        Err(locked.map_or(AuthError::Wrong, AuthError::Locked))
    }
}
