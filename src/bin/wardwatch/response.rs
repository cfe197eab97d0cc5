//! `wardwatch response ...`: the care-disruption grade of actions, for an
//! incident (the playbook) or as a what-if without live data.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;
use wardwatch::hospital::{CriticalityTier, DeviceKind, UseState};
use wardwatch::response::dispatch::{TokenStore, WebhookToken};
use wardwatch::response::{grade, plan_incident, Catalogue, Graded, Playbook, Subject, Usage};

use crate::hospital::rules as view_rules;

#[derive(Subcommand)]
pub enum ResponseCommand {
    /// The playbook for an incident: every action with its grade, gate and reasons, safest first.
    Plan {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        incident: i64,
        #[arg(long)]
        json: bool,
    },
    /// Webhook bearer tokens, kept in the OS keyring (never in the configuration).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// What-if: the grade of one action on a kind of device, without live data.
    Grade {
        /// infusion_pump, syringe_pump, insulin_pump, patient_monitor, ventilator, ...
        #[arg(long, value_parser = parse_kind)]
        device_kind: DeviceKind,
        /// life_sustaining, life_supporting, therapeutic, diagnostic, non_clinical.
        #[arg(long, value_parser = parse_tier)]
        criticality: CriticalityTier,
        /// yes, no or unknown (unknown counts as in use).
        #[arg(long, value_parser = parse_in_use)]
        in_use: UseState,
        /// observe, notify_biomed, open_ticket, block_destination, rate_limit, restrict_segment,
        /// quarantine, disable_wireless, reboot, patch_firmware, swap_and_remove, decommission.
        #[arg(long)]
        action: String,
        /// Read this catalogue instead of the shipped one.
        #[arg(long)]
        catalogue: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Stores a webhook's bearer token (read from the first line of stdin) under NAME.
    Set {
        #[arg(long)]
        data_dir: PathBuf,
        name: String,
    },
    /// Deletes the token NAME from the keyring.
    Delete {
        #[arg(long)]
        data_dir: PathBuf,
        name: String,
    },
}

fn parse_kind(s: &str) -> Result<DeviceKind, String> {
    DeviceKind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("{s:?} is not a device kind: one of {}", all.join(", "))
    })
}

fn parse_tier(s: &str) -> Result<CriticalityTier, String> {
    CriticalityTier::parse(s).ok_or_else(|| {
        let all: Vec<&str> = CriticalityTier::ALL.iter().map(|k| k.as_str()).collect();
        format!("{s:?} is not a criticality tier: one of {}", all.join(", "))
    })
}

fn parse_in_use(s: &str) -> Result<UseState, String> {
    match s.trim() {
        "yes" => Ok(UseState::InUse),
        "no" => Ok(UseState::Idle),
        "unknown" => Ok(UseState::Unknown),
        other => Err(format!("{other:?}: say yes, no or unknown")),
    }
}

