//! The traffic generator: pure and seeded, it yields timed messages in time
//! order, forever or until the options' duration.
//!
//! Background, at `rate` messages per second (the gaps jittered ±50%):
//! 42% HL7 observations cycling over the reporting devices (those in use
//! carry their patient), 14% EVE flows, 8% EVE DNS queries, 8% EVE TLS
//! handshakes, 25% low-severity CEF (new connection, protocol observed), 3%
//! home-care check-ins (JSON, severity 0).
//!
//! The stories, each an episode repeated at a calm pace (`all` starts them
//! 0.5 s apart from 0.5 s; a single story starts at 0.5 s):
//!
//! | story | episode | repeats every |
//! |---|---|---|
//! | `pump-exploit` | HL7 of the pump with its patient, EVE exploit alerts (priority 1) at +1 s, +2 s, +5 s, HL7 again at +3 s | 180 s |
//! | `default-credentials` | CEF severity 8, src = the monitor, at 0 and +20 s | 300 s |
//! | `home-glucose-cloud` | JSON alert severity 6, `clinical_use: in_use`, at 0, +15 s, +30 s | 120 s |
//! | `c2-beacon` | one EVE alert (priority 1) to the C2 address, with a DNS query for the C2 name every fifth beacon | 4-6 s |
//! | `scanner-storm` | 3000 messages in 15 s, CEF and EVE alternately, from the scanner to every device in turn | 600 s |

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::messages::{self as m, Cef, Eve, EveAlert, JsonAlert, JsonDevice, Oru};
use super::plan::{Node, Plan, Reporter};
use super::rng::Rng;
use super::{Scenario, SimOptions};
use crate::hospital::{AssetId, DeviceKind, Inventory, WardKind};

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// A syslog listener (`tcp://`, `udp://`).
    Syslog,
    /// An MLLP listener.
    Mllp,
    /// An `http://` listener's `POST /v1/alerts`.
    Http,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Self::Syslog, Self::Mllp, Self::Http];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Syslog => "syslog",
            Self::Mllp => "mllp",
            Self::Http => "http",
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// CEF from the IoMT platform in an RFC 5424 envelope (syslog).
    Cef,
    /// Suricata EVE JSON in a BSD syslog line (syslog).
    EveInSyslog,
    /// HL7 v2 `ORU^R01`, IHE PCD-01 (MLLP).
    Hl7Oru,
    /// A Wardwatch JSON alert v1 object (HTTP).
    JsonAlert,
}

/// One message, unframed (the sender frames it for its transport).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub channel: Channel,
    pub kind: MessageKind,
    /// The story that made it; `None` for background traffic.
    pub story: Option<Scenario>,
    /// The device the message is about: the HL7 reporter, the alert's
    /// subject (for scans, the scanner).
    pub device: Option<AssetId>,
    /// For HL7: whether it carries a patient (PID-3).
    pub with_patient: bool,
    pub payload: Vec<u8>,
}

/// A message and when to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// Since the start.
    pub offset: Duration,
    /// `start + offset`: the time written into the message.
    pub at: DateTime<Utc>,
    pub message: Message,
}

pub(crate) const C2_SIGNATURE: &str = "ET MALWARE CnC Beacon Observed (simulated)";
pub(crate) const C2_SID: u32 = 1_000_101;
pub(crate) const C2_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 77));
pub(crate) const C2_DOMAIN: &str = "update-cdn.c2.example";
pub(crate) const EXPLOIT_SIGNATURE: &str =
    "ET EXPLOIT BD Alaris PCU network session hijack attempt CVE-2020-25165 (simulated)";
pub(crate) const EXPLOIT_SID: u32 = 1_000_201;
pub(crate) const SCAN_SIGNATURE: &str = "ET SCAN Vulnerability scanner probe (simulated)";
pub(crate) const SCAN_SID: u32 = 1_000_301;
pub(crate) const SCAN_CEF_NAME: &str = "Network scan against medical devices";
pub(crate) const SCAN_CEF_SEVERITY: u8 = 5;
pub(crate) const DEFAULT_CREDS_NAME: &str = "Default credentials accepted on patient monitor";
pub(crate) const DEFAULT_CREDS_SEVERITY: u8 = 8;
pub(crate) const CLOUD_NAME: &str = "Home glucose monitor connected to an unknown cloud host";
pub(crate) const CLOUD_SEVERITY: u8 = 6;
const CLOUD_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 23));
const CLOUD_HOST: &str = "sync.unknown-cloud.example";
const INTERNAL_DOMAIN: &str = "stelsewhere-sim.test";
const SENSOR_IFACE: &str = "ens1f0";

