//! Desktop notifications through the freedesktop.org notification service
//! (`org.freedesktop.Notifications` on the D-Bus session bus), with
//! `notify-rust` over libdbus.
//!
//! The summary starts with the priority's marker and word ("*** High:
//! Exploit attempt on Infusion pump B-12"), so colour is never the only
//! signal; high is sent with critical urgency, the rest normal. Incident
//! notifications carry a "default" action ("Open incident"): when the
//! person clicks, the click handler is called with the incident's id.
//!
//! [`DesktopNotifier::send`] returns once the service has answered (libdbus
//! gives it two seconds); waiting for the click happens on a thread of the
//! notification's own, which ends when the notification is clicked or
//! closed, or when its bus goes away. At most [`MAX_WAITING`] such threads
//! live at once; past that, notifications still show, without a click.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use notify_rust::{Notification as Shown, Timeout, Urgency};

use super::{Notification, Notifier, NotifyError};
use crate::incident::Priority;

/// The application name the desktop shows.
pub const APP_NAME: &str = "Wardwatch";

/// The label of the action that opens the incident.
pub const OPEN_ACTION_LABEL: &str = "Open incident";

/// How many notifications may wait for a click at once.
pub const MAX_WAITING: usize = 64;

/// Longest summary and body handed to the desktop, in characters.
const MAX_SUMMARY: usize = 200;
const MAX_BODY: usize = 1000;

/// Called with the incident's id when the person clicks its notification.
pub type ClickHandler = Arc<dyn Fn(i64) + Send + Sync>;

/// Shows notifications on the desktop session bus of this process
/// (`DBUS_SESSION_BUS_ADDRESS`).
pub struct DesktopNotifier {
    on_click: Option<ClickHandler>,
    waiting: Arc<AtomicUsize>,
}

impl std::fmt::Debug for DesktopNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopNotifier")
            .field("on_click", &self.on_click.is_some())
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for DesktopNotifier {
    fn default() -> Self {
        Self::new()
    }
}

impl DesktopNotifier {
    /// Without a click handler: notifications carry no action.
    pub fn new() -> Self {
        Self { on_click: None, waiting: Arc::new(AtomicUsize::new(0)) }
    }

    /// Clicking an incident's notification calls `on_click` with its id.
    pub fn with_click_handler(on_click: ClickHandler) -> Self {
        Self { on_click: Some(on_click), waiting: Arc::new(AtomicUsize::new(0)) }
    }

    /// How many shown notifications are waiting for a click now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// "*** High: Exploit attempt on Infusion pump B-12".
pub fn summary_line(n: &Notification) -> String {
    clean(&format!("{} {}: {}", n.priority.marker(), n.priority.label(), n.summary), MAX_SUMMARY, false)
}

pub fn urgency(p: Priority) -> Urgency {
    match p {
        Priority::High => Urgency::Critical,
        Priority::Medium | Priority::Low => Urgency::Normal,
    }
}

/// Control characters out (newlines too, unless `lines`), at most `max`
/// characters, ending with "…" when cut.
fn clean(s: &str, max: usize, lines: bool) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() && !(lines && c == '\n') { ' ' } else { c })
        .take(max + 1)
        .collect();
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

/// The notification as the desktop gets it.
fn shown(n: &Notification, clickable: bool) -> Shown {
    let mut s = Shown::new();
    s.appname(APP_NAME)
        .summary(&summary_line(n))
        .body(&clean(&n.body, MAX_BODY, true))
        .urgency(urgency(n.priority))
        .timeout(Timeout::Default);
    if clickable {
        s.action("default", OPEN_ACTION_LABEL);
    }
    s
}

/// Sorts a notify-rust error by what a person can do about it.
fn classify(e: &notify_rust::error::Error) -> NotifyError {
    let reason = e.to_string();
    let lower = reason.to_ascii_lowercase();
    if lower.contains("not provided by any .service")
        || lower.contains("serviceunknown")
        || lower.contains("name has no owner")
    {
        NotifyError::NoNotificationService { reason }
    } else if lower.contains("connect")
        || lower.contains("autolaunch")
        || lower.contains("address of the message bus")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("no such file")
    {
        NotifyError::NoSessionBus { reason }
    } else {
        NotifyError::Failed { reason }
    }
}

