//! RFC 5425 syslog over TLS against `wardwatch serve`, with real TLS clients:
//! `openssl s_client` (Debian's openssl) and `gnutls-cli` (gnutls-bin), both
//! installed by `make deps`. Certificates are made at test time with rcgen.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType,
};

use crate::support::{names, wait_for_alerts, wait_for_counters, Serve};

/// A test PKI written as PEM files in `dir`: `ca.pem`; `server.pem` and
/// `server.key` (for 127.0.0.1 and localhost, signed by the CA);
/// `client.pem`/`client.key` (signed by the CA); `rogue.pem`/`rogue.key`
/// (a self-signed client certificate).
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Wardwatch test CA");
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);

        let mut server = CertificateParams::new(Vec::<String>::new())?;
        server.distinguished_name.push(DnType::CommonName, "localhost");
        server.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server.signed_by(&server_key, &issuer)?;

        let client = |cn: &str| -> anyhow::Result<CertificateParams> {
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.distinguished_name.push(DnType::CommonName, cn);
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            Ok(p)
        };
        let client_key = KeyPair::generate()?;
        let client_cert = client("icu-gateway-1")?.signed_by(&client_key, &issuer)?;
        let rogue_key = KeyPair::generate()?;
        let rogue_cert = client("icu-gateway-1")?.self_signed(&rogue_key)?;

        for (name, pem) in [
            ("ca.pem", ca_cert.pem()),
            ("server.pem", server_cert.pem()),
            ("server.key", server_key.serialize_pem()),
            ("client.pem", client_cert.pem()),
            ("client.key", client_key.serialize_pem()),
            ("rogue.pem", rogue_cert.pem()),
            ("rogue.key", rogue_key.serialize_pem()),
        ] {
            std::fs::write(dir.join(name), pem)?;
            if name.ends_with(".key") {
                // As a deployment should: the console warns about shared key files.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(Self { dir: dir.to_owned() })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a configuration file with a `[tls]` table (client certificates
    /// required when `require_client_cert`) and returns its path.
    pub fn config(&self, require_client_cert: bool) -> anyhow::Result<PathBuf> {
        self.config_with(require_client_cert, "")
    }

    /// The same, with `top` (top-level settings) before the `[tls]` table.
    pub fn config_with(&self, require_client_cert: bool, top: &str) -> anyhow::Result<PathBuf> {
        let path = self.path("wardwatch.toml");
        let mut text = top.to_owned() + "[tls]\ncert_file = \"server.pem\"\nkey_file = \"server.key\"\n";
        if require_client_cert {
            text.push_str("client_ca_file = \"ca.pem\"\n");
        }
        std::fs::write(&path, text)?;
        Ok(path)
    }
}

/// Starts serve with a `tls://` listener configured from `pki`.
pub fn serve_tls(data: &Path, pki: &Pki, require_client_cert: bool) -> anyhow::Result<(Serve, SocketAddr)> {
    let config = pki.config(require_client_cert)?;
    let config = config.to_str().context("non-UTF-8 temp dir")?;
    let serve = Serve::start_with(data, &["--config", config, "--listen", "tls://127.0.0.1:0"])?;
    let addr = serve.addr("tls")?;
    Ok((serve, addr))
}

/// RFC 5425 / RFC 6587 octet counting: `LEN SP MSG`.
pub fn octet_counted(messages: &[String]) -> Vec<u8> {
    messages.iter().flat_map(|m| format!("{} {m}", m.len()).into_bytes()).collect()
}

/// `openssl s_client` sends `input` then closes (`-no_ign_eof`), verifying
/// the server against the test CA; `client` names a certificate to present.
fn s_client(addr: SocketAddr, pki: &Pki, client: Option<&str>, input: &[u8]) -> anyhow::Result<Output> {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr.to_string(), "-servername", "localhost", "-verify_return_error"])
        .arg("-CAfile")
        .arg(pki.path("ca.pem"))
        .args(["-quiet", "-no_ign_eof"]);
    if let Some(name) = client {
        cmd.arg("-cert").arg(pki.path(&format!("{name}.pem")));
        cmd.arg("-key").arg(pki.path(&format!("{name}.key")));
    }
    feed(cmd, input).context("openssl s_client (package openssl)")
}

