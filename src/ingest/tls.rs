//! RFC 5425: syslog over TLS (octet-counted frames inside a TLS stream).
//!
//! The TCP listener's accept and connection loops do the work (see
//! [`super::tcp::Upgrade`]); this module only adds the TLS handshake, with a
//! time limit, in front of them. Frames inside TLS are detected per frame like
//! on TCP: octet-counted as RFC 5425 says, or LF/NUL-delimited as some senders
//! do anyway.
//!
//! [`server_config`] builds the rustls server configuration from the files
//! named in the `[tls]` table; the `https://` listener uses it too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::tcp::{self, Upgrade};
use super::{IngestConfig, Ingested, Listener};

/// How long a peer has to complete the TLS handshake (or the listener's idle
/// timeout, when that is shorter).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[tls]` table of the configuration file: where the server's
/// certificate and key are, and whether clients must show a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert_file: PathBuf,
    /// PEM: the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM: the CA certificates that sign client certificates. When set,
    /// every client must present a certificate one of them signed.
    pub client_ca_file: Option<PathBuf>,
}

/// Why a TLS server configuration could not be built. Each names the file
/// and the problem; none ever shows key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "TLS is not configured: add a [tls] table with cert_file and key_file to the configuration file"
    )]
    NotConfigured,
    #[error("could not read {what} {path}: {source}")]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{what} {path}: {reason}")]
    Invalid { what: &'static str, path: PathBuf, reason: String },
}

const CERT: &str = "certificate file";
const KEY: &str = "key file";
const CLIENT_CA: &str = "client CA file";

/// Builds the rustls server configuration for a TLS listener from the files
/// of the `[tls]` table, with the `ring` crypto provider and its safe default
/// protocol versions (TLS 1.2 and 1.3).
///
/// Without `client_ca_file` any client may connect; with it, a client must
/// present a certificate signed by one of the CAs in that file, or its
/// handshake fails. Files are read once, here: a listener started with them
/// keeps them until it restarts.
///
/// The server sends no TLS 1.3 session tickets: syslog senders only write,
/// and many (syslog-ng's loggen, for one) never read what the server sends;
/// unread tickets in the sender's socket make its close a TCP reset, which
/// discards what it sent last before the console has read it. A listener
/// whose clients resume sessions (`https://`) may turn them back on
/// (`send_tls13_tickets`) on its own copy of the configuration.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(CERT, &files.cert_file)?;
    let key = read_key(&files.key_file)?;
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(
            |e| TlsError::Invalid { what: CERT, path: files.cert_file.clone(), reason: e.to_string() },
        )?;
    let builder = match &files.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(CLIENT_CA, path)? {
                roots.add(cert).map_err(|e| TlsError::Invalid {
                    what: CLIENT_CA,
                    path: path.clone(),
                    reason: format!("not a usable CA certificate: {e}"),
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().map_err(
                    |e| TlsError::Invalid { what: CLIENT_CA, path: path.clone(), reason: e.to_string() },
                )?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| TlsError::Invalid {
        what: KEY,
        path: files.key_file.clone(),
        reason: format!("does not go with the certificate in {}: {e}", files.cert_file.display()),
    })?;
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_owned(), source })
}

pub(crate) fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let invalid = |reason: String| TlsError::Invalid { what, path: path.to_owned(), reason };
    let certs = CertificateDer::pem_slice_iter(&read(what, path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(pem_reason(&e)))?;
    if certs.is_empty() {
        return Err(invalid("no PEM certificate (BEGIN CERTIFICATE) found".into()));
    }
    Ok(certs)
}

pub(crate) fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    warn_if_shared(path);
    PrivateKeyDer::from_pem_slice(&read(KEY, path)?).map_err(|e| TlsError::Invalid {
        what: KEY,
        path: path.to_owned(),
        reason: match e {
            pem::Error::NoItemsFound => {
                "no PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found".into()
            }
            e => pem_reason(&e),
        },
    })
}

/// A private key others can read is a key others may have copied: say so
/// (the console still starts; whoever deploys it decides).
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(file = %path.display(), mode = format!("{mode:o}"), "TLS key file is readable by other users; chmod 600 it.");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Why a PEM file could not be read, without echoing any of its content
/// (the pem errors quote lines, and a key file's lines are secret).
fn pem_reason(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed".into(),
        pem::Error::Base64Decode(_) => "a PEM section is not valid base64".into(),
        pem::Error::NoItemsFound => "nothing usable found in the PEM file".into(),
        pem::Error::SectionTooLarge => "a PEM section is too large".into(),
        _ => "not a valid PEM file".into(),
    }
}

/// The TLS handshake in front of a connection (the syslog TCP loop, or HTTP).
pub(super) struct Handshake {
    acceptor: TlsAcceptor,
    timeout: Duration,
}

