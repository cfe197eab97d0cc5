//! The adapters' configuration, as the console's TOML writes them:
//!
//! ```toml
//! [[response.adapters]]
//! kind = "webhook"
//! name = "nac"
//! url = "https://nac.hospital.example:8443/api/quarantine"
//! ca_file = "/etc/wardwatch/nac-ca.pem"
//! token = "nac"                 # the name of a token in the OS keyring
//! timeout_ms = 5000
//! template = '''{"mac": "{{device.macs}}", "ips": "{{device.ips}}", "ticket": "WW-{{order.request_id}}"}'''
//! headers = { "X-Source" = "wardwatch" }
//!
//! [[response.adapters]]
//! kind = "cef_syslog"
//! name = "siem"
//! target = "tcp://siem.hospital.example:6514"
//! facility = "auth"
//!
//! [[response.adapters]]
//! kind = "manual"
//! name = "biomed-desk"
//! ```
//!
//! [`validate`] checks what can be checked without I/O; reading `ca_file`
//! waits for [`super::Adapters::new`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Uri};
use serde::Deserialize;

use super::template::Template;

/// `timeout_ms` when the configuration does not say.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The longest `timeout_ms` accepted (ten minutes).
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// The longest adapter or token name.
pub const MAX_NAME: usize = 64;

/// One `[[response.adapters]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AdapterConfig {
    Webhook(WebhookConfig),
    CefSyslog(CefSyslogConfig),
    Manual(ManualConfig),
}

impl AdapterConfig {
    pub fn name(&self) -> &str {
        match self {
            Self::Webhook(c) => &c.name,
            Self::CefSyslog(c) => &c.name,
            Self::Manual(c) => &c.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook(_) => "webhook",
            Self::CefSyslog(_) => "cef_syslog",
            Self::Manual(_) => "manual",
        }
    }
}

/// `kind = "webhook"`: one HTTP request per attempt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    /// `http://` or `https://` (https needs `ca_file`).
    pub url: String,
    /// `POST` (the default), `PUT` or `PATCH`.
    #[serde(default = "default_method")]
    pub method: String,
    /// The body, a JSON text with `{{order.field}}` placeholders in string
    /// values (see [`super::template`]); without it, the whole order as JSON.
    pub template: Option<String>,
    /// The name of a bearer token kept in the OS keyring (never the token).
    pub token: Option<String>,
    /// PEM CA bundle the server's certificate must chain to (https).
    pub ca_file: Option<PathBuf>,
    /// The time one attempt may take, connection to response.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra headers that are not secret (`Authorization` is refused: use `token`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `kind = "cef_syslog"`: one RFC 5424 message carrying a CEF record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CefSyslogConfig {
    pub name: String,
    /// `udp://HOST:PORT` or `tcp://HOST:PORT` (RFC 6587 octet counting).
    pub target: String,
    /// A syslog facility by name (`auth`, the default; `local0`...`local7`...).
    pub facility: Option<String>,
    /// The time connecting and writing may take (TCP).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// `kind = "manual"`: the checklist is handed to people; nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualConfig {
    pub name: String,
}

fn default_method() -> String {
    "POST".to_owned()
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// What is wrong with an adapter's configuration, naming the adapter (by
/// name, or by position when it has none) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("response adapter {adapter}: {field}: {reason}")]
    Adapter { adapter: String, field: &'static str, reason: String },
    #[error("response.retry.{field}: {reason}")]
    Retry { field: &'static str, reason: String },
}

impl ConfigError {
    /// The dotted code shown over IPC and by the CLI.
    pub fn code(&self) -> &'static str {
        "config.invalid"
    }
}

pub(crate) fn invalid(adapter: &str, field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Adapter { adapter: format!("{adapter:?}"), field, reason: reason.into() }
}

/// Checks every adapter without I/O: names (non-empty, unique, letters,
/// digits, `.`, `_`, `-`), URLs and targets, methods, templates, token
/// names, headers, facilities and timeouts. The first problem is returned.
pub fn validate(adapters: &[AdapterConfig]) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    for (i, adapter) in adapters.iter().enumerate() {
        let name = adapter.name();
        if name.is_empty() {
            return Err(ConfigError::Adapter {
                adapter: format!("#{} ({})", i + 1, adapter.kind()),
                field: "name",
                reason: "empty: every adapter needs a name".into(),
            });
        }
        check_name(name).map_err(|reason| invalid(name, "name", reason))?;
        if !seen.insert(name) {
            return Err(invalid(name, "name", "used by another adapter: names must be unique"));
        }
        match adapter {
            AdapterConfig::Webhook(c) => {
                parse_webhook(c)?;
            }
            AdapterConfig::CefSyslog(c) => {
                parse_cef_syslog(c)?;
            }
            AdapterConfig::Manual(_) => {}
        }
    }
    Ok(())
}

