//! `wardwatch`: the console without a window.

mod audit;
mod bench;
mod devices;
mod hospital;
mod incidents;
mod inventory;
mod response;
mod samples;
mod simulate;
mod users;

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use wardwatch::codec::{eve, rfc3164, rfc5424};
use wardwatch::config::{ConfigFile, ConsoleConfig};
use wardwatch::ingest::{ListenUrl, ListenerState};
use wardwatch::model::{Alert, Format};
use wardwatch::normalize::{self, AutoDecoded, Layers, Receipt};
use wardwatch::Console;

#[derive(Parser)]
#[command(
    name = "wardwatch",
    version,
    about = "Wardwatch: security alerts from a hospital's medical-device network, without getting in the way of care."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A file holding the recovery passphrase (its first line): the data
    /// directory's keys are then taken from DATA_DIR/keys/recovery.json instead
    /// of the OS keyring (headless runs, another machine); a new data directory
    /// gets its keys there. For archives, the archive's passphrase.
    #[arg(long, global = true, env = "WARDWATCH_PASSPHRASE_FILE", value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Who is acting: once a data directory has accounts, every command that
    /// opens it needs one, checked against the permission matrix.
    #[arg(long = "user", global = true, env = "WARDWATCH_USER", value_name = "NAME")]
    user: Option<String>,
    /// A file holding that person's password (its first line).
    #[arg(
        long = "user-password-file",
        global = true,
        env = "WARDWATCH_USER_PASSWORD_FILE",
        value_name = "FILE"
    )]
    user_password_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Receive alerts on the listeners and store them until SIGINT or SIGTERM.
    Serve {
        /// Where the database lives (created when missing).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A listener, such as udp://127.0.0.1:5514, tcp://127.0.0.1:5514 or
        /// eve:///var/log/suricata/eve.json (a file followed; repeat for more).
        /// Default: both of those. Port 0 picks a free port; the bound address is printed.
        #[arg(long = "listen", value_name = "URL")]
        listen: Vec<ListenUrl>,
        /// A TOML configuration file (data_dir, listen, max_message_bytes, queue_capacity,
        /// and a [tls] table with cert_file, key_file and client_ca_file for tls:// listeners).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run the built-in simulated hospital against this console: its
        /// inventory is loaded into an empty data directory and its traffic
        /// (syslog/CEF, EVE, HL7 over MLLP, JSON over HTTP) goes to this
        /// console's own loopback listeners (added when missing).
        #[arg(long)]
        simulate: bool,
        /// The simulated hospital's scenario (see `wardwatch simulate --list-scenarios`).
        #[arg(long, requires = "simulate", default_value = "all")]
        scenario: String,
    },
    /// Show a console's listeners and counters, and what is stored.
    Status {
        #[arg(long)]
        data_dir: PathBuf,
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List stored alerts, newest first.
    Alerts {
        #[arg(long)]
        data_dir: PathBuf,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// How many alerts at most.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Each ward: its devices by health, how many are in use, its worst open incident.
    Wards {
        #[arg(long)]
        data_dir: PathBuf,
        /// One JSON object per ward and line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Each device: identities, kind, criticality tier, clinical use (with its
    /// source and age), health and its reasons. With --ip or --context: what
    /// the network shows of devices in records that are not alerts (Suricata
    /// flows, DNS, TLS, ...).
    Devices {
        #[arg(long)]
        data_dir: PathBuf,
        /// Only this ward's devices.
        #[arg(long, conflicts_with_all = ["ip", "context"])]
        ward: Option<String>,
        /// Only devices staged from traffic, waiting for someone to put them in a ward.
        #[arg(long, conflicts_with_all = ["ip", "context"])]
        staged: bool,
        /// The network context of the device at this address: event types and peers.
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        /// The addresses seen in network context, most recent first.
        #[arg(long)]
        context: bool,
        /// JSON instead of text (one object per line).
        #[arg(long)]
        json: bool,
        /// With --ip or --context: how many devices or peers at most.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Incidents (alerts folded per device and condition), highest priority first:
    /// each with its key, device, ward, priority and reasons, count, first and
    /// last seen, sources, state and the notification decision.
    Incidents {
        #[arg(long)]
        data_dir: PathBuf,
        /// Only those not resolved.
        #[arg(long)]
        open: bool,
        /// Only this ward's.
        #[arg(long)]
        ward: Option<String>,
        /// Only this priority: high, medium or low.
        #[arg(long)]
        priority: Option<String>,
        /// One JSON object per incident and line.
        #[arg(long)]
        json: bool,
    },
    /// Work on an incident: show, ack, assign, comment, silence, mute, unmute, resolve, reopen.
    Incident {
        #[command(subcommand)]
        command: incidents::IncidentCommand,
    },
    /// Maintenance windows on a device or ward: their incidents are marked, not notified.
    Maintenance {
        #[command(subcommand)]
        command: incidents::MaintenanceCommand,
    },
    /// Care-safe response: the playbook for an incident, and what-if grades of an action.
    Response {
        #[command(subcommand)]
        command: response::ResponseCommand,
    },
    /// Local accounts: add people with their roles (the first must be an admin), list them.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// The device inventory: import a CMMS or asset-list export (CSV, JSON), export it.
    Inventory {
        #[command(subcommand)]
        command: inventory::InventoryCommand,
    },
    /// Change a device: put it in a ward, set its clinical use (each recorded with who and why).
    Device {
        #[command(subcommand)]
        command: hospital::DeviceCommand,
    },
    /// The audit log: verify its chain and signatures, export a range for offline review.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// The data directory's keys: rotate the database key, set a recovery passphrase.
    Key {
        #[command(subcommand)]
        command: audit::KeyCommand,
    },
    /// Measure how fast each codec decodes typical messages (prints figures).
    Bench {
        /// Seconds to spend on each codec.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// How many records to append to (and verify in) a temporary audit log; 0 skips it.
        #[arg(long, default_value_t = 1_000_000)]
        audit_records: u64,
    },
    /// Bearer tokens for gateways that post to http:// listeners.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Send a simulated hospital's traffic (syslog CEF and EVE, HL7 over MLLP, JSON over HTTP) to a console.
    Simulate(simulate::SimulateArgs),
    /// Parse messages from standard input and print one JSON result for each.
    Parse {
        /// The format of the messages. CEF and LEEF records may come bare, in an
        /// RFC 5424 envelope, or after any prefix (such as an RFC 3164 header).
        #[arg(long, value_enum, default_value_t = ParseFormat::Rfc5424)]
        format: ParseFormat,
        /// Each input line is a JSON object {"input": "..."} or {"input_hex": "..."}.
        #[arg(long)]
        jsonl: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a random 256-bit token: prints it once, and the lines for the configuration file.
    New {
        /// Who will hold it, such as the gateway's name (letters, digits, '.', '_', '-').
        #[arg(long)]
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ParseFormat {
    /// Whatever a syslog listener takes: CEF or LEEF inside, else strict RFC 5424,
    /// else lenient BSD syslog (what the listeners do).
    Auto,
    Rfc5424,
    /// BSD syslog and its real-world variants; year-less timestamps get their
    /// year from the time of parsing.
    Rfc3164,
    /// Suricata EVE JSON, one record per line.
    Eve,
    /// ArcSight CEF, bare or inside a syslog envelope.
    Cef,
    /// QRadar LEEF 1.0 and 2.0, bare or inside a syslog envelope.
    Leef,
    /// HL7 v2 (IHE PCD-01 ORU^R01, PCD-04 ORU^R40), one message per input:
    /// without --jsonl, a new message starts at each line that starts with
    /// MSH (segments on their own lines, ended by CR, LF or CRLF); with
    /// --jsonl, each "input" is one message (segments separated by \r or \n).
    /// Prints what the console would store and the ACK code it would send;
    /// never the patient's identifier or name.
    Hl7,
    /// Wardwatch JSON alerts (what http:// listeners take), one document per
    /// line: one result per alert, so an array gives one per element.
    Json,
}

fn main() -> anyhow::Result<()> {
    // Before any key is loaded: no core dump may hold one.
    if let Err(e) = wardwatch::hardening::forbid_core_dumps() {
        eprintln!(
            "wardwatch: warning: core dumps could not be turned off ({e}); a crash could write keys to disk"
        );
    }
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let checked = check_access(&matches, &cli);
    match checked.and_then(|()| run(cli)) {
        // `wardwatch alerts | head` closing the pipe early is not an error.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        // A check that found damage has said so: exit status 1.
        Ok(false) => std::process::exit(1),
        other => other.map(|_| ()),
    }
}

/// Whether the error is, or wraps (as `serde_json` does), a closed stdout.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(io::ErrorKind::BrokenPipe);
    e.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().map(io::Error::kind) == pipe
            || cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind) == pipe
    })
}

/// Runs the command; `Ok(false)` when it ran but found damage.
fn run(cli: Cli) -> anyhow::Result<bool> {
    let pf = cli.passphrase_file.as_deref();
    let done = |r: anyhow::Result<()>| r.map(|()| true);
    match cli.command {
        Command::Serve { data_dir, listen, config, simulate, scenario } => {
            done(serve(data_dir, listen, config, simulate.then_some(scenario), pf))
        }
        Command::Alerts { data_dir, json, limit } => done(alerts(&data_dir, json, limit, pf)),
        Command::Status { data_dir, json } => done(status(&data_dir, json, pf)),
        Command::Wards { data_dir, json } => done(hospital::wards(&data_dir, json, pf)),
        Command::Devices { data_dir, ward, staged, ip, context, json, limit } => {
            done(if ip.is_some() || context {
                devices::run(&data_dir, ip, json, limit, pf)
            } else {
                hospital::devices(&data_dir, ward.as_deref(), staged, json, pf)
            })
        }
        Command::Device { command } => done(hospital::device(command, pf)),
        Command::Incidents { data_dir, open, ward, priority, json } => {
            done(incidents::list(&data_dir, open, ward, priority, json, pf))
        }
        Command::Incident { command } => done(incidents::incident(command, pf)),
        Command::Maintenance { command } => done(incidents::maintenance(command, pf)),
        Command::Users { command } => done(users::run(command, pf)),
        Command::Response { command } => done(response::run(command, pf)),
        Command::Inventory { command } => done(inventory::run(command, pf)),
        Command::Parse { format, jsonl } => done(parse(format, jsonl)),
        Command::Token { command: TokenCommand::New { name } } => done(token_new(&name)),
        Command::Audit { command } => audit::run(command, pf),
        Command::Key { command } => done(audit::run_key(command, pf)),
        Command::Bench { seconds, audit_records } => done(bench::run(seconds, audit_records)),
        Command::Simulate(args) => done(simulate::run(args)),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).init();
}

fn serve(
    data_dir: Option<PathBuf>,
    listen: Vec<ListenUrl>,
    config: Option<PathBuf>,
    simulate: Option<String>,
    passphrase_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    init_logging();
    let file = config.as_deref().map(ConfigFile::read).transpose()?.unwrap_or_default();
    let mut cfg = ConsoleConfig::new(PathBuf::new()).with_file(file);
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    if cfg.data_dir.as_os_str().is_empty() {
        bail!("say where the data lives: --data-dir DIR, or data_dir in --config FILE");
    }
    if !listen.is_empty() {
        cfg.listen = listen;
    }
    cfg.simulate = simulate;
    let cfg = cfg.validate()?;
    let opened = audit::open(&cfg.data_dir, passphrase_file, true)?;
    if opened.created {
        tracing::info!(backend = %opened.backend, "New data directory: its keys were made and stored.");
    }
    let keys = opened.keys;
    drop(opened.store);
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async move {
        let console = Console::start(cfg, &keys).await?;
        // Watched before "ready" is printed: a SIGTERM sent as soon as the
        // console says it is ready must stop it cleanly, not kill it.
        let signal = wait_for_signal()?;
        let mut out = io::stdout().lock();
        let mut failed = 0;
        for l in console.listeners() {
            match (l.state, l.bound_addr) {
                (ListenerState::Listening, Some(bound)) => writeln!(out, "listening {} on {bound}", l.url)?,
                (ListenerState::Listening, None) => writeln!(out, "following {}", l.url)?,
                _ => {
                    failed += 1;
                    writeln!(out, "failed {}: {}", l.url, l.error.unwrap_or_default())?
                }
            }
        }
        if let Some(scenario) = console.simulated() {
            writeln!(out, "simulating a hospital (scenario {scenario}): its traffic goes to the listeners above")?;
        }
        writeln!(out, "ready, data in {}", console.data_dir().display())?;
        out.flush()?;
        drop(out);
        if failed > 0 {
            console.shutdown().await;
            bail!("{failed} listener(s) could not start");
        }
        let started_at = chrono::Utc::now();
        let snapshot = |running: bool| wardwatch::status::ServeStatus {
            pid: std::process::id(),
            started_at,
            updated_at: chrono::Utc::now(),
            running,
            listeners: console.listeners(),
            store: Some(console.store_health()),
            audit: Some(console.audit_status()),
        };
        let write_status = |running: bool| {
            if let Err(e) = wardwatch::status::write(console.data_dir(), &snapshot(running)) {
                tracing::warn!(error = %e, "Status file not written.");
            }
        };
        tokio::pin!(signal);
        loop {
            write_status(true);
            tokio::select! {
                r = &mut signal => { r?; break; }
                () = tokio::time::sleep(wardwatch::status::INTERVAL) => {}
            }
        }
        tracing::info!("Stopping: storing what was received.");
        console.shutdown().await;
        write_status(false);
        let mut t = wardwatch::ingest::CounterSnapshot::default();
        for l in console.listeners() {
            t.parsed += l.counters.parsed;
            t.rejected += l.counters.rejected;
            t.oversize += l.counters.oversize;
            t.dropped += l.counters.dropped;
            t.refused += l.counters.refused;
            t.context += l.counters.context;
            t.handshake_failed += l.counters.handshake_failed;
            t.stored += l.counters.stored;
        }
        // Device context (EVE flows, DNS, ...) is parsed but makes no alert.
        writeln!(
            io::stdout(),
            "stopped: {} alerts, {} rejected, {} oversize, {} dropped, {} connections refused, {} TLS handshakes failed, {} context records this run; {} records durably stored",
            t.parsed - t.context, t.rejected, t.oversize, t.dropped, t.refused, t.handshake_failed, t.context, t.stored
        )?;
        Ok(())
    })
}

/// What the console's check of its audit log at start found, in one line.
fn audit_line(a: &wardwatch::audit::AuditStatus, data_dir: &std::path::Path) -> String {
    use wardwatch::audit::AuditState;
    let key = &a.key_fingerprint;
    let archived = match a.archived_through {
        0 => String::new(),
        n => format!("; records 1-{n} were moved to archives"),
    };
    match (a.state, &a.damage) {
        (AuditState::Verifying, _) => format!("checking the chain at start (signing key {key})"),
        (AuditState::Verified, _) if a.verified_from > a.archived_through + 1 => format!(
            "intact through record {}; this start checked records {}-{} ({} checkpoints), earlier ones were checked before (signing key {key}){archived}",
            a.verified_through, a.verified_from, a.verified_through, a.checkpoints
        ),
        (AuditState::Verified, _) => format!(
            "intact: records {}-{} verified at start ({} checkpoints, signing key {key}){archived}",
            a.verified_from, a.verified_through, a.checkpoints
        ),
        (AuditState::Damaged, Some(d)) => format!(
            "DAMAGED at record {} ({}): {}\n         run `wardwatch audit verify --data-dir {}` for the full report",
            d.seq,
            d.kind,
            d.detail,
            data_dir.display()
        ),
        (AuditState::Damaged, None) => "DAMAGED (no detail recorded)".to_owned(),
        (AuditState::Failed, _) => {
            format!("could not be checked at start: {}", a.error.as_deref().unwrap_or("unknown error"))
        }
    }
}

/// Starts watching SIGTERM and SIGINT now; the future ends when one comes.
fn wait_for_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("could not watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("could not watch SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    })
}

