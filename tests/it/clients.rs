//! Real syslog clients against `wardwatch serve`: util-linux `logger` (from
//! Debian's bsdutils, installed by `make deps`) in each of its modes.

use std::process::Command;

use crate::support::{wait_for_alerts, Serve};

fn logger(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("logger").args(args).status()?;
    anyhow::ensure!(status.success(), "logger {args:?} failed: {status}");
    Ok(())
}

#[test]
fn util_linux_logger_in_every_mode() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = Serve::start(dir.path())?;
    let (udp, tcp) = (serve.udp.port().to_string(), serve.tcp.port().to_string());
    let host = ["-n", "127.0.0.1"];
    logger(
        &[&host[..], &["-P", &tcp, "--rfc5424", "--octet-count", "-T", "-t", "gw", "tcp octet-counted 5424"]]
            .concat(),
    )?;
    logger(&[&host[..], &["-P", &tcp, "--rfc5424", "-T", "-t", "gw", "tcp lf-framed 5424"]].concat())?;
    logger(
        &[&host[..], &["-P", &udp, "--rfc5424", "-d", "-t", "gw", "-p", "auth.crit", "udp 5424"]].concat(),
    )?;
    logger(&[&host[..], &["-P", &udp, "--rfc3164", "-d", "-t", "pump-gw", "udp bsd"]].concat())?;
    logger(&[&host[..], &["-P", &tcp, "--rfc3164", "-T", "-t", "pump-gw", "tcp bsd"]].concat())?;

    let alerts = wait_for_alerts(dir.path(), 10, |a| a.len() == 5)?;
    let find = |name: &str| alerts.iter().find(|a| a["name"] == name).cloned().unwrap_or_default();
    for (name, format, product) in [
        ("tcp octet-counted 5424", "rfc5424", "gw"),
        ("tcp lf-framed 5424", "rfc5424", "gw"),
        ("udp 5424", "rfc5424", "gw"),
        ("udp bsd", "rfc3164", "pump-gw"),
        ("tcp bsd", "rfc3164", "pump-gw"),
    ] {
        let a = find(name);
        assert_eq!(
            (a["format"].as_str(), a["product"].as_str()),
            (Some(format), Some(product)),
            "{name}: {a}"
        );
        assert!(a["event_time"].is_string(), "{name}: logger always stamps the time");
    }
    assert_eq!(find("udp 5424")["severity_label"], "high", "auth.crit is syslog severity 2");
    let summary = serve.stop()?;
    assert!(summary.contains("5 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    Ok(())
}
