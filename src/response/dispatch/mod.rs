//! Carrying out an approved action: one attempt through one adapter.
//!
//! An [`Order`] is what the gate machine approved, with what an adapter
//! needs to say it to the outside world. An adapter makes one attempt and
//! says how it went ([`Attempt`]); retrying with backoff, recording each
//! attempt and never dispatching one approval twice belong to the caller
//! (the console's dispatcher), which owns the durable state; [`backoff`]
//! says how long it waits between attempts.
//!
//! - [`config`]: the `[[response.adapters]]` entries and [`validate`].
//! - [`Adapter`], [`Adapters`]: built from them; [`Adapter::attempt`].
//! - [`webhook`]: one HTTP request (JSON body from a [`template`]).
//! - [`cef_syslog`]: one RFC 5424 message carrying a CEF record.
//! - manual: the checklist is handed to people.
//! - [`token`]: webhook bearer tokens in the OS keyring.

mod adapter;
mod backoff;
pub mod cef_syslog;
pub mod config;
pub mod template;
pub mod token;
pub mod webhook;

use serde::Serialize;

use super::ActionId;

pub use adapter::{Adapter, Adapters};
pub use backoff::{backoff, RetryPolicy};
pub use cef_syslog::CefSyslog;
pub use config::{validate, AdapterConfig, CefSyslogConfig, ConfigError, ManualConfig, WebhookConfig};
pub use template::{Template, TemplateError};
pub use token::{KeyringChoice, TokenError, TokenStore, WebhookToken};
pub use webhook::Webhook;

/// The `Idempotency-Key` of every attempt of `order`: `wardwatch-<request id>`.
pub fn idempotency_key(order: &Order) -> String {
    format!("wardwatch-{}", order.request_id)
}

/// What an adapter is asked to carry out. Holds no patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// The request's id: unique per approval, sent as the idempotency key.
    pub request_id: i64,
    pub action: ActionId,
    /// The action in words ("Full network quarantine").
    pub action_title: String,
    pub incident_id: i64,
    /// `device:INF-0042/c2-beacon`.
    pub incident_key: String,
    /// The incident's condition key (`c2-beacon`).
    pub condition: String,
    pub device: Option<OrderDevice>,
    /// The external address the incident is about, when it names one
    /// (what `block_destination` blocks).
    pub destination: Option<String>,
    /// `safe_now`, `coordinate`, `clinician_signoff`, `not_while_in_use`.
    pub grade: String,
    pub requested_by: String,
    /// Who confirmed it, in order (empty when no gate needed anyone).
    pub approved_by: Vec<String>,
    /// Approved by break-glass (an emergency): receivers may flag it.
    pub break_glass: bool,
    /// The requester's reason.
    pub reason: String,
}

/// The device an order is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderDevice {
    /// The asset id (`INF-0042`).
    pub id: String,
    /// `infusion_pump`.
    pub kind: String,
    pub ward: Option<String>,
    /// Current addresses, as the inventory knows them.
    pub ips: Vec<String>,
    pub macs: Vec<String>,
    pub hostname: Option<String>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attempt {
    /// Carried out (or, for a manual checklist, handed to people).
    Done { detail: String },
    /// Did not happen; `retry` when trying again may help (refused
    /// connection, 5xx, 429), not when it cannot (4xx, a bad template).
    Failed { error: String, retry: bool },
    /// No answer in time: it may or may not have happened, so it is not
    /// retried by itself; a person checks and retries.
    TimedOut { after_ms: u64 },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An order with every field set.
    pub(crate) fn order() -> Order {
        Order {
            request_id: 9001,
            action: ActionId::new("quarantine").unwrap_or_else(|| ActionId("quarantine".into())),
            action_title: "Full network quarantine".into(),
            incident_id: 77,
            incident_key: "device:INF-0042/c2-beacon".into(),
            condition: "c2-beacon".into(),
            device: Some(OrderDevice {
                id: "INF-0042".into(),
                kind: "infusion_pump".into(),
                ward: Some("ICU-3".into()),
                ips: vec!["10.20.30.40".into(), "10.20.30.41".into()],
                macs: vec!["00:11:22:33:44:55".into()],
                hostname: Some("pump-42".into()),
            }),
            destination: None,
            grade: "clinician_signoff".into(),
            requested_by: "alice".into(),
            approved_by: vec!["bob".into(), "carol".into()],
            break_glass: false,
            reason: "Beaconing to 203.0.113.9".into(),
        }
    }

    #[test]
    fn the_idempotency_key_names_the_request() {
        assert_eq!(idempotency_key(&order()), "wardwatch-9001");
    }

    #[tokio::test]
    async fn a_manual_adapter_hands_the_checklist_over() -> Result<(), Box<dyn std::error::Error>> {
        let configs = [AdapterConfig::Manual(ManualConfig { name: "biomed-desk".into() })];
        let tokens = TokenStore::new(crate::keys::ConsoleId::random()?);
        let adapters = Adapters::new(&configs, &tokens)?;
        let manual = adapters.get("biomed-desk");
        assert_eq!(manual.map(Adapter::kind), Some("manual"));
        assert!(adapters.get("nac").is_none());
        let got = match manual {
            Some(a) => a.attempt(&order()).await,
            None => Attempt::Failed { error: "no adapter".into(), retry: false },
        };
        assert!(
            matches!(&got, Attempt::Done { detail } if detail.contains("checklist handed to people")),
            "{got:?}"
        );
        Ok(())
    }
}
