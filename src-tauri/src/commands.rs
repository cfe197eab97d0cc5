//! The commands the UI calls. Each is a few lines: arguments in, core call,
//! view or [`IpcError`] out.

use tauri::ipc::Channel;
use tauri::State;
use tokio::sync::broadcast::error::RecvError;

use wardwatch::access::Operation;
use wardwatch::hospital::{AssetId, WardId};
use wardwatch::incident::Action;
use wardwatch::store::Assignment;

use crate::dto::{
    AlertStreamEvent, AlertView, ConsoleInfo, DeviceDetail, DeviceRow, ImportPreview, ImportResult,
    IncidentAction, IncidentCounts, IncidentDetail, IncidentFilter, IncidentList, IncidentRow, IntegrityView,
    ListenerView, MaintenanceScope, MaintenanceView, PlaybookView, RejectedView, ResponseDetailView,
    ResponseRequestView, ResponseStep, StagedQueue, UseStateView, WardDetail, WardsOverview,
};
use crate::error::IpcError;
use crate::state::AppState;

/// The most rows one `list_alerts` or `list_rejected` call returns.
const LIST_MAX: u32 = 1000;

#[tauri::command]
pub fn console_info(state: State<'_, AppState>) -> Result<ConsoleInfo, IpcError> {
    let console = state.console()?;
    Ok(ConsoleInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: console.data_dir().display().to_string(),
        simulated: console.simulated().is_some(),
        scenario: console.simulated().map(str::to_owned),
    })
}

#[tauri::command]
pub fn list_alerts(state: State<'_, AppState>, limit: u32) -> Result<Vec<AlertView>, IpcError> {
    state.acting("list_alerts", None, None)?;
    let alerts = state.console()?.recent_alerts(limit.min(LIST_MAX) as usize)?;
    Ok(alerts.iter().map(AlertView::from).collect())
}

/// The newest `limit` messages that could not be read, newest first.
#[tauri::command]
pub fn list_rejected(state: State<'_, AppState>, limit: u32) -> Result<Vec<RejectedView>, IpcError> {
    state.acting("list_rejected", None, None)?;
    let rejected = state.console()?.recent_rejected(limit.min(LIST_MAX) as usize)?;
    Ok(rejected.iter().map(RejectedView::from).collect())
}

#[tauri::command]
pub fn listener_status(state: State<'_, AppState>) -> Result<Vec<ListenerView>, IpcError> {
    state.acting("listener_status", None, None)?;
    Ok(state.console()?.listeners().into_iter().map(ListenerView::from).collect())
}

/// Whether the store is writing and what the audit log's check at start found.
#[tauri::command]
pub fn integrity_status(state: State<'_, AppState>) -> Result<IntegrityView, IpcError> {
    state.acting("integrity_status", None, None)?;
    let console = state.console()?;
    Ok(IntegrityView::from((&console.store_health(), &console.audit_status())))
}

/// Streams every alert stored from now on through `on_event` (a Channel:
/// events are not meant for this rate).
#[tauri::command]
pub fn subscribe_alerts(
    state: State<'_, AppState>,
    on_event: Channel<AlertStreamEvent>,
) -> Result<(), IpcError> {
    state.acting("subscribe_alerts", None, None)?;
    let mut rx = state.console()?.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match rx.recv().await {
                Ok(alert) => AlertStreamEvent::Alert(AlertView::from(alert.as_ref())),
                Err(RecvError::Lagged(missed)) => AlertStreamEvent::Lagged { missed },
                Err(RecvError::Closed) => break,
            };
            if on_event.send(event).is_err() {
                tracing::debug!("Alert subscriber gone; stream ended.");
                break;
            }
        }
    });
    Ok(())
}

/// The most alerts a device view shows.
const DEVICE_ALERTS: usize = 50;

/// Every ward at a glance.
#[tauri::command]
pub fn wards_overview(state: State<'_, AppState>) -> Result<WardsOverview, IpcError> {
    let acting = state.acting("wards_overview", None, None)?;
    let console = state.console()?;
    let mut overview = WardsOverview::new(&console.hospital_view()?, console.simulated(), chrono::Utc::now());
    if let Some(wards) = &acting.wards {
        overview.only(wards);
    }
    Ok(overview)
}

/// One ward and its devices, by room and bed.
#[tauri::command]
pub fn ward_detail(state: State<'_, AppState>, ward: String) -> Result<WardDetail, IpcError> {
    state.acting_in("ward_detail", None, Some(&WardId(ward.clone())))?;
    let view = state.console()?.hospital_view()?;
    WardDetail::new(&view, &ward)
        .ok_or_else(|| IpcError::new("hospital.unknown_ward", format!("there is no ward {ward}")))
}