fn status(
    data_dir: &std::path::Path,
    json: bool,
    passphrase_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let s = wardwatch::status::read(data_dir)?;
    let live = s.is_live(chrono::Utc::now());
    let (alerts, rejected) = audit::open(data_dir, passphrase_file, false)?.store.counts()?;
    let mut out = io::stdout().lock();
    if json {
        let v = json!({"live": live, "status": s, "stored": {"alerts": alerts, "rejected": rejected}});
        writeln!(out, "{v}")?;
        return Ok(());
    }
    let state = match (live, s.running) {
        (true, _) => {
            format!("running (pid {}), since {}", s.pid, s.started_at.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        (false, false) => format!("stopped cleanly at {}", s.updated_at.format("%Y-%m-%d %H:%M:%S UTC")),
        (false, true) => format!(
            "not running: last heard of at {} and it did not stop cleanly",
            s.updated_at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
    };
    writeln!(out, "Console: {state}")?;
    writeln!(out, "Stored:  {alerts} alerts, {rejected} rejected messages kept raw")?;
    if let Some(h) = &s.store {
        let since = h.since.format("%Y-%m-%d %H:%M:%S UTC");
        if h.ok {
            let mean = if h.batches > 0 { h.stored as f64 / h.batches as f64 } else { 0.0 };
            writeln!(
                out,
                "Store:   writing since {since}; this run {} records in {} transactions (mean {mean:.1}, largest {})",
                h.stored, h.batches, h.largest_batch
            )?;
        } else {
            writeln!(
                out,
                "Store:   FAILING since {since}: {}\n         {} messages waiting; ingest waits (TCP back-pressure, UDP drops counted, HTTP 503, MLLP AE) and resumes by itself when the store can write",
                h.error.as_deref().unwrap_or("unknown error"),
                h.pending
            )?;
        }
    }
    if let Some(a) = &s.audit {
        writeln!(out, "Audit:   {}", audit_line(a, data_dir))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<26} {:<10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8} {:>9}",
        "LISTENER",
        "STATE",
        "RECEIVED",
        "PARSED",
        "REJECTED",
        "OVERSIZE",
        "DROPPED",
        "CONNS",
        "REFUSED",
        "STORED"
    )?;
    for l in &s.listeners {
        let c = l.counters;
        let state = serde_json::to_value(l.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<26} {:<10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8} {:>9}",
            match (l.url.split_once("://"), l.bound_addr) {
                (Some((scheme, _)), Some(bound)) => format!("{scheme}://{bound}"),
                _ => l.url.clone(),
            },
            state,
            c.received,
            c.parsed,
            c.rejected,
            c.oversize,
            c.dropped,
            c.connections,
            c.refused,
            c.stored
        )?;
        if c.store_unavailable > 0 {
            writeln!(
                out,
                "    not acknowledged because the store was not writing (HTTP 503, MLLP AE): {}",
                c.store_unavailable
            )?;
        }
        if c.context > 0 {
            writeln!(out, "    of those parsed, device records (context, not alerts): {}", c.context)?;
        }
        if c.kernel_dropped > 0 {
            writeln!(out, "    dropped by the kernel before they could be read: {}", c.kernel_dropped)?;
        }
        if c.unauthorized > 0 || c.bad_requests > 0 {
            writeln!(
                out,
                "    HTTP requests refused: {} for their token, {} as bad requests",
                c.unauthorized, c.bad_requests
            )?;
        }
        if c.handshake_failed > 0 {
            writeln!(out, "    TLS handshakes failed: {}", c.handshake_failed)?;
        }
        if let Some(e) = &l.error {
            writeln!(out, "    error: {e}")?;
        }
        for src in &l.sources {
            let who = match (src.source, src.overflow) {
                (_, true) => format!("other sources (over {})", wardwatch::ingest::MAX_SOURCES),
                (Some(ip), false) => ip.to_string(),
                (None, false) => "(no network peer)".to_owned(),
            };
            let c = src.counts;
            writeln!(
                out,
                "  from {:<20} {:<10} {:>9} {:>9} {:>9} {:>9} {:>8}",
                who, "", c.received, c.parsed, c.rejected, c.oversize, c.dropped
            )?;
        }
        for r in &l.rejected_by_reason {
            writeln!(out, "  rejected {:>7} × {}", r.count, r.reason)?;
        }
    }
    Ok(())
}

fn alerts(
    data_dir: &std::path::Path,
    json: bool,
    limit: usize,
    passphrase_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let store = audit::open(data_dir, passphrase_file, false)?.store;
    let alerts = store.recent_alerts(limit)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if json {
        for a in &alerts {
            serde_json::to_writer(&mut out, a)?;
            writeln!(out)?;
        }
    } else if alerts.is_empty() {
        writeln!(out, "No alerts stored in {}.", data_dir.display())?;
    } else {
        writeln!(out, "{:<8} {:<19} {:<12} {:<21} NAME", "ID", "RECEIVED (UTC)", "SEVERITY", "SOURCE")?;
        for a in &alerts {
            writeln!(out, "{}", table_row(a))?;
        }
    }
    out.flush()?;
    Ok(())
}

fn table_row(a: &Alert) -> String {
    let icon = match a.severity_label {
        wardwatch::model::SeverityLabel::Critical => "▲",
        wardwatch::model::SeverityLabel::High => "◆",
        wardwatch::model::SeverityLabel::Medium => "●",
        wardwatch::model::SeverityLabel::Low => "○",
    };
    format!(
        "{:<8} {:<19} {:<12} {:<21} {}",
        a.id.map(|i| i.to_string()).unwrap_or_default(),
        a.received_at.format("%Y-%m-%d %H:%M:%S"),
        format!("{icon} {} {}", a.severity_label, a.severity.value()),
        a.source_addr.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
        a.name
    )
}

fn parse(format: ParseFormat, jsonl: bool) -> anyhow::Result<()> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input).context("could not read standard input")?;
    if matches!(format, ParseFormat::Hl7) && !jsonl {
        let mut out = BufWriter::new(io::stdout().lock());
        for message in hl7_messages(&input) {
            serde_json::to_writer(&mut out, &parse_one(format, message))?;
            writeln!(out)?;
        }
        out.flush()?;
        return Ok(());
    }
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = BufWriter::new(io::stdout().lock());
    for (n, line) in lines.into_iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let results = if jsonl {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match jsonl_input(line) {
                Ok(bytes) => parse_many(format, &bytes),
                Err(e) => vec![json!({"ok": false, "error": format!("input line {}: {e}", n + 1)})],
            }
        } else {
            parse_many(format, line)
        };
        for result in results {
            serde_json::to_writer(&mut out, &result)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Splits standard input into HL7 messages: each starts at a line that
/// starts with `MSH`; text before the first one is a message of its own (so
/// that it is reported, not skipped). Blank input gives no message.
fn hl7_messages(input: &[u8]) -> Vec<&[u8]> {
    let mut starts = vec![0];
    for (i, w) in input.windows(4).enumerate() {
        if matches!(w[0], b'\r' | b'\n') && &w[1..] == b"MSH" {
            starts.push(i + 1);
        }
    }
    starts.dedup();
    let mut out = Vec::new();
    for (n, &from) in starts.iter().enumerate() {
        let to = starts.get(n + 1).copied().unwrap_or(input.len());
        let m = &input[from..to];
        if !m.iter().all(u8::is_ascii_whitespace) {
            out.push(m);
        }
    }
    out
}

/// The `hl7` object of `wardwatch parse --format hl7`: what the console would
/// store for the message, and the ACK it would send.
fn hl7_summary(raw: &[u8], receipt: &Receipt) -> Value {
    use wardwatch::codec::hl7;
    let m = match hl7::parse(raw) {
        Ok(m) => m,
        Err(e) => return json!({"ok": false, "format": Format::Hl7, "ack": "AR", "error": e.to_string()}),
    };
    let mut summary = json!({
        "message_type": m.msh.message_type.to_string(),
        "control_id": m.msh.control_id,
        "version": m.msh.version,
        "sending_application": m.msh.sending_application.to_string(),
        "sending_facility": m.msh.sending_facility.to_string(),
        "location": m.location,
        "patient_associated": m.patient_id.is_some(),
        "observation_count": m.obx.len(),
        "alarm": m.alarm,
    });
    match normalize::hl7::observations(&m, None, receipt) {
        Ok(obs) => {
            if let Some(obj) = summary.as_object_mut() {
                let ids: Vec<&str> = obs.iter().map(|o| o.device_id.as_str()).collect();
                obj.insert("device_id".into(), json!(ids.first()));
                obj.insert("devices".into(), json!(ids));
            }
            json!({"ok": true, "format": Format::Hl7, "ack": "AA", "hl7": summary})
        }
        Err(e) => {
            if let Some(obj) = summary.as_object_mut() {
                obj.insert("device_id".into(), Value::Null);
            }
            json!({"ok": false, "format": Format::Hl7, "ack": e.code, "error": e.reason, "hl7": summary})
        }
    }
}

fn token_new(name: &str) -> anyhow::Result<()> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 64 || !name.chars().all(valid) {
        bail!("--name must be 1 to 64 letters, digits, '.', '_' or '-', such as gw-icu-2");
    }
    let token = wardwatch::ingest::NewToken::generate()?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Token for {name} (shown only now: give it to the gateway; Wardwatch keeps only its SHA-256):"
    )?;
    writeln!(out, "{}", token.reveal_secret())?;
    writeln!(out)?;
    writeln!(out, "Add these lines to the console's configuration file, then restart wardwatch serve:")?;
    writeln!(out, "[[http.tokens]]")?;
    writeln!(out, "name = \"{name}\"")?;
    writeln!(out, "sha256 = \"{}\"", token.sha256_hex())?;
    out.flush()?;
    Ok(())
}

