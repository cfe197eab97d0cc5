//! Who is acting: the window's seat, the login and lock commands, and the
//! check every other command makes first (the permission matrix is the
//! core's: `wardwatch::access::authorize`). Refusals are audited.

use std::collections::BTreeSet;

use chrono::Utc;
use tauri::State;
use wardwatch::access::{self, Operation, SeatState};
use wardwatch::hospital::WardId;
use wardwatch::store::{Person, Proof};
use wardwatch::Console;

use crate::dto::{capitalised, Role, SessionView, UserView, WardsOverview};
use crate::error::IpcError;
use crate::state::AppState;

/// What a command needs of the person at the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The seat's own commands (log in, lock, ...): anyone at the window.
    Seat,
    /// An operation of the permission matrix.
    Operation(Operation),
}

/// The access each command needs. Every command of `build.rs` has an
/// entry: a test fails for one that has none.
pub fn access_of(command: &str) -> Option<Access> {
    use Operation::*;
    let op = match command {
        "session_status" | "login" | "login_pin" | "lock" | "logout" | "create_first_admin" | "set_pin"
        | "locked_overview" | "console_info" => return Some(Access::Seat),
        "list_alerts" | "list_rejected" | "subscribe_alerts" => ViewAlerts,
        "listener_status" | "integrity_status" => ViewStatus,
        "wards_overview" | "ward_detail" | "device_detail" => ViewHospital,
        "staged_queue" | "assign_device" | "set_clinical_use" => ChangeDevice,
        "inventory_preview" | "inventory_import" => ManageInventory,
        "list_incidents" | "incident_detail" | "list_maintenance" | "incident_playbook"
        | "open_responses" | "response_detail" => ViewIncidents,
        "request_response" | "tick_response" => RequestResponse,
        "response_step" => ConfirmCoverage,
        "incident_act" => AcknowledgeIncident,
        "add_maintenance" | "end_maintenance" => ManageMaintenance,
        "list_users" | "add_user" | "update_user" => ManageUsers,
        _ => return None,
    };
    Some(Access::Operation(op))
}

/// The person a command acts as, and the wards it is limited to (a nurse's).
pub struct Acting {
    pub person: Person,
    /// `Some`: only these wards' devices and incidents.
    pub wards: Option<Vec<WardId>>,
}

impl Acting {
    pub fn actor(&self) -> &str {
        &self.person.username
    }

    pub fn sees(&self, ward: Option<&WardId>) -> bool {
        match (&self.wards, ward) {
            (None, _) => true,
            (Some(mine), Some(w)) => mine.contains(w),
            (Some(_), None) => false,
        }
    }
}

impl AppState {
    /// The person `command` acts as, checked against the matrix for `op`
    /// (the command's own entry when `None`) on `ward`; the seat counts it
    /// as activity. Refused without a person, on a locked seat, or by the
    /// matrix (audited).
    pub fn acting(
        &self,
        command: &str,
        op: Option<Operation>,
        ward: Option<&WardId>,
    ) -> Result<Acting, IpcError> {
        let console = self.console()?;
        let op = match (op, access_of(command)) {
            (Some(op), _) | (None, Some(Access::Operation(op))) => op,
            (None, Some(Access::Seat)) => {
                return Err(IpcError::new("access.internal", "a seat command has no operation"))
            }
            (None, None) => {
                return Err(IpcError::new("access.unknown_command", format!("{command} has no access entry")))
            }
        };
        let now = Utc::now();
        let person = match self.seat_state(console, now) {
            SeatState::Empty => return Err(IpcError::new("auth.required", "Log in first.")),
            SeatState::Locked(_) => {
                return Err(IpcError::new("auth.session_locked", "The console is locked: unlock it first."))
            }
            SeatState::Active(p) => p,
        };
        if let Err(why) = access::authorize(&person.roles, &person.wards, op, ward) {
            if let Err(e) = console.record_refusal(&person.username, op, command, &why.to_string()) {
                tracing::error!(error = %e, "A refusal could not be recorded in the audit log.");
            }
            return Err(IpcError::new("access.refused", capitalised(&why.to_string())));
        }
        self.seat().touch(now);
        let wards = (!access::unscoped(&person.roles, op)).then(|| person.wards.clone());
        Ok(Acting { person, wards })
    }

