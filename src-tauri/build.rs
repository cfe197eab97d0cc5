fn main() {
    // Every command the UI may call; each gets allow-/deny- permissions that
    // capabilities/*.json grant per window.
    const COMMANDS: &[&str] = &[
        "console_info",
        "list_alerts",
        "list_rejected",
        "listener_status",
        "integrity_status",
        "subscribe_alerts",
        "wards_overview",
        "ward_detail",
        "device_detail",
        "staged_queue",
        "assign_device",
        "set_clinical_use",
        "inventory_preview",
        "inventory_import",
        "list_incidents",
        "incident_detail",
        "incident_act",
        "list_maintenance",
        "add_maintenance",
        "end_maintenance",
        "session_status",
        "login",
        "login_pin",
        "lock",
        "logout",
        "create_first_admin",
        "set_pin",
        "list_users",
        "add_user",
        "update_user",
        "locked_overview",
        "incident_playbook",
        "request_response",
        "response_step",
        "open_responses",
        "response_detail",
        "tick_response",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .unwrap_or_else(|e| panic!("tauri-build failed: {e:#}"));
}