/// A name of the letters, digits, `.`, `_` and `-`, at most [`MAX_NAME`]:
/// adapter names are shown and looked up, token names are part of a
/// keyring entry's name and of a CLI command.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!("longer than {MAX_NAME} characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err("only letters, digits, '.', '_' and '-' are allowed".into());
    }
    Ok(())
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// Where a webhook goes, parsed from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpTarget {
    pub scheme: Scheme,
    /// The host as written (no brackets around an IPv6 address).
    pub host: String,
    pub port: u16,
    /// The `Host` header: the URL's authority.
    pub authority: String,
    /// The request target: path and query (`/` when the URL has no path).
    pub path_and_query: String,
}

/// A webhook's settings, checked.
#[derive(Debug)]
pub(crate) struct ParsedWebhook {
    pub target: HttpTarget,
    pub method: Method,
    pub template: Option<Template>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Headers Wardwatch sets itself, which the configuration may not.
const OWN_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "host",
    "idempotency-key",
    "te",
    "upgrade",
];

pub(crate) fn parse_webhook(c: &WebhookConfig) -> Result<ParsedWebhook, ConfigError> {
    let name = c.name.as_str();
    let target = parse_url(&c.url).map_err(|reason| invalid(name, "url", reason))?;
    if target.scheme == Scheme::Https && c.ca_file.is_none() {
        return Err(invalid(
            name,
            "ca_file",
            "https needs ca_file, a PEM file of the CA certificates the server's certificate chains to \
             (the system's roots are not used: rustls-native-certs is not a dependency)",
        ));
    }
    if target.scheme == Scheme::Http && c.ca_file.is_some() {
        return Err(invalid(name, "ca_file", "only used with an https:// url"));
    }
    let method = match c.method.to_ascii_uppercase().as_str() {
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        _ => return Err(invalid(name, "method", format!("{:?}: expected POST, PUT or PATCH", c.method))),
    };
    let template = match &c.template {
        None => None,
        Some(text) => Some(Template::parse(text).map_err(|e| invalid(name, "template", e.to_string()))?),
    };
    if let Some(token) = &c.token {
        check_name(token).map_err(|reason| invalid(name, "token", format!("{token:?}: {reason}")))?;
    }
    if c.timeout_ms == 0 || c.timeout_ms > MAX_TIMEOUT_MS {
        return Err(invalid(name, "timeout_ms", format!("{}: expected 1 to {MAX_TIMEOUT_MS}", c.timeout_ms)));
    }
    let mut headers = Vec::with_capacity(c.headers.len());
    for (key, value) in &c.headers {
        let header = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| invalid(name, "headers", format!("{key:?} is not a header name")))?;
        if OWN_HEADERS.contains(&header.as_str()) {
            let hint = if header == hyper::header::AUTHORIZATION {
                ": a secret does not belong in the configuration; name a keyring token with `token`"
            } else {
                ""
            };
            return Err(invalid(name, "headers", format!("{key} is set by Wardwatch{hint}")));
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            invalid(name, "headers", format!("the value of {key} has characters a header cannot carry"))
        })?;
        headers.push((header, value));
    }
    Ok(ParsedWebhook { target, method, template, headers })
}

fn parse_url(url: &str) -> Result<HttpTarget, String> {
    let uri: Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        _ => return Err(format!("{url:?}: expected an http:// or https:// URL")),
    };
    let Some(authority) = uri.authority() else {
        return Err(format!("{url:?} has no host"));
    };
    if authority.as_str().contains('@') {
        return Err(format!(
            "{url:?} holds credentials: a secret does not belong in the configuration; name a keyring token with `token`"
        ));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    let port = match (authority.port_u16(), scheme) {
        (Some(0), _) => return Err(format!("{url:?}: port 0")),
        (Some(p), _) => p,
        (None, Scheme::Http) => 80,
        (None, Scheme::Https) => 443,
    };
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let path_and_query = if path_and_query.is_empty() { "/" } else { path_and_query };
    Ok(HttpTarget {
        scheme,
        host: host.to_owned(),
        port,
        authority: authority.as_str().to_owned(),
        path_and_query: path_and_query.to_owned(),
    })
}

/// How syslog is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyslogTransport {
    /// RFC 5426: one message per datagram.
    Udp,
    /// RFC 6587: octet counting.
    Tcp,
}

/// A CEF syslog adapter's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedCefSyslog {
    pub transport: SyslogTransport,
    /// `HOST:PORT`, resolved at each attempt.
    pub address: String,
    pub facility: u8,
}

/// The facility when none is configured: 4, security/authorisation messages.
pub const DEFAULT_FACILITY: &str = "auth";

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