impl Handshake {
    /// From the `[tls]` settings, offering `alpn` protocols (none for syslog,
    /// `http/1.1` for HTTPS). Fails, naming the file and the problem, when
    /// there are no settings or they cannot be used.
    pub(super) fn new(config: &IngestConfig, alpn: &[&[u8]]) -> std::io::Result<Self> {
        let files = config.tls.as_ref().ok_or(TlsError::NotConfigured).map_err(invalid_input)?;
        let mut server = server_config(files).map_err(invalid_input)?;
        if !alpn.is_empty() {
            let mut with_alpn = (*server).clone();
            with_alpn.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            server = Arc::new(with_alpn);
        }
        let timeout = config.idle_timeout.map_or(HANDSHAKE_TIMEOUT, |idle| idle.min(HANDSHAKE_TIMEOUT));
        Ok(Self { acceptor: TlsAcceptor::from(server), timeout })
    }
}

impl Upgrade for Handshake {
    type Stream = TlsStream<TcpStream>;

    async fn upgrade(
        &self,
        listener: &Listener,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<Self::Stream> {
        let reason = match tokio::time::timeout(self.timeout, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => {
                let (_, session) = tls.get_ref();
                tracing::debug!(
                    listener = %listener.url(),
                    peer = %peer,
                    version = ?session.protocol_version(),
                    client_cert = session.peer_certificates().is_some(),
                    "TLS handshake done."
                );
                return Some(tls);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no handshake within {:?}", self.timeout),
        };
        let n = listener.counters().handshake_failed();
        // A scanner on the port must not flood the log: the 1st, 2nd, 4th,
        // 8th... failure at WARN, every one at DEBUG; the counter has them all.
        if n.is_power_of_two() {
            tracing::warn!(listener = %listener.url(), peer = %peer, failed = n, reason = %reason, "TLS handshake failed; connection closed.");
        } else {
            tracing::debug!(listener = %listener.url(), peer = %peer, failed = n, reason = %reason, "TLS handshake failed; connection closed.");
        }
        None
    }
}

pub(super) async fn bind(
    listener: Arc<Listener>,
    config: IngestConfig,
    tx: mpsc::Sender<Ingested>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    let handshake = Handshake::new(&config, &[])?;
    tcp::bind_with(listener, config, tx, shutdown, tasks, handshake).await
}

fn invalid_input(e: TlsError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pki {
        dir: tempfile::TempDir,
        files: TlsFiles,
    }

    /// A CA, and a server certificate it signed, written as PEM files.
    fn pki() -> Result<Pki, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key)?;
        let key = rcgen::KeyPair::generate()?;
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &issuer)?;
        let files = TlsFiles {
            cert_file: dir.path().join("server.pem"),
            key_file: dir.path().join("server.key"),
            client_ca_file: Some(dir.path().join("ca.pem")),
        };
        std::fs::write(&files.cert_file, cert.pem())?;
        std::fs::write(&files.key_file, key.serialize_pem())?;
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem())?;
        Ok(Pki { dir, files })
    }

    /// The error message for `files`, or "ok".
    fn outcome(files: &TlsFiles) -> String {
        match server_config(files) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_files_build_a_config_with_and_without_client_certificates(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let p = pki()?;
        assert_eq!(outcome(&p.files), "ok");
        assert_eq!(outcome(&TlsFiles { client_ca_file: None, ..p.files.clone() }), "ok");
        Ok(())
    }

    #[test]
    fn bad_files_are_named_with_the_problem() -> Result<(), Box<dyn std::error::Error>> {
        let p = pki()?;
        let path = |name: &str| p.dir.path().join(name);
        std::fs::write(path("empty.pem"), "")?;
        std::fs::write(
            path("garbage.pem"),
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        )?;
        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n";
        std::fs::write(path("truncated.key"), secret)?;
        let other = rcgen::KeyPair::generate()?;
        std::fs::write(path("other.key"), other.serialize_pem())?;
        let with = |f: fn(&mut TlsFiles, PathBuf), name: &str| {
            let mut files = p.files.clone();
            f(&mut files, path(name));
            outcome(&files)
        };
        let check = |got: String, file: &str, want: &str| {
            assert!(got.contains(&path(file).display().to_string()), "{got:?} should name {file}");
            assert!(got.contains(want), "{got:?} should say {want:?}");
            assert!(!got.contains("c2VjcmV0"), "{got:?} shows key material");
        };
        check(with(|f, p| f.cert_file = p, "missing.pem"), "missing.pem", "could not read certificate file");
        check(with(|f, p| f.cert_file = p, "empty.pem"), "empty.pem", "no PEM certificate");
        check(with(|f, p| f.cert_file = p, "garbage.pem"), "garbage.pem", "not valid base64");
        check(with(|f, p| f.key_file = p, "missing.key"), "missing.key", "could not read key file");
        check(with(|f, p| f.key_file = p, "server.pem"), "server.pem", "no PEM private key");
        check(with(|f, p| f.key_file = p, "truncated.key"), "truncated.key", "no END line");
        check(with(|f, p| f.key_file = p, "other.key"), "other.key", "does not go with the certificate");
        check(with(|f, p| f.client_ca_file = Some(p), "empty.pem"), "empty.pem", "client CA file");
        check(
            with(|f, p| f.client_ca_file = Some(p), "nope.pem"),
            "nope.pem",
            "could not read client CA file",
        );
        Ok(())
    }
}
