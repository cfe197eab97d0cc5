//! How a console is configured: defaults, then a TOML file, then environment
//! variables (which tests and packaging use), each overriding the one before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::atna::AtnaConfig;
use crate::ingest::{HttpConfig, IngestConfig, ListenUrl, ListenUrlError, TlsFiles, TokenEntry};

/// Environment variable naming the data directory.
pub const ENV_DATA_DIR: &str = "WARDWATCH_DATA_DIR";
/// Environment variable with listen URLs, separated by commas.
pub const ENV_LISTEN: &str = "WARDWATCH_LISTEN";
/// Environment variable naming the configuration file.
pub const ENV_CONFIG: &str = "WARDWATCH_CONFIG";

/// The listeners a console opens when nothing else is said: loopback only.
pub const DEFAULT_LISTEN: &[&str] = &["udp://127.0.0.1:5514", "tcp://127.0.0.1:5514"];

/// Everything a [`crate::Console`] needs to start.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub data_dir: PathBuf,
    pub listen: Vec<ListenUrl>,
    pub ingest: IngestConfig,
    /// How many decoded messages may wait for the store before TCP listeners
    /// stop reading and UDP listeners drop.
    pub queue_capacity: usize,
    /// `[atna]`: forward audit events to an IHE Audit Record Repository.
    pub atna: Option<AtnaConfig>,
    /// `[hospital]`: how evidence ages.
    pub hospital: HospitalSettings,
    /// Run the built-in simulated hospital against this console's own
    /// listeners, with this scenario (`wardwatch serve --simulate`).
    pub simulate: Option<String>,
    /// `[notifications]`: who is interrupted, how often.
    pub notifications: NotificationSettings,
    /// `[access]`: how soon a seat locks, what a locked one shows.
    pub access: AccessSettings,
    /// `[response]`: the adapters that carry out approved actions.
    pub response: ResponseSettings,
}

/// An adapter in words for the settings record: never a secret (a token
/// by name only).
fn describe_adapter(a: &crate::response::dispatch::AdapterConfig) -> String {
    use crate::response::dispatch::AdapterConfig as A;
    match a {
        A::Webhook(w) => format!(
            "webhook {} {}{}{}, timeout {} ms",
            w.method,
            w.url,
            w.token.as_ref().map(|t| format!(", token {t}")).unwrap_or_default(),
            w.ca_file.as_ref().map(|c| format!(", CA {}", c.display())).unwrap_or_default(),
            w.timeout_ms
        ),
        A::CefSyslog(c) => format!("CEF syslog to {}", c.target),
        A::Manual(_) => "manual checklist".to_owned(),
    }
}

/// The `[response]` table: adapters (`[[response.adapters]]`), which one
/// carries out each action (`routes`, by action id, `"*"` for the rest;
/// unrouted actions become a manual checklist), and `[response.retry]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseSettings {
    pub adapters: Vec<crate::response::dispatch::AdapterConfig>,
    pub routes: BTreeMap<String, String>,
    pub retry: crate::response::dispatch::RetryPolicy,
}

impl ResponseSettings {
    /// Adapters valid, every route to an adapter that exists (or `manual`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |e: &dyn std::fmt::Display| ConfigError::Invalid(format!("response: {e}"));
        crate::response::dispatch::validate(&self.adapters).map_err(|e| bad(&e))?;
        self.retry.validate().map_err(|e| bad(&e))?;
        for (action, adapter) in &self.routes {
            let known =
                adapter == crate::console::MANUAL || self.adapters.iter().any(|a| a.name() == adapter);
            if !known {
                return Err(bad(&format!("routes.{action} = {adapter:?}: no adapter has that name")));
            }
        }
        Ok(())
    }
}

/// The `[access]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSettings {
    /// A seat with no command for this long locks (shorter on a shared
    /// nursing station: 120 is usual there).
    pub idle_lock_secs: u64,
    /// A locked seat still shows each ward's health, without details, so a
    /// nurse sees that something is wrong without logging in.
    pub locked_overview: bool,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self { idle_lock_secs: 300, locked_overview: true }
    }
}

