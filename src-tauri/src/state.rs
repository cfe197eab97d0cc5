use std::sync::Arc;

use wardwatch::{Console, ConsoleConfig};

use crate::error::IpcError;

/// What the commands share: the running console, or why it is not running
/// (the window still opens and says so).
pub struct AppState {
    console: Result<Arc<Console>, String>,
}

impl AppState {
    /// Starts the console. Must be called where a Tauri async runtime is
    /// available (the setup hook, or a test).
    pub fn start(config: ConsoleConfig) -> Self {
        let console = tauri::async_runtime::block_on(Console::start(config)).map(Arc::new).map_err(|e| {
            tracing::error!(error = %e, "The console could not start.");
            e.to_string()
        });
        Self { console }
    }

    pub fn console(&self) -> Result<&Arc<Console>, IpcError> {
        self.console.as_ref().map_err(|reason| IpcError::new("console.unavailable", reason.clone()))
    }

    /// Stops the console: everything received is stored before this returns.
    pub async fn shutdown(&self) {
        if let Ok(console) = &self.console {
            console.shutdown().await;
        }
    }
}