const STORM_MESSAGES: u32 = 3000;
const STORM_GAP_US: u64 = 5_000;
const SECOND: u64 = 1_000_000;

/// The offsets (µs from the episode's start) of an episode's steps, for
/// the stories with a fixed script.
fn script(story: Scenario) -> &'static [u64] {
    match story {
        Scenario::PumpExploit => &[0, SECOND, 2 * SECOND, 3 * SECOND, 5 * SECOND],
        Scenario::DefaultCredentials => &[0, 20 * SECOND],
        Scenario::HomeGlucoseCloud => &[0, 15 * SECOND, 30 * SECOND],
        _ => &[],
    }
}

fn repeat_every(story: Scenario, rng: &mut Rng) -> u64 {
    match story {
        Scenario::PumpExploit => 180 * SECOND,
        Scenario::DefaultCredentials => 300 * SECOND,
        Scenario::HomeGlucoseCloud => 120 * SECOND,
        Scenario::C2Beacon => rng.between(4 * SECOND, 6 * SECOND),
        Scenario::ScannerStorm => 600 * SECOND,
        Scenario::All | Scenario::Background => 60 * SECOND,
    }
}

#[derive(Debug)]
struct Stream {
    /// `None`: the background.
    story: Option<Scenario>,
    next_us: u64,
    episode_us: u64,
    episode: u64,
    step: u32,
}

enum Next {
    /// The episode's next step, at this time.
    Step(u64),
    /// The episode is over; the next starts after the story's pause.
    Done,
}

/// The generator; see the module docs. Iterate it for the messages.
#[derive(Debug)]
pub struct Traffic<'a> {
    plan: Plan<'a>,
    start: DateTime<Utc>,
    end_us: Option<u64>,
    rng: Rng,
    interval_us: u64,
    streams: Vec<Stream>,
    hl7_order: Vec<usize>,
    hl7_next: usize,
    control: u64,
}

/// The traffic of `inventory` under `options`, timed from `start`.
pub fn traffic<'a>(inventory: &'a Inventory, options: &SimOptions, start: DateTime<Utc>) -> Traffic<'a> {
    let plan = Plan::new(inventory);
    let mut rng = Rng::derive(options.seed, "traffic");
    let mut streams = Vec::new();
    let rate = if options.rate.is_finite() { options.rate.clamp(0.0, super::MAX_RATE) } else { 0.0 };
    let interval_us = if rate > 0.0 { (SECOND as f64 / rate).max(1.0) as u64 } else { 0 };
    if interval_us > 0 {
        streams.push(Stream { story: None, next_us: 0, episode_us: 0, episode: 0, step: 0 });
    }
    for (i, story) in options.scenario.stories().iter().enumerate() {
        if plan.can_play(*story) {
            let first = SECOND / 2 * (i as u64 + 1);
            streams.push(Stream {
                story: Some(*story),
                next_us: first,
                episode_us: first,
                episode: 0,
                step: 0,
            });
        }
    }
    let mut hl7_order: Vec<usize> = (0..plan.reporters.len()).collect();
    rng.shuffle(&mut hl7_order);
    Traffic {
        plan,
        start,
        end_us: options.duration.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        rng,
        interval_us,
        streams,
        hl7_order,
        hl7_next: 0,
        control: 0,
    }
}