/// One device: identities over time, vulnerabilities, clinical-use evidence, incidents, alerts.
#[tauri::command]
pub fn device_detail(state: State<'_, AppState>, device: String) -> Result<DeviceDetail, IpcError> {
    let console = state.console()?;
    let id = AssetId(device.clone());
    let view = console.hospital_view()?;
    let ward = view.devices.iter().find(|d| d.device.id == id).and_then(|d| d.device.location.ward.clone());
    state.acting_in("device_detail", None, ward.as_ref())?;
    let history = console.identity_history(&id)?;
    let alerts = console.device_alerts(&id, DEVICE_ALERTS)?;
    DeviceDetail::new(&view, &device, &history, &alerts)
        .ok_or_else(|| IpcError::new("hospital.unknown_device", format!("there is no device {device}")))
}

/// Devices first seen in traffic, waiting for someone to put them in a ward.
#[tauri::command]
pub fn staged_queue(state: State<'_, AppState>) -> Result<StagedQueue, IpcError> {
    state.acting("staged_queue", None, None)?;
    Ok(StagedQueue::new(&state.console()?.hospital_view()?))
}

/// Confirms a device and puts it in a ward (recorded with who and why).
#[tauri::command]
pub fn assign_device(
    state: State<'_, AppState>,
    device: String,
    ward: String,
    room: Option<String>,
    bed: Option<String>,
    reason: String,
) -> Result<DeviceRow, IpcError> {
    let acting = state.acting("assign_device", None, None)?;
    let reason = required_reason(&reason)?;
    let console = state.console()?;
    let to = Assignment { ward: WardId(ward), room: non_empty(room), bed: non_empty(bed) };
    let id = AssetId(device);
    console.assign_device(&id, &to, acting.actor(), reason)?;
    row(console, &id)
}

/// Sets a device's clinical-use state by hand, with a reason.
#[tauri::command]
pub fn set_clinical_use(
    state: State<'_, AppState>,
    device: String,
    use_state: UseStateView,
    reason: String,
) -> Result<DeviceRow, IpcError> {
    let acting = state.acting("set_clinical_use", None, None)?;
    let reason = required_reason(&reason)?;
    let console = state.console()?;
    let id = AssetId(device);
    console.set_clinical_use(&id, use_state.into(), acting.actor(), reason)?;
    row(console, &id)
}

fn row(console: &wardwatch::Console, id: &AssetId) -> Result<DeviceRow, IpcError> {
    let view = console.hospital_view()?;
    view.devices
        .iter()
        .find(|d| &d.device.id == id)
        .map(DeviceRow::from)
        .ok_or_else(|| IpcError::new("hospital.unknown_device", format!("there is no device {id}")))
}

fn required_reason(reason: &str) -> Result<&str, IpcError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(IpcError::new("hospital.reason_required", "say why: the reason goes into the audit log"));
    }
    if r.chars().count() > 500 {
        return Err(IpcError::new("hospital.reason_too_long", "a reason is at most 500 characters"));
    }
    Ok(r)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The largest inventory text the window sends.
const INVENTORY_MAX_BYTES: usize = wardwatch::hospital::inventory::MAX_BYTES;

fn plan(
    console: &wardwatch::Console,
    text: &str,
    format: &str,
    mapping: &[String],
) -> Result<wardwatch::hospital::inventory::ImportPlan, IpcError> {
    use wardwatch::hospital::inventory::{InventoryFormat, Mapping};
    if text.len() > INVENTORY_MAX_BYTES {
        return Err(IpcError::new(
            "inventory.too_large",
            format!("the file is {} bytes; an inventory file is at most {INVENTORY_MAX_BYTES}", text.len()),
        ));
    }
    let format = InventoryFormat::parse(format).ok_or_else(|| {
        IpcError::new("inventory.format", format!("the format is csv or json, not {format:?}"))
    })?;
    let mapping =
        Mapping::with_overrides(mapping).map_err(|e| IpcError::new("inventory.mapping", e.to_string()))?;
    console
        .plan_import(text.as_bytes(), format, &mapping)?
        .map_err(|e| IpcError::new("inventory.file", e.to_string()))
}

/// The dry run of an inventory file: what each row would do. Writes nothing.
#[tauri::command]
pub fn inventory_preview(
    state: State<'_, AppState>,
    text: String,
    format: String,
    mapping: Vec<String>,
) -> Result<ImportPreview, IpcError> {
    state.acting("inventory_preview", None, None)?;
    Ok(ImportPreview::from(&plan(state.console()?, &text, &format, &mapping)?))
}

