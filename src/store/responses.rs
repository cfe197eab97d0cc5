//! Response requests: what an officer asked for, what each person gave its
//! gate, and how dispatch went, with every step's history row and audit
//! record in one transaction.
//!
//! The store is where the gate is enforced: every step goes through
//! [`gate::check`] against the gate the device's state calls for now (the
//! caller grades it and passes it in), and a request is claimed for
//! dispatch only from `approved` or `retry_wait`, in one `UPDATE`, so no
//! approval is carried out twice. A request found `dispatching` when the
//! console starts was cut off mid-attempt: it is `timed_out` (it may have
//! happened), never attempted again by itself.

use chrono::{DateTime, Utc};
use rusqlite::{params, Row, Transaction};
use serde::Serialize;

use super::hospital::sqlite;
use super::{micros, Store, StoreError};
use crate::audit::{kind, Entry};
use crate::hospital::{AssetId, UseEvidence, UseSource, UseState, WardId};
use crate::response::dispatch::Attempt;
use crate::response::gate::{self, Facts, Person, Step};
use crate::response::{ActionId, Gate, GateError, Given, Grade, Graded, RequestState, Sign};

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseRequest {
    pub id: i64,
    pub incident_id: i64,
    pub device: Option<AssetId>,
    pub ward: Option<WardId>,
    pub action: ActionId,
    pub title: String,
    /// The grade, gate and reasons when it was requested.
    pub grade: Grade,
    pub gate: Gate,
    pub reasons: Vec<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub state: RequestState,
    pub given: Given,
    /// Who recorded the device as taken out of use, and how.
    pub out_of_use: Option<Sign>,
    /// The adapter that carries it out.
    pub adapter: String,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What the last attempt said.
    pub last_result: Option<String>,
    /// The manual checklist, once handed to people.
    pub checklist: Vec<ChecklistItem>,
    pub updated_at: DateTime<Utc>,
}

impl ResponseRequest {
    pub fn break_glass(&self) -> bool {
        self.given.break_glass.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChecklistItem {
    pub text: String,
    pub done_by: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
}

/// One step in a request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `requested`, `acknowledged`, `signed_off`, `break_glass`, ...
    pub kind: String,
    pub text: String,
    pub reason: Option<String>,
}

/// Why a request could not be made or moved on.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("there is no response request {0}")]
    Unknown(i64),
    #[error("there is no incident {0}")]
    UnknownIncident(i64),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("a reason is required to request an action")]
    ReasonRequired,
    #[error("the checklist of request {id} has no step {step}")]
    NoStep { id: i64, step: usize },
    #[error("request {id} is {state}: {what}")]
    WrongState { id: i64, state: &'static str, what: &'static str },
    #[error("request {0} changed meanwhile (it is being carried out, or someone else acted): look again")]
    Changed(i64),
}

impl ResponseError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown(_) | Self::UnknownIncident(_) | Self::NoStep { .. } => "response.unknown",
            Self::Gate(g) => g.code(),
            Self::ReasonRequired => "response.reason_required",
            Self::WrongState { .. } | Self::Changed(_) => "response.wrong_state",
        }
    }
}

/// What a new request is about.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub incident_id: i64,
    pub incident_key: &'a str,
    pub device: Option<&'a AssetId>,
    pub ward: Option<&'a WardId>,
    /// The action graded on the device as it is now.
    pub graded: &'a Graded,
    pub adapter: &'a str,
    pub reason: &'a str,
}

/// How a claim for dispatch went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It is ours to attempt (attempt number `attempts`).
    Claimed(ResponseRequest),
    /// Its gate no longer opens with what was given: back to waiting.
    Regated(ResponseRequest),
    /// Someone else claimed it, or it was withdrawn.
    Gone,
}

/// What an attempt's outcome does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A manual checklist handed to people.
    Checklist(Vec<String>),
    /// What the adapter said; `retry_at` when a failure is retried.
    Attempted { attempt: Attempt, retry_at: Option<DateTime<Utc>> },
}