/// The `[notifications]` table: the notification policy's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Show desktop notifications (D-Bus); when false, what would be shown
    /// goes to the log. The policy's decisions are recorded either way.
    pub desktop: bool,
    /// The lowest priority that notifies: `high` (the default), `medium` or `low`.
    pub min_priority: String,
    /// At most one notification per ward in this many seconds; later ones
    /// are summarised ("3 more in ICU").
    pub ward_interval_secs: u64,
    /// An incident notified and still unacknowledged after this long
    /// escalates to the next role.
    pub escalate_after_secs: u64,
    /// Who is notified, in escalation order.
    pub roles: Vec<String>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            desktop: true,
            min_priority: "high".into(),
            ward_interval_secs: 60,
            escalate_after_secs: 600,
            roles: crate::notify::DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

impl NotificationSettings {
    /// The policy's configuration.
    pub fn policy(&self) -> Result<crate::notify::PolicyConfig, ConfigError> {
        let min_priority = crate::incident::Priority::parse(&self.min_priority).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "notifications.min_priority is high, medium or low, not {:?}",
                self.min_priority
            ))
        })?;
        let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000_000));
        Ok(crate::notify::PolicyConfig {
            min_priority,
            ward_interval: secs(self.ward_interval_secs),
            escalate_after: secs(self.escalate_after_secs),
            roles: self.roles.clone(),
            ..crate::notify::PolicyConfig::default()
        })
    }
}

/// Environment variable asking for the simulated hospital, with a scenario
/// name (`all`, `background`, ...): what `make run` sets.
pub const ENV_SIMULATE: &str = "WARDWATCH_SIMULATE";

/// The `[hospital]` table: how long evidence lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HospitalSettings {
    /// With no HL7 observation or gateway report for this long, a device
    /// last seen in use is shown idle (and says why).
    pub idle_after_secs: u64,
    /// With nothing heard from a device for this long, its health is unknown.
    pub stale_after_secs: u64,
}

impl Default for HospitalSettings {
    fn default() -> Self {
        Self { idle_after_secs: 30 * 60, stale_after_secs: 24 * 3600 }
    }
}

impl HospitalSettings {
    pub fn rules(&self) -> crate::store::ViewRules {
        let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000_000));
        crate::store::ViewRules {
            health: crate::hospital::HealthRules { stale_after: secs(self.stale_after_secs) },
            idle_after: secs(self.idle_after_secs),
        }
    }
}

impl ConsoleConfig {
    /// The settings that decide what the console takes in and where its
    /// audit events go, by name, as text: what `config.settings` audit
    /// records hold (see [`crate::audit::settings`]). Files and tokens are
    /// named, never their contents: a token shows its name and the first 8
    /// hex digits of its SHA-256, enough to see that it was replaced.
    pub fn settings(&self) -> BTreeMap<String, String> {
        let mut s = BTreeMap::new();
        let mut set = |name: &str, value: String| {
            s.insert(name.to_owned(), value);
        };
        let path = |p: &Path| p.display().to_string();
        let listen: Vec<String> = self.listen.iter().map(ToString::to_string).collect();
        set("listen", listen.join(", "));
        set("max_message_bytes", self.ingest.max_message_bytes.to_string());
        set("max_connections", self.ingest.max_connections.to_string());
        set("idle_timeout_secs", self.ingest.idle_timeout.map_or("none".into(), |d| d.as_secs().to_string()));
        set("queue_capacity", self.queue_capacity.to_string());
        if let Some(tls) = &self.ingest.tls {
            set("tls.cert_file", path(&tls.cert_file));
            set("tls.key_file", path(&tls.key_file));
            set("tls.client_ca_file", tls.client_ca_file.as_deref().map_or("none".into(), path));
        }
        for t in &self.ingest.http.tokens {
            let prefix = t.sha256.get(..8).unwrap_or(&t.sha256);
            let state = if t.disabled { "disabled" } else { "enabled" };
            set(&format!("http.token.{}", t.name), format!("{state}, sha256 {prefix}..."));
        }
        if let Some(a) = &self.atna {
            set("atna.url", a.url.to_string());
            set("atna.ca_file", path(&a.ca_file));
            set("atna.client_cert_file", a.client_cert_file.as_deref().map_or("none".into(), path));
            set("atna.client_key_file", a.client_key_file.as_deref().map_or("none".into(), path));
            set("atna.audit_source_id", a.audit_source_id.clone());
            set("atna.enterprise_site_id", a.enterprise_site_id.clone().unwrap_or_else(|| "none".into()));
            set("atna.hostname", a.hostname.clone().unwrap_or_else(|| "the machine's".into()));
            set("atna.queue_capacity", a.queue_capacity.to_string());
            set("atna.shutdown_flush_ms", a.shutdown_flush_ms.to_string());
            set("atna.forward_ingest", a.forward_ingest.to_string());
        }
        set("hospital.idle_after_secs", self.hospital.idle_after_secs.to_string());
        set("hospital.stale_after_secs", self.hospital.stale_after_secs.to_string());
        let n = &self.notifications;
        set("notifications.desktop", n.desktop.to_string());
        set("notifications.min_priority", n.min_priority.clone());
        set("notifications.ward_interval_secs", n.ward_interval_secs.to_string());
        set("notifications.escalate_after_secs", n.escalate_after_secs.to_string());
        set("notifications.roles", n.roles.join(", "));
        set("access.idle_lock_secs", self.access.idle_lock_secs.to_string());
        set("access.locked_overview", self.access.locked_overview.to_string());
        for a in &self.response.adapters {
            set(&format!("response.adapters.{}", a.name()), describe_adapter(a));
        }
        for (action, adapter) in &self.response.routes {
            set(&format!("response.routes.{action}"), adapter.clone());
        }
        let r = &self.response.retry;
        set(
            "response.retry",
            format!("{} attempts, {} ms doubling to {} ms", r.max_attempts, r.base_ms, r.cap_ms),
        );
        if let Some(scenario) = &self.simulate {
            set("simulate", scenario.clone());
        }
        s
    }
}

