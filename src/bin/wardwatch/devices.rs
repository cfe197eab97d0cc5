//! `wardwatch devices`: the device context kept from records that are not
//! alerts (Suricata flows, DNS, TLS, ...).

use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;

/// Without `ip`, the most recently seen devices; with it, that device's
/// event types and peers.
pub fn run(
    data_dir: &Path,
    ip: Option<IpAddr>,
    json: bool,
    limit: usize,
    passphrase_file: Option<&Path>,
) -> anyhow::Result<()> {
    let store = crate::audit::open(data_dir, passphrase_file, false)?.store;
    let mut out = BufWriter::new(io::stdout().lock());
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    match ip {
        None => {
            let devices = store.devices(limit)?;
            if json {
                for d in &devices {
                    serde_json::to_writer(&mut out, d)?;
                    writeln!(out)?;
                }
            } else if devices.is_empty() {
                writeln!(out, "No device context stored in {}.", data_dir.display())?;
            } else {
                writeln!(
                    out,
                    "{:<40} {:<19} {:<19} {:>9}",
                    "DEVICE", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "RECORDS"
                )?;
                for d in &devices {
                    let ip = d.ip.to_string();
                    writeln!(
                        out,
                        "{ip:<40} {:<19} {:<19} {:>9}",
                        time(d.first_seen),
                        time(d.last_seen),
                        d.records
                    )?;
                }
            }
        }
        Some(ip) => {
            let Some(d) = store.device_context(ip, limit)? else {
                anyhow::bail!("no context stored for {ip} in {}", data_dir.display());
            };
            if json {
                serde_json::to_writer(&mut out, &d)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "Device {ip}: seen {} times, first {} UTC, last {} UTC",
                    d.seen.records,
                    time(d.seen.first_seen),
                    time(d.seen.last_seen)
                )?;
                writeln!(out, "\n{:<16} {:>9} {:<19}", "EVENT TYPE", "COUNT", "LAST SEEN (UTC)")?;
                for t in &d.event_types {
                    writeln!(out, "{:<16} {:>9} {:<19}", t.event_type, t.count, time(t.last_seen))?;
                }
                writeln!(
                    out,
                    "\n{:<40} {:>9} {:<19} {:<19}",
                    "PEER", "COUNT", "FIRST SEEN (UTC)", "LAST SEEN (UTC)"
                )?;
                for p in &d.peers {
                    let peer = p.ip.to_string();
                    writeln!(
                        out,
                        "{peer:<40} {:>9} {:<19} {:<19}",
                        p.count,
                        time(p.first_seen),
                        time(p.last_seen)
                    )?;
                }
                if d.peer_count > d.peers.len() as u64 {
                    writeln!(
                        out,
                        "({} more peers; --limit shows more)",
                        d.peer_count - d.peers.len() as u64
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}
