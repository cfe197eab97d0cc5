//! The OS screen lock seen on a real (private) session bus: `dbus-send`
//! sends the screen savers' `ActiveChanged` signals as a desktop does.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;

use crate::notify_bus::PrivateBus;

fn emit(address: &str, path: &str, iface: &str, active: bool) -> anyhow::Result<()> {
    // `--bus` registers with the bus first (`gdbus emit --address` would not,
    // and the bus drops a signal from an unregistered sender).
    let signal = format!("{iface}.ActiveChanged");
    let out = Command::new("dbus-send")
        .args([&format!("--bus={address}"), "--type=signal", path, &signal, &format!("boolean:{active}")])
        .output()?;
    ensure!(out.status.success(), "dbus-send: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

fn wait_for(count: &AtomicUsize, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < n {
        ensure!(Instant::now() < deadline, "saw {} screen locks, not {n}", count.load(Ordering::SeqCst));
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[test]
fn the_screen_savers_lock_signal_reaches_the_watch_and_unlocking_does_not() -> anyhow::Result<()> {
    let bus = PrivateBus::start()?;
    let locks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let counted = locks.clone();
    let watch = wardwatch::access::screen::watch(
        Some(bus.address()),
        Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
        stop.clone(),
    )?;
    emit(bus.address(), "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver", true)?;
    wait_for(&locks, 1)?;
    // Unlocking is not a lock; GNOME's screen saver says it on its own interface.
    emit(bus.address(), "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver", false)?;
    emit(bus.address(), "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver", true)?;
    wait_for(&locks, 2)?;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(locks.load(Ordering::SeqCst), 2, "the unlock counted as a lock");
    stop.store(true, Ordering::Relaxed);
    ensure!(watch.join().is_ok(), "the watch thread panicked");
    Ok(())
}