    /// [`AppState::acting`] on something in `ward`, or in no ward: a person
    /// limited to wards (a nurse) is refused what is in none of hers.
    pub fn acting_in(
        &self,
        command: &str,
        op: Option<Operation>,
        ward: Option<&WardId>,
    ) -> Result<Acting, IpcError> {
        let outside = WardId("outside any ward".into());
        self.acting(command, op, Some(ward.unwrap_or(&outside)))
    }

    /// Locks the seat because the operating system's screen locked.
    pub fn lock_with_screen(&self) {
        let who = match self.seat().state(Utc::now()) {
            SeatState::Active(p) => Some(p.username),
            _ => None,
        };
        self.seat().lock();
        if let (Some(who), Ok(console)) = (who, self.console()) {
            if let Err(e) = console.record_seat(&who, "locked with the screen") {
                tracing::error!(error = %e, "A lock could not be recorded in the audit log.");
            }
        }
    }

    /// The seat at `now`, recording an idle lock once.
    fn seat_state(&self, console: &Console, now: chrono::DateTime<Utc>) -> SeatState<Person> {
        let mut seat = self.seat();
        let idle = seat.idle_at(now);
        let state = seat.state(now);
        drop(seat);
        if let (true, SeatState::Locked(p)) = (idle, &state) {
            if let Err(e) = console.record_seat(&p.username, "locked when idle") {
                tracing::error!(error = %e, "A lock could not be recorded in the audit log.");
            }
        }
        state
    }

    fn session_view(&self, console: &Console) -> Result<SessionView, IpcError> {
        let settings = console.access_settings();
        let (user, locked) = match self.seat_state(console, Utc::now()) {
            SeatState::Empty => (None, false),
            SeatState::Active(p) => (Some(UserView::from(&p)), false),
            SeatState::Locked(p) => (Some(UserView::from(&p)), true),
        };
        Ok(SessionView {
            user,
            locked,
            needs_first_admin: !console.has_admin()?,
            locked_overview: settings.locked_overview,
            idle_lock_secs: settings.idle_lock_secs,
        })
    }
}

fn auth_error(e: wardwatch::ConsoleError) -> IpcError {
    match e {
        wardwatch::ConsoleError::Auth(a) => IpcError::new(a.code(), capitalised(&a.to_string())),
        other => other.into(),
    }
}

/// Who holds the seat now (does not count as activity).
#[tauri::command]
pub fn session_status(state: State<'_, AppState>) -> Result<SessionView, IpcError> {
    state.session_view(state.console()?)
}

fn log_in(state: &AppState, username: &str, proof: Proof<'_>) -> Result<SessionView, IpcError> {
    let console = state.console()?;
    let person = console.authenticate(username, proof).map_err(auth_error)?;
    // A PIN unlocks only the seat's own person.
    if let (Proof::Pin(_), SeatState::Locked(p)) = (proof, state.seat().state(Utc::now())) {
        if p.username != person.username {
            return Err(IpcError::new("auth.wrong", "The user name or the PIN is wrong"));
        }
    }
    state.seat().login(person, Utc::now());
    state.session_view(console)
}

#[tauri::command]
pub fn login(
    state: State<'_, AppState>,
    username: String,
    password: String,
) -> Result<SessionView, IpcError> {
    log_in(&state, &username, Proof::Password(&password))
}

/// Unlocks (or logs in at a shared station) with a PIN, after a full login that day.
#[tauri::command]
pub fn login_pin(state: State<'_, AppState>, username: String, pin: String) -> Result<SessionView, IpcError> {
    log_in(&state, &username, Proof::Pin(&pin))
}

/// Locks the seat at once (one key); its person unlocks it.
#[tauri::command]
pub fn lock(state: State<'_, AppState>) -> Result<SessionView, IpcError> {
    let console = state.console()?;
    let who = match state.seat().state(Utc::now()) {
        SeatState::Active(p) => Some(p.username),
        _ => None,
    };
    state.seat().lock();
    if let Some(who) = who {
        console.record_seat(&who, "locked").map_err(IpcError::from)?;
    }
    state.session_view(console)
}