/// The message bytes of one `--jsonl` line.
fn jsonl_input(line: &[u8]) -> Result<Vec<u8>, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    if let Some(s) = v.get("input").and_then(Value::as_str) {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(h) = v.get("input_hex").and_then(Value::as_str) {
        return from_hex(h);
    }
    Err("expected {\"input\": \"...\"} or {\"input_hex\": \"...\"}".into())
}

fn from_hex(h: &str) -> Result<Vec<u8>, String> {
    if h.len() % 2 != 0 {
        return Err("input_hex has an odd number of digits".into());
    }
    (0..h.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(h.get(i..i + 2).unwrap_or("zz"), 16)
                .map_err(|_| format!("input_hex: bad digits at {i}"))
        })
        .collect()
}

/// The results for one input: one per alert for JSON documents, else one.
fn parse_many(format: ParseFormat, raw: &[u8]) -> Vec<Value> {
    if !matches!(format, ParseFormat::Json) {
        return vec![parse_one(format, raw)];
    }
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    match normalize::json::decode(raw, &receipt) {
        Ok(alerts) => alerts
            .into_iter()
            .map(
                |(record, alert)| json!({"ok": true, "format": Format::Json, "json": record, "alert": alert}),
            )
            .collect(),
        Err(e) => {
            vec![json!({"ok": false, "format": Format::Json, "error": e.to_string(), "field": e.field})]
        }
    }
}

