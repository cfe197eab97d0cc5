//! The bytes of each kind of message, as the real senders write them.
//!
//! - CEF from the simulated IoMT platform, in an RFC 5424 envelope:
//!   `<PRI>1 TIME iomt-01 iomt - - - CEF:0|Wardwatch|Simulated IoMT platform|1.0|...`.
//! - Suricata EVE JSON in a BSD syslog line, as Suricata's `eve-log` writes
//!   it with `filetype: syslog` (facility local5, level info):
//!   `<174>Mmm dd hh:mm:ss ids-01 suricata[2231]: {json}`; the JSON's keys
//!   in Suricata's order.
//! - HL7 v2.6 `ORU^R01` as an IHE PCD-01 device gateway sends it: MSH with
//!   the gateway's EUI-64, PID-3 when a patient is attached (PID-5 is always
//!   `SIMULATED^PATIENT`), PV1-3 `ward^room^bed^facility`, OBR, then the
//!   device's MDS row with its EUI-64 in OBX-18 and its metrics. The MDC
//!   codes are the ISO/IEEE 11073-10101 ones senders use (checked against
//!   published PCD-01 messages and the Rosetta tables).
//! - Wardwatch JSON alert v1 objects (`docs/ingest-json.md`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::rng::Rng;
use crate::codec::cef::{escape_header, escape_value};
use crate::codec::hl7::{escape, Delimiters};
use crate::hospital::DeviceKind;

pub(crate) const CEF_VENDOR: &str = "Wardwatch";
pub(crate) const CEF_PRODUCT: &str = "Simulated IoMT platform";
pub(crate) const JSON_VENDOR: &str = "Wardwatch";
pub(crate) const JSON_PRODUCT: &str = "Simulated home-care gateway";
pub(crate) const HL7_FACILITY: &str = "STE-SIM";
pub(crate) const SURICATA_PID: u32 = 2231;

/// One CEF event of the IoMT platform.
#[derive(Debug, Default)]
pub(crate) struct Cef<'a> {
    pub signature_id: &'a str,
    pub name: &'a str,
    /// 0-10.
    pub severity: u8,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub spt: Option<u16>,
    pub dpt: Option<u16>,
    pub proto: Option<&'a str>,
    pub app: Option<&'a str>,
    pub smac: Option<&'a str>,
    pub shost: Option<&'a str>,
    pub dhost: Option<&'a str>,
    pub act: Option<&'a str>,
    pub cat: &'a str,
    pub ward: Option<&'a str>,
    pub device_kind: Option<&'a str>,
    pub model: Option<&'a str>,
    pub msg: &'a str,
}

/// `<PRI>1 TIME HOST iomt - - - CEF:0|...`: facility local4, the syslog
/// level from the CEF severity.
pub(crate) fn cef_syslog(c: &Cef<'_>, at: DateTime<Utc>, platform_host: &str) -> Vec<u8> {
    let level = match c.severity {
        0..=3 => 6,
        4..=6 => 4,
        7..=8 => 3,
        _ => 2,
    };
    let mut s = format!(
        "<{}>1 {} {platform_host} iomt - - - CEF:0|{}|{}|1.0|{}|{}|{}|",
        20 * 8 + level,
        at.to_rfc3339_opts(SecondsFormat::Millis, true),
        escape_header(CEF_VENDOR),
        escape_header(CEF_PRODUCT),
        escape_header(c.signature_id),
        escape_header(c.name),
        c.severity
    );
    let mut ext: Vec<(&str, String)> = vec![("rt", at.timestamp_millis().to_string())];
    let mut opt = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            ext.push((k, v));
        }
    };
    opt("src", c.src.map(|a| a.to_string()));
    opt("spt", c.spt.map(|p| p.to_string()));
    opt("dst", c.dst.map(|a| a.to_string()));
    opt("dpt", c.dpt.map(|p| p.to_string()));
    opt("proto", c.proto.map(str::to_owned));
    opt("app", c.app.map(str::to_owned));
    opt("smac", c.smac.map(str::to_owned));
    opt("shost", c.shost.map(str::to_owned));
    opt("dhost", c.dhost.map(str::to_owned));
    opt("act", c.act.map(str::to_owned));
    ext.push(("cat", c.cat.to_owned()));
    ext.push(("dvchost", platform_host.to_owned()));
    if let Some(w) = c.ward {
        ext.push(("cs1Label", "ward".to_owned()));
        ext.push(("cs1", w.to_owned()));
    }
    if let Some(k) = c.device_kind {
        ext.push(("cs2Label", "deviceKind".to_owned()));
        ext.push(("cs2", k.to_owned()));
    }
    if let Some(m) = c.model {
        ext.push(("cs3Label", "deviceModel".to_owned()));
        ext.push(("cs3", m.to_owned()));
    }
    ext.push(("msg", c.msg.to_owned()));
    let parts: Vec<String> = ext.iter().map(|(k, v)| format!("{k}={}", escape_value(v))).collect();
    s.push_str(&parts.join(" "));
    s.into_bytes()
}

