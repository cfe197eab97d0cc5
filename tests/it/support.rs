use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wardwatch")
}

/// The passphrase every test's data directory is keyed with (through its
/// recovery file), so that tests need no OS keyring.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A file holding [`PASSPHRASE`], made once per test run.
pub fn passphrase_file() -> &'static Path {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("wardwatch-it-passphrase-{}", std::process::id()));
        if let Err(e) = std::fs::write(&path, PASSPHRASE) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    })
}

/// `wardwatch` as a command, keyed by [`passphrase_file`].
pub fn wardwatch() -> Command {
    let mut c = Command::new(bin());
    c.env("WARDWATCH_PASSPHRASE_FILE", passphrase_file());
    c
}

/// A plain SQLite connection to the (encrypted) database of a data directory
/// a test's `serve` wrote, for queries of its own.
pub fn open_db(data_dir: &Path) -> anyhow::Result<rusqlite::Connection> {
    let source = wardwatch::keys::KeySource::Passphrase(wardwatch::keys::Passphrase::new(PASSPHRASE.into())?);
    let keys = wardwatch::keys::load(data_dir, &source, false)?;
    Ok(wardwatch::store::Store::open_raw(data_dir, &keys.current.database)?)
}

/// The store of a data directory a test's `serve` wrote, for reading.
pub fn open_store(data_dir: &Path) -> anyhow::Result<wardwatch::store::Store> {
    let source = wardwatch::keys::KeySource::Passphrase(wardwatch::keys::Passphrase::new(PASSPHRASE.into())?);
    Ok(wardwatch::audit::open::open_store(data_dir, &source, false)?.store)
}

/// A running `wardwatch serve` on free loopback ports; killed when dropped.
pub struct Serve {
    child: Child,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    /// Every listener serve printed, as (url, bound address), in its order.
    pub listening: Vec<(String, SocketAddr)>,
    /// Set when started with an `--listen mllp://...` among the extra arguments.
    pub mllp: Option<SocketAddr>,
    /// The `http://` listener, when one was asked for in the extra arguments.
    pub http: Option<SocketAddr>,
    stdout: BufReader<ChildStdout>,
}

impl Serve {
    /// The serving process's id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(data_dir, &[])
    }

    /// Starts with extra arguments, such as `--config FILE`.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        Self::spawn(data_dir, extra, None, &[])
    }

    /// Starts with extra arguments and every log line, debug included, written to `log`.
    pub fn start_logging(data_dir: &Path, extra: &[&str], log: &Path) -> anyhow::Result<Self> {
        Self::spawn(data_dir, extra, Some(log), &[])
    }

    /// Like [`Serve::start_logging`], with environment variables set for serve alone.
    pub fn start_logging_with_env(
        data_dir: &Path,
        log: &Path,
        env: &[(&str, &Path)],
    ) -> anyhow::Result<Self> {
        Self::spawn(data_dir, &[], Some(log), env)
    }

    fn spawn(
        data_dir: &Path,
        extra: &[&str],
        log: Option<&Path>,
        env: &[(&str, &Path)],
    ) -> anyhow::Result<Self> {
        let mut command = wardwatch();
        command
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .args(["--listen", "udp://127.0.0.1:0", "--listen", "tcp://127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped());
        if let Some(log) = log {
            command.env("RUST_LOG", "debug").env("NO_COLOR", "1").stderr(std::fs::File::create(log)?);
        }
        let mut child = command.spawn().context("could not start wardwatch serve")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let (mut udp, mut tcp, mut mllp, mut http) = (None, None, None, None);
        let mut listening = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                bail!("serve ended before it was ready");
            }
            // "listening udp://127.0.0.1:0 on 127.0.0.1:40123"
            if let Some(rest) = line.trim().strip_prefix("listening ") {
                let (url, addr) = rest.split_once(" on ").context("odd listening line")?;
                let addr: SocketAddr = addr.parse()?;
                listening.push((url.to_owned(), addr));
                if url.starts_with("udp://") {
                    udp = Some(addr);
                } else if url.starts_with("mllp") {
                    mllp = Some(addr);
                } else if url.starts_with("http://") {
                    http = Some(addr);
                } else if url.starts_with("tcp://") {
                    tcp = Some(addr);
                }
            } else if line.starts_with("following ") || line.starts_with("simulating ") {
                // A file listener (eve:///PATH): nothing to connect to; or
                // the simulated hospital, which sends to the listeners above.
            } else if line.starts_with("ready") {
                break;
            } else {
                bail!("unexpected line from serve: {line}");
            }
        }
        Ok(Self {
            child,
            udp: udp.context("no udp listener")?,
            tcp: tcp.context("no tcp listener")?,
            listening,
            mllp,
            http,
            stdout,
        })
    }

    /// The bound address of the first listener whose URL has this scheme.
    pub fn addr(&self, scheme: &str) -> anyhow::Result<SocketAddr> {
        let prefix = format!("{scheme}://");
        self.listening
            .iter()
            .find(|(url, _)| url.starts_with(&prefix))
            .map(|(_, addr)| *addr)
            .with_context(|| format!("serve has no {scheme}:// listener"))
    }

    /// Kills the server at once with SIGKILL (`kill -9`: no clean shutdown,
    /// as a crash or a power cut would end it) and waits until it is gone.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Sends SIGTERM and waits for a clean exit; returns what it printed last.
    pub fn stop(mut self) -> anyhow::Result<String> {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status()?;
        anyhow::ensure!(status.success(), "kill failed");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest)?;
        let exit = self.child.wait()?;
        anyhow::ensure!(exit.success(), "serve exited with {exit}");
        Ok(rest)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<Output> {
    use std::io::Write;
    let mut child =
        wardwatch().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut input = child.stdin.take().context("no stdin")?;
    input.write_all(stdin.unwrap_or_default())?;
    drop(input);
    Ok(child.wait_with_output()?)
}