fn parse_one(format: ParseFormat, raw: &[u8]) -> Value {
    let receipt = Receipt { received_at: chrono::Utc::now(), source_addr: None, listener: None };
    match format {
        ParseFormat::Auto => match normalize::decode_auto(raw, &receipt) {
            // EVE device context: the record and the sightings serve would keep, no alert.
            Ok(AutoDecoded::Context { envelope, record, sightings }) => json!({
                "ok": true, "format": Format::Eve, "syslog": envelope, "eve": record,
                "alert": null, "context": sightings,
            }),
            Ok(AutoDecoded::Alert(layers, alert)) => {
                let mut out = json!({"ok": true, "format": alert.format, "alert": alert});
                if let Some(obj) = out.as_object_mut() {
                    let (syslog, inner) = match layers {
                        Layers::Rfc5424(m) => (Some(json!(m)), None),
                        Layers::Rfc3164(m) => (Some(json!(m)), None),
                        Layers::Cef(env, r) => (env.map(|m| json!(m)), Some(("cef", json!(r)))),
                        Layers::Leef(env, r) => (env.map(|m| json!(m)), Some(("leef", json!(r)))),
                        Layers::Eve(env, r) => (Some(json!(env)), Some(("eve", json!(r)))),
                    };
                    if let Some(s) = syslog {
                        obj.insert("syslog".into(), s);
                    }
                    if let Some((key, value)) = inner {
                        obj.insert(key.into(), value);
                    }
                }
                out
            }
            Err(e) => json!({"ok": false, "format": "auto", "error": e.to_string()}),
        },
        ParseFormat::Rfc5424 => match rfc5424::parse(raw) {
            Ok(m) => {
                let alert = normalize::from_rfc5424(&m, raw, &receipt);
                json!({"ok": true, "format": Format::Rfc5424, "syslog": m, "alert": alert})
            }
            Err(e) => json!({"ok": false, "format": Format::Rfc5424, "error": e.to_string()}),
        },
        ParseFormat::Rfc3164 => match rfc3164::parse(raw, receipt.received_at) {
            Ok(m) => {
                let alert = normalize::from_rfc3164(&m, raw, &receipt);
                json!({"ok": true, "format": Format::Rfc3164, "syslog": m, "alert": alert})
            }
            Err(e) => json!({"ok": false, "format": Format::Rfc3164, "error": e.to_string()}),
        },
        // Context records (flows, DNS, TLS, ...) are shown decoded, with no alert.
        ParseFormat::Eve => match eve::parse(raw) {
            Ok(r) => {
                let alert = normalize::from_eve(&r, raw, &receipt);
                json!({"ok": true, "format": Format::Eve, "eve": r, "alert": alert})
            }
            Err(e) => json!({"ok": false, "format": Format::Eve, "error": e.to_string()}),
        },
        ParseFormat::Cef => match normalize::cef::decode(raw, &receipt) {
            Ok(d) => with_envelope(
                json!({"ok": true, "format": Format::Cef, "cef": d.record, "alert": d.alert}),
                d.syslog,
            ),
            Err(e) => json!({"ok": false, "format": Format::Cef, "error": e.to_string()}),
        },
        ParseFormat::Leef => match normalize::leef::decode(raw, &receipt) {
            Ok(d) => with_envelope(
                json!({"ok": true, "format": Format::Leef, "leef": d.record, "alert": d.alert}),
                d.syslog,
            ),
            Err(e) => json!({"ok": false, "format": Format::Leef, "error": e.to_string()}),
        },
        ParseFormat::Hl7 => hl7_summary(raw, &receipt),
        ParseFormat::Json => parse_many(format, raw).into_iter().next().unwrap_or(Value::Null),
    }
}

