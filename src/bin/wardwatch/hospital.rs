//! `wardwatch wards`, `wardwatch devices` and `wardwatch device`: the
//! hospital as the console sees it, for a terminal or a script.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::Utc;
use clap::Subcommand;
use serde_json::json;
use wardwatch::hospital::{self, age, AssetId, DeviceState, Health, UseState, WardId};
use wardwatch::store::{Assignment, HospitalView, ViewRules};

/// Health as a symbol and a word: never colour alone.
pub fn health_text(h: Health) -> String {
    let symbol = match h {
        Health::Ok => "✓",
        Health::Unknown => "?",
        Health::Watch => "◔",
        Health::AtRisk => "▲",
        Health::CompromisedSuspected => "✖",
    };
    format!("{symbol} {}", h.label())
}

fn view(data_dir: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<HospitalView> {
    let store = crate::audit::open(data_dir, passphrase_file, false)?.store;
    Ok(store.hospital_view(Utc::now(), &rules())?)
}

/// The console's rules: its configuration's
/// `[hospital]` table when `WARDWATCH_CONFIG` names one, else the defaults.
pub fn rules() -> ViewRules {
    std::env::var_os(wardwatch::config::ENV_CONFIG)
        .and_then(|p| wardwatch::config::ConfigFile::read(Path::new(&p)).ok())
        .and_then(|f| f.hospital)
        .map(|h| h.rules())
        .unwrap_or_default()
}

/// Each ward with its devices by health and its worst open incident.
pub fn wards(data_dir: &Path, json_out: bool, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    let view = view(data_dir, passphrase_file)?;
    let now = Utc::now();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut rows: Vec<(Option<&hospital::Ward>, hospital::WardHealth)> =
        view.wards.iter().map(|w| (Some(w), hospital::roll_up(view.in_ward(Some(&w.id))))).collect();
    let staged = hospital::roll_up(view.in_ward(None));
    if staged.devices > 0 {
        rows.push((None, staged));
    }
    if json_out {
        for (w, h) in &rows {
            let counts: serde_json::Map<String, serde_json::Value> =
                Health::ALL.iter().zip(h.counts).map(|(k, n)| (k.as_str().to_owned(), json!(n))).collect();
            let worst_incident = h.worst_incident.as_ref().map(|(d, i)| json!({"device": d, "incident": i}));
            let ward = w.map(|w| json!(w)).unwrap_or(json!(null));
            let line = json!({
                "ward": ward, "devices": h.devices, "in_use": h.in_use, "by_health": counts,
                "worst": h.worst, "worst_incident": worst_incident,
            });
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        }
        return Ok(out.flush()?);
    }
    if rows.is_empty() {
        writeln!(out, "No wards in {}: import an inventory (wardwatch inventory import) or run the simulated hospital (wardwatch serve --simulate).", data_dir.display())?;
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "{:<12} {:<24} {:>7} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6}  {:<22} WORST OPEN INCIDENT",
        "WARD", "NAME", "DEVICES", "IN USE", "✖ COMP", "▲ RISK", "◔ WATCH", "? UNKN", "✓ OK", "STATUS"
    )?;
    for (w, h) in &rows {
        let (id, name) = w.map_or(("(staged)", "Not yet in a ward"), |w| (w.id.as_str(), w.name.as_str()));
        let [ok, unknown, watch, risk, comp] = h.counts;
        let worst = match &h.worst_incident {
            None => "none".to_owned(),
            Some((d, i)) => format!(
                "{} {}: {} on {d} ({} alert{}, last {})",
                i.severity.label().as_str(),
                i.severity.value(),
                i.condition,
                i.count,
                if i.count == 1 { "" } else { "s" },
                age(now, i.last_seen)
            ),
        };
        writeln!(
            out,
            "{id:<12} {:<24} {:>7} {:>6} {comp:>6} {risk:>6} {watch:>7} {unknown:>6} {ok:>6}  {:<22} {worst}",
            truncate(name, 24),
            h.devices,
            h.in_use,
            health_text(h.worst),
        )?;
    }
    Ok(out.flush()?)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

fn location(d: &DeviceState) -> String {
    let l = &d.device.location;
    match (&l.room, &l.bed) {
        (Some(r), Some(b)) => format!("{r}/{b}"),
        (Some(r), None) => r.clone(),
        (None, Some(b)) => format!("bed {b}"),
        (None, None) => "-".into(),
    }
}

/// Each device with identities, kind, tier, clinical use, health and reasons.
pub fn devices(
    data_dir: &Path,
    ward: Option<&str>,
    staged_only: bool,
    json_out: bool,
    passphrase_file: Option<&Path>,
) -> anyhow::Result<()> {
    let view = view(data_dir, passphrase_file)?;
    if let Some(w) = ward {
        if !view.wards.iter().any(|x| x.id.as_str() == w) {
            let known: Vec<&str> = view.wards.iter().map(|x| x.id.as_str()).collect();
            anyhow::bail!("there is no ward {w:?} (wards: {})", known.join(", "));
        }
    }
    let now = Utc::now();
    let shown: Vec<&DeviceState> = view
        .devices
        .iter()
        .filter(|d| ward.is_none_or(|w| d.device.location.ward.as_ref().is_some_and(|x| x.as_str() == w)))
        .filter(|d| !staged_only || d.device.staged)
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    if json_out {
        for d in &shown {
            serde_json::to_writer(&mut out, d)?;
            writeln!(out)?;
        }
        return Ok(out.flush()?);
    }
    if shown.is_empty() {
        writeln!(
            out,
            "No devices{} in {}.",
            ward.map(|w| format!(" in ward {w}")).unwrap_or_default(),
            data_dir.display()
        )?;
        return Ok(out.flush()?);
    }
    for d in shown {
        let dev = &d.device;
        let ids: Vec<String> = dev.identities.iter().map(ToString::to_string).collect();
        let what =
            [dev.manufacturer.as_deref(), dev.model.as_deref(), dev.firmware.as_deref().map(|f| f.trim())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
        let ward = dev.location.ward.as_ref().map_or("(staged)", WardId::as_str);
        writeln!(
            out,
            "{}  {}  {}  {ward} {}  {}",
            dev.id,
            health_text(d.assessment.health),
            dev.kind.label(),
            location(d),
            dev.criticality.tier.label()
        )?;
        if !what.is_empty() {
            writeln!(out, "    model: {what}")?;
        }
        writeln!(out, "    identities: {}", if ids.is_empty() { "none".into() } else { ids.join(", ") })?;
        writeln!(out, "    clinical use: {}", d.clinical_use.describe(now))?;
        if let Some(t) = d.last_seen {
            writeln!(out, "    last heard from: {}", age(now, t))?;
        }
        for r in &d.assessment.reasons {
            writeln!(out, "    - {}", r.text)?;
        }
    }
    Ok(out.flush()?)
}

/// What people change about a device.
#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Confirm a device (a staged one, say) and put it in a ward.
    Assign {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        device: String,
        #[arg(long)]
        ward: String,
        #[arg(long)]
        room: Option<String>,
        #[arg(long)]
        bed: Option<String>,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Set a device's clinical-use state by hand (in_use, idle, maintenance, unknown).
    SetUse {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        device: String,
        #[arg(long)]
        state: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
}

/// Who a change from the command line is recorded as.
static ACTING: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Records who the command acts as, once their account was checked.
pub fn act_as(username: &str) {
    let _ = ACTING.set(username.to_owned());
}

/// Who a change from the command line is recorded as: the person checked
/// against the matrix, else (a data directory without accounts yet) the
/// operating-system user.
pub fn actor() -> String {
    if let Some(who) = ACTING.get() {
        return who.clone();
    }
    let user =
        std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Opens an existing data directory for a change (never makes a new one).
fn open_for_change(
    data_dir: &Path,
    passphrase_file: Option<&Path>,
) -> anyhow::Result<wardwatch::store::Store> {
    anyhow::ensure!(
        data_dir.join(wardwatch::store::DB_FILE).exists(),
        "no Wardwatch data at {} (nothing has been stored there yet)",
        data_dir.display()
    );
    Ok(crate::audit::open(data_dir, passphrase_file, true)?.store)
}

pub fn device(command: DeviceCommand, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    let need_reason = |r: &str| -> anyhow::Result<String> {
        let r = r.trim();
        anyhow::ensure!(!r.is_empty(), "say why with --reason: it goes into the audit log");
        Ok(r.to_owned())
    };
    match command {
        DeviceCommand::Assign { data_dir, device, ward, room, bed, reason } => {
            let reason = need_reason(&reason)?;
            let mut store = open_for_change(&data_dir, passphrase_file)?;
            let to = Assignment { ward: WardId(ward), room, bed };
            let d = store.assign_device(&AssetId(device), &to, &actor(), &reason, Utc::now())?;
            println!("{} is now in ward {} (recorded in the audit log).", d.id, to.ward);
        }
        DeviceCommand::SetUse { data_dir, device, state, reason } => {
            let reason = need_reason(&reason)?;
            let state = UseState::parse(&state).ok_or_else(|| {
                anyhow::anyhow!("--state must be in_use, idle, maintenance or unknown, not {state:?}")
            })?;
            let mut store = open_for_change(&data_dir, passphrase_file)?;
            store.set_clinical_use(&AssetId(device.clone()), state, &actor(), &reason, Utc::now())?;
            println!("{device}: {} (recorded in the audit log).", state.label());
        }
    }
    Ok(())
}
