//! Care-safe response at the console: the playbook of an incident, requests
//! and each person's step on their gates (written through the people's
//! connection, each with its audit record), and the dispatcher, which
//! carries out approved requests through the configured adapters.
//!
//! Every step grades the action again on the device as it is now, so the
//! gate checked is always the one the device's state calls for; so does
//! the dispatcher, just before it claims a request.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Console, ConsoleError};
use crate::hospital::{AssetId, DeviceState, IdentityKind};
use crate::response::dispatch::{backoff, Adapters, Attempt, Order, OrderDevice, RetryPolicy};
use crate::response::gate::{Person, Step};
use crate::response::words::{ask, device_words};
use crate::response::{grade, plan_incident, ActionSpec, Catalogue, Gate, Graded, Playbook, Subject};
use crate::store::{
    AttemptOutcome, Claim, Incident, NewRequest, ResponseError, ResponseEvent, ResponseRequest, Store,
    StoreError, ViewRules,
};

/// The adapter every action goes to when no route names another: a
/// checklist for people to carry out and tick off.
pub const MANUAL: &str = "manual";

/// A request with what it needs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: ResponseRequest,
    /// The action graded on the device as it is now.
    pub now: Graded,
    /// What the ward is told, in plain language.
    pub ask: String,
    /// "infusion pump INF-0042 in room 3, bed 4".
    pub device_words: Option<String>,
}

/// An incident's playbook, with the requests already made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentResponse {
    pub incident_id: i64,
    pub playbook: Playbook,
    pub device_words: Option<String>,
    pub requests: Vec<RequestView>,
}

/// One request with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub view: RequestView,
    pub events: Vec<ResponseEvent>,
}

/// The routing of actions to adapters, and the adapters.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub adapters: Adapters,
    /// Action id (or `*`) → adapter name; unrouted actions go to [`MANUAL`].
    pub routes: BTreeMap<String, String>,
    pub retry: RetryPolicy,
}

/// Every route names an action of the catalogue (or `*`).
pub(crate) fn check_routes(
    settings: &crate::config::ResponseSettings,
    catalogue: &Catalogue,
) -> Result<(), ConsoleError> {
    for action in settings.routes.keys() {
        if action != "*" && catalogue.action(action).is_none() {
            return Err(ConsoleError::Response(format!(
                "routes.{action}: the response catalogue has no such action"
            )));
        }
    }
    Ok(())
}

impl Dispatch {
    pub fn adapter_for(&self, action: &str) -> String {
        self.routes.get(action).or_else(|| self.routes.get("*")).cloned().unwrap_or_else(|| MANUAL.to_owned())
    }
}

fn device_of(view: &[DeviceState], id: Option<&AssetId>) -> Option<DeviceState> {
    id.and_then(|id| view.iter().find(|d| &d.device.id == id)).cloned()
}

/// `spec` graded on `device` (as it is at `now`).
fn graded_now(
    catalogue: &Catalogue,
    spec: &ActionSpec,
    device: Option<&DeviceState>,
    now: DateTime<Utc>,
) -> Graded {
    let subject = device.map(|d| Subject::of(d, now));
    grade(catalogue, spec, subject.as_ref())
}

fn view_of(
    catalogue: &Catalogue,
    r: ResponseRequest,
    device: Option<&DeviceState>,
    now: DateTime<Utc>,
) -> RequestView {
    let words = device.map(|d| device_words(&d.device));
    let (now_graded, ask_text) = match catalogue.action(r.action.as_str()) {
        Some(spec) => {
            let g = graded_now(catalogue, spec, device, now);
            let target = words.clone().unwrap_or_else(|| "the device".to_owned());
            let text = ask(&spec.ask, &target, spec.affects, g.gate);
            (g, text)
        }
        // An action taken out of the catalogue since: its stored grade, and
        // no gate can open for it any more than it did.
        None => (
            Graded {
                action: r.action.clone(),
                title: r.title.clone(),
                affects: crate::response::Affects::ClinicalFunction,
                grade: r.grade,
                gate: r.gate,
                reasons: r.reasons.clone(),
            },
            format!("IT wants: {}.", r.title),
        ),
    };
    RequestView { request: r, now: now_graded, ask: ask_text, device_words: words }
}

