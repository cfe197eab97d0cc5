//! A real notification server on a real, private D-Bus session bus, for
//! tests of whatever sends desktop notifications.
//!
//! [`NotificationServer::start`] runs a `dbus-daemon` of its own (its
//! socket in a temporary directory, no service files, so nothing is ever
//! auto-started and parallel tests never meet), claims
//! `org.freedesktop.Notifications` on it and answers as a notification
//! daemon would:
//!
//! - `Notify` returns ids 1, 2, 3... and records each call as a [`Received`]
//!   (app name, summary, body, actions, the `urgency` hint's byte);
//! - `GetCapabilities` returns `["actions", "body"]`;
//! - `GetServerInformation` returns `("wardwatch-test", "wardwatch", "1", "1.2")`;
//! - `CloseNotification(id)` emits `NotificationClosed(id, 3)`.
//!
//! A test reads [`NotificationServer::received`] or waits with
//! [`NotificationServer::wait_for`], simulates a click with
//! [`NotificationServer::invoke_action`] (`ActionInvoked(id, "default")`)
//! or an expiry with [`NotificationServer::close`]. The bus is for child
//! processes: pass [`NotificationServer::address`] as
//! `DBUS_SESSION_BUS_ADDRESS` to the child alone (`Command::env`), never to
//! the test process, whose session bus other tests use at the same time.
//! Everything stops when the server is dropped.
//!
//! The tests below prove it with real clients: `gdbus`, `notify-send`, and
//! Wardwatch's own [`DesktopNotifier`] in a child process (this test binary
//! run again, with the bus's address).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use dbus::arg::{PropMap, RefArg};
use dbus::channel::Channel;
use dbus::message::MessageType;
use dbus::Message;

use wardwatch::incident::Priority;
use wardwatch::notify::{DesktopNotifier, Notification, NotificationKind, Notifier, NotifyError};

const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// A `dbus-daemon` of the test's own; killed when dropped.
pub(crate) struct PrivateBus {
    daemon: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl PrivateBus {
    pub(crate) fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, bus_config(dir.path()))?;
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start dbus-daemon (package dbus-daemon)")?;
        let mut line = String::new();
        let read = daemon.stdout.take().map(|out| BufReader::new(out).read_line(&mut line));
        let address = line.trim().to_owned();
        if !matches!(read, Some(Ok(n)) if n > 0) || address.is_empty() {
            let _ = daemon.kill();
            let _ = daemon.wait();
            bail!("dbus-daemon printed no address");
        }
        Ok(Self { daemon, address, _dir: dir })
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A session bus listening in `dir` only, that lets anyone own any name and
/// starts no services.
fn bus_config(dir: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        dir.display()
    )
}

/// One `Notify` call as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// The id the server answered with.
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub summary: String,
    pub body: String,
    /// Pairs flattened, as on the wire: `["default", "Open incident"]`.
    pub actions: Vec<String>,
    /// The `urgency` hint: 0 low, 1 normal, 2 critical.
    pub urgency: Option<u8>,
    pub expire_timeout: i32,
}

/// What the test asks of the server thread.
enum Order {
    Signal(Message),
    Stop,
}

type Log = Arc<(Mutex<Vec<Received>>, Condvar)>;

/// A notification daemon on a [`PrivateBus`]; see the module docs.
pub(crate) struct NotificationServer {
    log: Log,
    commands: mpsc::Sender<Order>,
    thread: Option<JoinHandle<()>>,
    bus: PrivateBus,
}