/// The configuration file: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<Vec<ListenUrl>>,
    pub max_message_bytes: Option<usize>,
    pub max_connections: Option<usize>,
    /// Seconds; 0 keeps idle connections open for ever.
    pub idle_timeout_secs: Option<u64>,
    pub queue_capacity: Option<usize>,
    /// `[tls]`: `cert_file`, `key_file`, optional `client_ca_file` (PEM), for
    /// `tls://` listeners. Relative paths are read from the file's directory.
    pub tls: Option<TlsFiles>,
    /// `[http]`: the HTTP listener's settings.
    pub http: Option<HttpFile>,
    /// `[atna]`: IHE ATNA audit forwarding (syslog TLS to an Audit Record
    /// Repository). Relative paths are read from the file's directory.
    pub atna: Option<AtnaConfig>,
    /// `[hospital]`: `idle_after_secs`, `stale_after_secs`.
    pub hospital: Option<HospitalSettings>,
    /// `[notifications]`: `desktop`, `min_priority`, `ward_interval_secs`,
    /// `escalate_after_secs`, `roles`.
    pub notifications: Option<NotificationSettings>,
    /// `[access]`: `idle_lock_secs`, `locked_overview`.
    pub access: Option<AccessSettings>,
    /// `[response]`: `adapters`, `routes`, `retry`.
    pub response: Option<ResponseSettings>,
}

/// The `[http]` table: `[[http.tokens]]` entries (name, sha256, disabled).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFile {
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("{ENV_LISTEN}: {0}")]
    EnvListen(ListenUrlError),
    #[error("{0}")]
    Invalid(String),
}

