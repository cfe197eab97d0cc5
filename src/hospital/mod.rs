//! The hospital: wards, the devices in them, what each device is, how
//! critical it is to patients, whether it is in clinical use now, and its
//! health. Plain data and pure rules; the tables live in `store::hospital`.
//!
//! A device is identified by its [`AssetId`] (the inventory's asset tag, or
//! `seen-...` for a device staged from traffic) and found by any of its
//! [`Identity`]s (IP, MAC, hostname, EUI-64, serial), each valid for a period
//! (DHCP moves addresses between devices over time).

mod clinical;
mod health;
pub mod inventory;
mod kinds;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use clinical::{age, ago, ClinicalUse, UseEvidence, UseSource, UseState, DEFAULT_IDLE_AFTER};
pub use health::{assess, roll_up, Assessment, Health, HealthReason, HealthRules, OpenIncident, WardHealth};
pub use kinds::{CriticalityTier, DeviceKind, Factors, WardKind};

/// A ward's id: a short slug (`icu`, `ed`, `onc-4`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WardId(pub String);

impl WardId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A device's id in the inventory: its asset tag, or `seen-KIND-VALUE` for
/// a device first seen in traffic and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(pub String);

impl AssetId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of a device staged because `identity` was seen in traffic.
    pub fn staged(identity: &Identity) -> Self {
        Self(format!("seen-{}-{}", identity.kind.as_str(), identity.value))
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ward of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ward {
    pub id: WardId,
    /// The site (hospital, campus) the ward belongs to.
    pub site: String,
    pub name: String,
    pub kind: WardKind,
}

/// Where a device is: its ward, and the room and bed when it is at one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub ward: Option<WardId>,
    pub room: Option<String>,
    pub bed: Option<String>,
}

/// How a device is found in traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Ip,
    Mac,
    Hostname,
    Eui64,
    Serial,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 5] = [Self::Ip, Self::Mac, Self::Hostname, Self::Eui64, Self::Serial];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Mac => "mac",
            Self::Hostname => "hostname",
            Self::Eui64 => "eui64",
            Self::Serial => "serial",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One network identity of a device, in its canonical spelling (see
/// [`Identity::new`]), so that two spellings of one identity compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
}

impl Identity {
    /// The canonical form, or why `value` is not one: an IP address as
    /// `IpAddr` prints it; a MAC as six lower-case pairs with `:`; an EUI-64
    /// as 16 upper-case hex digits (as HL7 gateways send it); a hostname in
    /// lower case without a trailing dot; a serial trimmed, as written.
    pub fn new(kind: IdentityKind, value: &str) -> Result<Self, String> {
        let v = value.trim();
        let value = match kind {
            IdentityKind::Ip => {
                v.parse::<std::net::IpAddr>().map_err(|_| format!("{v:?} is not an IP address"))?.to_string()
            }
            IdentityKind::Mac => hex_pairs(v, 6)
                .ok_or_else(|| format!("{v:?} is not a MAC address"))?
                .join(":")
                .to_ascii_lowercase(),
            IdentityKind::Eui64 => hex_pairs(v, 8)
                .ok_or_else(|| format!("{v:?} is not an EUI-64"))?
                .concat()
                .to_ascii_uppercase(),
            IdentityKind::Hostname => {
                let h = v.trim_end_matches('.').to_ascii_lowercase();
                let ok = !h.is_empty()
                    && h.len() <= 253
                    && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
                if !ok {
                    return Err(format!("{v:?} is not a host name"));
                }
                h
            }
            IdentityKind::Serial => {
                if v.is_empty() || v.len() > 64 || v.chars().any(char::is_control) {
                    return Err(format!("{v:?} is not a serial number (1-64 printable characters)"));
                }
                v.to_owned()
            }
        };
        Ok(Self { kind, value })
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.value)
    }
}

