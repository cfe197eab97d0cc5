//! The built-in simulated hospital, run against this console's own
//! listeners (`wardwatch serve --simulate`, `make run`): what it needs is
//! added to the configuration before the start (loopback listeners for
//! syslog over TCP, MLLP and HTTP, and a fresh token for its home-care
//! gateway), its inventory is imported once into an empty data directory
//! (as a person would, with an `inventory.imported` record by actor
//! `simulator`), and once the listeners are bound its traffic goes to them
//! over real sockets until the console stops.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ConsoleError;
use crate::config::ConsoleConfig;
use crate::ingest::{ListenUrl, Listener, NewToken, TokenEntry, Transport};
use crate::simulate::{self, BearerToken, Scenario, SimOptions, SyslogTarget, Targets};
use crate::store::{Store, StoreError};

/// The name the simulator's token goes by in the configuration and logs.
pub const TOKEN_NAME: &str = "simulated-home-gateway";

/// What the start needs to run the simulation once the listeners are up.
pub(super) struct Prepared {
    scenario: Scenario,
    token: NewToken,
}

/// Adds what the simulation needs to `config`; `None` when it runs none.
pub(super) fn prepare(config: &mut ConsoleConfig) -> Result<Option<Prepared>, ConsoleError> {
    let Some(name) = config.simulate.as_deref() else { return Ok(None) };
    let scenario: Scenario = name.parse().map_err(ConsoleError::Simulate)?;
    for transport in [Transport::Tcp, Transport::Mllp, Transport::Http] {
        if !config.listen.iter().any(|l| l.transport == transport) {
            let addr = SocketAddr::from(([127, 0, 0, 1], 0));
            config.listen.push(ListenUrl::socket(transport, addr));
        }
    }
    let token =
        NewToken::generate().map_err(|e| ConsoleError::Simulate(format!("could not make a token: {e}")))?;
    config.ingest.http.tokens.retain(|t| t.name != TOKEN_NAME);
    config.ingest.http.tokens.push(TokenEntry {
        name: TOKEN_NAME.into(),
        sha256: token.sha256_hex(),
        disabled: false,
    });
    Ok(Some(Prepared { scenario, token }))
}

/// Imports the simulated hospital when the data directory has no wards yet.
pub(super) fn load_inventory(store: &mut Store) -> Result<(), StoreError> {
    if !store.wards()?.is_empty() {
        return Ok(());
    }
    let hospital = simulate::hospital(simulate::DEFAULT_SEED);
    let summary = serde_json::json!({
        "file": "built-in simulated hospital",
        "site": simulate::SITE,
        "wards": hospital.wards.len(),
        "devices": hospital.devices.len(),
    });
    let applied = store.apply_import(
        &hospital.wards,
        &hospital.devices,
        &[],
        "simulator",
        &summary,
        chrono::Utc::now(),
    )?;
    tracing::info!(
        wards = applied.wards_created,
        devices = applied.devices_written,
        "Simulated hospital loaded."
    );
    Ok(())
}

/// Starts the traffic towards the first bound listener of each kind.
pub(super) fn spawn(p: Prepared, listeners: &[Arc<Listener>], stop: CancellationToken, tasks: &TaskTracker) {
    let bound = |t: Transport| {
        listeners.iter().filter(|l| l.url().transport == t).find_map(|l| l.status().bound_addr).map(loopback)
    };
    let targets = Targets {
        syslog: bound(Transport::Tcp).and_then(|a| format!("tcp://{a}").parse::<SyslogTarget>().ok()),
        mllp: bound(Transport::Mllp),
        http: bound(Transport::Http)
            .map(|a| (format!("http://{a}/v1/alerts"), BearerToken::new(p.token.reveal_secret().to_owned()))),
    };
    let hospital = simulate::hospital(simulate::DEFAULT_SEED);
    let options = SimOptions { scenario: p.scenario, ..SimOptions::default() };
    tracing::info!(scenario = %p.scenario, "Simulated hospital traffic starting.");
    tasks.spawn(async move {
        match simulate::run(targets, &hospital, options, stop).await {
            Ok(report) => tracing::info!(
                syslog = report.syslog.sent,
                mllp = report.mllp.sent,
                http = report.http.sent,
                "Simulated hospital traffic stopped."
            ),
            Err(e) => tracing::warn!(error = %e, "The simulated hospital could not send."),
        }
    });
}

/// A listener bound to every address is reached on loopback.
fn loopback(a: SocketAddr) -> SocketAddr {
    if a.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], a.port()))
    } else {
        a
    }
}