/// Adds the `syslog` object of the envelope a record came in, when it came in one.
fn with_envelope(mut result: Value, syslog: Option<rfc5424::SyslogMessage>) -> Value {
    if let (Some(m), Some(obj)) = (syslog, result.as_object_mut()) {
        obj.insert("syslog".into(), json!(m));
    }
    result
}

/// Checks the person running the command against the permission matrix,
/// once the data directory it opens has accounts (before the first, the
/// command runs as the operating-system user, as `users add` makes the first
/// administrator). Logins, failures and refusals are audited.
fn check_access(matches: &clap::ArgMatches, cli: &Cli) -> anyhow::Result<()> {
    let mut path = Vec::new();
    let mut leaf = matches;
    while let Some((name, sub)) = leaf.subcommand() {
        path.push(name.to_owned());
        leaf = sub;
    }
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let op = match access_of(&path) {
        Some(Access::NoData) => return Ok(()),
        // It makes the first account, and checks its administrator itself (--as).
        Some(Access::Operation(_)) if path == ["users", "add"] => return Ok(()),
        Some(Access::Operation(op)) => op,
        None => bail!("[access.unknown_command] {} has no entry in the permission matrix", path.join(" ")),
    };
    let Some(data_dir) = leaf.try_get_one::<PathBuf>("data_dir").ok().flatten() else { return Ok(()) };
    if !data_dir.join(wardwatch::store::DB_FILE).exists() {
        return Ok(());
    }
    let mut store = audit::open(data_dir, cli.passphrase_file.as_deref(), true)?.store;
    if store.people()?.is_empty() {
        return Ok(());
    }
    let (Some(user), Some(file)) = (&cli.user, &cli.user_password_file) else {
        bail!("[auth.required] {} has accounts: say who you are with --user NAME and --user-password-file FILE (or WARDWATCH_USER and WARDWATCH_USER_PASSWORD_FILE)", data_dir.display());
    };
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
    );
    let password = text.lines().next().unwrap_or("");
    let now = chrono::Utc::now();
    let who = store
        .authenticate(user, wardwatch::store::Proof::Password(password), now)
        .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    let refused = match wardwatch::access::authorize(&who.roles, &who.wards, op, None) {
        Err(why) => Some(why.to_string()),
        // The command line does not know a device's or incident's ward before it runs.
        Ok(()) if !wardwatch::access::unscoped(&who.roles, op) => {
            Some("a role limited to wards works in the window, where the wards are known".to_owned())
        }
        Ok(()) => None,
    };
    if let Some(why) = refused {
        let body = json!({"operation": op, "command": path.join(" "), "why": why});
        let entry = wardwatch::audit::Entry::new(now, &who.username, wardwatch::audit::kind::REFUSED, &body)?;
        store.record([entry])?;
        bail!("[access.refused] {}: {why} (recorded in the audit log)", who.username);
    }
    hospital::act_as(&who.username);
    Ok(())
}

