use serde::Serialize;
use ts_rs::TS;

/// The one error type of every command, serialised as `{ code, message }`.
/// `code` is dotted and stable (`console.unavailable`, `store.failed`); the
/// message is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message: message.into() }
    }
}

impl From<wardwatch::ConsoleError> for IpcError {
    fn from(e: wardwatch::ConsoleError) -> Self {
        match e {
            wardwatch::ConsoleError::Store(e) => match e.code() {
                code @ ("audit.key_mismatch"
                | "store.disk_full"
                | "hospital.unknown_device"
                | "hospital.unknown_ward") => Self::new(code, e.to_string()),
                // A person's incident or maintenance work refused, with why.
                code if code.starts_with("incident.")
                    || code.starts_with("maintenance.")
                    || code.starts_with("response.") =>
                {
                    Self::new(code, e.to_string())
                }
                _ => Self::new("store.failed", e.to_string()),
            },
            wardwatch::ConsoleError::Writer(e) => Self::new("console.writer", e.to_string()),
            wardwatch::ConsoleError::Atna(e) => Self::new("atna.config", e.to_string()),
            wardwatch::ConsoleError::Simulate(e) => Self::new("simulate.config", e),
            wardwatch::ConsoleError::Rules(e) => Self::new("incident.rules", e.to_string()),
            wardwatch::ConsoleError::Config(e) => Self::new("console.config", e.to_string()),
            wardwatch::ConsoleError::Auth(e) => Self::new(e.code(), e.to_string()),
            wardwatch::ConsoleError::Catalogue(e) => Self::new("response.catalogue", e.to_string()),
            wardwatch::ConsoleError::Response(e) => Self::new("response.refused", e),
        }
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for IpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message_only() {
        let e = IpcError::new("store.failed", "disk full");
        assert_eq!(
            serde_json::to_value(&e).ok(),
            Some(serde_json::json!({"code": "store.failed", "message": "disk full"}))
        );
    }

    #[test]
    fn core_errors_get_dotted_codes() {
        let missing = wardwatch::store::StoreError::Missing("/nowhere".into());
        let e = IpcError::from(wardwatch::ConsoleError::Store(missing));
        assert_eq!(e.code, "store.failed");
        assert!(e.message.contains("/nowhere"));
    }
}
