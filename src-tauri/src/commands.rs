//! The commands the UI calls. Each is a few lines: arguments in, core call,
//! view or [`IpcError`] out.

use tauri::ipc::Channel;
use tauri::State;
use tokio::sync::broadcast::error::RecvError;

use crate::dto::{AlertStreamEvent, AlertView, ConsoleInfo, IntegrityView, ListenerView, RejectedView};
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
        simulated: false,
    })
}

#[tauri::command]
pub fn list_alerts(state: State<'_, AppState>, limit: u32) -> Result<Vec<AlertView>, IpcError> {
    let alerts = state.console()?.recent_alerts(limit.min(LIST_MAX) as usize)?;
    Ok(alerts.iter().map(AlertView::from).collect())
}

/// The newest `limit` messages that could not be read, newest first.
#[tauri::command]
pub fn list_rejected(state: State<'_, AppState>, limit: u32) -> Result<Vec<RejectedView>, IpcError> {
    let rejected = state.console()?.recent_rejected(limit.min(LIST_MAX) as usize)?;
    Ok(rejected.iter().map(RejectedView::from).collect())
}

#[tauri::command]
pub fn listener_status(state: State<'_, AppState>) -> Result<Vec<ListenerView>, IpcError> {
    Ok(state.console()?.listeners().into_iter().map(ListenerView::from).collect())
}

/// Whether the store is writing and what the audit log's check at start found.
#[tauri::command]
pub fn integrity_status(state: State<'_, AppState>) -> Result<IntegrityView, IpcError> {
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