impl Iterator for Traffic<'_> {
    type Item = Timed;

    fn next(&mut self) -> Option<Timed> {
        // A stream whose actor is missing yields nothing; give up on an
        // inventory that yields nothing at all rather than spin.
        for _ in 0..100_000 {
            let (i, now) =
                self.streams.iter().enumerate().map(|(i, s)| (i, s.next_us)).min_by_key(|&(i, t)| (t, i))?;
            if self.end_us.is_some_and(|end| now > end) {
                self.streams.clear();
                return None;
            }
            let since = chrono::Duration::microseconds(i64::try_from(now).unwrap_or(i64::MAX));
            let at = self.start.checked_add_signed(since).unwrap_or(DateTime::<Utc>::MAX_UTC);
            let (story, step, episode) =
                (self.streams[i].story, self.streams[i].step, self.streams[i].episode);
            let (message, next) = match story {
                None => {
                    let jitter = (self.interval_us as f64 * (0.5 + self.rng.unit())) as u64;
                    (self.background(at), Next::Step(now + jitter.max(1)))
                }
                Some(story) => self.play(story, step, episode, now, at),
            };
            let s = &mut self.streams[i];
            match next {
                Next::Step(t) => {
                    s.next_us = t.max(now);
                    s.step += 1;
                }
                Next::Done => {
                    let pause = s.story.map_or(SECOND, |st| repeat_every(st, &mut self.rng));
                    s.episode_us = (s.episode_us + pause).max(now + 1);
                    s.next_us = s.episode_us;
                    s.episode += 1;
                    s.step = 0;
                }
            }
            if let Some(message) = message {
                return Some(Timed { offset: Duration::from_micros(now), at, message });
            }
        }
        None
    }
}

fn ephemeral(rng: &mut Rng) -> u16 {
    rng.between(49_152, 65_535) as u16
}

fn ip_str(n: &Node<'_>) -> String {
    n.ip.map(|a| a.to_string()).unwrap_or_default()
}