/// `gnutls-cli` sends `input` then closes, verifying the server's
/// certificate (for 127.0.0.1) against the test CA; `client` names a
/// certificate to present.
fn gnutls_cli(addr: SocketAddr, pki: &Pki, client: Option<&str>, input: &[u8]) -> anyhow::Result<Output> {
    let mut cmd = Command::new("gnutls-cli");
    cmd.arg(format!("--x509cafile={}", pki.path("ca.pem").display()))
        .arg(format!("--port={}", addr.port()))
        .arg(addr.ip().to_string());
    if let Some(name) = client {
        cmd.arg(format!("--x509certfile={}", pki.path(&format!("{name}.pem")).display()));
        cmd.arg(format!("--x509keyfile={}", pki.path(&format!("{name}.key")).display()));
    }
    feed(cmd, input).context("gnutls-cli (package gnutls-bin)")
}

fn feed(mut cmd: Command, input: &[u8]) -> anyhow::Result<Output> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    stdin.write_all(input)?;
    drop(stdin);
    Ok(child.wait_with_output()?)
}

fn ok(what: &str, out: &Output) -> anyhow::Result<()> {
    anyhow::ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn openssl_s_client_octet_counted_messages_are_stored_and_parsed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, tls) = serve_tls(&data, &pki, false)?;
    let messages: Vec<String> = (1..=3)
        .map(|i| {
            format!("<34>1 2024-05-01T10:00:0{i}Z gw-icu-2 sentinel 88 LOGIN [origin ip=\"10.1.2.{i}\"] tls octet {i}")
        })
        .collect();
    ok("openssl s_client", &s_client(tls, &pki, None, &octet_counted(&messages))?)?;
    // Some senders put LF-framed lines inside TLS anyway: detected per frame, as on TCP.
    ok("openssl s_client", &s_client(tls, &pki, None, b"<14>1 - host app - - - tls lf framed\n")?)?;

    let alerts = wait_for_alerts(&data, 10, |a| a.len() == 4)?;
    let mut got = names(&alerts);
    got.sort();
    assert_eq!(got, ["tls lf framed", "tls octet 1", "tls octet 2", "tls octet 3"]);
    let a = alerts.iter().find(|a| a["name"] == "tls octet 2").context("tls octet 2 missing")?;
    assert_eq!(
        (&a["format"], &a["hostname"], &a["product"], &a["event_class"]),
        (&"rfc5424".into(), &"gw-icu-2".into(), &"sentinel".into(), &"LOGIN".into())
    );
    assert_eq!(a["event_time"], "2024-05-01T10:00:02Z");
    assert_eq!(a["listener"], "tls://127.0.0.1:0");
    assert_eq!(a["raw"].as_str(), Some(messages[1].as_str()));
    let summary = serve.stop()?;
    assert!(summary.contains("4 alerts, 0 rejected, 0 oversize, 0 dropped"), "serve said: {summary}");
    assert!(summary.contains("0 TLS handshakes failed"), "serve said: {summary}");
    Ok(())
}

#[test]
fn gnutls_cli_octet_counted_messages_are_stored_and_parsed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, tls) = serve_tls(&data, &pki, false)?;
    let messages: Vec<String> =
        (1..=5).map(|i| format!("<86>1 2024-05-01T11:00:00Z infusion-gw sshd - AUTH - gnutls {i}")).collect();
    ok("gnutls-cli", &gnutls_cli(tls, &pki, None, &octet_counted(&messages))?)?;
    let alerts = wait_for_alerts(&data, 10, |a| a.len() == 5)?;
    let mut got = names(&alerts);
    got.sort();
    assert_eq!(got, ["gnutls 1", "gnutls 2", "gnutls 3", "gnutls 4", "gnutls 5"]);
    assert!(alerts.iter().all(|a| a["format"] == "rfc5424" && a["hostname"] == "infusion-gw"), "{alerts:?}");
    let summary = serve.stop()?;
    assert!(summary.contains("5 alerts, 0 rejected"), "serve said: {summary}");
    Ok(())
}