/// Imports an inventory file after its dry run was shown: the plan is made
/// again against the inventory as it is now, and its new and changed rows
/// written with one audit record.
#[tauri::command]
pub fn inventory_import(
    state: State<'_, AppState>,
    text: String,
    format: String,
    mapping: Vec<String>,
    file_name: String,
) -> Result<ImportResult, IpcError> {
    let acting = state.acting("inventory_import", None, None)?;
    let console = state.console()?;
    let plan = plan(console, &text, &format, &mapping)?;
    let c = plan.counts();
    let name: String = file_name.chars().filter(|c| !c.is_control()).take(255).collect();
    let applied = console.apply_import(&plan, acting.actor(), &name)?;
    Ok(ImportResult {
        wards_created: applied.wards_created as u32,
        devices_written: applied.devices_written as u32,
        adopted: applied.adopted as u32,
        audit_seq: applied.audit_seq,
        skipped: (c.conflicting + c.invalid) as u32,
    })
}

/// The most alerts an incident view shows.
const INCIDENT_ALERTS: usize = 200;

fn ward_names(console: &wardwatch::Console) -> Result<std::collections::HashMap<String, String>, IpcError> {
    Ok(console.wards()?.into_iter().map(|w| (w.id.as_str().to_owned(), w.name)).collect())
}

/// The incidents `filter` selects, highest priority first, then newest,
/// with the counts of all incidents.
#[tauri::command]
pub fn list_incidents(state: State<'_, AppState>, filter: IncidentFilter) -> Result<IncidentList, IpcError> {
    let acting = state.acting("list_incidents", None, None)?;
    let console = state.console()?;
    let mut all = console.incidents(&wardwatch::store::IncidentFilter::default())?;
    all.retain(|i| acting.sees(i.ward.as_ref()));
    let (filter, wards, now) =
        (wardwatch::store::IncidentFilter::from(filter), ward_names(console)?, chrono::Utc::now());
    Ok(IncidentList {
        counts: IncidentCounts::of(&all),
        incidents: all
            .iter()
            .filter(|i| filter.matches(i))
            .map(|i| IncidentRow::new(i, &wards, now))
            .collect(),
    })
}

/// One incident: its row, newest alerts, history and device context.
#[tauri::command]
pub fn incident_detail(state: State<'_, AppState>, id: i64) -> Result<IncidentDetail, IpcError> {
    let console = state.console()?;
    let d = console
        .incident_detail(id, INCIDENT_ALERTS)?
        .ok_or_else(|| IpcError::new("incident.unknown", format!("there is no incident {id}")))?;
    state.acting_in("incident_detail", None, d.incident.ward.as_ref())?;
    Ok(IncidentDetail::new(&d, &ward_names(console)?, chrono::Utc::now()))
}

/// A person's work on an incident (acknowledge, mute with reason and
/// expiry, ...): recorded with who and why; the updated row.
#[tauri::command]
pub fn incident_act(
    state: State<'_, AppState>,
    id: i64,
    action: IncidentAction,
) -> Result<IncidentRow, IpcError> {
    let console = state.console()?;
    let action = action.into_action()?;
    // Owning and quieting are a nurse's too; assigning, muting, resolving are triage.
    let op = match action {
        Action::Acknowledge | Action::Silence { .. } | Action::Comment { .. } => {
            Operation::AcknowledgeIncident
        }
        _ => Operation::TriageIncident,
    };
    let ward = console.incident_detail(id, 0)?.and_then(|d| d.incident.ward);
    let acting = state.acting_in("incident_act", Some(op), ward.as_ref())?;
    let i = console.act_on_incident(id, &action, acting.actor())?;
    Ok(IncidentRow::new(&i, &ward_names(console)?, chrono::Utc::now()))
}

/// Every maintenance window, newest first.
#[tauri::command]
pub fn list_maintenance(state: State<'_, AppState>) -> Result<Vec<MaintenanceView>, IpcError> {
    let now = chrono::Utc::now();
    state.acting("list_maintenance", None, None)?;
    Ok(state.console()?.maintenance_windows(true)?.iter().map(|w| MaintenanceView::new(w, now)).collect())
}

fn when(s: &str, what: &str) -> Result<chrono::DateTime<chrono::Utc>, IpcError> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| IpcError::new("maintenance.window", format!("the {what} {s:?} is not a time: {e}")))
}

/// Plans maintenance on a device or ward, with a reason.
#[tauri::command]
pub fn add_maintenance(
    state: State<'_, AppState>,
    scope: MaintenanceScope,
    target: String,
    start: String,
    end: String,
    reason: String,
) -> Result<MaintenanceView, IpcError> {
    let acting = state.acting("add_maintenance", None, None)?;
    let (start, end) = (when(&start, "start")?, when(&end, "end")?);
    let w = state.console()?.add_maintenance(scope.into(), &target, start, end, &reason, acting.actor())?;
    Ok(MaintenanceView::new(&w, chrono::Utc::now()))
}