/// `wardwatch alerts --json` as parsed lines.
pub fn alerts_json(data_dir: &Path, limit: usize) -> anyhow::Result<Vec<Value>> {
    let dir = data_dir.to_str().context("non-UTF-8 temp dir")?;
    let out = run(&["alerts", "--data-dir", dir, "--json", "--limit", &limit.to_string()], None)?;
    anyhow::ensure!(out.status.success(), "alerts failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)?.lines().map(|l| Ok(serde_json::from_str(l)?)).collect()
}

/// Polls `alerts --json` until `done` holds, or fails after ten seconds.
pub fn wait_for_alerts(
    data_dir: &Path,
    limit: usize,
    done: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = alerts_json(data_dir, limit).unwrap_or_default();
        if done(&alerts) {
            return Ok(alerts);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting; last saw {} alerts: {:?}", alerts.len(), alerts.first());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn names(alerts: &[Value]) -> Vec<String> {
    alerts.iter().filter_map(|a| a["name"].as_str().map(str::to_owned)).collect()
}

/// A running console's counters for its first listener with this scheme,
/// from `wardwatch status --json`.
pub fn counters(data_dir: &Path, scheme: &str) -> anyhow::Result<Value> {
    let dir = data_dir.to_str().context("non-UTF-8 temp dir")?;
    let out = run(&["status", "--data-dir", dir, "--json"], None)?;
    anyhow::ensure!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout)?;
    let prefix = format!("{scheme}://");
    status["status"]["listeners"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["url"].as_str().is_some_and(|u| u.starts_with(&prefix))))
        .map(|l| l["counters"].clone())
        .with_context(|| format!("no {scheme}:// listener in status: {status}"))
}

/// Polls [`counters`] until `done` holds, or fails after ten seconds.
pub fn wait_for_counters(
    data_dir: &Path,
    scheme: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    wait_for_counters_within(data_dir, scheme, Duration::from_secs(10), done)
}

/// [`wait_for_counters`] with a deadline of its own (a large backlog).
pub fn wait_for_counters_within(
    data_dir: &Path,
    scheme: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + within;
    loop {
        let c = counters(data_dir, scheme).unwrap_or_default();
        if done(&c) {
            return Ok(c);
        }
        if Instant::now() > deadline {
            bail!("gave up waiting on the {scheme}:// counters; last saw {c}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