#[test]
fn with_a_client_ca_only_clients_with_a_signed_certificate_get_in() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, tls) = serve_tls(&data, &pki, true)?;
    let msg = |name: &str| octet_counted(&[format!("<14>1 - ward-3 app - - - {name}")]);

    // With TLS 1.3 the client thinks it is connected and writes its message
    // before the server's refusal reaches it: what counts is the server side.
    s_client(tls, &pki, None, &msg("from a client without a certificate"))?;
    wait_for_counters(&data, "tls", |c| c["handshake_failed"] == 1)?;
    s_client(tls, &pki, Some("rogue"), &msg("from a self-signed client"))?;
    wait_for_counters(&data, "tls", |c| c["handshake_failed"] == 2)?;

    ok(
        "openssl s_client with the CA-signed certificate",
        &s_client(tls, &pki, Some("client"), &msg("signed one"))?,
    )?;
    ok(
        "openssl s_client with the CA-signed certificate",
        &s_client(tls, &pki, Some("client"), &msg("signed two"))?,
    )?;
    ok(
        "gnutls-cli with the CA-signed certificate",
        &gnutls_cli(tls, &pki, Some("client"), &msg("signed three"))?,
    )?;
    let alerts = wait_for_alerts(&data, 10, |a| a.len() >= 3)?;
    let mut got = names(&alerts);
    got.sort();
    assert_eq!(got, ["signed one", "signed three", "signed two"], "only signed clients' messages are stored");
    let c = wait_for_counters(&data, "tls", |c| c["parsed"] == 3)?;
    assert_eq!((&c["received"], &c["handshake_failed"]), (&3.into(), &2.into()), "{c}");
    let summary = serve.stop()?;
    assert!(summary.contains("3 alerts, 0 rejected"), "serve said: {summary}");
    assert!(summary.contains("2 TLS handshakes failed"), "serve said: {summary}");
    Ok(())
}

#[test]
fn plain_tcp_to_the_tls_port_is_a_counted_handshake_failure() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let (serve, tls) = serve_tls(&data, &pki, false)?;
    let mut plain = TcpStream::connect(tls)?;
    plain.write_all(b"<14>1 - host app - - - sent in the clear\n")?;
    // The console answers with a TLS alert at most, then closes.
    let mut answer = Vec::new();
    plain.read_to_end(&mut answer)?;
    assert!(answer.len() < 64, "expected at most a TLS alert, got {} bytes", answer.len());
    let c = wait_for_counters(&data, "tls", |c| c["handshake_failed"] == 1)?;
    assert_eq!((&c["received"], &c["connections"]), (&0.into(), &0.into()), "{c}");

    // The listener keeps serving.
    ok("openssl s_client", &s_client(tls, &pki, None, &octet_counted(&["<14>1 - h a - - - after".into()]))?)?;
    wait_for_alerts(&data, 10, |a| names(a) == ["after"])?;
    let summary = serve.stop()?;
    assert!(summary.contains("1 alerts, 0 rejected"), "serve said: {summary}");
    assert!(summary.contains("1 TLS handshakes failed"), "serve said: {summary}");
    Ok(())
}

