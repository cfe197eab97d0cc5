//! The `[atna]` table of the configuration file: where the Audit Record
//! Repository listens, how to trust it, and how this console names itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// How many audit events may wait for the repository by default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// How long shutdown waits by default for queued events to reach the repository.
pub const DEFAULT_SHUTDOWN_FLUSH_MS: u64 = 5_000;

/// The `[atna]` table: forward every audit event to an IHE Audit Record
/// Repository as an RFC 3881 / DICOM audit message over syslog TLS (ITI-20).
///
/// ```toml
/// [atna]
/// url = "tls://arr.hospital.example:6514"
/// ca_file = "/etc/wardwatch/arr-ca.pem"
/// client_cert_file = "/etc/wardwatch/node.pem"
/// client_key_file = "/etc/wardwatch/node.key"
/// audit_source_id = "wardwatch-icu"
/// enterprise_site_id = "St Elsewhere ICU"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtnaConfig {
    /// `tls://HOST:PORT` of the repository; HOST is checked against its certificate.
    pub url: AtnaUrl,
    /// PEM: the CA certificates the repository's certificate must chain to.
    pub ca_file: PathBuf,
    /// PEM: this node's certificate (ATNA node authentication, mutual TLS).
    pub client_cert_file: Option<PathBuf>,
    /// PEM: this node's private key, with `client_cert_file`.
    pub client_key_file: Option<PathBuf>,
    /// AuditSourceID: how the repository names this console.
    pub audit_source_id: String,
    /// AuditEnterpriseSiteID: the site or department, when the hospital uses one.
    pub enterprise_site_id: Option<String>,
    /// How many events may wait while the repository is slow or away; more
    /// are dropped and counted.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Milliseconds shutdown waits for queued events to be sent.
    #[serde(default = "default_shutdown_flush_ms")]
    pub shutdown_flush_ms: u64,
    /// The HOSTNAME of syslog headers and this node's NetworkAccessPointID;
    /// the machine's host name when not set.
    pub hostname: Option<String>,
    /// Also forward one event per received alert, rejected message and
    /// device observation (a repository then sees every message); by
    /// default only what people and the console do is forwarded.
    #[serde(default)]
    pub forward_ingest: bool,
}

fn default_queue_capacity() -> usize {
    DEFAULT_QUEUE_CAPACITY
}

fn default_shutdown_flush_ms() -> u64 {
    DEFAULT_SHUTDOWN_FLUSH_MS
}

impl AtnaConfig {
    /// A configuration with the defaults and no client certificate.
    pub fn new(url: AtnaUrl, ca_file: impl Into<PathBuf>, audit_source_id: impl Into<String>) -> Self {
        Self {
            url,
            ca_file: ca_file.into(),
            client_cert_file: None,
            client_key_file: None,
            audit_source_id: audit_source_id.into(),
            enterprise_site_id: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            shutdown_flush_ms: DEFAULT_SHUTDOWN_FLUSH_MS,
            hostname: None,
            forward_ingest: false,
        }
    }

    pub fn shutdown_flush(&self) -> Duration {
        Duration::from_millis(self.shutdown_flush_ms)
    }

    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.queue_capacity == 0 {
            return Err("atna.queue_capacity must be at least 1".into());
        }
        if self.audit_source_id.trim().is_empty() {
            return Err("atna.audit_source_id must not be empty".into());
        }
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            return Err(
                "atna.client_cert_file and atna.client_key_file go together: set both or neither".into()
            );
        }
        Ok(())
    }

    /// Makes relative file paths relative to `dir` (the configuration file's).
    pub fn resolve_paths(&mut self, dir: &Path) {
        for p in [Some(&mut self.ca_file), self.client_cert_file.as_mut(), self.client_key_file.as_mut()]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
    }
}

/// `tls://HOST:PORT`, HOST a DNS name or an IP address (IPv6 in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtnaUrl {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("atna url {0:?} must be tls://HOST:PORT (RFC 5425 syslog over TLS), such as tls://arr.example:6514")]
pub struct AtnaUrlError(pub String);

impl FromStr for AtnaUrl {
    type Err = AtnaUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AtnaUrlError(s.to_owned());
        let rest = s.strip_prefix("tls://").ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let host = match host.strip_prefix('[') {
            Some(v6) => {
                v6.strip_suffix(']').filter(|h| h.parse::<std::net::Ipv6Addr>().is_ok()).ok_or_else(bad)?
            }
            None => host,
        };
        let valid_host = !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        let port: u16 = port.parse().map_err(|_| bad())?;
        if !valid_host || port == 0 {
            return Err(bad());
        }
        Ok(Self { host: host.to_owned(), port })
    }
}

impl fmt::Display for AtnaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "tls://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "tls://{}:{}", self.host, self.port)
        }
    }
}

impl<'de> Deserialize<'de> for AtnaUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let got = match input.parse::<AtnaUrl>() {
            Ok(u) => format!("{} {}", u.host, u.port),
            Err(_) => "error".to_owned(),
        };
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn urls() {
        check("tls://arr.example:6514", "arr.example 6514");
        check("tls://127.0.0.1:6514", "127.0.0.1 6514");
        check("tls://[::1]:6514", "::1 6514");
        check("tcp://arr.example:6514", "error");
        check("tls://arr.example", "error");
        check("tls://:6514", "error");
        check("tls://arr.example:0", "error");
        check("tls://arr.example:70000", "error");
        check("tls://arr example:6514", "error");
        check("tls://[nope]:6514", "error");
        assert_eq!(
            "tls://[::1]:6514".parse::<AtnaUrl>().map(|u| u.to_string()),
            Ok("tls://[::1]:6514".into())
        );
    }

    #[test]
    fn table_defaults_and_refusals() -> Result<(), Box<dyn std::error::Error>> {
        let c: AtnaConfig =
            toml::from_str("url = \"tls://arr:6514\"\nca_file = \"ca.pem\"\naudit_source_id = \"ww\"\n")?;
        assert_eq!(c, AtnaConfig::new("tls://arr:6514".parse()?, "ca.pem", "ww"));
        assert_eq!(c.validate(), Ok(()));
        assert!(toml::from_str::<AtnaConfig>(
            "url = \"tls://arr:6514\"\nca_file = \"c\"\naudit_source_id = \"w\"\nport = 1\n"
        )
        .is_err());
        assert!(toml::from_str::<AtnaConfig>(
            "url = \"udp://arr:514\"\nca_file = \"c\"\naudit_source_id = \"w\"\n"
        )
        .is_err_and(|e| e.to_string().contains("tls://HOST:PORT")));
        let mut half = c.clone();
        half.client_cert_file = Some("node.pem".into());
        assert!(half.validate().is_err_and(|e| e.contains("set both or neither")));
        let mut empty = c;
        empty.queue_capacity = 0;
        assert!(empty.validate().is_err());
        Ok(())
    }
}