/// What a command needs of the person running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// An operation of the permission matrix (`wardwatch::access`).
    Operation(wardwatch::access::Operation),
    /// A tool that opens no data directory (parse, bench, simulate, token).
    NoData,
}

/// The access each command (by its subcommand path) needs: every command
/// has an entry, and a test fails for one that has none.
fn access_of(path: &[&str]) -> Option<Access> {
    use wardwatch::access::Operation::*;
    let op = match path {
        ["parse"] | ["bench"] | ["simulate"] | ["token", "new"] | ["response", "grade"] => {
            return Some(Access::NoData)
        }
        ["serve"] | ["key", "rotate" | "recovery"] | ["response", "token", "set" | "delete"] => Administer,
        ["status"] => ViewStatus,
        ["alerts"] => ViewAlerts,
        ["wards"] | ["devices"] => ViewHospital,
        ["device", "assign" | "set-use"] => ChangeDevice,
        ["inventory", "import" | "export"] => ManageInventory,
        ["incidents"] | ["incident", "show"] | ["maintenance", "list"] | ["response", "plan"] => {
            ViewIncidents
        }
        ["incident", "ack" | "silence" | "comment"] => AcknowledgeIncident,
        ["incident", "assign" | "mute" | "unmute" | "resolve" | "reopen"] => TriageIncident,
        ["maintenance", "add" | "end"] => ManageMaintenance,
        ["audit", "verify" | "export" | "log"] => ReviewAudit,
        ["audit", "archive"] => ArchiveAudit,
        ["users", "add" | "list" | "change"] => ManageUsers,
        _ => return None,
    };
    Some(Access::Operation(op))
}