impl ConsoleConfig {
    /// Defaults: the given data directory and the loopback listeners.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: DEFAULT_LISTEN.iter().filter_map(|s| s.parse().ok()).collect(),
            ingest: IngestConfig::default(),
            queue_capacity: 8192,
            atna: None,
            hospital: HospitalSettings::default(),
            simulate: None,
            notifications: NotificationSettings::default(),
            access: AccessSettings::default(),
            response: ResponseSettings::default(),
        }
    }

    /// Layers the file over the defaults.
    pub fn with_file(mut self, file: ConfigFile) -> Self {
        if let Some(d) = file.data_dir {
            self.data_dir = d;
        }
        if let Some(l) = file.listen {
            self.listen = l;
        }
        if let Some(m) = file.max_message_bytes {
            self.ingest.max_message_bytes = m;
        }
        if let Some(m) = file.max_connections {
            self.ingest.max_connections = m;
        }
        if let Some(s) = file.idle_timeout_secs {
            self.ingest.idle_timeout = (s > 0).then(|| std::time::Duration::from_secs(s));
        }
        if let Some(q) = file.queue_capacity {
            self.queue_capacity = q;
        }
        if let Some(t) = file.tls {
            self.ingest.tls = Some(t);
        }
        if let Some(h) = file.http {
            self.ingest.http = HttpConfig { tokens: h.tokens };
        }
        if let Some(a) = file.atna {
            self.atna = Some(a);
        }
        if let Some(h) = file.hospital {
            self.hospital = h;
        }
        if let Some(n) = file.notifications {
            self.notifications = n;
        }
        if let Some(a) = file.access {
            self.access = a;
        }
        if let Some(r) = file.response {
            self.response = r;
        }
        self
    }

    /// Layers environment variables (looked up through `var`) over the rest.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        if let Some(d) = var(ENV_DATA_DIR).filter(|d| !d.is_empty()) {
            self.data_dir = d.into();
        }
        if let Some(l) = var(ENV_LISTEN).filter(|l| !l.trim().is_empty()) {
            self.listen = l
                .split(',')
                .map(|s| s.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(ConfigError::EnvListen)?;
        }
        if let Some(s) = var(ENV_SIMULATE).filter(|s| !s.trim().is_empty()) {
            self.simulate = Some(s.trim().to_owned());
        }
        Ok(self)
    }

    /// Checks what the types cannot.
    pub fn validate(self) -> Result<Self, ConfigError> {
        if self.ingest.max_message_bytes < 480 {
            // RFC 5426 and 6587: receivers must accept at least 480 octets.
            return Err(ConfigError::Invalid("max_message_bytes must be at least 480".into()));
        }
        if self.ingest.max_connections == 0 {
            return Err(ConfigError::Invalid("max_connections must be at least 1".into()));
        }
        if self.hospital.idle_after_secs == 0 || self.hospital.stale_after_secs == 0 {
            return Err(ConfigError::Invalid(
                "hospital.idle_after_secs and stale_after_secs must be at least 1".into(),
            ));
        }
        self.notifications.policy()?;
        if self.access.idle_lock_secs == 0 {
            return Err(ConfigError::Invalid("access.idle_lock_secs must be at least 1".into()));
        }
        self.response.validate()?;
        if self.queue_capacity == 0 {
            return Err(ConfigError::Invalid("queue_capacity must be at least 1".into()));
        }
        self.ingest.http.validate().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(atna) = &self.atna {
            atna.validate().map_err(ConfigError::Invalid)?;
        }
        Ok(self)
    }
}

