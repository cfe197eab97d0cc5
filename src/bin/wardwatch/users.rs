//! `wardwatch users ...`: local accounts, headless. The first person must
//! be an administrator; after that, only an administrator (who proves it
//! with `--as NAME` and their password) adds people.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Subcommand;
use wardwatch::access::{self, Operation, Role};
use wardwatch::audit::{kind, Entry};
use wardwatch::hospital::WardId;
use wardwatch::store::{Proof, Store};
use zeroize::Zeroizing;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a person: the first must be an admin; then only an admin adds people (--as).
    Add {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        username: String,
        /// As people should see it ("Nina Patel").
        #[arg(long, default_value = "")]
        name: String,
        /// nurse, clinician, security_officer, admin, auditor (repeat for several).
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// A ward a nurse covers (repeat for several).
        #[arg(long = "ward")]
        wards: Vec<String>,
        /// The new person's password: its first line (default: standard input).
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// The administrator adding them (once there is one).
        #[arg(long = "as")]
        as_user: Option<String>,
        /// That administrator's password file.
        #[arg(long)]
        as_password_file: Option<PathBuf>,
    },
    /// Change a person's roles or wards, or disable or enable the account
    /// (an administrator: --user; recorded with before and after).
    Change {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        username: String,
        /// The new roles (repeat for several); the old ones when absent.
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// The new wards (repeat); the old ones when absent.
        #[arg(long = "ward")]
        wards: Vec<String>,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
    /// Every person with their roles and wards (never a secret).
    List {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("a role is one of {}", all.join(", "))
    })
}

/// The first line of `file`, or of standard input.
fn secret(file: Option<&Path>, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    match file {
        Some(f) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
            );
            line.push_str(text.lines().next().unwrap_or(""));
        }
        None => {
            io::stdin()
                .lock()
                .read_line(&mut line)
                .with_context(|| format!("reading {what} from standard input"))?;
            let trimmed = line.trim_end_matches(['\n', '\r']).len();
            line.truncate(trimmed);
        }
    }
    if line.is_empty() {
        bail!("the {what} is empty");
    }
    Ok(line)
}

fn open(data_dir: &Path, pf: Option<&Path>) -> anyhow::Result<Store> {
    Ok(crate::audit::open(data_dir, pf, true)?.store)
}

pub fn run(command: UsersCommand, pf: Option<&Path>) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        UsersCommand::Add {
            data_dir,
            username,
            name,
            roles,
            wards,
            password_file,
            as_user,
            as_password_file,
        } => {
            let mut store = open(&data_dir, pf)?;
            let roles: BTreeSet<Role> = roles.into_iter().collect();
            let actor = if store.has_admin()? {
                let Some(admin) = as_user else {
                    bail!("only an administrator adds people: say who with --as NAME and --as-password-file FILE");
                };
                let pw = secret(as_password_file.as_deref(), "administrator's password")?;
                let who = store
                    .authenticate(&admin, Proof::Password(&pw), now)
                    .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
                // The operation as the permission matrix's entry for this command names it.
                let op = match crate::access_of(&["users", "add"]) {
                    Some(crate::Access::Operation(op)) => op,
                    _ => Operation::ManageUsers,
                };
                if !access::permits(&who.roles, op) {
                    let body = serde_json::json!({"operation": op, "command": "users add"});
                    store.record([Entry::new(now, &who.username, kind::REFUSED, &body)?])?;
                    bail!("[access.refused] {} may not add people: that takes the admin role (recorded in the audit log)", who.username);
                }
                who.username
            } else {
                if !roles.contains(&Role::Admin) {
                    bail!("the first person must be an administrator: add --role admin");
                }
                crate::hospital::actor()
            };
            let password = secret(password_file.as_deref(), "password")?;
            let wards: Vec<WardId> = wards.into_iter().map(WardId).collect();
            let p = store
                .add_person(&username, &name, &roles, &wards, &password, &actor, now)
                .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
            let roles: Vec<&str> = p.roles.iter().map(|r| r.label()).collect();
            println!(
                "{} ({}) added as {} (recorded in the audit log).",
                p.username,
                p.display_name,
                roles.join(", ")
            );
        }
        UsersCommand::Change { data_dir, username, roles, wards, disable, enable } => {
            let mut store = open(&data_dir, pf)?;
            let roles: BTreeSet<Role> = roles.into_iter().collect();
            let wards: Vec<WardId> = wards.into_iter().map(WardId).collect();
            let disabled = (disable || enable).then_some(disable);
            let p = store
                .change_person(
                    &username,
                    (!roles.is_empty()).then_some(&roles),
                    (!wards.is_empty()).then_some(wards.as_slice()),
                    disabled,
                    &crate::hospital::actor(),
                    now,
                )
                .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
            let roles: Vec<&str> = p.roles.iter().map(|r| r.label()).collect();
            let state = if p.disabled { ", disabled" } else { "" };
            println!("{}: {}{state} (recorded in the audit log).", p.username, roles.join(", "));
        }
        UsersCommand::List { data_dir, json } => {
            let store = crate::audit::open(&data_dir, pf, false)?.store;
            let mut out = BufWriter::new(io::stdout().lock());
            for p in store.people()? {
                if json {
                    serde_json::to_writer(&mut out, &p)?;
                    writeln!(out)?;
                } else {
                    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
                    let wards: Vec<&str> = p.wards.iter().map(|w| w.as_str()).collect();
                    let state = if p.disabled { " (disabled)" } else { "" };
                    writeln!(
                        out,
                        "{:<16} {:<24} {:<28} {}{state}",
                        p.username,
                        p.display_name,
                        roles.join(","),
                        wards.join(",")
                    )?;
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}