/// One EVE record, its keys in Suricata's order.
#[derive(Debug, Serialize)]
pub(crate) struct Eve<'a> {
    pub timestamp: String,
    pub flow_id: u64,
    pub in_iface: &'a str,
    pub event_type: &'a str,
    pub src_ip: String,
    pub src_port: u16,
    pub dest_ip: String,
    pub dest_port: u16,
    pub proto: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<EveAlert<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<serde_json::Value>,
    pub host: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct EveAlert<'a> {
    pub action: &'a str,
    pub gid: u32,
    pub signature_id: u32,
    pub rev: u32,
    pub signature: &'a str,
    pub category: &'a str,
    pub severity: u8,
}

/// Suricata's timestamp: `2024-05-01T10:00:00.250000+0000`.
pub(crate) fn suricata_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f%z").to_string()
}

/// The EVE record in a BSD syslog line, as Suricata writes it.
pub(crate) fn eve_syslog(e: &Eve<'_>, at: DateTime<Utc>) -> Vec<u8> {
    let json = serde_json::to_string(e).unwrap_or_default();
    format!("<174>{} {} suricata[{SURICATA_PID}]: {json}", at.format("%b %e %H:%M:%S"), e.host).into_bytes()
}

/// The JSON part of an EVE-in-syslog line (after `suricata[PID]: `).
#[cfg(test)]
pub(crate) fn eve_json_of(line: &[u8]) -> Option<&[u8]> {
    let marker = format!("suricata[{SURICATA_PID}]: ");
    let at = line.windows(marker.len()).position(|w| w == marker.as_bytes())?;
    line.get(at + marker.len()..)
}

/// What an HL7 observation says about one device.
#[derive(Debug)]
pub(crate) struct Oru<'a> {
    pub control_id: &'a str,
    pub gateway_app: &'a str,
    pub gateway_eui: &'a str,
    pub patient: Option<&'a str>,
    /// PV1-2: `I` inpatient, `E` emergency.
    pub patient_class: &'a str,
    pub ward: &'a str,
    pub room: &'a str,
    pub bed: &'a str,
    pub device_eui: &'a str,
    pub kind: DeviceKind,
}

/// (OBX-3, OBX-6, low, high, decimals) of a metric.
type Metric = (&'static str, &'static str, f64, f64, usize);

const MONITOR: (&str, &[Metric]) = (
    "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC",
    &[
        ("147842^MDC_ECG_HEART_RATE^MDC", "264864^MDC_DIM_BEAT_PER_MIN^MDC", 55.0, 110.0, 0),
        ("150456^MDC_PULS_OXIM_SAT_O2^MDC", "262688^MDC_DIM_PERCENT^MDC", 92.0, 100.0, 0),
        ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "266016^MDC_DIM_MMHG^MDC", 100.0, 150.0, 0),
        ("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "266016^MDC_DIM_MMHG^MDC", 60.0, 90.0, 0),
        ("151562^MDC_RESP_RATE^MDC", "264928^MDC_DIM_RESP_PER_MIN^MDC", 12.0, 22.0, 0),
        ("150344^MDC_TEMP^MDC", "268192^MDC_DIM_DEGC^MDC", 36.2, 37.8, 1),
    ],
);

const PUMP: (&str, &[Metric]) = (
    "69985^MDC_DEV_PUMP_INFUS_MDS^MDC",
    &[
        ("157784^MDC_FLOW_FLUID_PUMP^MDC", "265266^MDC_DIM_MILLI_L_PER_HR^MDC", 2.0, 125.0, 1),
        ("157864^MDC_VOL_FLUID_DELIV^MDC", "263762^MDC_DIM_MILLI_L^MDC", 5.0, 900.0, 1),
    ],
);

