//! The operating system's screen lock, where it can be seen: the
//! freedesktop.org and GNOME screen savers say `ActiveChanged(true)` on the
//! session bus when the screen locks. A console seat locks with it, so a
//! person who locks their desktop also locks Wardwatch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dbus::blocking::Connection;
use dbus::channel::Channel;
use dbus::message::MatchRule;

/// The interfaces whose `ActiveChanged(bool)` means the screen locked.
const INTERFACES: [&str; 2] = ["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"];

#[derive(Debug, thiserror::Error)]
#[error("the screen lock cannot be watched: {0}")]
pub struct WatchError(String);

/// Watches for the screen locking on the session bus at `address` (the
/// session's own when `None`), calling `on_lock` each time, on a thread of
/// its own until `stop` is set. No session bus: an error, and nothing to watch.
pub fn watch(
    address: Option<&str>,
    on_lock: Arc<dyn Fn() + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, WatchError> {
    let err = |e: dbus::Error| WatchError(e.message().unwrap_or("no message").to_owned());
    let conn = match address {
        Some(a) => {
            let mut ch = Channel::open_private(a).map_err(err)?;
            ch.register().map_err(err)?;
            Connection::from(ch)
        }
        None => Connection::new_session().map_err(err)?,
    };
    for iface in INTERFACES {
        let rule = MatchRule::new_signal(iface, "ActiveChanged");
        let on_lock = on_lock.clone();
        conn.add_match(rule, move |(active,): (bool,), _, _| {
            if active {
                on_lock();
            }
            true
        })
        .map_err(err)?;
    }
    std::thread::Builder::new()
        .name("wardwatch-screen-lock".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = conn.process(Duration::from_millis(250)) {
                    tracing::warn!(error = %e, "The screen-lock watch stopped.");
                    break;
                }
            }
        })
        .map_err(|e| WatchError(e.to_string()))
}
