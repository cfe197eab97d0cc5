use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The transports a listener can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// RFC 5426: one message per datagram.
    Udp,
    /// RFC 6587: octet-counted or delimited frames.
    Tcp,
}

/// Where to listen, written `udp://127.0.0.1:5514` or `tcp://[::1]:5514`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenUrl {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenUrlError {
    #[error("listen address {0:?} has no scheme: write udp://HOST:PORT or tcp://HOST:PORT")]
    NoScheme(String),
    #[error("listen address {0:?} has an unsupported scheme: use udp:// or tcp://")]
    Scheme(String),
    #[error("listen address {0:?} needs an IP address and a port, such as 127.0.0.1:5514")]
    Addr(String),
}

impl FromStr for ListenUrl {
    type Err = ListenUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| ListenUrlError::NoScheme(s.to_owned()))?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            _ => return Err(ListenUrlError::Scheme(s.to_owned())),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let rest = match rest.strip_prefix("localhost:") {
            Some(port) => format!("127.0.0.1:{port}"),
            None => rest.to_owned(),
        };
        let addr = rest.parse().map_err(|_| ListenUrlError::Addr(s.to_owned()))?;
        Ok(Self { transport, addr })
    }
}

impl fmt::Display for ListenUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        write!(f, "{scheme}://{}", self.addr)
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
        for s in ["udp://127.0.0.1:5514", "tcp://0.0.0.0:601", "tcp://[::1]:6514"] {
            assert_eq!(s.parse::<ListenUrl>().map(|u| u.to_string()).as_deref(), Ok(s));
        }
        assert_eq!(
            "TCP://localhost:5514/".parse::<ListenUrl>().map(|u| u.to_string()).as_deref(),
            Ok("tcp://127.0.0.1:5514")
        );
    }

    #[test]
    fn rejects_with_a_reason() {
        assert!(matches!("127.0.0.1:5514".parse::<ListenUrl>(), Err(ListenUrlError::NoScheme(_))));
        assert!(matches!("http://127.0.0.1:80".parse::<ListenUrl>(), Err(ListenUrlError::Scheme(_))));
        assert!(matches!("udp://gateway:514".parse::<ListenUrl>(), Err(ListenUrlError::Addr(_))));
        assert!(matches!("udp://127.0.0.1".parse::<ListenUrl>(), Err(ListenUrlError::Addr(_))));
    }
}
