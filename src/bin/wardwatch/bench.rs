//! `wardwatch bench`: how fast each codec decodes typical messages, on this
//! machine, now. It prints figures and never fails on them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use wardwatch::codec::{cef, eve, leef, rfc3164, rfc5424};
use wardwatch::normalize::{decode_auto, Receipt};

/// Typical messages of each format, 200–400 bytes as gateways send them.
pub const RFC5424: &[u8] = b"<132>1 2026-11-28T10:00:00.123456Z gw-icu-1 iomt-sentinel 4242 BEACON [origin ip=\"10.20.4.7\" enterpriseId=\"32473\"][meta sequenceId=\"1042\"] Infusion pump ICU-B12 (10.20.4.7) beaconing to 203.0.113.50:443 every 60 s; 14 connections in 15 min";
pub const RFC3164: &[u8] = b"<132>Nov 28 10:00:00 gw-icu-1 iomt-sentinel[4242]: Infusion pump ICU-B12 (10.20.4.7) beaconing to 203.0.113.50:443 every 60 s; 14 connections in the last 15 minutes, first seen 09:45";
pub const CEF: &[u8] = b"CEF:0|Medigate|IoMT Security|4.2.1|DEFAULT_CREDS|Default credentials accepted|High|src=10.20.4.7 dst=10.20.0.9 spt=51514 dpt=22 proto=TCP shost=pm-4-07 cs1Label=deviceType cs1=Patient monitor cs2Label=ward cs2=ICU-4 msg=Patient monitor PM-4-07 accepted a login with default credentials rt=1795860000000";
pub const LEEF: &[u8] = b"LEEF:2.0|Cynerio|Live|3.1.4|BEACON|^|src=10.30.1.5^dst=203.0.113.50^srcPort=51514^dstPort=443^proto=TCP^sev=9^cat=C2^identHostName=rad-ws-03^devTime=1795860000000^msg=Imaging workstation RAD-WS-03 beaconing to a known command-and-control host";
pub const EVE: &[u8] = br#"{"timestamp":"2026-11-28T10:00:00.251547+0100","flow_id":586497171462735,"in_iface":"eth1","event_type":"alert","src_ip":"10.20.4.7","src_port":51514,"dest_ip":"203.0.113.50","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2027865,"rev":3,"signature":"ET MALWARE Observed C2 beacon","category":"A Network Trojan was detected","severity":1},"app_proto":"tls"}"#;

fn measure(name: &str, input: &[u8], budget: Duration, mut f: impl FnMut(&[u8]) -> bool) {
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
    println!(
        "{name:<22} {:>4} B  {:>12.0} msg/s  {:>8.1} MB/s  {:>8.0} ns/msg{}",
        input.len(),
        per_sec,
        per_sec * input.len() as f64 / 1e6,
        1e9 / per_sec,
        if ok { "" } else { "  (input did not parse!)" }
    );
}

/// Runs every codec for `seconds` each on one core and prints the figures.
pub fn run(seconds: f64) {
    let budget = Duration::from_secs_f64(seconds.max(0.1));
    let now = Utc::now();
    let receipt = Receipt { received_at: now, source_addr: None, listener: None };
    println!("one core, typical messages, {seconds} s each");
    measure("rfc5424 parse", RFC5424, budget, |b| rfc5424::parse(b).is_ok());
    measure("rfc3164 parse", RFC3164, budget, |b| rfc3164::parse(b, now).is_ok());
    measure("cef parse", CEF, budget, |b| std::str::from_utf8(b).is_ok_and(|t| cef::parse(t).is_ok()));
    measure("leef parse", LEEF, budget, |b| std::str::from_utf8(b).is_ok_and(|t| leef::parse(t).is_ok()));
    measure("eve parse", EVE, budget, |b| eve::parse(b).is_ok());
    measure("auto -> alert (5424)", RFC5424, budget, |b| decode_auto(b, &receipt).is_ok());
    measure("auto -> alert (cef)", CEF, budget, |b| decode_auto(b, &receipt).is_ok());
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
        let receipt = Receipt { received_at: now, source_addr: None, listener: None };
        let formats: Vec<_> = [RFC5424, RFC3164, CEF, LEEF]
            .iter()
            .filter_map(|m| decode_auto(m, &receipt).ok().map(|(_, a)| a.format.as_str()))
            .collect();
        assert_eq!(formats, ["rfc5424", "rfc3164", "cef", "leef"]);
    }
}
