//! Who may do what: roles, the one permission matrix, password and PIN
//! hashes, and the lockout after failed attempts. Pure: no I/O, no clock
//! (times are passed in), so every rule is tested with a virtual clock;
//! except `screen`, which watches the OS screen lock on the session bus.
//!
//! The matrix ([`permits`]) is the one place that says which role may run
//! which [`Operation`]; the Tauri commands and the CLI name the operation
//! each of them is (`src-tauri`'s `access_of`, the CLI's `operation_of`),
//! and a test fails for a command that names none.

pub mod lockout;
pub mod screen;
pub mod seat;
pub mod secret;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use lockout::{Lockout, LOCK_AFTER};
pub use seat::{Seat, SeatState};
pub use secret::{hash_password, hash_pin, verify, SecretError};

/// What a person is at the console. A person may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Their wards: see, acknowledge, confirm ward coverage.
    Nurse,
    /// Signs off care-disruptive actions.
    Clinician,
    /// Triage, mute, maintenance windows, request actions.
    SecurityOfficer,
    /// Configuration, users, listeners, keys.
    Admin,
    /// Reads history and verifies it; changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] =
        [Self::Nurse, Self::Clinician, Self::SecurityOfficer, Self::Admin, Self::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nurse => "nurse",
            Self::Clinician => "clinician",
            Self::SecurityOfficer => "security_officer",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Nurse => "nurse",
            Self::Clinician => "clinician",
            Self::SecurityOfficer => "security officer",
            Self::Admin => "administrator",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().replace('-', "_");
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything the console lets a person do, as the matrix knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Wards, devices, their health (a nurse: her wards only).
    ViewHospital,
    /// Alerts and messages not understood.
    ViewAlerts,
    /// Incidents (a nurse: her wards' only).
    ViewIncidents,
    /// Acknowledge, silence, comment (a nurse: her wards' only).
    AcknowledgeIncident,
    /// Assign, mute, resolve, reopen.
    TriageIncident,
    /// Maintenance windows.
    ManageMaintenance,
    /// Put a staged device in a ward, set clinical use by hand.
    ChangeDevice,
    /// Import or export the inventory.
    ManageInventory,
    /// Listener counters, store health, the audit check.
    ViewStatus,
    /// Read and verify the audit log, export it for review.
    ReviewAudit,
    /// Retention: archive the front of the audit log.
    ArchiveAudit,
    /// Accounts and roles.
    ManageUsers,
    /// Keys, tokens, configuration, starting the console.
    Administer,
    /// Ask for a response action, withdraw it, tick off its checklist.
    RequestResponse,
    /// Confirm the ward is covering, record a device out of use, refuse
    /// (a nurse: her wards' only).
    ConfirmCoverage,
    /// Sign off a care-disruptive action, break the glass.
    SignOffResponse,
}

impl Operation {
    pub const ALL: [Operation; 16] = [
        Self::ViewHospital,
        Self::ViewAlerts,
        Self::ViewIncidents,
        Self::AcknowledgeIncident,
        Self::TriageIncident,
        Self::ManageMaintenance,
        Self::ChangeDevice,
        Self::ManageInventory,
        Self::ViewStatus,
        Self::ReviewAudit,
        Self::ArchiveAudit,
        Self::ManageUsers,
        Self::Administer,
        Self::RequestResponse,
        Self::ConfirmCoverage,
        Self::SignOffResponse,
    ];

    /// Whether a nurse may do it only for her own wards.
    pub fn ward_scoped(self) -> bool {
        matches!(
            self,
            Self::ViewHospital | Self::ViewIncidents | Self::AcknowledgeIncident | Self::ConfirmCoverage
        )
    }
}