impl ConfigFile {
    /// Reads a configuration file; a missing file is an error (it was named).
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut file: Self = toml::from_str(&text)
            .map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })?;
        if let (Some(tls), Some(dir)) = (file.tls.as_mut(), path.parent()) {
            for p in [Some(&mut tls.cert_file), Some(&mut tls.key_file), tls.client_ca_file.as_mut()]
                .into_iter()
                .flatten()
            {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        if let (Some(atna), Some(dir)) = (file.atna.as_mut(), path.parent()) {
            atna.resolve_paths(dir);
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn defaults_listen_on_loopback_only() {
        let c = ConsoleConfig::new("/d");
        let urls: Vec<String> = c.listen.iter().map(ToString::to_string).collect();
        assert_eq!(urls, DEFAULT_LISTEN);
        assert!(c.listen.iter().all(|u| u.addr().is_some_and(|a| a.ip().is_loopback())));
    }

    #[test]
    fn file_then_environment_override_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let file: ConfigFile = toml::from_str(
            "data_dir = \"/from/file\"\nlisten = [\"tcp://127.0.0.1:601\"]\nmax_message_bytes = 2048\n",
        )?;
        let c = ConsoleConfig::new("/default").with_file(file);
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.ingest.max_message_bytes, 2048);
        let c = c.with_env(env(&[
            (ENV_DATA_DIR, "/from/env"),
            (ENV_LISTEN, "udp://127.0.0.1:1, tcp://127.0.0.1:2"),
        ]))?;
        assert_eq!(c.data_dir, PathBuf::from("/from/env"));
        let urls: Vec<String> = c.listen.iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["udp://127.0.0.1:1", "tcp://127.0.0.1:2"]);
        Ok(())
    }

    #[test]
    fn tls_paths_are_read_relative_to_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("wardwatch.toml");
        std::fs::write(&path, "[tls]\ncert_file = \"certs/server.pem\"\nkey_file = \"/etc/k.pem\"\n")?;
        let c = ConsoleConfig::new("/d").with_file(ConfigFile::read(&path)?);
        let tls = c.ingest.tls.ok_or("no [tls]")?;
        assert_eq!(tls.cert_file, dir.path().join("certs/server.pem"));
        assert_eq!(tls.key_file, PathBuf::from("/etc/k.pem"));
        assert_eq!(tls.client_ca_file, None);
        Ok(())
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let e = ConsoleConfig::new("/d").with_env(env(&[(ENV_LISTEN, "udp://nowhere")])).err();
        assert!(e.is_some_and(|e| e.to_string().contains("WARDWATCH_LISTEN")));
        assert!(toml::from_str::<ConfigFile>("listen = [\"ftp://1.2.3.4:5\"]").is_err());
        assert!(toml::from_str::<ConfigFile>("unknown_key = 1").is_err());
        assert!(
            toml::from_str::<ConfigFile>("[tls]\ncert_file = \"c.pem\"\n").is_err(),
            "key_file is required"
        );
        assert!(
            toml::from_str::<ConfigFile>("[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nkey = 1\n").is_err()
        );
        let mut c = ConsoleConfig::new("/d");
        c.ingest.max_message_bytes = 100;
        assert!(c.validate().is_err());
    }

    #[test]
    fn atna_table_is_read_with_paths_relative_to_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("wardwatch.toml");
        std::fs::write(
            &path,
            "[atna]\nurl = \"tls://arr.example:6514\"\nca_file = \"arr-ca.pem\"\nclient_cert_file = \"/etc/n.pem\"\nclient_key_file = \"n.key\"\naudit_source_id = \"ww-icu\"\n",
        )?;
        let c = ConsoleConfig::new("/d").with_file(ConfigFile::read(&path)?).validate()?;
        let atna = c.atna.ok_or("no [atna]")?;
        assert_eq!(atna.url.to_string(), "tls://arr.example:6514");
        assert_eq!(atna.ca_file, dir.path().join("arr-ca.pem"));
        assert_eq!(atna.client_cert_file, Some(PathBuf::from("/etc/n.pem")));
        assert_eq!(atna.client_key_file, Some(dir.path().join("n.key")));
        assert_eq!(atna.queue_capacity, crate::atna::DEFAULT_QUEUE_CAPACITY);
        assert!(ConsoleConfig::new("/d").validate()?.atna.is_none());
        let half: ConfigFile = toml::from_str(
            "[atna]\nurl = \"tls://a:1\"\nca_file = \"c\"\nclient_key_file = \"k\"\naudit_source_id = \"w\"\n",
        )?;
        assert!(ConsoleConfig::new("/d").with_file(half).validate().is_err());
        Ok(())
    }

    #[test]
    fn http_tokens_are_read_and_checked() -> Result<(), Box<dyn std::error::Error>> {
        let hash = crate::ingest::sha256_hex("t");
        let file: ConfigFile = toml::from_str(&format!(
            "[[http.tokens]]\nname = \"gw-a\"\nsha256 = \"{hash}\"\n\n[[http.tokens]]\nname = \"gw-b\"\nsha256 = \"{hash}\"\ndisabled = true\n"
        ))?;
        let c = ConsoleConfig::new("/d").with_file(file).validate()?;
        let names: Vec<(&str, bool)> =
            c.ingest.http.tokens.iter().map(|t| (t.name.as_str(), t.disabled)).collect();
        assert_eq!(names, [("gw-a", false), ("gw-b", true)]);
        let bad: ConfigFile = toml::from_str("[[http.tokens]]\nname = \"x\"\nsha256 = \"abc\"\n")?;
        let e = ConsoleConfig::new("/d").with_file(bad).validate().err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("http.tokens: token \"x\" has a sha256 that is not 64 hex digits"));
        // A token written in the clear is a mistake the file format refuses.
        assert!(toml::from_str::<ConfigFile>("[[http.tokens]]\nname = \"x\"\ntoken = \"ww_1\"\n").is_err());
        Ok(())
    }
}