pub fn run(command: ResponseCommand, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    match command {
        ResponseCommand::Token { command: TokenCommand::Set { data_dir, name } } => {
            let mut line = zeroize::Zeroizing::new(String::new());
            io::stdin().read_line(&mut line).context("reading the token from stdin")?;
            let token = WebhookToken::new(line.trim_end_matches(['\r', '\n']).to_owned())?;
            let backend = TokenStore::for_data_dir(&data_dir)?.set(&name, &token)?;
            println!("Token {name} stored in the {backend} keyring.");
            Ok(())
        }
        ResponseCommand::Token { command: TokenCommand::Delete { data_dir, name } } => {
            if TokenStore::for_data_dir(&data_dir)?.delete(&name)? {
                println!("Token {name} deleted.");
            } else {
                println!("There was no token {name}.");
            }
            Ok(())
        }
        ResponseCommand::Grade { device_kind, criticality, in_use, action, catalogue, json } => {
            let catalogue = match catalogue {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Catalogue::parse(&text, &path.display().to_string())?
                }
                None => Catalogue::shipped(),
            };
            let Some(spec) = catalogue.action(&action) else {
                let all: Vec<&str> = catalogue.actions.iter().map(|a| a.id.as_str()).collect();
                anyhow::bail!("{action:?} is not an action of the catalogue: one of {}", all.join(", "));
            };
            let subject = Subject { kind: device_kind, tier: criticality, usage: Usage::given(in_use) };
            let g = grade(&catalogue, spec, Some(&subject));
            let mut out = BufWriter::new(io::stdout().lock());
            if json {
                writeln!(out, "{}", graded_json(&g))?;
            } else {
                let use_words = match in_use {
                    UseState::InUse => "in use",
                    UseState::Unknown => "use unknown",
                    _ => "not in use",
                };
                writeln!(
                    out,
                    "{} ({}) on a {}, {}, {use_words}: {}",
                    g.title,
                    g.action,
                    device_kind.label().to_lowercase(),
                    criticality.label().to_lowercase(),
                    g.grade
                )?;
                write_graded(&mut out, &g, "")?;
            }
            Ok(out.flush()?)
        }
        ResponseCommand::Plan { data_dir, incident, json } => {
            let store = crate::audit::open(&data_dir, passphrase_file, false)?.store;
            let now = Utc::now();
            let i = store
                .incidents_by_id(&[incident], now, &view_rules())?
                .pop()
                .with_context(|| format!("there is no incident {incident}"))?;
            let (catalogue, _) = Catalogue::load(&data_dir)?;
            let playbook = plan_incident(&catalogue, &i, now);
            let mut out = BufWriter::new(io::stdout().lock());
            if json {
                writeln!(out, "{}", playbook_json(&i, &playbook))?;
            } else {
                write_playbook(&mut out, &i, &playbook, now)?;
            }
            Ok(out.flush()?)
        }
    }
}

fn graded_json(g: &Graded) -> serde_json::Value {
    json!({
        "action": g.action,
        "title": g.title,
        "affects": g.affects,
        "grade": g.grade,
        "gate": g.gate,
        "reasons": g.reasons,
    })
}

fn playbook_json(i: &wardwatch::store::Incident, p: &Playbook) -> serde_json::Value {
    json!({
        "incident": i.record.id,
        "key": i.record.key,
        "threat": p.threat,
        "device": i.device.as_ref().map(|d| d.device.id.as_str()),
        "plays": p.plays,
        "not_offered": p.not_offered,
    })
}

fn write_graded(out: &mut impl Write, g: &Graded, indent: &str) -> io::Result<()> {
    writeln!(out, "{indent}Gate: {}", g.gate.describe())?;
    writeln!(out, "{indent}Why:")?;
    for r in &g.reasons {
        writeln!(out, "{indent}  - {r}")?;
    }
    Ok(())
}

fn write_playbook(
    out: &mut impl Write,
    i: &wardwatch::store::Incident,
    p: &Playbook,
    now: chrono::DateTime<Utc>,
) -> io::Result<()> {
    writeln!(out, "Incident #{} {} {}", i.record.id, i.record.title, i.subject_phrase())?;
    match &i.device {
        Some(d) => writeln!(
            out,
            "Device: {} {}, {}; {}",
            d.device.kind.label(),
            d.device.id.as_str(),
            d.device.criticality.tier.label().to_lowercase(),
            d.clinical_use.describe(now)
        )?,
        None => writeln!(out, "No device of the inventory: only actions on the network are offered.")?,
    }
    writeln!(out)?;
    for play in &p.plays {
        let g = &play.graded;
        let contains = match play.contains {
            0 => "supports".to_owned(),
            n => format!("contains {}/3", n),
        };
        writeln!(
            out,
            "{:>2}. {:<28} {} ({}), {contains}",
            play.order,
            g.grade.to_string(),
            g.title,
            g.action
        )?;
        writeln!(out, "    Protects: {}", play.protects)?;
        write_graded(out, g, "    ")?;
        if !play.instead.is_empty() || play.swap_first {
            let instead: Vec<&str> = play.instead.iter().map(|a| a.as_str()).collect();
            let swap = if play.swap_first { "swap it for a spare first (swap_and_remove); " } else { "" };
            writeln!(out, "    Instead: {swap}contain it now with {}", instead.join(", "))?;
        }
    }
    for n in &p.not_offered {
        writeln!(out, " -  {} ({}): not offered: {}", n.title, n.action, n.reason)?;
    }
    Ok(())
}