/// The permission matrix: whether `role` may do `op`.
pub fn role_permits(role: Role, op: Operation) -> bool {
    use Operation::*;
    match role {
        Role::Nurse => matches!(op, ViewHospital | ViewIncidents | AcknowledgeIncident | ConfirmCoverage),
        Role::Clinician => matches!(
            op,
            ViewHospital
                | ViewIncidents
                | AcknowledgeIncident
                | ViewAlerts
                | ConfirmCoverage
                | SignOffResponse
        ),
        Role::SecurityOfficer => matches!(
            op,
            ViewHospital
                | ViewAlerts
                | ViewIncidents
                | AcknowledgeIncident
                | TriageIncident
                | ManageMaintenance
                | ChangeDevice
                | ManageInventory
                | ViewStatus
                | RequestResponse
        ),
        Role::Admin => matches!(
            op,
            ViewHospital
                | ViewAlerts
                | ViewIncidents
                | ViewStatus
                | ManageInventory
                | ManageUsers
                | Administer
                | ArchiveAudit
        ),
        Role::Auditor => matches!(op, ViewHospital | ViewAlerts | ViewIncidents | ViewStatus | ReviewAudit),
    }
}

/// Whether any of `roles` may do `op`.
pub fn permits(roles: &BTreeSet<Role>, op: Operation) -> bool {
    roles.iter().any(|r| role_permits(*r, op))
}

/// Whether `roles` may do `op` beyond a nurse's wards: a ward-scoped
/// operation is unscoped when another role the person holds permits it.
pub fn unscoped(roles: &BTreeSet<Role>, op: Operation) -> bool {
    roles.iter().any(|r| *r != Role::Nurse && role_permits(*r, op)) || !op.ward_scoped()
}

/// Why the matrix refused an operation, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("your role ({roles}) may not {what}: ask {who}")]
    Role { roles: String, what: &'static str, who: &'static str },
    #[error("ward {0} is not one of your wards")]
    Ward(String),
}

impl Operation {
    /// What it is, after "may not".
    pub fn words(self) -> &'static str {
        match self {
            Self::ViewHospital => "see the wards",
            Self::ViewAlerts => "see the alerts",
            Self::ViewIncidents => "see the incidents",
            Self::AcknowledgeIncident => "acknowledge incidents",
            Self::TriageIncident => "assign, mute or resolve incidents",
            Self::ManageMaintenance => "plan maintenance windows",
            Self::ChangeDevice => "change devices",
            Self::ManageInventory => "import the inventory",
            Self::ViewStatus => "see the listeners and the store",
            Self::ReviewAudit => "review the audit log",
            Self::ArchiveAudit => "archive the audit log",
            Self::ManageUsers => "manage people",
            Self::Administer => "change the configuration or keys",
            Self::RequestResponse => "request response actions",
            Self::ConfirmCoverage => "confirm ward coverage for a response",
            Self::SignOffResponse => "sign off care-disruptive actions",
        }
    }

    /// Who may, to ask.
    fn who(self) -> &'static str {
        match self {
            Self::ReviewAudit => "an auditor",
            Self::ManageUsers | Self::Administer | Self::ArchiveAudit => "an administrator",
            Self::ConfirmCoverage => "a nurse of the ward or a clinician",
            Self::SignOffResponse => "a clinician",
            _ => "a security officer",
        }
    }
}