#[test]
fn a_peer_silent_during_the_handshake_is_cut_off_and_counted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    // The handshake limit is 10 s, or the idle timeout when shorter.
    let config = pki.config_with(false, "idle_timeout_secs = 1\n")?;
    let config = config.to_str().context("non-UTF-8 temp dir")?;
    let serve = Serve::start_with(&data, &["--config", config, "--listen", "tls://127.0.0.1:0"])?;
    let mut silent = TcpStream::connect(serve.addr("tls")?)?;
    silent.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut answer = Vec::new();
    // Ends when the console closes the connection (a timeout here is an error).
    silent.read_to_end(&mut answer)?;
    assert_eq!(answer, b"", "nothing was asked, nothing is answered");
    let c = wait_for_counters(&data, "tls", |c| c["handshake_failed"] == 1)?;
    assert_eq!(c["received"], 0, "{c}");
    let summary = serve.stop()?;
    assert!(summary.contains("1 TLS handshakes failed"), "serve said: {summary}");
    Ok(())
}

#[test]
fn handshakes_in_progress_count_against_max_connections() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let config = pki.config_with(false, "max_connections = 1\n")?;
    let config = config.to_str().context("non-UTF-8 temp dir")?;
    let serve = Serve::start_with(&data, &["--config", config, "--listen", "tls://127.0.0.1:0"])?;
    let tls = serve.addr("tls")?;
    // Accepted first (the backlog is first in, first out), it holds the one slot without a handshake.
    let holder = TcpStream::connect(tls)?;
    let mut second = TcpStream::connect(tls)?;
    let mut answer = Vec::new();
    second.read_to_end(&mut answer)?;
    assert_eq!(answer, b"", "refused connections are closed at once");
    wait_for_counters(&data, "tls", |c| c["refused"] == 1)?;
    // Giving up the handshake frees the slot: counted as a failed handshake.
    drop(holder);
    wait_for_counters(&data, "tls", |c| c["handshake_failed"] == 1)?;
    ok(
        "openssl s_client",
        &s_client(tls, &pki, None, &octet_counted(&["<14>1 - h a - - - slot free".into()]))?,
    )?;
    wait_for_alerts(&data, 10, |a| names(a) == ["slot free"])?;
    let summary = serve.stop()?;
    assert!(summary.contains("1 connections refused, 1 TLS handshakes failed"), "serve said: {summary}");
    Ok(())
}

/// Runs `serve --listen tls://127.0.0.1:0` with `extra` arguments; it must
/// refuse to go on, and returns what it printed.
fn serve_fails(data: &Path, extra: &[&str]) -> anyhow::Result<String> {
    let out = crate::support::wardwatch()
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(extra)
        .args(["--listen", "tls://127.0.0.1:0"])
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(!out.status.success(), "serve should not run with a failed listener");
    Ok(String::from_utf8(out.stdout)?)
}

#[test]
fn a_tls_listener_without_usable_settings_fails_to_start_saying_why() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = Pki::new(&dir.path().join("pki"))?;
    let data = dir.path().join("data");
    let said = serve_fails(&data, &[])?;
    assert!(said.contains("failed tls://127.0.0.1:0: could not start tls://127.0.0.1:0: TLS is not configured: add a [tls] table"), "serve said: {said}");

    let config = pki.path("bad.toml");
    std::fs::write(&config, "[tls]\ncert_file = \"server.pem\"\nkey_file = \"missing.key\"\n")?;
    let said = serve_fails(&data, &["--config", config.to_str().context("non-UTF-8 temp dir")?])?;
    let missing = pki.path("missing.key");
    assert!(said.contains(&format!("could not read key file {}", missing.display())), "serve said: {said}");

    std::fs::write(&config, "[tls]\ncert_file = \"server.key\"\nkey_file = \"server.key\"\n")?;
    let said = serve_fails(&data, &["--config", config.to_str().context("non-UTF-8 temp dir")?])?;
    let key = pki.path("server.key");
    assert!(
        said.contains(&format!("certificate file {}: no PEM certificate", key.display())),
        "serve said: {said}"
    );
    assert!(!said.contains("PRIVATE KEY-----"), "key material printed: {said}");
    Ok(())
}