const VENTILATOR: (&str, &[Metric]) = (
    "70001^MDC_DEV_SYS_PT_VENT_MDS^MDC",
    &[
        ("151586^MDC_VENT_RESP_RATE^MDC", "264928^MDC_DIM_RESP_PER_MIN^MDC", 12.0, 20.0, 0),
        ("151868^MDC_VOL_AWAY_TIDAL^MDC", "263762^MDC_DIM_MILLI_L^MDC", 380.0, 520.0, 0),
        ("151976^MDC_VENT_PRESS_AWAY_END_EXP_POS^MDC", "266048^MDC_DIM_CM_H2O^MDC", 5.0, 10.0, 0),
        ("152196^MDC_CONC_AWAY_O2_INSP^MDC", "262688^MDC_DIM_PERCENT^MDC", 30.0, 60.0, 0),
    ],
);

/// An `ORU^R01` for one device; segments end with CR.
pub(crate) fn oru(o: &Oru<'_>, at: DateTime<Utc>, rng: &mut Rng) -> Vec<u8> {
    let d = Delimiters::default();
    let e = |s: &str| escape(s, &d);
    let ts = at.format("%Y%m%d%H%M%S%z").to_string();
    let gw = format!("{}^{}^EUI-64", e(o.gateway_app), o.gateway_eui);
    let mut m = String::with_capacity(1024);
    let _ = write!(
        m,
        "MSH|^~\\&|{gw}|{}|WARDWATCH|SEC|{ts}||ORU^R01^ORU_R01|{}|P|2.6|||NE|AL||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r",
        e(super::SITE),
        e(o.control_id)
    );
    if let Some(p) = o.patient {
        let _ = write!(m, "PID|||{}^^^{HL7_FACILITY}^MR||SIMULATED^PATIENT\r", e(p));
    }
    let _ = write!(m, "PV1||{}|{}^{}^{}^{HL7_FACILITY}\r", o.patient_class, e(o.ward), e(o.room), e(o.bed));
    let _ = write!(
        m,
        "OBR|1|{c}^{gw}|{c}^{gw}|182777000^monitoring of patient^SCT|||{ts}\r",
        c = e(o.control_id)
    );
    let (mds, metrics) = match o.kind {
        DeviceKind::InfusionPump | DeviceKind::SyringePump => PUMP,
        DeviceKind::Ventilator => VENTILATOR,
        _ => MONITOR,
    };
    let _ = write!(m, "OBX|1||{mds}|1.0.0.0|||||||X|||{ts}||||{}^EUI-64^IEEE\r", o.device_eui);
    if o.patient.is_some() {
        let mut n = 1;
        if matches!(o.kind, DeviceKind::InfusionPump | DeviceKind::SyringePump) {
            n += 1;
            let _ =
                write!(m, "OBX|{n}|ST|184508^MDC_PUMP_STAT^MDC|1.1.1.0|pump-status-infusing||||||R|||{ts}\r");
        }
        for (i, (code, unit, lo, hi, decimals)) in metrics.iter().enumerate() {
            n += 1;
            let value = lo + (hi - lo) * rng.unit();
            let _ = write!(
                m,
                "OBX|{n}|NM|{code}|1.1.1.{}|{value:.decimals$}|{unit}|||||R|||{ts}\r",
                i + 1,
                decimals = *decimals
            );
        }
    }
    m.into_bytes()
}

/// A Wardwatch JSON alert v1, its fields in the documented order.
#[derive(Debug, Serialize)]
pub(crate) struct JsonAlert<'a> {
    pub event_class: &'a str,
    pub name: &'a str,
    pub severity: u8,
    pub observed_at: String,
    pub device: JsonDevice,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<&'a str>,
    pub category: &'a str,
    pub message: String,
    pub vendor: &'a str,
    pub product: &'a str,
    pub extensions: BTreeMap<&'a str, String>,
    pub clinical_use: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonDevice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eui64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

pub(crate) fn json_alert(a: &JsonAlert<'_>) -> Vec<u8> {
    serde_json::to_vec(a).unwrap_or_default()
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