/// Whether a person with `roles` (a nurse covering `wards`) may do `op`,
/// on something in `ward` when it is in one.
pub fn authorize(
    roles: &BTreeSet<Role>,
    wards: &[crate::hospital::WardId],
    op: Operation,
    ward: Option<&crate::hospital::WardId>,
) -> Result<(), Refused> {
    if !permits(roles, op) {
        let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
        return Err(Refused::Role { roles: names.join(", "), what: op.words(), who: op.who() });
    }
    match ward {
        Some(w) if !unscoped(roles, op) && !wards.contains(w) => Err(Refused::Ward(w.to_string())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(roles: &[Role]) -> BTreeSet<Role> {
        roles.iter().copied().collect()
    }

    #[test]
    fn the_matrix_as_the_roles_are_described() {
        use Operation::*;
        let allowed = |r: Role| -> Vec<Operation> {
            Operation::ALL.into_iter().filter(|o| role_permits(r, *o)).collect()
        };
        assert_eq!(allowed(Role::Nurse), [ViewHospital, ViewIncidents, AcknowledgeIncident, ConfirmCoverage]);
        assert_eq!(
            allowed(Role::Clinician),
            [ViewHospital, ViewAlerts, ViewIncidents, AcknowledgeIncident, ConfirmCoverage, SignOffResponse]
        );
        assert_eq!(
            allowed(Role::SecurityOfficer),
            [
                ViewHospital,
                ViewAlerts,
                ViewIncidents,
                AcknowledgeIncident,
                TriageIncident,
                ManageMaintenance,
                ChangeDevice,
                ManageInventory,
                ViewStatus,
                RequestResponse
            ]
        );
        assert_eq!(
            allowed(Role::Admin),
            [
                ViewHospital,
                ViewAlerts,
                ViewIncidents,
                ManageInventory,
                ViewStatus,
                ArchiveAudit,
                ManageUsers,
                Administer
            ]
        );
        assert_eq!(
            allowed(Role::Auditor),
            [ViewHospital, ViewAlerts, ViewIncidents, ViewStatus, ReviewAudit]
        );
    }

    #[test]
    fn the_auditor_changes_nothing_and_only_admins_manage_people() {
        let changes = [
            Operation::AcknowledgeIncident,
            Operation::TriageIncident,
            Operation::ManageMaintenance,
            Operation::ChangeDevice,
            Operation::ManageInventory,
            Operation::ArchiveAudit,
            Operation::ManageUsers,
            Operation::Administer,
            Operation::RequestResponse,
            Operation::ConfirmCoverage,
            Operation::SignOffResponse,
        ];
        assert!(changes.iter().all(|o| !role_permits(Role::Auditor, *o)));
        for r in Role::ALL {
            assert_eq!(role_permits(r, Operation::ManageUsers), r == Role::Admin, "{r:?}");
        }
    }

    #[test]
    fn a_nurse_is_scoped_to_her_wards_unless_another_role_says_otherwise() {
        assert!(!unscoped(&set(&[Role::Nurse]), Operation::ViewIncidents));
        assert!(unscoped(&set(&[Role::Nurse, Role::SecurityOfficer]), Operation::ViewIncidents));
        assert!(unscoped(&set(&[Role::Nurse]), Operation::ViewAlerts), "not ward-scoped (and not permitted)");
        assert!(!permits(&set(&[Role::Nurse]), Operation::TriageIncident));
        assert!(permits(&set(&[Role::Nurse, Role::Clinician]), Operation::ViewAlerts));
    }

    #[test]
    fn refusals_say_why_in_words() {
        let icu = crate::hospital::WardId("icu".into());
        let ed = crate::hospital::WardId("ed".into());
        let nurse = set(&[Role::Nurse]);
        assert_eq!(
            authorize(&nurse, std::slice::from_ref(&ed), Operation::AcknowledgeIncident, Some(&ed)),
            Ok(())
        );
        assert_eq!(
            authorize(&nurse, std::slice::from_ref(&ed), Operation::AcknowledgeIncident, Some(&icu))
                .map_err(|e| e.to_string()),
            Err("ward icu is not one of your wards".into())
        );
        assert_eq!(
            authorize(&nurse, &[ed], Operation::TriageIncident, None).map_err(|e| e.to_string()),
            Err("your role (nurse) may not assign, mute or resolve incidents: ask a security officer".into())
        );
        assert_eq!(
            authorize(&set(&[Role::SecurityOfficer]), &[], Operation::AcknowledgeIncident, Some(&icu)),
            Ok(())
        );
    }

    #[test]
    fn roles_read_back_as_written() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("security-officer"), Some(Role::SecurityOfficer));
        assert_eq!(Role::parse("root"), None);
    }
}
