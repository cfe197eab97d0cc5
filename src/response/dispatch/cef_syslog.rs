//! The CEF syslog adapter: one RFC 5424 message whose MSG is a CEF:0 record
//! of the order, over UDP (RFC 5426, one datagram) or TCP (RFC 6587 octet
//! counting, one connection per attempt).
//!
//! `<PRI>1 TIMESTAMP HOSTNAME wardwatch PROCID response - CEF:0|Wardwatch|Wardwatch|VERSION|response.ACTION|ACTION TITLE|SEVERITY|EXTENSIONS`
//!
//! - PRI: the configured facility; severity notice (5), warning (4) for a
//!   break-glass approval. MSG is plain (no BOM: CEF receivers expect
//!   `CEF:` first).
//! - CEF severity from the grade: `safe_now` 3, `coordinate` 5,
//!   `clinician_signoff` 7, `not_while_in_use` 8, anything else 5; a
//!   break-glass approval is at least 9.
//! - Extensions, in this order (absent values left out; lists
//!   comma-separated): `requestId`, `action`, `incidentId`, `incidentKey`,
//!   `condition`, `deviceId`, `deviceKind`, `deviceWard`, `deviceIps`,
//!   `deviceMacs`, `deviceHostname`, `destination`, `grade`, `requestedBy`,
//!   `approvedBy` (always, empty when no one approved), `breakGlass`
//!   (`true`/`false`), `reason` (last: free text).
//! - Escapes as the CEF spec says ([`crate::codec::cef::escape_header`],
//!   [`crate::codec::cef::escape_value`]): header `\` and `|`, extension
//!   `\`, `=` and line ends. A line end in a header field (an action title)
//!   becomes a space. CEF cannot carry whitespace at the end of a value
//!   (parsers drop it), so a reason is sent without trailing whitespace.
//!
//! Syslog has no acknowledgement: `Done` means the datagram was sent, or
//! the frame was written to the TCP connection and the connection closed
//! cleanly. A TCP write that does not finish in time is `TimedOut` (part of
//! the frame may have gone).

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use super::config::{parse_cef_syslog, CefSyslogConfig, ConfigError, SyslogTransport};
use super::{Attempt, Order};
use crate::codec::cef::{escape_header, escape_value};

/// APP-NAME of the syslog header.
pub const APP_NAME: &str = "wardwatch";
/// MSGID of the syslog header.
pub const MSGID: &str = "response";
/// The CEF header's vendor and product.
pub const VENDOR: &str = "Wardwatch";
pub const PRODUCT: &str = "Wardwatch";

/// A CEF syslog target, ready to make attempts.
#[derive(Debug)]
pub struct CefSyslog {
    name: String,
    transport: SyslogTransport,
    address: String,
    facility: u8,
    hostname: String,
    timeout: Duration,
}