/// Counts a waiting thread for as long as it lives.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Notifier for DesktopNotifier {
    fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let click = match (n.incident_id, &self.on_click) {
            (Some(id), Some(on_click)) => Some((id, Arc::clone(on_click))),
            _ => None,
        };
        let Some((id, on_click)) = click else {
            // Nothing to wait for: show it and let the handle go.
            return shown(n, false).show().map(drop).map_err(|e| classify(&e));
        };
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(
                waiting = MAX_WAITING,
                "Too many notifications waiting for a click; shown without one."
            );
            return shown(n, false).show().map(drop).map_err(|e| classify(&e));
        }
        let guard = Waiting(Arc::clone(&self.waiting));
        let notification = shown(n, true);
        // libdbus's connection stays on the thread that opened it, so the
        // thread that waits for the click also shows the notification.
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name(format!("notify-click-{id}")).spawn(move || {
            let _guard = guard;
            match notification.show() {
                Ok(handle) => {
                    let _ = tx.send(Ok(()));
                    handle.wait_for_action(|action| {
                        if action == "default" {
                            on_click(id);
                        }
                    });
                }
                Err(e) => {
                    let _ = tx.send(Err(classify(&e)));
                }
            }
        });
        if let Err(e) = spawned {
            return Err(NotifyError::Failed { reason: format!("cannot start a thread to show it: {e}") });
        }
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(result) => result,
            Err(_) => {
                Err(NotifyError::Failed { reason: "no answer from the notification service in 5 s".into() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::NotificationKind;

    fn n(priority: Priority, summary: &str, body: &str) -> Notification {
        Notification {
            kind: NotificationKind::Incident,
            incident_id: Some(7),
            ward: None,
            summary: summary.into(),
            body: body.into(),
            priority,
            role: None,
        }
    }

    #[test]
    fn the_summary_carries_the_marker_and_the_word() {
        for (p, line) in [
            (Priority::High, "*** High: Exploit attempt on Infusion pump B-12"),
            (Priority::Medium, "** Medium: Exploit attempt on Infusion pump B-12"),
            (Priority::Low, "* Low: Exploit attempt on Infusion pump B-12"),
        ] {
            assert_eq!(summary_line(&n(p, "Exploit attempt on Infusion pump B-12", "")), line);
        }
    }

    #[test]
    fn high_is_critical_and_the_rest_normal() {
        assert_eq!(urgency(Priority::High), Urgency::Critical);
        assert_eq!(urgency(Priority::Medium), Urgency::Normal);
        assert_eq!(urgency(Priority::Low), Urgency::Normal);
    }

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(clean("a\u{7}b\nc\td", 100, true), "a b\nc d");
        assert_eq!(clean("a\nb", 100, false), "a b");
        assert_eq!(clean("abcdef", 4, false), "abc…");
        assert_eq!(clean("abcd", 4, false), "abcd");
        assert_eq!(clean("ééééé", 3, false), "éé…");
        let long = "x".repeat(5000);
        assert_eq!(summary_line(&n(Priority::High, &long, "")).chars().count(), MAX_SUMMARY);
    }

    #[test]
    fn errors_are_sorted_by_what_to_do() {
        let check = |msg: &str| classify(&notify_rust::error::Error::from(msg));
        assert!(matches!(
            check("Failed to connect to socket /nowhere/bus: No such file or directory"),
            NotifyError::NoSessionBus { .. }
        ));
        assert!(matches!(
            check("The name org.freedesktop.Notifications was not provided by any .service files"),
            NotifyError::NoNotificationService { .. }
        ));
        assert!(matches!(check("Did not receive a reply"), NotifyError::Failed { .. }));
    }
}
