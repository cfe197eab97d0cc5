//! People and the seat, as the window shows them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use wardwatch::access;
use wardwatch::store::Person;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Nurse,
    Clinician,
    SecurityOfficer,
    Admin,
    Auditor,
}

impl From<access::Role> for Role {
    fn from(r: access::Role) -> Self {
        match r {
            access::Role::Nurse => Self::Nurse,
            access::Role::Clinician => Self::Clinician,
            access::Role::SecurityOfficer => Self::SecurityOfficer,
            access::Role::Admin => Self::Admin,
            access::Role::Auditor => Self::Auditor,
        }
    }
}

impl From<Role> for access::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Nurse => Self::Nurse,
            Role::Clinician => Self::Clinician,
            Role::SecurityOfficer => Self::SecurityOfficer,
            Role::Admin => Self::Admin,
            Role::Auditor => Self::Auditor,
        }
    }
}

/// A person with an account (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub role_labels: Vec<String>,
    /// For a nurse: the wards she covers.
    pub wards: Vec<String>,
    pub has_pin: bool,
    /// Cannot log in.
    pub disabled: bool,
}

impl From<&Person> for UserView {
    fn from(p: &Person) -> Self {
        Self {
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            roles: p.roles.iter().map(|r| Role::from(*r)).collect(),
            role_labels: p.roles.iter().map(|r| r.label().to_owned()).collect(),
            wards: p.wards.iter().map(|w| w.as_str().to_owned()).collect(),
            has_pin: p.has_pin,
            disabled: p.disabled,
        }
    }
}

/// Who holds the window's seat: nobody (log in), someone (working), or
/// someone whose seat is locked (unlock, or switch user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: Option<UserView>,
    pub locked: bool,
    /// No administrator yet: the window asks for the first one.
    pub needs_first_admin: bool,
    /// A locked seat shows each ward's health without details.
    pub locked_overview: bool,
    #[ts(type = "number")]
    pub idle_lock_secs: u64,
}
