//! `wardwatch simulate`: a simulated hospital's traffic, sent to a console
//! over the real protocols (see `wardwatch::simulate`).

use std::io::{self, Write};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;
use wardwatch::simulate::{
    self, BearerToken, Channel, Scenario, SendReport, SimOptions, SyslogTarget, Targets, DEFAULT_RATE,
    DEFAULT_SEED,
};

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// A syslog listener: tcp://HOST:PORT (RFC 6587 octet counting) or udp://HOST:PORT.
    #[arg(long, value_name = "URL")]
    syslog: Option<SyslogTarget>,
    /// An MLLP listener, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    mllp: Option<String>,
    /// An http:// listener, such as http://127.0.0.1:8080/v1/alerts (the path defaults to /v1/alerts).
    #[arg(long, value_name = "URL", requires = "token")]
    http: Option<String>,
    /// The bearer token for --http (made by `wardwatch token new`).
    #[arg(long, env = "WARDWATCH_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    token: Option<String>,
    /// What happens besides the background traffic (see --list-scenarios).
    #[arg(long, default_value = "all", value_name = "NAME")]
    scenario: Scenario,
    /// Background messages per second (0: only the scenario's own messages).
    #[arg(long, default_value_t = DEFAULT_RATE, value_name = "N")]
    rate: f64,
    /// How long to run, such as 30s, 5m, 1h or 500ms (a bare number is seconds);
    /// without it, until SIGINT or SIGTERM.
    #[arg(long, value_parser = parse_duration, value_name = "D")]
    duration: Option<Duration>,
    /// The same seed gives the same hospital and the same traffic.
    #[arg(long, default_value_t = DEFAULT_SEED, value_name = "S")]
    seed: u64,
    /// Write the simulated hospital's inventory (wards and devices) as JSON to FILE and exit.
    #[arg(long, value_name = "FILE")]
    write_inventory: Option<PathBuf>,
    /// List the scenarios and exit.
    #[arg(long)]
    list_scenarios: bool,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `30s`, `5m`, `1h`, `500ms`, or seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let n: f64 =
        number.parse().map_err(|_| format!("{s:?} is not a duration such as 30s, 5m, 1h or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {s:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{s:?} is out of range"))
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if args.list_scenarios {
        for s in Scenario::ALL {
            writeln!(out, "{:<20} {}", s.name(), s.description())?;
        }
        return Ok(());
    }
    let inventory = simulate::hospital(args.seed);
    if let Some(path) = &args.write_inventory {
        // The inventory export format, by extension (CSV or JSON; JSON when
        // it says neither): what `wardwatch inventory import` reads back.
        let format = wardwatch::hospital::inventory::InventoryFormat::from_path(path)
            .unwrap_or(wardwatch::hospital::inventory::InventoryFormat::Json);
        let bytes = wardwatch::hospital::inventory::export(&inventory, format);
        std::fs::write(path, bytes).with_context(|| format!("could not write {}", path.display()))?;
        writeln!(
            out,
            "Wrote {} wards and {} devices of {} (seed {}) to {}",
            inventory.wards.len(),
            inventory.devices.len(),
            simulate::SITE,
            args.seed,
            path.display()
        )?;
        return Ok(());
    }
    let mllp = match &args.mllp {
        Some(m) => Some(
            m.to_socket_addrs()
                .with_context(|| format!("--mllp {m}: expected HOST:PORT"))?
                .next()
                .with_context(|| format!("--mllp {m}: the name has no address"))?,
        ),
        None => None,
    };
    let http = match (args.http, args.token) {
        (Some(url), Some(token)) => Some((url, BearerToken::new(token))),
        (Some(_), None) => bail!("--http needs --token (or WARDWATCH_TOKEN)"),
        (None, _) => None,
    };
    let targets = Targets { syslog: args.syslog, mllp, http };
    if targets.syslog.is_none() && targets.mllp.is_none() && targets.http.is_none() {
        bail!(
            "say where to send: --syslog tcp://HOST:PORT, --mllp HOST:PORT and/or --http URL --token TOKEN \
             (or --write-inventory FILE, --list-scenarios)"
        );
    }
    let options =
        SimOptions { scenario: args.scenario, rate: args.rate, duration: args.duration, seed: args.seed };
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    let report = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let signal = super::wait_for_signal()?;
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if signal.await.is_ok() {
                on_signal.cancel();
            }
        });
        anyhow::Ok(simulate::run(targets, &inventory, options, cancel).await?)
    })?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        print_report(&mut out, &report)?;
    }
    let targeted: Vec<_> =
        Channel::ALL.iter().map(|c| report.channel(*c)).filter(|c| c.target.is_some()).collect();
    if targeted.iter().any(|c| c.generated > 0) && targeted.iter().all(|c| c.sent == 0) {
        let why = targeted.iter().find_map(|c| c.last_error.clone()).unwrap_or_else(|| "unknown".into());
        bail!("nothing was delivered: {why}");
    }
    Ok(())
}

fn print_report(out: &mut impl Write, r: &SendReport) -> io::Result<()> {
    let how = if r.cancelled { "stopped" } else { "done" };
    writeln!(
        out,
        "{how}: {} (seed {}), scenario {}, background {} msg/s, {:.1} s",
        simulate::SITE,
        r.seed,
        r.scenario,
        r.rate,
        r.elapsed_ms as f64 / 1000.0
    )?;
    writeln!(
        out,
        "{:<7} {:<36} {:>9} {:>9} {:>7} {:>8} {:>10} {:>8}",
        "CHANNEL", "TARGET", "GENERATED", "SENT", "FAILED", "DROPPED", "RECONNECTS", "RETRIED"
    )?;
    for c in Channel::ALL {
        let ch = r.channel(c);
        let Some(target) = &ch.target else { continue };
        write!(
            out,
            "{:<7} {:<36} {:>9} {:>9} {:>7} {:>8} {:>10} {:>8}",
            c.as_str(),
            target,
            ch.generated,
            ch.sent,
            ch.failed,
            ch.dropped,
            ch.reconnects,
            ch.retried
        )?;
        if c == Channel::Mllp {
            write!(out, "  ACKs: AA {}, AE {}, AR {}", ch.aa, ch.ae, ch.ar)?;
        }
        writeln!(out)?;
        if let Some(e) = &ch.last_error {
            writeln!(out, "        last problem: {e}")?;
        }
    }
    let stories: Vec<String> = r.by_story.iter().map(|(s, n)| format!("{s} {n}")).collect();
    writeln!(out, "Messages by story: {}", stories.join(", "))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        let check = |s: &str, d: Option<Duration>| assert_eq!(parse_duration(s).ok(), d, "{s}");
        check("30s", Some(Duration::from_secs(30)));
        check("5m", Some(Duration::from_secs(300)));
        check("1h", Some(Duration::from_secs(3600)));
        check("500ms", Some(Duration::from_millis(500)));
        check("2.5", Some(Duration::from_millis(2500)));
        check("7", Some(Duration::from_secs(7)));
        check("5 m", Some(Duration::from_secs(300)));
        check("-1s", None);
        check("s", None);
        check("3d", None);
    }
}