impl Console {
    /// The catalogue in force.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn spec(&self, action: &str) -> Result<&ActionSpec, ConsoleError> {
        self.catalogue.action(action).ok_or_else(|| {
            ConsoleError::Response(format!("{action:?} is not an action of the response catalogue"))
        })
    }

    /// The incident, its device's state now and the hospital view.
    fn incident_now(&self, id: i64) -> Result<(Incident, Vec<DeviceState>), ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Utc::now();
        let incident = store
            .incidents_by_id(&[id], now, &self.rules)?
            .pop()
            .ok_or(StoreError::from(ResponseError::UnknownIncident(id)))?;
        Ok((incident, store.hospital_view(now, &self.rules)?.devices))
    }

    /// The playbook for incident `id`, with its requests.
    pub fn incident_response(&self, id: i64) -> Result<IncidentResponse, ConsoleError> {
        let (incident, devices) = self.incident_now(id)?;
        let now = Utc::now();
        let requests = {
            let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
            store.incident_responses(id)?
        };
        let requests = requests
            .into_iter()
            .map(|r| {
                let d = device_of(&devices, r.device.as_ref());
                view_of(&self.catalogue, r, d.as_ref(), now)
            })
            .collect();
        Ok(IncidentResponse {
            incident_id: id,
            playbook: plan_incident(&self.catalogue, &incident, now),
            device_words: incident.device.as_ref().map(|d| device_words(&d.device)),
            requests,
        })
    }

    /// The ward of the device a request is about (for the matrix's ward check).
    pub fn response_ward(&self, id: i64) -> Result<Option<crate::hospital::WardId>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        let r = store.response_request(id)?.ok_or(StoreError::from(ResponseError::Unknown(id)))?;
        Ok(r.ward)
    }

    /// Requests not finished, with what each needs now (`ward`: only those
    /// about that ward's devices).
    pub fn open_responses(
        &self,
        wards: Option<&[crate::hospital::WardId]>,
    ) -> Result<Vec<RequestView>, ConsoleError> {
        let now = Utc::now();
        let (list, devices) = {
            let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
            (store.open_responses()?, store.hospital_view(now, &self.rules)?.devices)
        };
        Ok(list
            .into_iter()
            .filter(|r| wards.is_none_or(|w| r.ward.as_ref().is_some_and(|x| w.contains(x))))
            .map(|r| {
                let d = device_of(&devices, r.device.as_ref());
                view_of(&self.catalogue, r, d.as_ref(), now)
            })
            .collect())
    }

    /// One request with its history.
    pub fn response_detail(&self, id: i64) -> Result<RequestDetail, ConsoleError> {
        let now = Utc::now();
        let (r, events, devices) = {
            let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
            let r = store.response_request(id)?.ok_or(StoreError::from(ResponseError::Unknown(id)))?;
            (r, store.response_events(id)?, store.hospital_view(now, &self.rules)?.devices)
        };
        let d = device_of(&devices, r.device.as_ref());
        Ok(RequestDetail { view: view_of(&self.catalogue, r, d.as_ref(), now), events })
    }

    /// `actor` (a security officer: the caller checks the matrix) asks for
    /// `action` on incident `id`, with `reason`.
    pub fn request_response(
        &self,
        id: i64,
        action: &str,
        reason: &str,
        actor: &str,
    ) -> Result<RequestView, ConsoleError> {
        let spec = self.spec(action)?;
        let (incident, devices) = self.incident_now(id)?;
        if spec.target == crate::response::Target::Device && incident.device.is_none() {
            return Err(ConsoleError::Response(format!(
                "{} needs a device, and incident {id} names none of the inventory",
                spec.title
            )));
        }
        let now = Utc::now();
        let device = incident.device.as_ref();
        let graded = graded_now(&self.catalogue, spec, device, now);
        let adapter = self.dispatch.adapter_for(action);
        let new = NewRequest {
            incident_id: id,
            incident_key: &incident.record.key,
            device: device.map(|d| &d.device.id),
            ward: incident.ward.as_ref(),
            graded: &graded,
            adapter: &adapter,
            reason,
        };
        let r = {
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            store.request_response(&new, actor, now)?
        };
        self.dispatch_wake.notify_one();
        let d = device_of(&devices, r.device.as_ref());
        Ok(view_of(&self.catalogue, r, d.as_ref(), now))
    }

    /// `person` takes `step` on request `id` (the caller checked the
    /// matrix; the gate rules are checked here, against the device now).
    pub fn response_step(
        &self,
        id: i64,
        step: Step,
        reason: &str,
        person: &Person<'_>,
    ) -> Result<RequestView, ConsoleError> {
        let (r, device) = self.request_and_device(id)?;
        let now = Utc::now();
        let spec = self.spec(r.action.as_str())?;
        let gate_now = graded_now(&self.catalogue, spec, device.as_ref(), now).gate;
        let r = {
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            if step == Step::RecordOutOfUse {
                store.record_out_of_use(id, person, reason, gate_now, now)?
            } else {
                store.response_step(id, step, person, reason, gate_now, now)?
            }
        };
        let r = if step == Step::RecordOutOfUse {
            // The device is out of use now: grade again, and weigh what was given.
            let (_, device) = self.request_and_device(id)?;
            let g = graded_now(&self.catalogue, spec, device.as_ref(), now);
            let why = format!(
                "the device was taken out of use; the action is now {}",
                g.grade.label().to_lowercase()
            );
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            store.regate(id, g.gate, &why, now)?
        } else {
            r
        };
        self.dispatch_wake.notify_one();
        let (_, device) = self.request_and_device(id)?;
        Ok(view_of(&self.catalogue, r, device.as_ref(), now))
    }

    /// `actor` ticks off step `index` (from 0) of request `id`'s checklist.
    pub fn tick_response(&self, id: i64, index: usize, actor: &str) -> Result<RequestView, ConsoleError> {
        let now = Utc::now();
        let r = {
            let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
            store.tick_checklist(id, index, actor, now)?
        };
        let (_, device) = self.request_and_device(id)?;
        Ok(view_of(&self.catalogue, r, device.as_ref(), now))
    }

    fn request_and_device(&self, id: i64) -> Result<(ResponseRequest, Option<DeviceState>), ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        let r = store.response_request(id)?.ok_or(StoreError::from(ResponseError::Unknown(id)))?;
        let devices = store.hospital_view(Utc::now(), &self.rules)?.devices;
        let d = device_of(&devices, r.device.as_ref());
        Ok((r, d))
    }
}