#[cfg(test)]
mod access_tests {
    use clap::CommandFactory;

    use super::*;
    use wardwatch::access::{role_permits, Operation, Role};

    /// Every command a person can type, as its subcommand path.
    fn leaves(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|c| c.get_name() != "help").collect();
        if subs.is_empty() {
            out.push(path.clone());
        }
        for s in subs {
            path.push(s.get_name().to_owned());
            leaves(s, path, out);
            path.pop();
        }
    }

    #[test]
    fn every_command_has_an_entry_in_the_permission_matrix() {
        let mut all = Vec::new();
        leaves(&Cli::command(), &mut Vec::new(), &mut all);
        assert!(all.len() > 30, "{all:?}");
        let missing: Vec<String> = all
            .iter()
            .filter(|p| access_of(&p.iter().map(String::as_str).collect::<Vec<_>>()).is_none())
            .map(|p| p.join(" "))
            .collect();
        assert!(missing.is_empty(), "commands without an access entry: {missing:?}");
    }

    #[test]
    fn each_role_may_run_what_the_matrix_says_and_no_more() {
        let may = |r: Role, path: &[&str]| match access_of(path) {
            Some(Access::Operation(op)) => role_permits(r, op),
            Some(Access::NoData) => true,
            None => false,
        };
        let expect: [(&[&str], [bool; 5]); 8] = [
            //                             nurse  clin.  officer admin audit.
            (&["incident", "ack"], [true, true, true, false, false]),
            (&["incident", "mute"], [false, false, true, false, false]),
            (&["maintenance", "add"], [false, false, true, false, false]),
            (&["users", "add"], [false, false, false, true, false]),
            (&["audit", "verify"], [false, false, false, false, true]),
            (&["audit", "archive"], [false, false, false, true, false]),
            (&["alerts"], [false, true, true, true, true]),
            (&["parse"], [true, true, true, true, true]),
        ];
        for (path, want) in expect {
            let got = Role::ALL.map(|r| may(r, path));
            assert_eq!(got, want, "{path:?} for {:?}", Role::ALL);
        }
        assert!(
            Operation::ALL.iter().all(|op| Role::ALL.iter().any(|r| role_permits(*r, *op))),
            "an operation nobody may run"
        );
    }
}