impl NotificationServer {
    /// Starts a bus and the server on it; returns once the server owns
    /// `org.freedesktop.Notifications`.
    pub(crate) fn start() -> anyhow::Result<Self> {
        let bus = PrivateBus::start()?;
        let log: Log = Arc::default();
        let (commands, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let address = bus.address().to_owned();
        let server_log = Arc::clone(&log);
        let thread = std::thread::Builder::new().name("notification-server".into()).spawn(move || {
            match connect(&address) {
                Ok(channel) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(&channel, &server_log, &rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })?;
        let server = Self { log, commands, thread: Some(thread), bus };
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => Ok(server),
            Ok(Err(e)) => Err(e),
            Err(_) => bail!("the notification server did not start in 10 s"),
        }
    }

    /// The bus's address, for a child's `DBUS_SESSION_BUS_ADDRESS`.
    pub(crate) fn address(&self) -> &str {
        self.bus.address()
    }

    /// Every `Notify` call so far, oldest first.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.log.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until at least `n` notifications came, or fails after `timeout`.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<Received>> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.log;
        let mut got = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("waited {timeout:?} for {n} notifications, got {}: {:?}", got.len(), *got);
            }
            got = cvar.wait_timeout(got, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        Ok(got.clone())
    }

    /// Emits `ActionInvoked(id, action)`, as when the person clicks.
    pub(crate) fn invoke_action(&self, id: u32, action: &str) -> anyhow::Result<()> {
        let signal = Message::new_signal(PATH, NAME, "ActionInvoked").map_err(anyhow::Error::msg)?;
        self.signal(signal.append2(id, action))
    }

    /// Emits `NotificationClosed(id, reason)` (1 expired, 2 dismissed).
    pub(crate) fn close(&self, id: u32, reason: u32) -> anyhow::Result<()> {
        let signal = Message::new_signal(PATH, NAME, "NotificationClosed").map_err(anyhow::Error::msg)?;
        self.signal(signal.append2(id, reason))
    }

    fn signal(&self, m: Message) -> anyhow::Result<()> {
        self.commands.send(Order::Signal(m)).map_err(|_| anyhow::anyhow!("the notification server stopped"))
    }
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        let _ = self.commands.send(Order::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn connect(address: &str) -> anyhow::Result<Channel> {
    let mut channel = Channel::open_private(address).context("cannot connect to the private bus")?;
    channel.register().context("cannot register on the private bus")?;
    // DBUS_NAME_FLAG_DO_NOT_QUEUE; 1 is DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER.
    let request = Message::new_method_call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "RequestName",
    )
    .map_err(anyhow::Error::msg)?
    .append2(NAME, 4u32);
    let reply = channel.send_with_reply_and_block(request, Duration::from_secs(5))?;
    let owner: u32 = reply.read1()?;
    ensure!(owner == 1, "could not own {NAME} (reply {owner})");
    Ok(channel)
}

fn serve(channel: &Channel, log: &Log, commands: &mpsc::Receiver<Order>) {
    let mut next_id = 0u32;
    loop {
        match channel.blocking_pop_message(Duration::from_millis(20)) {
            Ok(Some(m)) if m.msg_type() == MessageType::MethodCall => {
                let reply = answer(&m, log, &mut next_id);
                for r in reply {
                    let _ = channel.send(r);
                }
                channel.flush();
            }
            Ok(_) => {}
            Err(_) => return,
        }
        loop {
            match commands.try_recv() {
                Ok(Order::Signal(m)) => {
                    let _ = channel.send(m);
                    channel.flush();
                }
                Ok(Order::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
    }
}

/// The reply to one method call (and any signal it causes).
fn answer(m: &Message, log: &Log, next_id: &mut u32) -> Vec<Message> {
    let member = m.member().map(|s| s.to_string()).unwrap_or_default();
    let is_ours = m.interface().is_some_and(|i| &*i == NAME) || m.interface().is_none();
    let error = |name: &str, text: &str| {
        let text = std::ffi::CString::new(text).unwrap_or_default();
        vec![m.error(&name.into(), &text)]
    };
    if !is_ours {
        return error("org.freedesktop.DBus.Error.UnknownInterface", "no such interface");
    }
    match member.as_str() {
        "Notify" => match read_notify(m) {
            Ok(mut r) => {
                *next_id += 1;
                r.id = *next_id;
                let (lock, cvar) = &**log;
                lock.lock().unwrap_or_else(PoisonError::into_inner).push(r);
                cvar.notify_all();
                vec![m.method_return().append1(*next_id)]
            }
            Err(e) => error("org.freedesktop.DBus.Error.InvalidArgs", &e.to_string()),
        },
        "GetCapabilities" => vec![m.method_return().append1(vec!["actions".to_owned(), "body".to_owned()])],
        "GetServerInformation" => {
            vec![m.method_return().append2("wardwatch-test", "wardwatch").append2("1", "1.2")]
        }
        "CloseNotification" => match m.read1::<u32>() {
            Ok(id) => {
                let mut out = vec![m.method_return()];
                if let Ok(s) = Message::new_signal(PATH, NAME, "NotificationClosed") {
                    out.push(s.append2(id, 3u32));
                }
                out
            }
            Err(e) => error("org.freedesktop.DBus.Error.InvalidArgs", &e.to_string()),
        },
        _ => error("org.freedesktop.DBus.Error.UnknownMethod", "no such method"),
    }
}

fn read_notify(m: &Message) -> Result<Received, dbus::arg::TypeMismatchError> {
    let mut args = m.iter_init();
    let app_name: String = args.read()?;
    let replaces_id: u32 = args.read()?;
    let _icon: String = args.read()?;
    let summary: String = args.read()?;
    let body: String = args.read()?;
    let actions: Vec<String> = args.read()?;
    let hints: PropMap = args.read()?;
    let expire_timeout: i32 = args.read()?;
    let urgency = hints.get("urgency").and_then(|v| v.0.as_u64()).and_then(|u| u8::try_from(u).ok());
    Ok(Received { id: 0, app_name, replaces_id, summary, body, actions, urgency, expire_timeout })
}

/// `gdbus call` on the server's bus; its printed reply.
fn gdbus(server: &NotificationServer, method: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("gdbus")
        .args(["call", "--address", server.address(), "--dest", NAME, "--object-path", PATH, "--method"])
        .arg(format!("{NAME}.{method}"))
        .args(args)
        .output()
        .context("cannot run gdbus (package libglib2.0-bin)")?;
    ensure!(out.status.success(), "gdbus {method} failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

#[test]
fn gdbus_sees_a_notification_daemon() -> anyhow::Result<()> {
    let server = NotificationServer::start()?;
    assert_eq!(gdbus(&server, "GetCapabilities", &[])?, "(['actions', 'body'],)");
    assert_eq!(gdbus(&server, "GetServerInformation", &[])?, "('wardwatch-test', 'wardwatch', '1', '1.2')");
    let args = [
        "gdbus-test",
        "uint32 0",
        "",
        "Door open",
        "Pharmacy fridge",
        "['default', 'Open']",
        "{'urgency': <byte 1>}",
        "5000",
    ];
    assert_eq!(gdbus(&server, "Notify", &args)?, "(uint32 1,)");
    assert_eq!(gdbus(&server, "Notify", &args)?, "(uint32 2,)");
    let got = server.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Received {
            id: 1,
            app_name: "gdbus-test".into(),
            replaces_id: 0,
            summary: "Door open".into(),
            body: "Pharmacy fridge".into(),
            actions: vec!["default".into(), "Open".into()],
            urgency: Some(1),
            expire_timeout: 5000,
        }
    );
    assert_eq!(gdbus(&server, "CloseNotification", &["uint32 1"])?, "()");
    // Wrong argument types get an error, not a crash.
    let wrong = gdbus(&server, "CloseNotification", &["1"]).map_err(|e| e.to_string());
    assert!(wrong.as_ref().is_err_and(|e| e.contains("org.freedesktop.DBus.Error.InvalidArgs")), "{wrong:?}");
    assert_eq!(gdbus(&server, "GetCapabilities", &[])?, "(['actions', 'body'],)");
    Ok(())
}

#[test]
fn notify_send_reaches_the_server() -> anyhow::Result<()> {
    let server = NotificationServer::start()?;
    let out = Command::new("notify-send")
        .env("DBUS_SESSION_BUS_ADDRESS", server.address())
        .args([
            "--app-name=notify-send-test",
            "--urgency=critical",
            "Exploit attempt on Infusion pump B-12",
            "Seen in ICU",
        ])
        .output()
        .context("cannot run notify-send (package libnotify-bin)")?;
    ensure!(out.status.success(), "notify-send failed: {}", String::from_utf8_lossy(&out.stderr));
    let got = server.wait_for(1, Duration::from_secs(10))?;
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (r.id, r.app_name.as_str(), r.summary.as_str(), r.body.as_str(), r.actions.as_slice(), r.urgency),
        (1, "notify-send-test", "Exploit attempt on Infusion pump B-12", "Seen in ICU", &[][..], Some(2))
    );
    Ok(())
}

/// Set only in the children these tests start: which part to play.
const CHILD_ROLE: &str = "WARDWATCH_IT_NOTIFY_CHILD";

/// This test binary again, running the test `name` alone, with the session
/// bus at `address` and a child's `role`; its lines that start with
/// "child: ".
fn child(name: &str, role: &str, address: &str) -> anyhow::Result<Child> {
    Ok(Command::new(std::env::current_exe()?)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ROLE, role)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?)
}

/// What a child said on a line of its output (libtest may have begun
/// the line with "test NAME ... ").
fn child_said(line: &str) -> Option<&str> {
    line.find("child: ").map(|at| &line[at + "child: ".len()..])
}

fn incident_notification() -> Notification {
    Notification {
        kind: NotificationKind::Incident,
        incident_id: Some(42),
        ward: None,
        summary: "Exploit attempt on Infusion pump B-12".into(),
        body: "Exploit traffic to the pump's service port".into(),
        priority: Priority::High,
        role: Some("security officer".into()),
    }
}

fn summary_notification() -> Notification {
    Notification {
        kind: NotificationKind::Summary,
        incident_id: None,
        ward: None,
        summary: "3 more in ICU".into(),
        body: "Port scan from 10.1.2.3".into(),
        priority: Priority::Medium,
        role: Some("security officer".into()),
    }
}

/// Child: shows two incidents and a summary with a click handler, prints
/// the id of the incident a click opened, then how many notifications still
/// wait for a click once the other incident closed.
fn child_send() -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let notifier = DesktopNotifier::with_click_handler(Arc::new(move |id| {
        let _ = tx.lock().unwrap_or_else(PoisonError::into_inner).send(id);
    }));
    notifier.send(&incident_notification())?;
    notifier.send(&summary_notification())?;
    notifier.send(&Notification { incident_id: Some(43), ..incident_notification() })?;
    println!("child: sent 3, waiting {}", notifier.waiting());
    let id = rx.recv_timeout(Duration::from_secs(20))?;
    println!("child: clicked {id}");
    // The clicked one's thread ends; the other's ends when it closes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while notifier.waiting() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("child: waiting {}", notifier.waiting());
    Ok(())
}

#[test]
fn desktop_notifier_shows_on_the_bus_and_a_click_opens_the_incident() -> anyhow::Result<()> {
    if let Ok(role) = std::env::var(CHILD_ROLE) {
        ensure!(role == "send", "unknown child role {role}");
        return child_send();
    }
    let server = NotificationServer::start()?;
    let mut c = child(
        "notify_bus::desktop_notifier_shows_on_the_bus_and_a_click_opens_the_incident",
        "send",
        server.address(),
    )?;
    let got = server.wait_for(3, Duration::from_secs(20))?;
    assert_eq!(
        got,
        [
            Received {
                id: 1,
                app_name: "Wardwatch".into(),
                replaces_id: 0,
                summary: "*** High: Exploit attempt on Infusion pump B-12".into(),
                body: "Exploit traffic to the pump's service port".into(),
                actions: vec!["default".into(), "Open incident".into()],
                urgency: Some(2),
                expire_timeout: -1,
            },
            Received {
                id: 2,
                app_name: "Wardwatch".into(),
                replaces_id: 0,
                summary: "** Medium: 3 more in ICU".into(),
                body: "Port scan from 10.1.2.3".into(),
                actions: vec![],
                urgency: Some(1),
                expire_timeout: -1,
            },
            Received {
                id: 3,
                app_name: "Wardwatch".into(),
                replaces_id: 0,
                summary: "*** High: Exploit attempt on Infusion pump B-12".into(),
                body: "Exploit traffic to the pump's service port".into(),
                actions: vec!["default".into(), "Open incident".into()],
                urgency: Some(2),
                expire_timeout: -1,
            },
        ]
    );
    // Click the first until the child saw it (its waiting thread may not
    // listen yet), then let the third expire until no thread waits.
    let stdout = c.stdout.take().context("no stdout")?;
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(l) = child_said(&line) {
                let _ = lines_tx.send(l.to_owned());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("waiting")) {
        ensure!(Instant::now() < deadline, "the child never reported the click; it said {seen:?}");
        if !seen.iter().any(|l| l.starts_with("sent")) {
            // Not before the child counted its waiting threads.
        } else if !seen.iter().any(|l| l.starts_with("clicked")) {
            server.invoke_action(1, "default")?;
        } else {
            server.close(3, 1)?;
        }
        if let Ok(l) = lines.recv_timeout(Duration::from_millis(100)) {
            seen.push(l);
        }
    }
    assert_eq!(seen, ["sent 3, waiting 2", "clicked 42", "waiting 0"]);
    let out = c.wait_with_output()?;
    ensure!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Child: one send, with the error it got.
fn child_error() -> anyhow::Result<()> {
    let result = DesktopNotifier::new().send(&incident_notification());
    let kind = match &result {
        Ok(()) => "ok",
        Err(NotifyError::NoSessionBus { .. }) => "no session bus",
        Err(NotifyError::NoNotificationService { .. }) => "no notification service",
        Err(NotifyError::Failed { .. }) => "failed",
    };
    println!("child: {kind}");
    if let Err(e) = result {
        println!("child: {e}");
    }
    Ok(())
}

fn child_lines(name: &str, address: &str) -> anyhow::Result<Vec<String>> {
    let out = child(name, "error", address)?.wait_with_output()?;
    ensure!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?.lines().filter_map(child_said).map(str::to_owned).collect())
}

#[test]
fn desktop_notifier_errors_say_what_is_missing() -> anyhow::Result<()> {
    if let Ok(role) = std::env::var(CHILD_ROLE) {
        ensure!(role == "error", "unknown child role {role}");
        return child_error();
    }
    let name = "notify_bus::desktop_notifier_errors_say_what_is_missing";
    let dir = tempfile::tempdir()?;
    let nowhere = format!("unix:path={}", dir.path().join("no-bus").display());
    let lines = child_lines(name, &nowhere)?;
    assert_eq!(lines.first().map(String::as_str), Some("no session bus"), "{lines:?}");
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("no desktop session bus to show notifications on: ")),
        "{lines:?}"
    );
    // A bus, and nobody serving notifications on it.
    let bus = PrivateBus::start()?;
    let lines = child_lines(name, bus.address())?;
    assert_eq!(lines.first().map(String::as_str), Some("no notification service"), "{lines:?}");
    Ok(())
}