/// Empties the seat (switch user: the next person starts clean).
#[tauri::command]
pub fn logout(state: State<'_, AppState>) -> Result<SessionView, IpcError> {
    let console = state.console()?;
    if let Some(p) = state.seat().logout() {
        console.record_seat(&p.username, "logged out").map_err(IpcError::from)?;
    }
    state.session_view(console)
}

/// The first administrator, made from the window while there is none.
#[tauri::command]
pub fn create_first_admin(
    state: State<'_, AppState>,
    username: String,
    display_name: String,
    password: String,
) -> Result<SessionView, IpcError> {
    let console = state.console()?;
    if console.has_admin()? {
        return Err(IpcError::new(
            "access.admin_exists",
            "There is an administrator already: ask them to add you.",
        ));
    }
    let roles: BTreeSet<access::Role> = [access::Role::Admin].into();
    console.add_person(&username, &display_name, &roles, &[], &password, "first run").map_err(auth_error)?;
    log_in(&state, &username, Proof::Password(&password))
}

/// Sets the seat's person's own PIN.
#[tauri::command]
pub fn set_pin(state: State<'_, AppState>, pin: String) -> Result<UserView, IpcError> {
    let console = state.console()?;
    let who = match state.seat().state(Utc::now()) {
        SeatState::Active(p) => p,
        SeatState::Locked(_) => {
            return Err(IpcError::new("auth.session_locked", "The console is locked: unlock it first."))
        }
        SeatState::Empty => return Err(IpcError::new("auth.required", "Log in first.")),
    };
    console.set_pin(&who.username, &pin).map_err(auth_error)?;
    let me = console.people()?.into_iter().find(|p| p.username == who.username);
    me.as_ref().map(UserView::from).ok_or_else(|| IpcError::new("auth.required", "Log in first."))
}

#[tauri::command]
pub fn list_users(state: State<'_, AppState>) -> Result<Vec<UserView>, IpcError> {
    state.acting("list_users", None, None)?;
    Ok(state.console()?.people()?.iter().map(UserView::from).collect())
}

#[tauri::command]
pub fn add_user(
    state: State<'_, AppState>,
    username: String,
    display_name: String,
    roles: Vec<Role>,
    wards: Vec<String>,
    password: String,
) -> Result<UserView, IpcError> {
    let acting = state.acting("add_user", None, None)?;
    let roles: BTreeSet<access::Role> = roles.into_iter().map(Into::into).collect();
    let wards: Vec<WardId> =
        wards.into_iter().map(|w| w.trim().to_owned()).filter(|w| !w.is_empty()).map(WardId).collect();
    let p = state
        .console()?
        .add_person(&username, &display_name, &roles, &wards, &password, acting.actor())
        .map_err(auth_error)?;
    Ok(UserView::from(&p))
}

/// An administrator changes a person's roles, wards or disabled flag
/// (recorded with before and after; the last administrator keeps the role).
#[tauri::command]
pub fn update_user(
    state: State<'_, AppState>,
    username: String,
    roles: Vec<Role>,
    wards: Vec<String>,
    disabled: bool,
) -> Result<UserView, IpcError> {
    let acting = state.acting("update_user", None, None)?;
    let roles: BTreeSet<access::Role> = roles.into_iter().map(Into::into).collect();
    let wards: Vec<WardId> =
        wards.into_iter().map(|w| w.trim().to_owned()).filter(|w| !w.is_empty()).map(WardId).collect();
    let p = state
        .console()?
        .change_person(&username, &roles, &wards, disabled, acting.actor())
        .map_err(auth_error)?;
    Ok(UserView::from(&p))
}

/// The wards' health without details, for a locked seat (when configured):
/// a nurse sees that something is wrong without logging in.
#[tauri::command]
pub fn locked_overview(state: State<'_, AppState>) -> Result<WardsOverview, IpcError> {
    let console = state.console()?;
    if !console.access_settings().locked_overview {
        return Err(IpcError::new("access.refused", "This console shows nothing while locked."));
    }
    let mut view = WardsOverview::new(&console.hospital_view()?, console.simulated(), Utc::now());
    view.strip_details();
    Ok(view)
}