impl CefSyslog {
    pub fn new(c: &CefSyslogConfig) -> Result<Self, ConfigError> {
        let parsed = parse_cef_syslog(c)?;
        Ok(Self {
            name: c.name.clone(),
            transport: parsed.transport,
            address: parsed.address,
            facility: parsed.facility,
            hostname: system_hostname(),
            timeout: Duration::from_millis(c.timeout_ms),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn url(&self) -> String {
        let scheme = match self.transport {
            SyslogTransport::Udp => "udp",
            SyslogTransport::Tcp => "tcp",
        };
        format!("{scheme}://{}", self.address)
    }

    /// One message for `order`.
    pub async fn attempt(&self, order: &Order) -> Attempt {
        let message = syslog_message(order, self.facility, &self.hostname, std::process::id(), Utc::now());
        let attempt = match self.transport {
            SyslogTransport::Udp => self.udp(message.as_bytes()).await,
            SyslogTransport::Tcp => self.tcp(&octet_counted(&message)).await,
        };
        match &attempt {
            Attempt::Done { .. } => {
                tracing::info!(adapter = %self.name, request = order.request_id, "CEF syslog attempt done.")
            }
            Attempt::Failed { error, retry } => {
                tracing::warn!(adapter = %self.name, request = order.request_id, retry, error = %error, "CEF syslog attempt failed.")
            }
            Attempt::TimedOut { after_ms } => {
                tracing::warn!(adapter = %self.name, request = order.request_id, after_ms, "CEF syslog attempt timed out.")
            }
        }
        attempt
    }

    async fn resolve(&self) -> Result<Vec<SocketAddr>, Attempt> {
        match tokio::net::lookup_host(self.address.as_str()).await {
            Ok(a) => {
                let addrs: Vec<_> = a.collect();
                if addrs.is_empty() {
                    return Err(failed(format!("{} has no address", self.address), true));
                }
                Ok(addrs)
            }
            Err(e) => Err(failed(format!("cannot resolve {}: {e}", self.address), true)),
        }
    }

    async fn udp(&self, message: &[u8]) -> Attempt {
        let work = async {
            let peer = self.resolve().await?[0];
            let local: SocketAddr = match peer {
                SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
                SocketAddr::V4(_) => SocketAddr::from(([0u8; 4], 0)),
            };
            let socket = UdpSocket::bind(local)
                .await
                .map_err(|e| failed(format!("cannot open a UDP socket: {e}"), true))?;
            match socket.send_to(message, peer).await {
                Ok(n) if n == message.len() => Ok(Attempt::Done {
                    detail: format!(
                        "CEF message sent to {} ({n} bytes; UDP has no acknowledgement)",
                        self.url()
                    ),
                }),
                Ok(n) => Err(failed(format!("only {n} of {} bytes sent to {peer}", message.len()), true)),
                // EMSGSIZE and the like: sending again will not help.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::MSGSIZE.raw_os_error()) => Err(failed(
                    format!(
                        "the message ({} bytes) is too large for a datagram to {peer}: {e}; use tcp://",
                        message.len()
                    ),
                    false,
                )),
                Err(e) => Err(failed(format!("cannot send to {peer}: {e}"), true)),
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(a) | Err(a)) => a,
            Err(_) => failed(format!("not sent within {} ms", self.timeout.as_millis()), true),
        }
    }

    async fn tcp(&self, frame: &[u8]) -> Attempt {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let connect = async {
            let mut last = None;
            for addr in self.resolve().await? {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
                }
            }
            Err(failed(last.unwrap_or_else(|| format!("{} has no address", self.address)), true))
        };
        let mut stream = match tokio::time::timeout_at(deadline, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(a)) => return a,
            Err(_) => {
                return failed(
                    format!(
                        "no connection to {} within {} ms: nothing was sent",
                        self.url(),
                        self.timeout.as_millis()
                    ),
                    true,
                )
            }
        };
        let write = async {
            stream.write_all(frame).await?;
            stream.flush().await?;
            stream.shutdown().await
        };
        match tokio::time::timeout_at(deadline, write).await {
            Ok(Ok(())) => Attempt::Done {
                detail: format!("CEF message written to {} ({} bytes)", self.url(), frame.len()),
            },
            Ok(Err(e)) => failed(format!("writing to {} failed: {e}", self.url()), true),
            Err(_) => Attempt::TimedOut {
                after_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        }
    }
}

fn failed(error: String, retry: bool) -> Attempt {
    Attempt::Failed { error, retry }
}

/// The machine's host name (Linux), or `localhost`.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// RFC 6587 octet counting: `LEN SP MSG`.
pub fn octet_counted(message: &str) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message.as_bytes());
    frame
}

/// The RFC 5424 message for `order` (see the module's documentation).
pub fn syslog_message(order: &Order, facility: u8, host: &str, procid: u32, at: DateTime<Utc>) -> String {
    let severity = if order.break_glass { 4 } else { 5 };
    let pri = u16::from(facility) * 8 + severity;
    let ts = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let host = header_field(host, 255);
    format!("<{pri}>1 {ts} {host} {APP_NAME} {procid} {MSGID} - {}", cef_record(order))
}

/// A syslog header field: printable US-ASCII only (others become `_`),
/// at most `max` characters, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let s: String = s.chars().take(max).map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    if s.is_empty() {
        "-".to_owned()
    } else {
        s
    }
}

/// The CEF severity of an order (see the module's documentation).
pub fn severity(order: &Order) -> u8 {
    let by_grade = match order.grade.as_str() {
        "safe_now" => 3,
        "coordinate" => 5,
        "clinician_signoff" => 7,
        "not_while_in_use" => 8,
        _ => 5,
    };
    if order.break_glass {
        by_grade.max(9)
    } else {
        by_grade
    }
}

/// A CEF header field: line ends become spaces, then `\` and `|` escaped.
fn header(s: &str) -> String {
    escape_header(&s.replace(['\r', '\n'], " "))
}

