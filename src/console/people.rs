//! People at the console: logins and account changes through the people's
//! connection, and the audit records of locks, logouts and refusals.

use std::collections::BTreeSet;
use std::sync::PoisonError;

use chrono::Utc;

use super::{Console, ConsoleError};
use crate::access::{Operation, Role};
use crate::audit::{kind, Entry};
use crate::hospital::WardId;
use crate::store::{Person, Proof, StoreError};

impl Console {
    /// Checks who someone says they are (audited either way).
    pub fn authenticate(&self, username: &str, proof: Proof<'_>) -> Result<Person, ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.authenticate(username, proof, Utc::now())?)
    }

    /// Whether an administrator exists (until then the window asks for one).
    pub fn has_admin(&self) -> Result<bool, ConsoleError> {
        let store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.has_admin()?)
    }

    pub fn people(&self) -> Result<Vec<Person>, ConsoleError> {
        let store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.people()?)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_person(
        &self,
        username: &str,
        display_name: &str,
        roles: &BTreeSet<Role>,
        wards: &[WardId],
        password: &str,
        actor: &str,
    ) -> Result<Person, ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.add_person(username, display_name, roles, wards, password, actor, Utc::now())?)
    }

    /// An administrator's change of `username`'s roles, wards and disabled flag.
    pub fn change_person(
        &self,
        username: &str,
        roles: &BTreeSet<Role>,
        wards: &[WardId],
        disabled: bool,
        actor: &str,
    ) -> Result<Person, ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.change_person(username, Some(roles), Some(wards), Some(disabled), actor, Utc::now())?)
    }

    pub fn set_pin(&self, username: &str, pin: &str) -> Result<(), ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.set_pin(username, pin, username, Utc::now())?)
    }

    /// Records that `who` was refused `op` by the matrix (`command`: what they tried).
    pub fn record_refusal(
        &self,
        who: &str,
        op: Operation,
        command: &str,
        why: &str,
    ) -> Result<(), ConsoleError> {
        let body = serde_json::json!({"operation": op, "command": command, "why": why});
        self.record_person(who, kind::REFUSED, &body)
    }

    /// Records a lock (`idle` or by hand) or a logout of `who`'s seat.
    pub fn record_seat(&self, who: &str, what: &str) -> Result<(), ConsoleError> {
        self.record_person(who, kind::LOGOUT, &serde_json::json!({"username": who, "how": what}))
    }

    fn record_person(&self, who: &str, kind: &str, body: &serde_json::Value) -> Result<(), ConsoleError> {
        let entry = Entry::new(Utc::now(), who, kind, body).map_err(StoreError::from)?;
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        store.record([entry])?;
        Ok(())
    }

    /// How long a seat may idle before it locks, and whether a locked seat
    /// shows the ward overview without details.
    pub fn access_settings(&self) -> crate::config::AccessSettings {
        self.access
    }
}
