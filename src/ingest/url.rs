use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The transports a listener can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// RFC 5426: one message per datagram.
    Udp,
    /// RFC 6587: octet-counted or delimited frames.
    Tcp,
    /// RFC 5425: octet-counted frames inside TLS.
    Tls,
    /// JSON alerts posted by gateways (`POST /v1/alerts`).
    Http,
    /// The same, inside TLS.
    Https,
    /// HL7 v2 over the Minimal Lower Layer Protocol.
    Mllp,
    /// A Suricata EVE JSON file, followed as it grows and rotates.
    EveFile,
}

impl Transport {
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Http => "http",
            Self::Https => "https",
            Self::Mllp => "mllp",
            Self::EveFile => "eve",
        }
    }
}

/// What a listener listens on: a socket address, or a file it follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Socket(SocketAddr),
    File(PathBuf),
}

/// Where to listen, written `udp://127.0.0.1:5514`, `tcp://[::1]:5514`,
/// `tls://`, `http://`, `https://`, `mllp://` the same way, or
/// `eve:///var/log/suricata/eve.json` (an absolute path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListenUrl {
    pub transport: Transport,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenUrlError {
    #[error("listen address {0:?} has no scheme: write udp://HOST:PORT, tcp://HOST:PORT or eve:///PATH")]
    NoScheme(String),
    #[error(
        "listen address {0:?} has an unsupported scheme: use udp://, tcp://, tls://, http://, https://, mllp:// or eve://"
    )]
    Scheme(String),
    #[error("listen address {0:?} needs an IP address and a port, such as 127.0.0.1:5514")]
    Addr(String),
    #[error("listen address {0:?} needs an absolute file path, such as eve:///var/log/suricata/eve.json")]
    Path(String),
}

impl ListenUrl {
    /// A listener on a socket address.
    pub fn socket(transport: Transport, addr: SocketAddr) -> Self {
        Self { transport, endpoint: Endpoint::Socket(addr) }
    }

    /// The socket address, for every transport but files.
    pub fn addr(&self) -> Option<SocketAddr> {
        match &self.endpoint {
            Endpoint::Socket(a) => Some(*a),
            Endpoint::File(_) => None,
        }
    }

    /// The followed file, for `eve://`.
    pub fn path(&self) -> Option<&Path> {
        match &self.endpoint {
            Endpoint::Socket(_) => None,
            Endpoint::File(p) => Some(p),
        }
    }
}

impl FromStr for ListenUrl {
    type Err = ListenUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| ListenUrlError::NoScheme(s.to_owned()))?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            "http" => Transport::Http,
            "https" => Transport::Https,
            "mllp" => Transport::Mllp,
            "eve" => Transport::EveFile,
            _ => return Err(ListenUrlError::Scheme(s.to_owned())),
        };
        if transport == Transport::EveFile {
            let path = Path::new(rest);
            if !path.is_absolute() || rest.len() < 2 {
                return Err(ListenUrlError::Path(s.to_owned()));
            }
            return Ok(Self { transport, endpoint: Endpoint::File(path.to_owned()) });
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let rest = match rest.strip_prefix("localhost:") {
            Some(port) => format!("127.0.0.1:{port}"),
            None => rest.to_owned(),
        };
        let addr = rest.parse().map_err(|_| ListenUrlError::Addr(s.to_owned()))?;
        Ok(Self::socket(transport, addr))
    }
}

impl fmt::Display for ListenUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.transport.scheme();
        match &self.endpoint {
            Endpoint::Socket(a) => write!(f, "{scheme}://{a}"),
            Endpoint::File(p) => write!(f, "{scheme}://{}", p.display()),
        }
    }
}

impl Serialize for ListenUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ListenUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for s in [
            "udp://127.0.0.1:5514",
            "tcp://0.0.0.0:601",
            "tcp://[::1]:6514",
            "tls://127.0.0.1:6514",
            "http://127.0.0.1:8080",
            "https://127.0.0.1:8443",
            "mllp://127.0.0.1:2575",
            "eve:///var/log/suricata/eve.json",
        ] {
            assert_eq!(s.parse::<ListenUrl>().map(|u| u.to_string()).as_deref(), Ok(s));
        }
        assert_eq!(
            "TCP://localhost:5514/".parse::<ListenUrl>().map(|u| u.to_string()).as_deref(),
            Ok("tcp://127.0.0.1:5514")
        );
        let eve = "eve:///var/log/eve.json".parse::<ListenUrl>();
        assert_eq!(eve.as_ref().ok().and_then(ListenUrl::path), Some(Path::new("/var/log/eve.json")));
        assert_eq!(eve.ok().and_then(|u| u.addr()), None);
    }

    #[test]
    fn rejects_with_a_reason() {
        assert!(matches!("127.0.0.1:5514".parse::<ListenUrl>(), Err(ListenUrlError::NoScheme(_))));
        assert!(matches!("ftp://127.0.0.1:21".parse::<ListenUrl>(), Err(ListenUrlError::Scheme(_))));
        assert!(matches!("udp://gateway:514".parse::<ListenUrl>(), Err(ListenUrlError::Addr(_))));
        assert!(matches!("udp://127.0.0.1".parse::<ListenUrl>(), Err(ListenUrlError::Addr(_))));
        assert!(matches!("eve://relative/eve.json".parse::<ListenUrl>(), Err(ListenUrlError::Path(_))));
        assert!(matches!("eve://".parse::<ListenUrl>(), Err(ListenUrlError::Path(_))));
    }
}