impl<'a> Traffic<'a> {
    fn node(&self, i: usize) -> &Node<'a> {
        &self.plan.nodes[i]
    }

    fn sensor(&self) -> &'static str {
        "ids-01"
    }

    fn platform(&self) -> &'static str {
        "iomt-01"
    }

    fn flow_id(&mut self) -> u64 {
        self.rng.next_u64() >> 12
    }

    fn background(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let roll = self.rng.unit();
        match roll {
            r if r < 0.42 => self.next_hl7(at),
            r if r < 0.56 => self.eve_flow(at),
            r if r < 0.64 => self.eve_dns(at, None, None),
            r if r < 0.72 => self.eve_tls(at),
            r if r < 0.85 => self.cef_connection(at),
            r if r < 0.97 => self.cef_protocol(at),
            _ => self.home_check_in(at),
        }
    }

    fn play(
        &mut self,
        story: Scenario,
        step: u32,
        episode: u64,
        now: u64,
        at: DateTime<Utc>,
    ) -> (Option<Message>, Next) {
        let s = step as usize;
        let scripted = |this: &Self| {
            let offsets = script(story);
            let episode_us =
                this.streams.iter().find(|x| x.story == Some(story)).map_or(now, |x| x.episode_us);
            match offsets.get(s + 1) {
                Some(o) => Next::Step(episode_us + o),
                None => Next::Done,
            }
        };
        let out = match story {
            Scenario::PumpExploit => {
                let next = scripted(self);
                let msg = match s {
                    0 | 3 => self.pump_hl7(at),
                    _ => self.exploit(at),
                };
                (msg, next)
            }
            Scenario::DefaultCredentials => (self.default_credentials(at), scripted(self)),
            Scenario::HomeGlucoseCloud => (self.glucose_cloud(at), scripted(self)),
            Scenario::C2Beacon => {
                if s == 0 && episode % 5 == 0 {
                    let ws = self.plan.c2_workstation;
                    (self.eve_dns(at, ws, Some(C2_DOMAIN)), Next::Step(now + 40_000))
                } else {
                    (self.c2_alert(at), Next::Done)
                }
            }
            Scenario::ScannerStorm => {
                let msg = if s % 2 == 0 { self.scan_cef(at, s / 2) } else { self.scan_eve(at, s / 2) };
                let episode_us =
                    self.streams.iter().find(|x| x.story == Some(story)).map_or(now, |x| x.episode_us);
                let next = if step + 1 < STORM_MESSAGES {
                    Next::Step(episode_us + u64::from(step + 1) * STORM_GAP_US)
                } else {
                    Next::Done
                };
                (msg, next)
            }
            Scenario::All | Scenario::Background => (None, Next::Done),
        };
        out.tag(story)
    }

    // ---- HL7 ----

    fn next_hl7(&mut self, at: DateTime<Utc>) -> Option<Message> {
        if self.hl7_order.is_empty() {
            return None;
        }
        let r = self.hl7_order[self.hl7_next % self.hl7_order.len()];
        self.hl7_next += 1;
        self.hl7(r, at)
    }

    fn pump_hl7(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let pump = self.plan.pump_target?;
        let r = self.plan.reporters.iter().position(|r| r.node == pump)?;
        self.hl7(r, at)
    }

    fn hl7(&mut self, reporter: usize, at: DateTime<Utc>) -> Option<Message> {
        self.control += 1;
        let control_id = format!("SIM{:010}", self.control);
        let Reporter { node, gateway, patient } = self.plan.reporters.get(reporter)?;
        let (n, gw) = (&self.plan.nodes[*node], &self.plan.nodes[*gateway]);
        let ward = n.ward_id().map(|w| w.as_str()).unwrap_or_default();
        let gateway_app = format!("MDIP_{}", ward.to_ascii_uppercase().replace('-', "_"));
        let loc = &n.device.location;
        let oru = Oru {
            control_id: &control_id,
            gateway_app: &gateway_app,
            gateway_eui: gw.eui64.unwrap_or_default(),
            patient: patient.as_deref(),
            patient_class: if n.ward == Some(WardKind::Emergency) { "E" } else { "I" },
            ward,
            room: loc.room.as_deref().unwrap_or_default(),
            bed: loc.bed.as_deref().unwrap_or_default(),
            device_eui: n.eui64?,
            kind: n.device.kind,
        };
        let payload = m::oru(&oru, at, &mut self.rng);
        Some(Message {
            channel: Channel::Mllp,
            kind: MessageKind::Hl7Oru,
            story: None,
            device: Some(n.device.id.clone()),
            with_patient: patient.is_some(),
            payload,
        })
    }

    // ---- EVE ----

    /// The server a device talks to in the background: (node, port, proto, app_proto).
    fn server_of(&self, i: usize) -> Option<(usize, u16, &'static str, Option<&'static str>)> {
        let n = self.node(i);
        if let Some(r) = self.plan.reporter_of(i) {
            return Some((r.gateway, 2575, "TCP", None));
        }
        match (n.device.kind, n.ward) {
            (DeviceKind::ImagingModality, _) | (DeviceKind::Workstation, Some(WardKind::Imaging)) => {
                self.plan.pacs.map(|p| (p, 104, "TCP", None))
            }
            _ => self.plan.dns.map(|d| (d, 53, "UDP", Some("dns"))),
        }
        .filter(|(s, ..)| *s != i)
    }

    fn eve(
        &self,
        event_type: &'static str,
        at: DateTime<Utc>,
        flow_id: u64,
        src: (&Node<'_>, u16),
        dst: (String, u16),
        proto: &'static str,
    ) -> Eve<'static> {
        Eve {
            timestamp: m::suricata_time(at),
            flow_id,
            in_iface: SENSOR_IFACE,
            event_type,
            src_ip: ip_str(src.0),
            src_port: src.1,
            dest_ip: dst.0,
            dest_port: dst.1,
            proto,
            app_proto: None,
            alert: None,
            dns: None,
            tls: None,
            flow: None,
            host: self.sensor(),
        }
    }

    fn eve_message(&self, e: &Eve<'_>, at: DateTime<Utc>, device: Option<usize>) -> Message {
        Message {
            channel: Channel::Syslog,
            kind: MessageKind::EveInSyslog,
            story: None,
            device: device.map(|i| self.node(i).device.id.clone()),
            with_patient: false,
            payload: m::eve_syslog(e, at),
        }
    }

    fn random_network(&mut self) -> Option<usize> {
        self.rng.pick(&self.plan.network).copied()
    }

    fn eve_flow(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let src = self.random_network()?;
        let (dst, port, proto, app) = self.server_of(src)?;
        let (sport, flow_id) = (ephemeral(&mut self.rng), self.flow_id());
        let pkts = self.rng.between(4, 400);
        let bytes_up = pkts * self.rng.between(80, 900);
        let bytes_down = pkts * self.rng.between(60, 600);
        let age = self.rng.between(1, 120);
        let started = at - chrono::Duration::seconds(age as i64 + 30);
        let mut e =
            self.eve("flow", at, flow_id, (self.node(src), sport), (ip_str(self.node(dst)), port), proto);
        e.app_proto = app;
        e.flow = Some(serde_json::json!({
            "pkts_toserver": pkts, "pkts_toclient": pkts.saturating_sub(1),
            "bytes_toserver": bytes_up, "bytes_toclient": bytes_down,
            "start": m::suricata_time(started), "end": m::suricata_time(started + chrono::Duration::seconds(age as i64)),
            "age": age, "state": "closed", "reason": "timeout", "alerted": false
        }));
        Some(self.eve_message(&e, at, Some(src)))
    }

    fn eve_dns(&mut self, at: DateTime<Utc>, src: Option<usize>, name: Option<&str>) -> Option<Message> {
        let src = match src {
            Some(s) => s,
            None => self.random_network()?,
        };
        let dns = self.plan.dns.filter(|d| *d != src)?;
        let rrname = match name {
            Some(n) => n.to_owned(),
            None => {
                let host =
                    self.rng.pick(&["pacs", "ntp", "wsus", "mdip", "ldap", "emr"]).copied().unwrap_or("ntp");
                format!("{host}.{INTERNAL_DOMAIN}")
            }
        };
        let (sport, flow_id, id) = (ephemeral(&mut self.rng), self.flow_id(), self.rng.below(65_536));
        let mut e =
            self.eve("dns", at, flow_id, (self.node(src), sport), (ip_str(self.node(dns)), 53), "UDP");
        e.app_proto = Some("dns");
        e.dns = Some(
            serde_json::json!({"type": "query", "id": id, "rrname": rrname, "rrtype": "A", "tx_id": 0, "opcode": 0}),
        );
        Some(self.eve_message(&e, at, Some(src)))
    }

    fn eve_tls(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let workstations: Vec<usize> = self
            .plan
            .network
            .iter()
            .copied()
            .filter(|&i| self.node(i).device.kind == DeviceKind::Workstation)
            .collect();
        let src = *self.rng.pick(&workstations)?;
        let sni = self
            .rng
            .pick(&["updates.vendor.example", "telemetry.vendor.example", "portal.vendor.example"])
            .copied()?;
        let dst = format!("192.0.2.{}", self.rng.between(10, 250));
        let (sport, flow_id) = (ephemeral(&mut self.rng), self.flow_id());
        let mut e = self.eve("tls", at, flow_id, (self.node(src), sport), (dst, 443), "TCP");
        e.app_proto = Some("tls");
        e.tls = Some(serde_json::json!({
            "subject": format!("CN={sni}"), "issuerdn": "CN=Simulated Issuing CA", "sni": sni, "version": "TLS 1.2"
        }));
        Some(self.eve_message(&e, at, Some(src)))
    }

    fn alert(
        &mut self,
        at: DateTime<Utc>,
        src: usize,
        dst: (String, u16),
        sig: (u32, &'static str, &'static str, u8),
        app_proto: Option<&'static str>,
        about: usize,
    ) -> Message {
        let (sport, flow_id) = (ephemeral(&mut self.rng), self.flow_id());
        let mut e = self.eve("alert", at, flow_id, (self.node(src), sport), dst, "TCP");
        e.app_proto = app_proto;
        e.alert = Some(EveAlert {
            action: "allowed",
            gid: 1,
            signature_id: sig.0,
            rev: 1,
            signature: sig.1,
            category: sig.2,
            severity: sig.3,
        });
        self.eve_message(&e, at, Some(about))
    }

    fn c2_alert(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let ws = self.plan.c2_workstation?;
        let sig = (C2_SID, C2_SIGNATURE, "A Network Trojan was detected", 1);
        Some(self.alert(at, ws, (C2_ADDR.to_string(), 443), sig, Some("tls"), ws))
    }

    fn exploit(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let (src, pump) = (self.plan.exploit_source?, self.plan.pump_target?);
        let sig = (EXPLOIT_SID, EXPLOIT_SIGNATURE, "Attempted Administrator Privilege Gain", 1);
        Some(self.alert(at, src, (ip_str(self.node(pump)), 443), sig, None, pump))
    }

    fn storm_target(&self, k: usize) -> Option<usize> {
        let scanner = self.plan.scanner?;
        let targets = self.plan.network.len().checked_sub(1).filter(|n| *n > 0)?;
        let t = self.plan.network.iter().copied().filter(|&i| i != scanner).nth(k % targets)?;
        Some(t)
    }

    fn scan_eve(&mut self, at: DateTime<Utc>, k: usize) -> Option<Message> {
        let (scanner, target) = (self.plan.scanner?, self.storm_target(k)?);
        let port = *self.rng.pick(&[22u16, 23, 80, 104, 443, 445, 2575, 3389])?;
        let sig = (SCAN_SID, SCAN_SIGNATURE, "Attempted Information Leak", 2);
        Some(self.alert(at, scanner, (ip_str(self.node(target)), port), sig, None, scanner))
    }

    // ---- CEF ----

    fn cef_message(&self, c: &Cef<'_>, at: DateTime<Utc>, device: Option<usize>) -> Message {
        Message {
            channel: Channel::Syslog,
            kind: MessageKind::Cef,
            story: None,
            device: device.map(|i| self.node(i).device.id.clone()),
            with_patient: false,
            payload: m::cef_syslog(c, at, self.platform()),
        }
    }

    fn cef_about<'n>(n: &'n Node<'_>) -> (Option<&'n str>, Option<&'static str>, Option<&'n str>) {
        (n.ward_id().map(|w| w.as_str()), Some(n.device.kind.as_str()), n.device.model.as_deref())
    }

    fn cef_connection(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let src = self.random_network()?;
        let (dst, port, proto, _) = self.server_of(src)?;
        let sport = ephemeral(&mut self.rng);
        let (s, d) = (self.node(src), self.node(dst));
        let msg = format!(
            "New connection from {} to {} port {port}",
            s.hostname.unwrap_or("an unnamed device"),
            d.hostname.unwrap_or("an unnamed device")
        );
        let (ward, kind, model) = Self::cef_about(s);
        let c = Cef {
            signature_id: "IOMT-CONN-NEW",
            name: "New connection observed",
            severity: 1,
            src: s.ip,
            dst: d.ip,
            spt: Some(sport),
            dpt: Some(port),
            proto: Some(proto),
            smac: s.mac,
            shost: s.hostname,
            dhost: d.hostname,
            cat: "network/connection",
            ward,
            device_kind: kind,
            model,
            msg: &msg,
            ..Cef::default()
        };
        Some(self.cef_message(&c, at, Some(src)))
    }

    fn cef_protocol(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let src = self.random_network()?;
        let s = self.node(src);
        let protocol = match (s.device.kind, self.plan.reporter_of(src).is_some()) {
            (_, true) | (DeviceKind::Gateway, _) => "HL7",
            (DeviceKind::ImagingModality, _) => "DICOM",
            (DeviceKind::LabAnalyser, _) => "ASTM",
            (DeviceKind::NurseCall, _) => "SIP",
            (DeviceKind::Workstation, _) => "SMB",
            _ => "HTTPS",
        };
        let name = format!("Protocol observed: {protocol}");
        let msg = format!("{protocol} traffic seen from {}", s.hostname.unwrap_or("an unnamed device"));
        let (ward, kind, model) = Self::cef_about(s);
        let c = Cef {
            signature_id: "IOMT-PROTO",
            name: &name,
            severity: 1,
            src: s.ip,
            smac: s.mac,
            shost: s.hostname,
            app: Some(protocol),
            cat: "network/protocol",
            ward,
            device_kind: kind,
            model,
            msg: &msg,
            ..Cef::default()
        };
        Some(self.cef_message(&c, at, Some(src)))
    }

    fn scan_cef(&mut self, at: DateTime<Utc>, k: usize) -> Option<Message> {
        let (scanner, target) = (self.plan.scanner?, self.storm_target(k)?);
        let port = *self.rng.pick(&[22u16, 23, 80, 104, 443, 445, 2575, 3389])?;
        let sport = ephemeral(&mut self.rng);
        let (s, t) = (self.node(scanner), self.node(target));
        let msg = format!(
            "Unscheduled scan from {} probed {} port {port}",
            s.hostname.unwrap_or("the scanner"),
            t.hostname.unwrap_or("a device")
        );
        let (ward, kind, model) = Self::cef_about(t);
        let c = Cef {
            signature_id: "IOMT-SCAN",
            name: SCAN_CEF_NAME,
            severity: SCAN_CEF_SEVERITY,
            src: s.ip,
            dst: t.ip,
            spt: Some(sport),
            dpt: Some(port),
            proto: Some("TCP"),
            smac: s.mac,
            shost: s.hostname,
            dhost: t.hostname,
            cat: "reconnaissance/scan",
            ward,
            device_kind: kind,
            model,
            msg: &msg,
            ..Cef::default()
        };
        Some(self.cef_message(&c, at, Some(scanner)))
    }

    fn default_credentials(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let monitor = self.plan.weak_monitor?;
        let client = self.plan.weak_monitor_client.and_then(|c| self.node(c).ip);
        let dpt = ephemeral(&mut self.rng);
        let n = self.node(monitor);
        let msg = format!(
            "{} accepted a service login with the manufacturer's default password{}",
            n.hostname.unwrap_or("The monitor"),
            client.map(|c| format!(" from {c}")).unwrap_or_default()
        );
        let (ward, kind, model) = Self::cef_about(n);
        let c = Cef {
            signature_id: "IOMT-DEFAULT-CREDS",
            name: DEFAULT_CREDS_NAME,
            severity: DEFAULT_CREDS_SEVERITY,
            src: n.ip,
            dst: client,
            spt: Some(22),
            dpt: Some(dpt),
            proto: Some("TCP"),
            app: Some("SSH"),
            smac: n.mac,
            shost: n.hostname,
            act: Some("login-accepted"),
            cat: "authentication/default-credentials",
            ward,
            device_kind: kind,
            model,
            msg: &msg,
            ..Cef::default()
        };
        Some(self.cef_message(&c, at, Some(monitor)))
    }

    // ---- JSON ----

    fn json_message(&self, a: &JsonAlert<'_>, device: usize) -> Message {
        Message {
            channel: Channel::Http,
            kind: MessageKind::JsonAlert,
            story: None,
            device: Some(self.node(device).device.id.clone()),
            with_patient: false,
            payload: m::json_alert(a),
        }
    }

    fn json_device(n: &Node<'_>) -> JsonDevice {
        JsonDevice { ip: n.ip, eui64: n.eui64.map(str::to_owned), serial: n.serial.map(str::to_owned) }
    }

    fn gateway_extensions(&self) -> BTreeMap<&'static str, String> {
        let mut ext = BTreeMap::new();
        if let Some(h) = self.plan.home_gateway.and_then(|g| self.node(g).hostname) {
            ext.insert("gateway", h.to_owned());
        }
        ext
    }

    fn home_check_in(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let (device, in_use) = *self.rng.pick(&self.plan.home)?;
        let n = self.node(device);
        let model = n.device.model.as_deref().unwrap_or("device");
        let a = JsonAlert {
            event_class: "HCG-CHECKIN",
            name: "Home device check-in",
            severity: 0,
            observed_at: m::rfc3339(at),
            device: Self::json_device(n),
            dst_ip: None,
            dst_port: None,
            proto: None,
            category: "status",
            message: format!("{model} checked in through the patient's home gateway"),
            vendor: m::JSON_VENDOR,
            product: m::JSON_PRODUCT,
            extensions: self.gateway_extensions(),
            clinical_use: if in_use { "in_use" } else { "idle" },
        };
        Some(self.json_message(&a, device))
    }

    fn glucose_cloud(&mut self, at: DateTime<Utc>) -> Option<Message> {
        let device = self.plan.glucose?;
        let n = self.node(device);
        let mut extensions = self.gateway_extensions();
        extensions.insert("peer_host", CLOUD_HOST.to_owned());
        let a = JsonAlert {
            event_class: "HCG-UNKNOWN-CLOUD",
            name: CLOUD_NAME,
            severity: CLOUD_SEVERITY,
            observed_at: m::rfc3339(at),
            device: Self::json_device(n),
            dst_ip: Some(CLOUD_ADDR),
            dst_port: Some(443),
            proto: Some("TCP"),
            category: "network",
            message: format!(
                "{} sent data to {CLOUD_HOST} ({CLOUD_ADDR}), which is not the manufacturer's service",
                n.device.model.as_deref().unwrap_or("The glucose monitor")
            ),
            vendor: m::JSON_VENDOR,
            product: m::JSON_PRODUCT,
            extensions,
            clinical_use: "in_use",
        };
        Some(self.json_message(&a, device))
    }
}

trait Tag {
    fn tag(self, story: Scenario) -> Self;
}

impl Tag for (Option<Message>, Next) {
    /// Marks the message as the story's.
    fn tag(self, story: Scenario) -> Self {
        (
            self.0.map(|mut m| {
                m.story = Some(story);
                m
            }),
            self.1,
        )
    }
}
