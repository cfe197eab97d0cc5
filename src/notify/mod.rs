//! What deserves a desktop notification, and the desktop sink behind a trait.
//!
//! - [`policy`] decides, with a virtual clock and no I/O: which incidents
//!   notify, which are held for a ward's summary, which escalate to the next
//!   role, which stay quiet, each decision with a sentence a person can read.
//! - [`Notifier`] shows a [`Notification`]: [`DesktopNotifier`] on the
//!   freedesktop.org notification service over the D-Bus session bus,
//!   [`MemoryNotifier`] in memory for tests.
//!
//! Notifications carry titles and one-line details of incidents: never
//! patient data, never a secret.

pub mod desktop;
pub mod policy;

use std::sync::{Mutex, PoisonError};

pub use desktop::{ClickHandler, DesktopNotifier};
pub use policy::{
    Candidate, Decision, DecisionKind, Evaluation, Notification, NotificationKind, Policy, PolicyConfig,
    DEFAULT_MAX_TRACKED, DEFAULT_ROLES,
};

/// Why a notification could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No D-Bus session bus to talk to (no desktop session, or
    /// `DBUS_SESSION_BUS_ADDRESS` points nowhere).
    #[error("no desktop session bus to show notifications on: {reason}")]
    NoSessionBus { reason: String },
    /// A session bus, but no notification service on it.
    #[error("no notification service on the desktop session bus: {reason}")]
    NoNotificationService { reason: String },
    /// The notification service answered with an error, or not in time.
    #[error("the desktop notification service failed: {reason}")]
    Failed { reason: String },
}

/// Something that shows notifications. `send` never waits for the person:
/// it returns once the notification is handed over.
pub trait Notifier: Send + Sync {
    fn send(&self, n: &Notification) -> Result<(), NotifyError>;
}

/// Keeps every notification it is sent, in order; for tests.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    sent: Mutex<Vec<Notification>>,
}

impl MemoryNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every notification sent so far, oldest first.
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Notifier for MemoryNotifier {
    fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(n.clone());
        Ok(())
    }
}

/// Writes each notification to the log instead of the desktop: for a
/// console with `[notifications] desktop = false` (headless, or tests).
#[derive(Debug, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        tracing::info!(
            incident = n.incident_id,
            role = n.role.as_deref().unwrap_or("-"),
            "Notification (desktop notifications are off): {}",
            desktop::summary_line(n)
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Priority;

    #[test]
    fn memory_notifier_keeps_what_it_is_sent_in_order() {
        let m = MemoryNotifier::new();
        let n = |summary: &str| Notification {
            kind: NotificationKind::Summary,
            incident_id: None,
            ward: None,
            summary: summary.into(),
            body: String::new(),
            priority: Priority::High,
            role: None,
        };
        let notifier: &dyn Notifier = &m;
        assert!(notifier.send(&n("one")).is_ok());
        assert!(notifier.send(&n("two")).is_ok());
        assert_eq!(m.sent(), [n("one"), n("two")]);
    }

    #[test]
    fn errors_say_what_is_missing() {
        let e = NotifyError::NoSessionBus { reason: "failed to connect to unix:path=/run/user/0/bus".into() };
        assert_eq!(
            e.to_string(),
            "no desktop session bus to show notifications on: failed to connect to unix:path=/run/user/0/bus"
        );
    }
}
