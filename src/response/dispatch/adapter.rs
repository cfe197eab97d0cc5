//! The adapters built from the configuration, looked up by name.

use super::cef_syslog::CefSyslog;
use super::config::{validate, AdapterConfig, ConfigError};
use super::token::TokenStore;
use super::webhook::Webhook;
use super::{Attempt, Order};

/// One adapter, ready to make attempts.
#[derive(Debug)]
pub enum Adapter {
    Webhook(Box<Webhook>),
    CefSyslog(CefSyslog),
    /// The checklist is handed to people (the caller keeps it); nothing is sent.
    Manual {
        name: String,
    },
}

impl Adapter {
    /// From one entry of the configuration (checked first). A webhook's
    /// `ca_file` is read here; its token is read at each attempt, from `tokens`.
    pub fn new(config: &AdapterConfig, tokens: &TokenStore) -> Result<Self, ConfigError> {
        validate(std::slice::from_ref(config))?;
        Ok(match config {
            AdapterConfig::Webhook(c) => Self::Webhook(Box::new(Webhook::new(c, tokens.clone())?)),
            AdapterConfig::CefSyslog(c) => Self::CefSyslog(CefSyslog::new(c)?),
            AdapterConfig::Manual(c) => Self::Manual { name: c.name.clone() },
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Webhook(w) => w.name(),
            Self::CefSyslog(s) => s.name(),
            Self::Manual { name } => name,
        }
    }

    /// `webhook`, `cef_syslog` or `manual`, as in the configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook(_) => "webhook",
            Self::CefSyslog(_) => "cef_syslog",
            Self::Manual { .. } => "manual",
        }
    }

    /// One attempt at carrying out `order`. Never retries by itself, never
    /// panics; every way it can go is an [`Attempt`].
    pub async fn attempt(&self, order: &Order) -> Attempt {
        match self {
            Self::Webhook(w) => w.attempt(order).await,
            Self::CefSyslog(s) => s.attempt(order).await,
            Self::Manual { name } => {
                tracing::info!(adapter = %name, request = order.request_id, "Manual checklist handed to people.");
                Attempt::Done {
                    detail: format!(
                        "checklist handed to people (manual adapter {name}): nothing was sent to a system"
                    ),
                }
            }
        }
    }
}

/// Every configured adapter.
#[derive(Debug, Default)]
pub struct Adapters(Vec<Adapter>);

impl Adapters {
    /// Checks the whole list ([`validate`]: unique names too), then builds
    /// each adapter.
    pub fn new(configs: &[AdapterConfig], tokens: &TokenStore) -> Result<Self, ConfigError> {
        validate(configs)?;
        configs.iter().map(|c| Adapter::new(c, tokens)).collect::<Result<Vec<_>, _>>().map(Self)
    }

    /// The adapter named `name`.
    pub fn get(&self, name: &str) -> Option<&Adapter> {
        self.0.iter().find(|a| a.name() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Adapter> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