const COLUMNS: &str = "id, incident_id, device, ward, action, title, grade, gate, reasons, requested_by,
    requested_us, reason, state, given, out_of_use, adapter, attempts, next_attempt_us, last_result,
    checklist, updated_us";

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(v).map_err(crate::audit::AuditError::from)?)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<ResponseRequest, String>> {
    let id: i64 = row.get(0)?;
    let text = |i: usize| row.get::<_, String>(i);
    let parse = |what: &str, s: String| -> Result<serde_json::Value, String> {
        serde_json::from_str(&s).map_err(|e| format!("request {id}: {what}: {e}"))
    };
    let (grade, gate, state) = (text(6)?, text(7)?, text(12)?);
    let reasons = text(8)?;
    let given = text(13)?;
    let out_of_use: Option<String> = row.get(14)?;
    let checklist: Option<String> = row.get(19)?;
    let action = text(4)?;
    let requested_us: i64 = row.get(10)?;
    let updated_us: i64 = row.get(20)?;
    let next: Option<i64> = row.get(17)?;
    let attempts: i64 = row.get(16)?;
    let (incident_id, device, ward, title, requested_by, reason, adapter, last_result) = (
        row.get::<_, i64>(1)?,
        row.get::<_, Option<String>>(2)?,
        row.get::<_, Option<String>>(3)?,
        text(5)?,
        text(9)?,
        text(11)?,
        text(15)?,
        row.get::<_, Option<String>>(18)?,
    );
    Ok((|| {
        let bad = |what: &str| format!("request {id}: bad {what}");
        Ok(ResponseRequest {
            id,
            incident_id,
            device: device.map(AssetId),
            ward: ward.map(WardId),
            action: ActionId::new(&action).ok_or_else(|| bad("action"))?,
            title,
            grade: Grade::parse(&grade).ok_or_else(|| bad("grade"))?,
            gate: Gate::parse(&gate).ok_or_else(|| bad("gate"))?,
            reasons: serde_json::from_value(parse("reasons", reasons)?).map_err(|e| e.to_string())?,
            requested_by,
            requested_at: micros(requested_us).ok_or_else(|| bad("time"))?,
            reason,
            state: RequestState::parse(&state).ok_or_else(|| bad("state"))?,
            given: serde_json::from_value(parse("given", given)?).map_err(|e| e.to_string())?,
            out_of_use: match out_of_use {
                Some(s) => Some(serde_json::from_value(parse("out_of_use", s)?).map_err(|e| e.to_string())?),
                None => None,
            },
            adapter,
            attempts: u32::try_from(attempts).map_err(|_| bad("attempts"))?,
            next_attempt_at: next.and_then(micros),
            last_result,
            checklist: match checklist {
                Some(s) => serde_json::from_value(parse("checklist", s)?).map_err(|e| e.to_string())?,
                None => Vec::new(),
            },
            updated_at: micros(updated_us).ok_or_else(|| bad("time"))?,
        })
    })())
}

fn history(
    tx: &Transaction<'_>,
    request: i64,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    text: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO response_events (request_id, at_us, actor, kind, text, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut st| st.execute(params![request, at.timestamp_micros(), actor, kind, text, reason]))
    .map_err(|e| sqlite(tx, e))?;
    Ok(())
}

/// The audit body of a request's step.
#[derive(Serialize)]
struct Body<'a> {
    request: i64,
    incident: i64,
    action: &'a ActionId,
    device: Option<&'a AssetId>,
    state: RequestState,
    #[serde(skip_serializing_if = "Option::is_none")]
    gate_now: Option<Gate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// What a step's audit record says beyond the request.
#[derive(Clone, Copy)]
struct Note<'a> {
    state: RequestState,
    gate_now: Option<Gate>,
    reason: Option<&'a str>,
    detail: Option<&'a str>,
}

fn entry(
    r: &ResponseRequest,
    kind: &str,
    actor: &str,
    at: DateTime<Utc>,
    note: Note<'_>,
) -> Result<Entry, StoreError> {
    let Note { state, gate_now, reason, detail } = note;
    let body = Body {
        request: r.id,
        incident: r.incident_id,
        action: &r.action,
        device: r.device.as_ref(),
        state,
        gate_now,
        reason,
        detail,
    };
    Ok(Entry::new(at, actor, kind, &body)?)
}

