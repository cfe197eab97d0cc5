//! A simulated hospital whose traffic goes over the real protocols: for
//! demonstrations, load and end-to-end tests of a console.
//!
//! - [`hospital`] builds the hospital: one site, ten wards, about 450
//!   devices of real kinds and models with plausible firmware, the CVEs
//!   published for those product families, and identities that are unique
//!   and canonical (IP `10.<ward>.<class>.<n>`, locally administered MACs
//!   `02:...` so that no vendor's OUI is claimed, EUI-64s derived from them).
//! - [`traffic`] is the pure generator: given the inventory, a [`Scenario`]
//!   and a start time it yields timed messages for three channels. Syslog:
//!   CEF from a simulated IoMT security platform and Suricata EVE JSON inside
//!   syslog, as Suricata writes it with `filetype: syslog`. MLLP: HL7 v2
//!   `ORU^R01` (IHE PCD-01) from the ward device gateways. HTTP: Wardwatch's
//!   JSON alerts v1 from the home-care gateway. No I/O, no clock: the same
//!   inputs give the same bytes.
//! - [`expectations`] says what a scenario should leave in a console: which
//!   device must have an alert of which name and severity, which must be in
//!   use with a patient.
//! - [`run`] sends the traffic to a console over real sockets, paced by the
//!   messages' times, reconnecting with back-off, and counts per channel.
//!
//! Nothing here is real: patients are `SIMULATED^PATIENT` with made-up
//! record numbers (`SIM...`), public addresses are from the documentation
//! ranges (RFC 5737), domain names are under reserved TLDs (RFC 2606), and
//! the security products that raise alerts are named as simulated. Suricata
//! signatures use ids from the range set aside for local rules
//! (1000000-1999999), so they cannot be mistaken for published ones.

mod catalogue;
mod expect;
mod hospital;
mod messages;
mod plan;
mod rng;
mod send;
mod traffic;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use expect::{expectations, Expectation, Expected};
pub use hospital::{hospital, SITE};
pub use send::{
    run, BearerToken, ChannelReport, SendReport, SimError, SyslogTarget, SyslogTransport, Targets,
};
pub use traffic::{traffic, Channel, Message, MessageKind, Timed, Traffic};

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 20_240_501;

/// Background messages per second when no rate is given.
pub const DEFAULT_RATE: f64 = 20.0;

/// The highest background rate accepted, messages per second.
pub const MAX_RATE: f64 = 10_000.0;

/// What the simulated hospital does besides its background traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// Background traffic and every scenario below, staggered in the first
    /// seconds, then each repeating at a calm pace.
    All,
    /// Background traffic only.
    Background,
    C2Beacon,
    PumpExploit,
    ScannerStorm,
    HomeGlucoseCloud,
    DefaultCredentials,
}

impl Scenario {
    /// Every scenario, in the order `--list-scenarios` prints them.
    pub const ALL: [Scenario; 7] = [
        Self::All,
        Self::Background,
        Self::C2Beacon,
        Self::PumpExploit,
        Self::ScannerStorm,
        Self::HomeGlucoseCloud,
        Self::DefaultCredentials,
    ];

    /// The scenarios that are one story each (not `all`, not `background`).
    pub const STORIES: [Scenario; 5] = [
        Self::PumpExploit,
        Self::DefaultCredentials,
        Self::HomeGlucoseCloud,
        Self::C2Beacon,
        Self::ScannerStorm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Background => "background",
            Self::C2Beacon => "c2-beacon",
            Self::PumpExploit => "pump-exploit",
            Self::ScannerStorm => "scanner-storm",
            Self::HomeGlucoseCloud => "home-glucose-cloud",
            Self::DefaultCredentials => "default-credentials",
        }
    }

    /// One line for people.
    pub fn description(self) -> &'static str {
        match self {
            Self::All => "background traffic and every scenario, staggered in the first seconds, then repeating calmly",
            Self::Background => "steady background only: HL7 observations, Suricata flows/DNS/TLS, low-severity CEF, home check-ins",
            Self::C2Beacon => "an imaging acquisition workstation beacons to a command-and-control host every few seconds (EVE alerts and DNS)",
            Self::PumpExploit => "an exploit attempt against an infusion pump in use with a patient in intensive care (EVE alert, HL7 in use)",
            Self::ScannerStorm => "a misconfigured vulnerability scanner: thousands of scan alerts to many devices in seconds (CEF and EVE)",
            Self::HomeGlucoseCloud => "a home glucose monitor talks to an unknown cloud host (JSON alert from the home-care gateway, in use)",
            Self::DefaultCredentials => "a patient monitor accepts its default credentials (high-severity CEF from the IoMT platform)",
        }
    }

    /// The stories this scenario plays.
    pub fn stories(self) -> &'static [Scenario] {
        match self {
            Self::All => &Self::STORIES,
            Self::Background => &[],
            Self::C2Beacon => &[Self::C2Beacon],
            Self::PumpExploit => &[Self::PumpExploit],
            Self::ScannerStorm => &[Self::ScannerStorm],
            Self::HomeGlucoseCloud => &[Self::HomeGlucoseCloud],
            Self::DefaultCredentials => &[Self::DefaultCredentials],
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|sc| sc.name() == key).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario {s:?}; one of {}", names.join(", "))
        })
    }
}

/// How to play the traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub scenario: Scenario,
    /// Background messages per second (0 turns the background off); the
    /// scenarios' messages come on top.
    pub rate: f64,
    /// When to stop; `None` plays until cancelled.
    pub duration: Option<Duration>,
    /// Seeds the generator (values, jitter, order); the same seed gives the
    /// same messages.
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self { scenario: Scenario::All, rate: DEFAULT_RATE, duration: None, seed: DEFAULT_SEED }
    }
}

#[cfg(test)]
mod tests;