/// The dispatcher: carries out approved requests, one at a time, through
/// their adapters, until `stop`. Woken by `wake` after each step people
/// take, and every second for retries that come due.
pub(crate) struct Dispatcher {
    pub store: Store,
    pub catalogue: Arc<Catalogue>,
    pub dispatch: Arc<Dispatch>,
    pub rules: ViewRules,
    pub wake: Arc<Notify>,
    pub stop: CancellationToken,
}

impl Dispatcher {
    pub async fn run(mut self) {
        match self.store.abandon_dispatching(Utc::now()) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                requests = n,
                "Response requests cut off mid-attempt at the last stop are marked timed out: check them."
            ),
            Err(e) => {
                tracing::error!(error = %e, "Response requests cut off at the last stop could not be marked.")
            }
        }
        loop {
            if let Err(e) = self.round().await {
                tracing::error!(error = %e, "The response dispatcher could not read or record a request; it tries again.");
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn round(&mut self) -> Result<(), StoreError> {
        let now = Utc::now();
        for r in self.store.due_responses(now)? {
            if self.stop.is_cancelled() {
                return Ok(());
            }
            self.one(r).await?;
        }
        Ok(())
    }

    async fn one(&mut self, r: ResponseRequest) -> Result<(), StoreError> {
        let now = Utc::now();
        let devices = self.store.hospital_view(now, &self.rules)?.devices;
        let device = device_of(&devices, r.device.as_ref());
        let gate_now = match self.catalogue.action(r.action.as_str()) {
            Some(spec) => graded_now(&self.catalogue, spec, device.as_ref(), now).gate,
            // Not in the catalogue any more: nothing can grade it, so only
            // a break-glass opens it.
            None => Gate::OutOfUse,
        };
        let r = match self.store.claim_response(r.id, gate_now, now)? {
            Claim::Claimed(r) => r,
            Claim::Regated(r) => {
                tracing::warn!(request = r.id, "A response request waits again: its device's state changed.");
                return Ok(());
            }
            Claim::Gone => return Ok(()),
        };
        let adapter = self.dispatch.adapters.get(&r.adapter);
        let manual = adapter.is_none_or(|a| a.kind() == "manual");
        let outcome = if manual {
            let steps = self.catalogue.action(r.action.as_str()).map(|s| s.steps.clone()).unwrap_or_default();
            let steps = if steps.is_empty() { vec![format!("Carry out: {}", r.title)] } else { steps };
            AttemptOutcome::Checklist(steps)
        } else {
            let order = self.order(&r, device.as_ref())?;
            let attempt = tokio::select! {
                // Cut off: the request stays `dispatching`, and the next
                // start marks it timed out (it may have happened).
                () = self.stop.cancelled() => return Ok(()),
                a = async {
                    match adapter {
                        Some(a) => a.attempt(&order).await,
                        None => Attempt::Failed { error: format!("no adapter {}", r.adapter), retry: false },
                    }
                } => a,
            };
            let retry_at = match &attempt {
                Attempt::Failed { retry: true, .. } => backoff(r.attempts, &self.dispatch.retry)
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .map(|d| Utc::now() + d),
                _ => None,
            };
            match &attempt {
                Attempt::Done { .. } => {
                    tracing::info!(request = r.id, adapter = %r.adapter, "Response action carried out.")
                }
                Attempt::Failed { error, .. } => {
                    tracing::warn!(request = r.id, adapter = %r.adapter, error = %error, retry = retry_at.is_some(), "Response action failed.")
                }
                Attempt::TimedOut { after_ms } => {
                    tracing::warn!(request = r.id, adapter = %r.adapter, after_ms, "Response action timed out: it may have happened.")
                }
            }
            AttemptOutcome::Attempted { attempt, retry_at }
        };
        self.store.record_attempt(r.id, &outcome, Utc::now())?;
        Ok(())
    }

    fn order(&self, r: &ResponseRequest, device: Option<&DeviceState>) -> Result<Order, StoreError> {
        let incident = self.store.incident_record(r.incident_id)?;
        let destination = incident.as_ref().and_then(|i| {
            if i.subject_kind == crate::incident::SubjectKind::Address {
                return Some(i.subject.clone());
            }
            let alert = self.store.incident_alerts(i.id, 1).ok()?.pop()?;
            let outside =
                |ip: Option<std::net::IpAddr>| ip.filter(|ip| !crate::normalize::is_device_address(*ip));
            outside(alert.dst_ip)
                .or(outside(alert.src_ip))
                .map(|ip| ip.to_string())
                .or(alert.details.dst_hostname)
        });
        let values = |d: &DeviceState, k: IdentityKind| -> Vec<String> {
            d.device.identities.iter().filter(|i| i.kind == k).map(|i| i.value.clone()).collect()
        };
        Ok(Order {
            request_id: r.id,
            action: r.action.clone(),
            action_title: r.title.clone(),
            incident_id: r.incident_id,
            incident_key: incident.as_ref().map(|i| i.key.clone()).unwrap_or_default(),
            condition: incident.as_ref().map(|i| i.condition.clone()).unwrap_or_default(),
            device: device.map(|d| OrderDevice {
                id: d.device.id.as_str().to_owned(),
                kind: d.device.kind.as_str().to_owned(),
                ward: d.device.location.ward.as_ref().map(|w| w.as_str().to_owned()),
                ips: values(d, IdentityKind::Ip),
                macs: values(d, IdentityKind::Mac),
                hostname: values(d, IdentityKind::Hostname).into_iter().next(),
            }),
            destination,
            grade: r.grade.as_str().to_owned(),
            requested_by: r.requested_by.clone(),
            approved_by: [&r.given.ward_ack, &r.given.signoff, &r.given.break_glass]
                .into_iter()
                .flatten()
                .map(|s| s.by.clone())
                .collect(),
            break_glass: r.break_glass(),
            reason: r.reason.clone(),
        })
    }
}