/// The CEF:0 record of `order`.
pub fn cef_record(order: &Order) -> String {
    let mut ext: Vec<(&str, String)> = vec![
        ("requestId", order.request_id.to_string()),
        ("action", order.action.as_str().to_owned()),
        ("incidentId", order.incident_id.to_string()),
        ("incidentKey", order.incident_key.clone()),
        ("condition", order.condition.clone()),
    ];
    if let Some(d) = &order.device {
        ext.push(("deviceId", d.id.clone()));
        ext.push(("deviceKind", d.kind.clone()));
        if let Some(ward) = &d.ward {
            ext.push(("deviceWard", ward.clone()));
        }
        if !d.ips.is_empty() {
            ext.push(("deviceIps", d.ips.join(",")));
        }
        if !d.macs.is_empty() {
            ext.push(("deviceMacs", d.macs.join(",")));
        }
        if let Some(h) = &d.hostname {
            ext.push(("deviceHostname", h.clone()));
        }
    }
    if let Some(dst) = &order.destination {
        ext.push(("destination", dst.clone()));
    }
    ext.push(("grade", order.grade.clone()));
    ext.push(("requestedBy", order.requested_by.clone()));
    ext.push(("approvedBy", order.approved_by.join(",")));
    ext.push(("breakGlass", order.break_glass.to_string()));
    ext.push(("reason", order.reason.trim_end().to_owned()));
    let mut out = format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|",
        header(VENDOR),
        header(PRODUCT),
        header(env!("CARGO_PKG_VERSION")),
        header(&format!("response.{}", order.action)),
        header(&order.action_title),
        severity(order),
    );
    for (i, (key, value)) in ext.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(&escape_value(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{cef, rfc5424};
    use crate::response::dispatch::tests::order;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:20:30.456Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    /// Pinned: SIEM parsers are written against these bytes.
    #[test]
    fn the_message_is_pinned() {
        let mut o = order();
        o.reason = "Beaconing to 203.0.113.9; a=b | c\\d\nsecond line  ".into();
        o.action_title = "Full network quarantine | isolate".into();
        let got = syslog_message(&o, 4, "ward watch", 4242, at());
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            got,
            format!(
                "<37>1 2026-03-01T10:20:30.456Z ward_watch wardwatch 4242 response - \
                 CEF:0|Wardwatch|Wardwatch|{version}|response.quarantine|Full network quarantine \\| isolate|7|\
                 requestId=9001 action=quarantine incidentId=77 incidentKey=device:INF-0042/c2-beacon \
                 condition=c2-beacon deviceId=INF-0042 deviceKind=infusion_pump deviceWard=ICU-3 \
                 deviceIps=10.20.30.40,10.20.30.41 deviceMacs=00:11:22:33:44:55 deviceHostname=pump-42 \
                 grade=clinician_signoff requestedBy=alice approvedBy=bob,carol breakGlass=false \
                 reason=Beaconing to 203.0.113.9; a\\=b | c\\\\d\\nsecond line"
            )
        );
    }

    #[test]
    fn the_message_parses_back_with_the_crate_s_own_parsers() -> Result<(), Box<dyn std::error::Error>> {
        let mut o = order();
        o.reason = "key=value | pipe \\ backslash\nnew line\r\nand {{order.reason}} \"quoted\"".into();
        o.action_title = "Quarantine | with \\ and\nnewline".into();
        o.break_glass = true;
        o.destination = Some("203.0.113.9".into());
        let text = syslog_message(&o, 16, "wardwatch-host", 1, at());
        let msg = rfc5424::parse(text.as_bytes())?;
        assert_eq!((msg.facility, msg.severity), (16, 4));
        assert_eq!(msg.appname.as_deref(), Some(APP_NAME));
        assert_eq!(msg.msgid.as_deref(), Some(MSGID));
        assert_eq!(msg.hostname.as_deref(), Some("wardwatch-host"));
        let body = msg.message.ok_or("no MSG")?;
        let record = cef::parse(&body)?;
        assert_eq!(record.device_event_class_id, "response.quarantine");
        assert_eq!(record.name, "Quarantine | with \\ and newline");
        assert_eq!(record.severity_value(), Some(9));
        let ext = |k: &str| record.extension(k).map(str::to_owned);
        assert_eq!(ext("reason"), Some(o.reason.clone()));
        assert_eq!(ext("breakGlass").as_deref(), Some("true"));
        assert_eq!(ext("destination").as_deref(), Some("203.0.113.9"));
        assert_eq!(ext("approvedBy").as_deref(), Some("bob,carol"));
        assert_eq!(ext("requestId").as_deref(), Some("9001"));
        Ok(())
    }

    #[test]
    fn severities_follow_the_grade() {
        let check = |grade: &str, break_glass: bool, want: u8| {
            let mut o = order();
            o.grade = grade.into();
            o.break_glass = break_glass;
            assert_eq!(severity(&o), want, "{grade} {break_glass}");
        };
        check("safe_now", false, 3);
        check("coordinate", false, 5);
        check("clinician_signoff", false, 7);
        check("not_while_in_use", false, 8);
        check("something_new", false, 5);
        check("safe_now", true, 9);
        check("not_while_in_use", true, 9);
    }

    #[test]
    fn an_order_without_device_or_approver_leaves_them_out() -> Result<(), Box<dyn std::error::Error>> {
        let mut o = order();
        o.device = None;
        o.approved_by.clear();
        let record_text = cef_record(&o);
        let record = cef::parse(&record_text)?;
        assert_eq!(record.extension("deviceId"), None);
        assert_eq!(record.extension("approvedBy"), Some(""));
        assert_eq!(record.extension("grade"), Some("clinician_signoff"));
        Ok(())
    }
}
