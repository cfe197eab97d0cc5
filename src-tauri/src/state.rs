use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wardwatch::access::Seat;
use wardwatch::store::Person;

use wardwatch::audit::open::open_store;
use wardwatch::keys::{KeyBundle, KeySource, Passphrase};
use wardwatch::{Console, ConsoleConfig};

use crate::error::IpcError;

/// What the commands share: the running console, or why it is not running
/// (the window still opens and says so).
pub struct AppState {
    console: Result<Arc<Console>, String>,
    /// Who is at the window now.
    seat: Mutex<Seat<Person>>,
}

impl AppState {
    /// Starts the console. Must be called where a Tauri async runtime is
    /// available (the setup hook, or a test).
    /// The data directory's keys come from `keys` (see [`key_source`]).
    pub fn start(config: ConsoleConfig, keys: &KeySource) -> Self {
        let console = open_keys(&config, keys).and_then(|keys| {
            tauri::async_runtime::block_on(Console::start(config, &keys)).map(Arc::new).map_err(|e| {
                tracing::error!(error = %e, "The console could not start.");
                e.to_string()
            })
        });
        Self::with(console)
    }

    fn with(console: Result<Arc<Console>, String>) -> Self {
        let idle = console.as_ref().map_or(300, |c| c.access_settings().idle_lock_secs);
        let idle = chrono::Duration::seconds(i64::try_from(idle).unwrap_or(i64::MAX / 1_000_000));
        Self { console, seat: Mutex::new(Seat::new(idle)) }
    }

    /// A state whose console could not start, saying why.
    pub fn unavailable(reason: String) -> Self {
        Self::with(Err(reason))
    }

    pub(crate) fn seat(&self) -> MutexGuard<'_, Seat<Person>> {
        self.seat.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Where the app takes its keys from: the OS keyring, or the data
/// directory's recovery file when `WARDWATCH_PASSPHRASE_FILE` names a file
/// holding its passphrase.
pub fn key_source() -> Result<KeySource, String> {
    Ok(match std::env::var_os("WARDWATCH_PASSPHRASE_FILE") {
        Some(path) => KeySource::Passphrase(
            Passphrase::from_file(std::path::Path::new(&path)).map_err(|e| format!("[{}] {e}", e.code()))?,
        ),
        None => KeySource::Keyring,
    })
}

/// The keys that open the data directory (made for a new one), or why not,
/// with the error's code in front.
fn open_keys(config: &ConsoleConfig, source: &KeySource) -> Result<KeyBundle, String> {
    match open_store(&config.data_dir, source, true) {
        Ok(opened) => {
            tracing::info!(backend = %opened.backend, created = opened.created, "Keys loaded.");
            Ok(opened.keys)
        }
        Err(e) => {
            tracing::error!(code = e.code(), error = %e, "The audit log could not be opened.");
            Err(format!("[{}] {e}", e.code()))
        }
    }
}
