//! The Wardwatch desktop shell: Tauri commands and events over the
//! `wardwatch` core. No domain logic lives here: a command deserialises its
//! arguments, calls the core, and maps the result to a view or an [`IpcError`].

mod access;
mod commands;
mod dto;
mod error;
mod settings;
mod state;

pub use access::{access_of, Access};
pub use dto::{
    AlertStreamEvent, AlertView, ConsoleInfo, ListenerCounters, ListenerState, ListenerView, SeverityLabel,
};
pub use error::IpcError;
pub use settings::resolve_config;
pub use state::AppState;

use tauri::{Manager, Runtime};

/// The event the window hears when a person clicks an incident's desktop
/// notification; its payload is the incident id.
pub const OPEN_INCIDENT_EVENT: &str = "open-incident";

/// Registers every command. Tests call this on `tauri::test::mock_builder()`.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::console_info,
        commands::list_alerts,
        commands::list_rejected,
        commands::listener_status,
        commands::integrity_status,
        commands::subscribe_alerts,
        commands::wards_overview,
        commands::ward_detail,
        commands::device_detail,
        commands::staged_queue,
        commands::assign_device,
        commands::set_clinical_use,
        commands::inventory_preview,
        commands::inventory_import,
        commands::list_incidents,
        commands::incident_detail,
        commands::incident_act,
        commands::list_maintenance,
        commands::add_maintenance,
        commands::end_maintenance,
        commands::incident_playbook,
        commands::request_response,
        commands::response_step,
        commands::open_responses,
        commands::response_detail,
        commands::tick_response,
        access::session_status,
        access::login,
        access::login_pin,
        access::lock,
        access::logout,
        access::create_first_admin,
        access::set_pin,
        access::list_users,
        access::add_user,
        access::update_user,
        access::locked_overview,
    ])
}

/// Builds and runs the console until its window closes.
pub fn run(builder: tauri::Builder<tauri::Wry>) {
    init_logging();
    // Before any key is loaded: no core dump may hold one.
    if let Err(e) = wardwatch::hardening::forbid_core_dumps() {
        tracing::warn!(error = %e, "Core dumps could not be turned off; a crash could write keys to disk.");
    }
    let app = with_commands(builder)
        .setup(|app| {
            let config = resolve_config(app.path().app_data_dir().ok(), app.path().app_config_dir().ok())?;
            let state = match state::key_source() {
                Ok(keys) => AppState::start(config, &keys),
                Err(reason) => AppState::unavailable(reason),
            };
            // A click on an incident's desktop notification opens it in the window.
            if let Ok(console) = state.console() {
                let handle = app.handle().clone();
                console.on_open_incident(std::sync::Arc::new(move |id| {
                    if let Some(w) = handle.get_webview_window("main") {
                        let _ = w.unminimize();
                        let _ = w.show();
                        let _ = w.set_focus();
                    }
                    if let Err(e) = tauri::Emitter::emit(&handle, OPEN_INCIDENT_EVENT, id) {
                        tracing::warn!(error = %e, "The incident could not be opened in the window.");
                    }
                }));
            }
            app.manage(state);
            // The console locks with the desktop's screen lock, where it is seen.
            let handle = app.handle().clone();
            let on_lock = std::sync::Arc::new(move || handle.state::<AppState>().lock_with_screen());
            let forever = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            match wardwatch::access::screen::watch(None, on_lock, forever) {
                Ok(_) => tracing::info!("The console locks with the screen."),
                Err(e) => tracing::info!(error = %e, "The screen lock is not seen here; the console locks when idle."),
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "The console window could not be created.");
            eprintln!("wardwatch: the console window could not be created: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(state) = handle.try_state::<AppState>() {
                tauri::async_runtime::block_on(state.shutdown());
            }
        }
    });
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