impl Store {
    /// One request.
    pub fn response_request(&self, id: i64) -> Result<Option<ResponseRequest>, StoreError> {
        Ok(self.requests_where("WHERE id = ?1", params![id])?.pop())
    }

    /// An incident's requests, newest first.
    pub fn incident_responses(&self, incident: i64) -> Result<Vec<ResponseRequest>, StoreError> {
        self.requests_where("WHERE incident_id = ?1 ORDER BY id DESC", params![incident])
    }

    /// Requests not finished, oldest first (what the wards and officers see).
    pub fn open_responses(&self) -> Result<Vec<ResponseRequest>, StoreError> {
        self.requests_where(
            "WHERE state IN ('awaiting_gate', 'approved', 'dispatching', 'retry_wait', 'checklist') ORDER BY id",
            params![],
        )
    }

    /// Requests the dispatcher should attempt at `now`.
    pub fn due_responses(&self, now: DateTime<Utc>) -> Result<Vec<ResponseRequest>, StoreError> {
        self.requests_where(
            "WHERE state = 'approved' OR (state = 'retry_wait' AND next_attempt_us <= ?1) ORDER BY id",
            params![now.timestamp_micros()],
        )
    }

    fn requests_where(
        &self,
        clause: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<ResponseRequest>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM response_requests {clause}");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map(p, from_row).map_err(|e| self.wrap(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(|e| self.wrap(e))?.map_err(|reason| StoreError::Corrupt { id: 0, reason })?);
        }
        Ok(out)
    }

    /// A request's history, oldest first.
    pub fn response_events(&self, id: i64) -> Result<Vec<ResponseEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at_us, actor, kind, text, reason FROM response_events WHERE request_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(ResponseEvent {
                    at: micros(r.get(0)?).unwrap_or_default(),
                    actor: r.get(1)?,
                    kind: r.get(2)?,
                    text: r.get(3)?,
                    reason: r.get(4)?,
                })
            })
            .map_err(|e| self.wrap(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.wrap(e))
    }

    fn request_or_err(&self, id: i64) -> Result<ResponseRequest, StoreError> {
        self.response_request(id)?.ok_or_else(|| ResponseError::Unknown(id).into())
    }

    /// Request `id`, refused (saying `what`) unless it is in `state`.
    fn request_in(
        &self,
        id: i64,
        state: RequestState,
        what: &'static str,
    ) -> Result<ResponseRequest, StoreError> {
        let r = self.request_or_err(id)?;
        if r.state != state {
            return Err(ResponseError::WrongState { id, state: r.state.as_str(), what }.into());
        }
        Ok(r)
    }

    /// A new request by `actor` at `now`: approved at once when its gate is
    /// none, else waiting for its gate.
    pub fn request_response(
        &mut self,
        new: &NewRequest<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ResponseRequest, StoreError> {
        let reason = new.reason.trim();
        if reason.is_empty() {
            return Err(ResponseError::ReasonRequired.into());
        }
        let g = new.graded;
        let state = gate::settle(g.gate, &Given::default());
        let id: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM response_requests", [], |r| r.get(0))
            .map_err(|e| self.wrap(e))?;
        let request = ResponseRequest {
            id,
            incident_id: new.incident_id,
            device: new.device.cloned(),
            ward: new.ward.cloned(),
            action: g.action.clone(),
            title: g.title.clone(),
            grade: g.grade,
            gate: g.gate,
            reasons: g.reasons.clone(),
            requested_by: actor.to_owned(),
            requested_at: now,
            reason: reason.to_owned(),
            state,
            given: Given::default(),
            out_of_use: None,
            adapter: new.adapter.to_owned(),
            attempts: 0,
            next_attempt_at: None,
            last_result: None,
            checklist: Vec::new(),
            updated_at: now,
        };
        #[derive(Serialize)]
        struct Requested<'a> {
            request: i64,
            incident: i64,
            key: &'a str,
            action: &'a ActionId,
            device: Option<&'a AssetId>,
            ward: Option<&'a WardId>,
            grade: Grade,
            gate: Gate,
            reasons: &'a [String],
            reason: &'a str,
            adapter: &'a str,
            state: RequestState,
        }
        let body = Requested {
            request: id,
            incident: new.incident_id,
            key: new.incident_key,
            action: &g.action,
            device: new.device,
            ward: new.ward,
            grade: g.grade,
            gate: g.gate,
            reasons: &g.reasons,
            reason,
            adapter: new.adapter,
            state,
        };
        let entries = vec![Entry::new(now, actor, kind::RESPONSE_REQUESTED, &body)?];
        let text = format!("{} requested: {} ({})", g.title, g.grade.label(), g.gate.describe());
        self.change(entries, |tx| {
            tx.execute(
                "INSERT INTO response_requests (id, incident_id, device, ward, action, title, grade, gate, reasons,
                    requested_by, requested_us, reason, state, given, adapter, attempts, updated_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, ?11)",
                params![
                    id,
                    new.incident_id,
                    new.device.map(AssetId::as_str),
                    new.ward.map(WardId::as_str),
                    g.action.as_str(),
                    g.title,
                    g.grade.as_str(),
                    g.gate.as_str(),
                    json(&g.reasons)?,
                    actor,
                    now.timestamp_micros(),
                    reason,
                    state.as_str(),
                    json(&Given::default())?,
                    new.adapter,
                ],
            )
            .map_err(|e| sqlite(tx, e))?;
            history(tx, id, now, actor, "requested", &text, Some(reason))
        })?;
        Ok(request)
    }

    /// `person` takes `step` on request `id`, checked against the gate the
    /// device's state calls for now (`gate_now`); the request then settles
    /// (approved when what was given opens that gate).
    pub fn response_step(
        &mut self,
        id: i64,
        step: Step,
        person: &Person<'_>,
        reason: &str,
        gate_now: Gate,
        now: DateTime<Utc>,
    ) -> Result<ResponseRequest, StoreError> {
        let r = self.request_or_err(id)?;
        let facts = facts(&r, gate_now);
        gate::check(&facts, step, person, reason)?;
        let reason = reason.trim();
        let sign = Sign { by: person.name.to_owned(), reason: reason.to_owned(), at: now };
        let mut given = r.given.clone();
        let (state, kind, verb) = match step {
            Step::AcknowledgeWard => {
                given.ward_ack = Some(sign);
                (gate::settle(gate_now, &given), kind::RESPONSE_ACKNOWLEDGED, "ward covering")
            }
            Step::SignOff => {
                given.signoff = Some(sign);
                (gate::settle(gate_now, &given), kind::RESPONSE_SIGNED_OFF, "signed off")
            }
            Step::BreakGlass => {
                given.break_glass = Some(sign);
                (
                    gate::settle(gate_now, &given),
                    kind::RESPONSE_BREAK_GLASS,
                    "BREAK-GLASS: approved as an emergency",
                )
            }
            Step::Refuse => (RequestState::Refused, kind::RESPONSE_REFUSED, "refused"),
            Step::Withdraw => (RequestState::Withdrawn, kind::RESPONSE_WITHDRAWN, "withdrawn"),
            Step::RecordOutOfUse => {
                return Err(GateError::NotNeeded("record it out of use with record_out_of_use").into())
            }
        };
        let mut text = format!("{verb} by {}", person.name);
        if state == RequestState::Approved {
            text.push_str("; approved");
        }
        let reason_opt = (!reason.is_empty()).then_some(reason);
        let e = entry(
            &r,
            kind,
            person.name,
            now,
            Note { state, gate_now: Some(gate_now), reason: reason_opt, detail: None },
        )?;
        let given_doc = json(&given)?;
        self.change(vec![e], |tx| {
            // Only from the state it was read in: the dispatcher (another
            // connection) may have claimed it meanwhile.
            let n = tx
                .execute(
                    "UPDATE response_requests SET state = ?2, given = ?3, updated_us = ?4 WHERE id = ?1 AND state = ?5",
                    params![id, state.as_str(), given_doc, now.timestamp_micros(), r.state.as_str()],
                )
                .map_err(|e| sqlite(tx, e))?;
            if n != 1 {
                return Err(ResponseError::Changed(id).into());
            }
            history(tx, id, now, person.name, step_kind(step), &text, reason_opt)
        })?;
        self.request_or_err(id)
    }

    /// The ward records the device of request `id` as taken out of use
    /// (`how`: "swapped for spare INF-0099"): the device's clinical use
    /// becomes `maintenance`, set by that person, in the same transaction.
    /// The caller then grades again and calls [`Store::regate`].
    pub fn record_out_of_use(
        &mut self,
        id: i64,
        person: &Person<'_>,
        how: &str,
        gate_now: Gate,
        now: DateTime<Utc>,
    ) -> Result<ResponseRequest, StoreError> {
        let r = self.request_or_err(id)?;
        let facts = facts(&r, gate_now);
        gate::check(&facts, Step::RecordOutOfUse, person, how)?;
        let how = how.trim();
        if how.is_empty() {
            return Err(GateError::ReasonRequired("record it out of use").into());
        }
        let Some(device) = r.device.clone() else {
            return Err(GateError::NotNeeded("the request names no device").into());
        };
        let why = format!("taken out of use for response request {id}: {how}");
        let evidence = UseEvidence {
            state: UseState::Maintenance,
            source: UseSource::Person { actor: person.name.to_owned(), reason: why.clone() },
            at: now,
        };
        #[derive(Serialize)]
        struct Set<'a> {
            device: &'a AssetId,
            state: UseState,
            reason: &'a str,
        }
        let sign = Sign { by: person.name.to_owned(), reason: how.to_owned(), at: now };
        let entries = vec![
            Entry::new(
                now,
                person.name,
                kind::CLINICAL_USE_SET,
                &Set { device: &device, state: UseState::Maintenance, reason: &why },
            )?,
            entry(
                &r,
                kind::RESPONSE_OUT_OF_USE,
                person.name,
                now,
                Note { state: r.state, gate_now: Some(gate_now), reason: Some(how), detail: None },
            )?,
        ];
        let sign_doc = json(&sign)?;
        self.change(entries, |tx| {
            super::hospital::put_evidence(tx, &device, &evidence)?;
            tx.execute(
                "UPDATE response_requests SET out_of_use = ?2, updated_us = ?3 WHERE id = ?1",
                params![id, sign_doc, now.timestamp_micros()],
            )
            .map_err(|e| sqlite(tx, e))?;
            let text = format!("{device} taken out of use by {}", person.name);
            history(tx, id, now, person.name, "out_of_use", &text, Some(how))
        })?;
        self.request_or_err(id)
    }

    /// Weighs what was given against the gate the device's state calls for
    /// now (`gate_now`, graded again by the caller after a change), with
    /// `why` in words; records a change of state. Only a request waiting
    /// for its gate, or approved and not yet claimed, moves.
    pub fn regate(
        &mut self,
        id: i64,
        gate_now: Gate,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<ResponseRequest, StoreError> {
        let r = self.request_or_err(id)?;
        if !matches!(r.state, RequestState::AwaitingGate | RequestState::Approved | RequestState::RetryWait) {
            return Ok(r);
        }
        let state = match gate::settle(gate_now, &r.given) {
            RequestState::Approved if r.state == RequestState::RetryWait => RequestState::RetryWait,
            s => s,
        };
        if state == r.state {
            return Ok(r);
        }
        let (k, verb) = if state == RequestState::Approved {
            (kind::RESPONSE_APPROVED, "approved")
        } else {
            (kind::RESPONSE_REGATED, "waiting again")
        };
        let text = format!("{verb}: {why}");
        let e = entry(
            &r,
            k,
            "console",
            now,
            Note { state, gate_now: Some(gate_now), reason: None, detail: Some(why) },
        )?;
        self.change(vec![e], |tx| {
            tx.execute(
                "UPDATE response_requests SET state = ?2, updated_us = ?3 WHERE id = ?1 AND state = ?4",
                params![id, state.as_str(), now.timestamp_micros(), r.state.as_str()],
            )
            .map_err(|e| sqlite(tx, e))?;
            history(tx, id, now, "console", verb, &text, None)
        })?;
        self.request_or_err(id)
    }

    /// Claims request `id` for one attempt, if it is still approved (or due
    /// for a retry) and what was given still opens `gate_now`. The claim is
    /// one conditional `UPDATE`: two dispatchers cannot both win it.
    pub fn claim_response(
        &mut self,
        id: i64,
        gate_now: Gate,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let r = self.request_or_err(id)?;
        if !matches!(r.state, RequestState::Approved | RequestState::RetryWait) {
            return Ok(Claim::Gone);
        }
        if !gate::may_dispatch(r.state, gate_now, &r.given) {
            let why = format!("the device's state changed: it now needs {}", gate_now.describe());
            let r = self.regate(id, gate_now, &why, now)?;
            return Ok(Claim::Regated(r));
        }
        let attempt = r.attempts + 1;
        let detail = format!("attempt {attempt} through {}", r.adapter);
        let e = entry(
            &r,
            kind::RESPONSE_DISPATCHING,
            "console",
            now,
            Note {
                state: RequestState::Dispatching,
                gate_now: Some(gate_now),
                reason: None,
                detail: Some(&detail),
            },
        )?;
        let (_, claimed) = self.change(vec![e], |tx| {
            let n = tx
                .execute(
                    "UPDATE response_requests SET state = 'dispatching', attempts = attempts + 1, updated_us = ?2
                     WHERE id = ?1 AND state IN ('approved', 'retry_wait')",
                    params![id, now.timestamp_micros()],
                )
                .map_err(|e| sqlite(tx, e))?;
            if n == 1 {
                history(tx, id, now, "console", "dispatching", &detail, None)?;
            }
            Ok(n == 1)
        })?;
        if !claimed {
            return Ok(Claim::Gone);
        }
        Ok(Claim::Claimed(self.request_or_err(id)?))
    }

    /// What attempt `attempts` of request `id` came to.
    pub fn record_attempt(
        &mut self,
        id: i64,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> Result<ResponseRequest, StoreError> {
        let r = self.request_in(id, RequestState::Dispatching, "it is not being dispatched")?;
        let (state, k, text, checklist, next) = match outcome {
            AttemptOutcome::Checklist(steps) => {
                let items: Vec<ChecklistItem> = steps
                    .iter()
                    .map(|s| ChecklistItem { text: s.clone(), done_by: None, done_at: None })
                    .collect();
                (
                    RequestState::Checklist,
                    kind::RESPONSE_CHECKLIST,
                    "checklist handed to people".to_owned(),
                    Some(items),
                    None,
                )
            }
            AttemptOutcome::Attempted { attempt: Attempt::Done { detail }, .. } => {
                (RequestState::Done, kind::RESPONSE_DONE, format!("done: {detail}"), None, None)
            }
            AttemptOutcome::Attempted { attempt: Attempt::Failed { error, .. }, retry_at: Some(t) } => (
                RequestState::RetryWait,
                kind::RESPONSE_RETRY,
                format!("attempt {} failed: {error}; next at {}", r.attempts, t.format("%H:%M:%S UTC")),
                None,
                Some(*t),
            ),
            AttemptOutcome::Attempted { attempt: Attempt::Failed { error, .. }, retry_at: None } => (
                RequestState::Failed,
                kind::RESPONSE_FAILED,
                format!("failed after {} attempt(s): {error}", r.attempts),
                None,
                None,
            ),
            AttemptOutcome::Attempted { attempt: Attempt::TimedOut { after_ms }, .. } => (
                RequestState::TimedOut,
                kind::RESPONSE_TIMED_OUT,
                format!("no answer within {after_ms} ms: it may have happened; check before asking again"),
                None,
                None,
            ),
        };
        let e =
            entry(&r, k, "console", now, Note { state, gate_now: None, reason: None, detail: Some(&text) })?;
        let checklist_doc = checklist.as_ref().map(json).transpose()?;
        self.change(vec![e], |tx| {
            tx.execute(
                "UPDATE response_requests SET state = ?2, last_result = ?3, next_attempt_us = ?4,
                    checklist = COALESCE(?5, checklist), updated_us = ?6 WHERE id = ?1",
                params![
                    id,
                    state.as_str(),
                    text,
                    next.map(|t| t.timestamp_micros()),
                    checklist_doc,
                    now.timestamp_micros()
                ],
            )
            .map_err(|e| sqlite(tx, e))?;
            history(tx, id, now, "console", state.as_str(), &text, None)
        })?;
        self.request_or_err(id)
    }

    /// `actor` ticks off step `index` of request `id`'s checklist; the last
    /// one makes it done.
    pub fn tick_checklist(
        &mut self,
        id: i64,
        index: usize,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ResponseRequest, StoreError> {
        let r = self.request_in(id, RequestState::Checklist, "it has no checklist open")?;
        let mut items = r.checklist.clone();
        let item = items.get_mut(index).ok_or(ResponseError::NoStep { id, step: index + 1 })?;
        if item.done_by.is_some() {
            return Err(GateError::NotNeeded("that step is already ticked off").into());
        }
        item.done_by = Some(actor.to_owned());
        item.done_at = Some(now);
        let step_text = item.text.clone();
        let all = items.iter().all(|i| i.done_by.is_some());
        let state = if all { RequestState::Done } else { RequestState::Checklist };
        let detail = format!("step {} ticked off: {step_text}", index + 1);
        let mut entries = vec![entry(
            &r,
            kind::RESPONSE_TICKED,
            actor,
            now,
            Note { state, gate_now: None, reason: None, detail: Some(&detail) },
        )?];
        if all {
            entries.push(entry(
                &r,
                kind::RESPONSE_DONE,
                actor,
                now,
                Note { state, gate_now: None, reason: None, detail: Some("every step ticked off") },
            )?);
        }
        let doc = json(&items)?;
        let before = json(&r.checklist)?;
        self.change(entries, |tx| {
            // Only over the checklist as it was read: two people ticking at
            // once do not undo each other's step.
            let n = tx
                .execute(
                    "UPDATE response_requests SET checklist = ?2, state = ?3, updated_us = ?4
                     WHERE id = ?1 AND state = 'checklist' AND checklist = ?5",
                    params![id, doc, state.as_str(), now.timestamp_micros(), before],
                )
                .map_err(|e| sqlite(tx, e))?;
            if n != 1 {
                return Err(ResponseError::Changed(id).into());
            }
            history(tx, id, now, actor, "ticked", &detail, None)?;
            if all {
                history(tx, id, now, actor, "done", "done: every step ticked off", None)?;
            }
            Ok(())
        })?;
        self.request_or_err(id)
    }

    /// At a start: requests left `dispatching` were cut off mid-attempt;
    /// they are `timed_out` (it may have happened), never attempted again
    /// by themselves. Returns how many.
    pub fn abandon_dispatching(&mut self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let cut = self.requests_where("WHERE state = 'dispatching'", params![])?;
        for r in &cut {
            let text =
                "the console stopped during the attempt: it may have happened; check before asking again";
            let e = entry(
                r,
                kind::RESPONSE_TIMED_OUT,
                "console",
                now,
                Note { state: RequestState::TimedOut, gate_now: None, reason: None, detail: Some(text) },
            )?;
            self.change(vec![e], |tx| {
                tx.execute(
                    "UPDATE response_requests SET state = 'timed_out', last_result = ?2, updated_us = ?3 WHERE id = ?1",
                    params![r.id, text, now.timestamp_micros()],
                )
                .map_err(|e| sqlite(tx, e))?;
                history(tx, r.id, now, "console", "timed_out", text, None)
            })?;
        }
        Ok(cut.len())
    }
}

/// What the gate checks a step on `r` against, with the gate needed now.
fn facts(r: &ResponseRequest, gate_now: Gate) -> Facts<'_> {
    Facts {
        state: r.state,
        requested_by: &r.requested_by,
        ward: r.ward.as_ref(),
        gate: gate_now,
        given: &r.given,
    }
}

fn step_kind(step: Step) -> &'static str {
    match step {
        Step::AcknowledgeWard => "acknowledged",
        Step::SignOff => "signed_off",
        Step::BreakGlass => "break_glass",
        Step::RecordOutOfUse => "out_of_use",
        Step::Refuse => "refused",
        Step::Withdraw => "withdrawn",
    }
}

impl From<GateError> for StoreError {
    fn from(e: GateError) -> Self {
        ResponseError::Gate(e).into()
    }
}
