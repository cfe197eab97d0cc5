//! `wardwatch inventory import|export`: the hospital's device inventory in
//! and out, as CSV or JSON from a CMMS or an asset list.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use clap::Subcommand;
use wardwatch::hospital::inventory::{self, InventoryFormat, Mapping};

#[derive(Subcommand)]
pub enum InventoryCommand {
    /// Import an inventory file: a report of every row first (new, changed,
    /// unchanged, conflicting, invalid, with line numbers), then the new and
    /// changed devices are written (never with --dry-run). Rows that conflict
    /// or are invalid are left out; nothing is ever deleted.
    Import {
        #[arg(long)]
        data_dir: PathBuf,
        /// The CSV or JSON file (an array of flat objects).
        file: PathBuf,
        /// Only show what would change.
        #[arg(long)]
        dry_run: bool,
        /// csv or json; by default from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// FIELD=COLUMN: which column holds a field, when the file's header
        /// differs (`--map asset_id="Asset Tag" --map ip="IP Address"`).
        /// Fields: asset_id, kind, manufacturer, model, firmware, site, ward,
        /// ward_name, ward_kind, room, bed, ip, mac, hostname, eui64, serial,
        /// tier, function, physical_risk, maintenance, patching, vulnerabilities.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
    },
    /// Export the confirmed inventory (the format an import reads back).
    Export {
        #[arg(long)]
        data_dir: PathBuf,
        /// Where to write it; `-` for standard output.
        file: PathBuf,
        /// csv or json; by default from the file's extension (csv for `-`).
        #[arg(long)]
        format: Option<String>,
    },
}

fn format_of(flag: Option<&str>, file: &Path) -> anyhow::Result<InventoryFormat> {
    match flag {
        Some(f) => InventoryFormat::parse(f)
            .ok_or_else(|| anyhow::anyhow!("--format must be csv or json, not {f:?}")),
        None if file == Path::new("-") => Ok(InventoryFormat::Csv),
        None => InventoryFormat::from_path(file).ok_or_else(|| {
            anyhow::anyhow!(
                "cannot tell the format of {} from its name: say --format csv or --format json",
                file.display()
            )
        }),
    }
}

pub fn run(command: InventoryCommand, passphrase_file: Option<&Path>) -> anyhow::Result<()> {
    match command {
        InventoryCommand::Import { data_dir, file, dry_run, format, map } => {
            let format = format_of(format.as_deref(), &file)?;
            let mapping = Mapping::with_overrides(&map)?;
            let meta = std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?;
            anyhow::ensure!(
                meta.len() <= inventory::MAX_BYTES as u64,
                "{} is {} bytes; an inventory file is at most {} bytes",
                file.display(),
                meta.len(),
                inventory::MAX_BYTES
            );
            let input = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            // A dry run only reads (against an empty inventory when the data
            // directory is new); an import may make a new data directory.
            if dry_run {
                let plan = if data_dir.join(wardwatch::store::DB_FILE).exists() {
                    let store = crate::audit::open(&data_dir, passphrase_file, false)?.store;
                    store.plan_import(&input, format, &mapping)?
                } else {
                    inventory::plan(&input, format, &mapping, &Default::default(), &[])
                };
                print!("{}", plan.with_context(|| file.display().to_string())?.report());
                println!("Dry run: nothing was written.");
                return Ok(());
            }
            let mut store = crate::audit::open(&data_dir, passphrase_file, true)?.store;
            let plan =
                store.plan_import(&input, format, &mapping)?.with_context(|| file.display().to_string())?;
            print!("{}", plan.report());
            if plan.upserts.is_empty() && plan.new_wards.is_empty() {
                println!("Nothing to write.");
                return Ok(());
            }
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let applied = store.apply_plan(&plan, &crate::hospital::actor(), &name, Utc::now())?;
            println!(
                "Imported: {} device{} written, {} ward{} created, {} staged device{} adopted (audit record {}).",
                applied.devices_written,
                if applied.devices_written == 1 { "" } else { "s" },
                applied.wards_created,
                if applied.wards_created == 1 { "" } else { "s" },
                applied.adopted,
                if applied.adopted == 1 { "" } else { "s" },
                applied.audit_seq
            );
        }
        InventoryCommand::Export { data_dir, file, format } => {
            let format = format_of(format.as_deref(), &file)?;
            let store = crate::audit::open(&data_dir, passphrase_file, false)?.store;
            let inv = store.inventory()?;
            let bytes = inventory::export(&inv, format);
            if file == Path::new("-") {
                use std::io::Write;
                std::io::stdout().lock().write_all(&bytes)?;
            } else {
                std::fs::write(&file, &bytes).with_context(|| format!("cannot write {}", file.display()))?;
                eprintln!(
                    "{} devices in {} wards written to {}.",
                    inv.devices.len(),
                    inv.wards.len(),
                    file.display()
                );
            }
        }
    }
    Ok(())
}
