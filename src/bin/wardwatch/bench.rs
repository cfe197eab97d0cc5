//! `wardwatch bench`: how fast each codec decodes typical messages, on this
//! machine, now. It prints figures and never fails on them.

use std::hint::black_box;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use wardwatch::codec::{cef, eve, hl7, json, leef, rfc3164, rfc5424};
use wardwatch::normalize::{decode_auto, Receipt};

use crate::samples::{CEF, EVE, HL7, JSON, LEEF, RFC3164, RFC5424};

fn measure(
    out: &mut impl Write,
    name: &str,
    input: &[u8],
    budget: Duration,
    mut f: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    // Warm up, then run in batches until the budget is spent.
    for _ in 0..1000 {
        black_box(f(black_box(input)));
    }
    let start = Instant::now();
    let mut n: u64 = 0;
    let mut ok = true;
    while start.elapsed() < budget {
        for _ in 0..1000 {
            ok &= f(black_box(input));
        }
        n += 1000;
    }
    let secs = start.elapsed().as_secs_f64();
    let per_sec = n as f64 / secs;
    writeln!(
        out,
        "{name:<22} {:>4} B  {:>12.0} msg/s  {:>8.1} MB/s  {:>8.0} ns/msg{}",
        input.len(),
        per_sec,
        per_sec * input.len() as f64 / 1e6,
        1e9 / per_sec,
        if ok { "" } else { "  (input did not parse!)" }
    )?;
    // Each figure shows as soon as it is measured.
    out.flush()
}

/// Runs every codec for `seconds` each on one core and prints the figures,
/// then the audit log's (unless `audit_records` is 0).
pub fn run(seconds: f64, audit_records: u64) -> anyhow::Result<()> {
    codecs(seconds)?;
    if audit_records > 0 {
        audit(audit_records)?;
    }
    Ok(())
}

/// Durable appends and verification of `records` audit records, each a
/// typical CEF alert, in a temporary data directory.
fn audit(records: u64) -> anyhow::Result<()> {
    let out = &mut io::stdout().lock();
    let receipt =
        Receipt { received_at: Utc::now(), source_addr: None, listener: Some("tcp://127.0.0.1:5514".into()) };
    let alert = decode_auto(CEF, &receipt)
        .map_err(|e| anyhow::anyhow!("the CEF sample does not decode: {e}"))?
        .into_alert()
        .ok_or_else(|| anyhow::anyhow!("the CEF sample is no alert"))?;
    let dir = std::env::temp_dir().join(format!("wardwatch-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    writeln!(
        out,
        "audit log: {records} alerts, each an audit record, into an encrypted store in {}",
        dir.display()
    )?;
    out.flush()?;
    let figures = wardwatch::audit::bench::run(&dir, &alert, records, 2048);
    let _ = std::fs::remove_dir_all(&dir);
    let f = figures?;
    writeln!(
        out,
        "audit append (durable)  {:>12.0} records/s  {:.2} s for {}, {} per transaction (one fsync each), {:.0} MB on disk",
        f.appends_per_sec(),
        f.append.as_secs_f64(),
        f.records,
        f.batch,
        f.bytes as f64 / 1e6
    )?;
    writeln!(
        out,
        "audit verify            {:>12.0} records/s  {:.2} s for {} (every hash, link and checkpoint)",
        f.verified_per_sec(),
        f.verify.as_secs_f64(),
        f.records
    )?;
    Ok(())
}

fn codecs(seconds: f64) -> io::Result<()> {
    let out = &mut io::stdout().lock();
    let budget = Duration::from_secs_f64(seconds.max(0.1));
    let now = Utc::now();
    let receipt = Receipt { received_at: now, source_addr: None, listener: None };
    writeln!(out, "one core, typical messages, {seconds} s each")?;
    measure(out, "rfc5424 parse", RFC5424, budget, |b| rfc5424::parse(b).is_ok())?;
    measure(out, "rfc3164 parse", RFC3164, budget, |b| rfc3164::parse(b, now).is_ok())?;
    measure(out, "cef parse", CEF, budget, |b| std::str::from_utf8(b).is_ok_and(|t| cef::parse(t).is_ok()))?;
    measure(out, "leef parse", LEEF, budget, |b| {
        std::str::from_utf8(b).is_ok_and(|t| leef::parse(t).is_ok())
    })?;
    measure(out, "eve parse", EVE, budget, |b| eve::parse(b).is_ok())?;
    measure(out, "hl7 parse", HL7, budget, |b| hl7::parse(b).is_ok())?;
    measure(out, "json parse", JSON, budget, |b| json::parse(b).is_ok())?;
    measure(out, "json -> alert", JSON, budget, |b| wardwatch::normalize::json::decode(b, &receipt).is_ok())?;
    measure(out, "auto -> alert (5424)", RFC5424, budget, |b| decode_auto(b, &receipt).is_ok())?;
    measure(out, "auto -> alert (cef)", CEF, budget, |b| decode_auto(b, &receipt).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A benchmark of inputs that do not parse would measure the error path.
    #[test]
    fn every_bench_input_decodes() {
        let now = Utc::now();
        assert!(rfc5424::parse(RFC5424).is_ok());
        assert!(rfc3164::parse(RFC3164, now).is_ok_and(|m| m.hostname.as_deref() == Some("gw-icu-1")));
        assert!(std::str::from_utf8(CEF).is_ok_and(|t| cef::parse(t).is_ok()));
        assert!(std::str::from_utf8(LEEF).is_ok_and(|t| leef::parse(t).is_ok()));
        assert!(eve::parse(EVE).is_ok_and(|r| r.alert.is_some()));
        assert!(hl7::parse(HL7).is_ok_and(|m| m.obx.len() == 5));
        assert!(json::parse(JSON).is_ok_and(|r| r.len() == 1));
        let receipt = Receipt { received_at: now, source_addr: None, listener: None };
        let formats: Vec<_> = [RFC5424, RFC3164, CEF, LEEF]
            .iter()
            .filter_map(|m| decode_auto(m, &receipt).ok()?.into_alert().map(|a| a.format.as_str()))
            .collect();
        assert_eq!(formats, ["rfc5424", "rfc3164", "cef", "leef"]);
    }
}