/// `n` hex pairs, separated by `:` or `-` or not at all.
fn hex_pairs(s: &str, n: usize) -> Option<Vec<String>> {
    let pairs: Vec<String> = if s.contains([':', '-']) {
        s.split([':', '-']).map(str::to_owned).collect()
    } else if s.len() == 2 * n {
        (0..n).map(|i| s[2 * i..2 * i + 2].to_owned()).collect()
    } else {
        return None;
    };
    (pairs.len() == n && pairs.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit())))
        .then_some(pairs)
}

/// How critical a device is to patients, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criticality {
    pub tier: CriticalityTier,
    /// The Fennigkoh–Smith factors the tier was chosen by, when recorded.
    pub factors: Option<Factors>,
}

impl Criticality {
    /// The tier the factors give, with the factors kept to explain it.
    pub fn from_factors(factors: Factors) -> Self {
        Self { tier: factors.tier(), factors: Some(factors) }
    }

    /// Why the device has its tier, in words.
    pub fn explain(&self) -> String {
        match &self.factors {
            Some(f) => format!("{}: {}", self.tier.label(), f.explain()),
            None => format!(
                "{}: set in the inventory, no equipment-management factors recorded",
                self.tier.label()
            ),
        }
    }
}

/// Who can patch a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Patching {
    /// The hospital's own staff (biomedical engineering, IT).
    Hospital,
    /// Only the manufacturer (validated updates, service visits).
    Manufacturer,
    /// No updates exist or may be applied (end of support, regulatory).
    NotPatchable,
    Unknown,
}

impl Patching {
    pub const ALL: [Patching; 4] = [Self::Hospital, Self::Manufacturer, Self::NotPatchable, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Manufacturer => "manufacturer",
            Self::NotPatchable => "not_patchable",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Hospital => "patched by hospital staff",
            Self::Manufacturer => "patched only by the manufacturer",
            Self::NotPatchable => "cannot be patched",
            Self::Unknown => "patching unknown",
        }
    }
}

/// A known vulnerability of a device's model and firmware.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Vulnerability {
    /// `CVE-2020-25165`.
    pub cve: String,
    /// On a known-exploited list (CISA KEV).
    pub known_exploited: bool,
}

/// Whether `s` is a CVE id (`CVE-YYYY-NNNN...`).
pub fn is_cve(s: &str) -> bool {
    let mut parts = s.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("CVE"), Some(y), Some(n), None)
            if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())
                && n.len() >= 4 && n.len() <= 7 && n.bytes().all(|b| b.is_ascii_digit())
    )
}

/// A device of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: AssetId,
    pub kind: DeviceKind,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// Current identities, sorted.
    pub identities: Vec<Identity>,
    pub location: Location,
    pub criticality: Criticality,
    pub patching: Patching,
    /// Sorted by id.
    pub vulnerabilities: Vec<Vulnerability>,
    /// First seen in traffic and not yet confirmed by a person: never
    /// assigned to a ward by itself.
    pub staged: bool,
}

impl Device {
    /// A device staged because `identity` was seen in traffic: kind and
    /// criticality unknown (`Other`, treated as life-supporting until someone
    /// says otherwise: an unknown device may be a patient's).
    pub fn staged_from(identity: Identity) -> Self {
        Self {
            id: AssetId::staged(&identity),
            kind: DeviceKind::Other,
            manufacturer: None,
            model: None,
            firmware: None,
            identities: vec![identity],
            location: Location::default(),
            criticality: Criticality { tier: CriticalityTier::LifeSupporting, factors: None },
            patching: Patching::Unknown,
            vulnerabilities: Vec::new(),
            staged: true,
        }
    }

    pub fn has_known_exploited(&self) -> bool {
        self.vulnerabilities.iter().any(|v| v.known_exploited)
    }
}

/// A hospital's wards and devices: what an inventory file holds, and what
/// the store gives back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub wards: Vec<Ward>,
    pub devices: Vec<Device>,
}

/// What the console knows of one device now: the inventory entry and the
/// evidence around it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceState {
    pub device: Device,
    pub clinical_use: ClinicalUse,
    /// Last time any traffic or observation named the device.
    pub last_seen: Option<DateTime<Utc>>,
    pub incidents: Vec<OpenIncident>,
    pub assessment: Assessment,
}

#[cfg(test)]
mod tests;