pub(crate) fn parse_cef_syslog(c: &CefSyslogConfig) -> Result<ParsedCefSyslog, ConfigError> {
    let name = c.name.as_str();
    let bad_target = || {
        invalid(
            name,
            "target",
            format!(
                "{:?}: expected udp://HOST:PORT or tcp://HOST:PORT, with a port from 1 to 65535",
                c.target
            ),
        )
    };
    let (transport, rest) = if let Some(r) = c.target.strip_prefix("udp://") {
        (SyslogTransport::Udp, r)
    } else if let Some(r) = c.target.strip_prefix("tcp://") {
        (SyslogTransport::Tcp, r)
    } else {
        return Err(bad_target());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    match rest.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && !host.contains(['/', '@', ' '])
                && port.parse::<u16>().is_ok_and(|p| p > 0) => {}
        _ => return Err(bad_target()),
    }
    let facility_name = c.facility.as_deref().unwrap_or(DEFAULT_FACILITY);
    let Some(facility) = FACILITIES.iter().position(|&f| f == facility_name) else {
        return Err(invalid(
            name,
            "facility",
            format!("{facility_name:?} is not a syslog facility: one of {}", FACILITIES.join(", ")),
        ));
    };
    if c.timeout_ms == 0 || c.timeout_ms > MAX_TIMEOUT_MS {
        return Err(invalid(name, "timeout_ms", format!("{}: expected 1 to {MAX_TIMEOUT_MS}", c.timeout_ms)));
    }
    Ok(ParsedCefSyslog { transport, address: rest.to_owned(), facility: facility as u8 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        response: Response,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Response {
        adapters: Vec<AdapterConfig>,
    }

    fn parse(toml_text: &str) -> Result<Vec<AdapterConfig>, String> {
        toml::from_str::<Root>(toml_text).map(|r| r.response.adapters).map_err(|e| e.to_string())
    }

    /// The module's documented example parses and validates.
    #[test]
    fn the_documented_example_is_valid() -> Result<(), String> {
        let doc: String = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.strip_prefix("//! ").unwrap_or(l.trim_start_matches("//!")))
            .collect::<Vec<_>>()
            .join("\n");
        let adapters = parse(&doc)?;
        assert_eq!(adapters.len(), 3);
        validate(&adapters).map_err(|e| e.to_string())?;
        let AdapterConfig::Webhook(w) = &adapters[0] else { return Err(format!("{:?}", adapters[0])) };
        assert_eq!(w.method, "POST");
        assert_eq!(w.timeout_ms, 5000);
        assert_eq!(w.token.as_deref(), Some("nac"));
        assert_eq!(w.headers.get("X-Source").map(String::as_str), Some("wardwatch"));
        let AdapterConfig::CefSyslog(s) = &adapters[1] else { return Err(format!("{:?}", adapters[1])) };
        assert_eq!(parse_cef_syslog(s).map(|p| p.facility).ok(), Some(4));
        assert_eq!(s.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(adapters[2], AdapterConfig::Manual(ManualConfig { name: "biomed-desk".into() }));
        Ok(())
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        let check = |text: &str, want: &str| {
            let got = parse(text).err().unwrap_or_default();
            assert!(got.contains(want), "{text}: {got:?} should say {want:?}");
        };
        check(
            "[[response.adapters]]\nkind = \"manual\"\nname = \"m\"\nurl = \"http://x\"\n",
            "unknown field `url`",
        );
        check(
            "[[response.adapters]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"http://x\"\nsecret = \"s\"\n",
            "unknown field `secret`",
        );
        check("[[response.adapters]]\nkind = \"email\"\nname = \"e\"\n", "unknown variant `email`");
        check("[[response.adapters]]\nname = \"e\"\n", "missing field `kind`");
        check("[[response.adapters]]\nkind = \"webhook\"\nname = \"w\"\n", "missing field `url`");
    }

    fn webhook(edit: impl FnOnce(&mut WebhookConfig)) -> AdapterConfig {
        let mut c = WebhookConfig {
            name: "nac".into(),
            url: "http://127.0.0.1:8080/q".into(),
            method: default_method(),
            template: None,
            token: None,
            ca_file: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            headers: BTreeMap::new(),
        };
        edit(&mut c);
        AdapterConfig::Webhook(c)
    }

    fn syslog(edit: impl FnOnce(&mut CefSyslogConfig)) -> AdapterConfig {
        let mut c = CefSyslogConfig {
            name: "siem".into(),
            target: "udp://127.0.0.1:514".into(),
            facility: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        };
        edit(&mut c);
        AdapterConfig::CefSyslog(c)
    }

    /// "ok", or the error message.
    fn outcome(adapters: &[AdapterConfig]) -> String {
        validate(adapters).err().map_or_else(|| "ok".to_owned(), |e| e.to_string())
    }

    #[test]
    fn validation_names_the_adapter_and_the_field() {
        let check = |adapters: &[AdapterConfig], want: &str| {
            let got = outcome(adapters);
            assert!(got.contains(want), "{adapters:?}: {got:?} should say {want:?}");
        };
        let manual = |n: &str| AdapterConfig::Manual(ManualConfig { name: n.into() });
        check(&[webhook(|_| {}), syslog(|_| {}), manual("desk")], "ok");
        check(
            &[webhook(|c| c.url = "https://nac:8443/".into())],
            "adapter \"nac\": ca_file: https needs ca_file",
        );
        check(
            &[webhook(|c| {
                c.url = "https://nac:8443/".into();
                c.ca_file = Some("/ca.pem".into());
            })],
            "ok",
        );
        check(&[webhook(|c| c.ca_file = Some("/ca.pem".into()))], "ca_file: only used with an https:// url");
        check(
            &[webhook(|c| c.url = "ftp://nac/".into())],
            "adapter \"nac\": url: \"ftp://nac/\": expected an http:// or https:// URL",
        );
        check(&[webhook(|c| c.url = "nac.example/q".into())], "url:");
        check(
            &[webhook(|c| c.url = "http://user:pw@nac/q".into())],
            "url: \"http://user:pw@nac/q\" holds credentials",
        );
        check(&[webhook(|c| c.url = "http://nac:0/".into())], "url: \"http://nac:0/\": port 0");
        check(&[webhook(|c| c.method = "GET".into())], "method: \"GET\": expected POST, PUT or PATCH");
        check(&[webhook(|c| c.method = "put".into())], "ok");
        check(
            &[webhook(|c| c.template = Some("{\"a\": ".into()))],
            "adapter \"nac\": template: the template is not JSON",
        );
        check(
            &[webhook(|c| c.template = Some(r#"{"a": "{{order.nope}}"}"#.into()))],
            "template: unknown placeholder {{order.nope}} at /a",
        );
        check(&[webhook(|c| c.token = Some("nac token".into()))], "token: \"nac token\": only letters");
        check(&[webhook(|c| c.timeout_ms = 0)], "timeout_ms: 0: expected 1 to 600000");
        check(
            &[webhook(|c| {
                c.headers.insert("Authorization".into(), "Bearer x".into());
            })],
            "headers: Authorization is set by Wardwatch: a secret does not belong in the configuration",
        );
        check(
            &[webhook(|c| {
                c.headers.insert("Idempotency-Key".into(), "x".into());
            })],
            "headers: Idempotency-Key is set by Wardwatch",
        );
        check(
            &[webhook(|c| {
                c.headers.insert("bad header".into(), "x".into());
            })],
            "headers: \"bad header\" is not a header name",
        );
        check(
            &[webhook(|c| {
                c.headers.insert("X-Line".into(), "a\nb".into());
            })],
            "headers: the value of X-Line has characters",
        );
        check(
            &[syslog(|c| c.target = "tls://siem:6514".into())],
            "adapter \"siem\": target: \"tls://siem:6514\": expected udp://HOST:PORT",
        );
        check(&[syslog(|c| c.target = "tcp://siem".into())], "target:");
        check(&[syslog(|c| c.target = "tcp://siem:70000".into())], "target:");
        check(&[syslog(|c| c.target = "tcp://[::1]:514".into())], "ok");
        check(&[syslog(|c| c.facility = Some("local7".into()))], "ok");
        check(
            &[syslog(|c| c.facility = Some("security-ish".into()))],
            "facility: \"security-ish\" is not a syslog facility",
        );
        check(&[manual("")], "response adapter #1 (manual): name: empty");
        check(
            &[manual("desk"), webhook(|c| c.name = String::new())],
            "response adapter #2 (webhook): name: empty",
        );
        check(&[manual("desk"), manual("desk")], "adapter \"desk\": name: used by another adapter");
        check(&[manual("the desk")], "adapter \"the desk\": name: only letters");
    }

    #[test]
    fn urls_are_taken_apart() {
        let check = |url: &str, want: Option<(&str, u16, &str, &str)>| {
            let got = parse_url(url).ok();
            let got = got
                .as_ref()
                .map(|t| (t.host.as_str(), t.port, t.authority.as_str(), t.path_and_query.as_str()));
            assert_eq!(got, want, "{url}");
        };
        check("http://nac/", Some(("nac", 80, "nac", "/")));
        check("http://nac", Some(("nac", 80, "nac", "/")));
        check("https://nac", Some(("nac", 443, "nac", "/")));
        check("http://nac:8080/a/b?c=d", Some(("nac", 8080, "nac:8080", "/a/b?c=d")));
        check("http://[::1]:8080/q", Some(("::1", 8080, "[::1]:8080", "/q")));
        check("http:///q", None);
        check("/q", None);
    }
}
