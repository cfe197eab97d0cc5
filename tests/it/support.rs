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

/// A running `wardwatch serve` on free loopback ports; killed when dropped.
pub struct Serve {
    child: Child,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    /// The `http://` listener, when one was asked for in the extra arguments.
    pub http: Option<SocketAddr>,
    stdout: BufReader<ChildStdout>,
}

impl Serve {
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(data_dir, &[])
    }

    /// Starts with extra arguments, such as `--config FILE`.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        Self::spawn(data_dir, extra, None)
    }

    /// Starts with extra arguments and every log line, debug included, written to `log`.
    pub fn start_logging(data_dir: &Path, extra: &[&str], log: &Path) -> anyhow::Result<Self> {
        Self::spawn(data_dir, extra, Some(log))
    }

    fn spawn(data_dir: &Path, extra: &[&str], log: Option<&Path>) -> anyhow::Result<Self> {
        let mut command = Command::new(bin());
        command
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .args(["--listen", "udp://127.0.0.1:0", "--listen", "tcp://127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        if let Some(log) = log {
            command.env("RUST_LOG", "debug").env("NO_COLOR", "1").stderr(std::fs::File::create(log)?);
        }
        let mut child = command.spawn().context("could not start wardwatch serve")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let (mut udp, mut tcp, mut http) = (None, None, None);
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
                if url.starts_with("udp") {
                    udp = Some(addr);
                } else if url.starts_with("http://") {
                    http = Some(addr);
                } else {
                    tcp = Some(addr);
                }
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
            http,
            stdout,
        })
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
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
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