/// Ends a maintenance window now, with a reason.
#[tauri::command]
pub fn end_maintenance(
    state: State<'_, AppState>,
    id: i64,
    reason: String,
) -> Result<MaintenanceView, IpcError> {
    let acting = state.acting("end_maintenance", None, None)?;
    let w = state.console()?.end_maintenance(id, &reason, acting.actor())?;
    Ok(MaintenanceView::new(&w, chrono::Utc::now()))
}

/// The playbook for an incident: every action graded on its device as it is
/// now, with the requests already made.
#[tauri::command]
pub fn incident_playbook(state: State<'_, AppState>, id: i64) -> Result<PlaybookView, IpcError> {
    let acting = state.acting("incident_playbook", None, None)?;
    let console = state.console()?;
    let ward = console.incident_detail(id, 0)?.and_then(|d| d.incident.ward);
    if !acting.sees(ward.as_ref()) {
        state.acting_in("incident_playbook", None, ward.as_ref())?;
    }
    let r = console.incident_response(id)?;
    Ok(PlaybookView::new(&r, &ward_names(console)?))
}

/// An officer asks for `action` on incident `id`, with why: approved at
/// once when it is safe now, else waiting for its gate.
#[tauri::command]
pub fn request_response(
    state: State<'_, AppState>,
    incident_id: i64,
    action: String,
    reason: String,
) -> Result<ResponseRequestView, IpcError> {
    let acting = state.acting("request_response", None, None)?;
    let console = state.console()?;
    let v = console.request_response(incident_id, &action, &reason, acting.actor())?;
    Ok(ResponseRequestView::new(&v, &ward_names(console)?))
}

/// A person's step on a request's gate: the ward covering, a clinician's
/// sign-off or break-glass, the device out of use, a refusal, a withdrawal.
#[tauri::command]
pub fn response_step(
    state: State<'_, AppState>,
    id: i64,
    step: ResponseStep,
    reason: String,
) -> Result<ResponseRequestView, IpcError> {
    let console = state.console()?;
    let op = match step {
        ResponseStep::SignOff | ResponseStep::BreakGlass => Operation::SignOffResponse,
        ResponseStep::Withdraw => Operation::RequestResponse,
        ResponseStep::AcknowledgeWard | ResponseStep::RecordOutOfUse | ResponseStep::Refuse => {
            Operation::ConfirmCoverage
        }
    };
    let acting = state.acting("response_step", Some(op), None)?;
    let ward = console.response_ward(id)?;
    if !acting.sees(ward.as_ref()) {
        state.acting_in("response_step", Some(op), ward.as_ref())?;
    }
    let p = &acting.person;
    let wards = p.wards.iter().cloned().collect();
    let person = wardwatch::response::gate::Person { name: &p.username, roles: &p.roles, wards: &wards };
    let v = console.response_step(id, step.into(), &reason, &person)?;
    Ok(ResponseRequestView::new(&v, &ward_names(console)?))
}

/// Requests not finished (a nurse: her wards'), oldest first.
#[tauri::command]
pub fn open_responses(state: State<'_, AppState>) -> Result<Vec<ResponseRequestView>, IpcError> {
    let acting = state.acting("open_responses", None, None)?;
    let console = state.console()?;
    let list = console.open_responses(acting.wards.as_deref())?;
    let names = ward_names(console)?;
    Ok(list.iter().map(|v| ResponseRequestView::new(v, &names)).collect())
}

/// One request with its history.
#[tauri::command]
pub fn response_detail(state: State<'_, AppState>, id: i64) -> Result<ResponseDetailView, IpcError> {
    let acting = state.acting("response_detail", None, None)?;
    let console = state.console()?;
    let ward = console.response_ward(id)?;
    if !acting.sees(ward.as_ref()) {
        state.acting_in("response_detail", None, ward.as_ref())?;
    }
    Ok(ResponseDetailView::new(&console.response_detail(id)?, &ward_names(console)?))
}

/// Ticks off step `index` (from 0) of a request's manual checklist.
#[tauri::command]
pub fn tick_response(
    state: State<'_, AppState>,
    id: i64,
    index: u32,
) -> Result<ResponseRequestView, IpcError> {
    let acting = state.acting("tick_response", None, None)?;
    let console = state.console()?;
    let v = console.tick_response(id, index as usize, acting.actor())?;
    Ok(ResponseRequestView::new(&v, &ward_names(console)?))
}
