//! The device models of the simulated hospital: real products, firmware as
//! their makers number it, and the CVEs published for those versions.
//!
//! Every CVE here was checked against the manufacturer's bulletin or the
//! CISA ICS medical advisory for that product and version; ids that could
//! not be confirmed were left out, so a model without CVEs is not a claim
//! that it has none. `known_exploited` is true only for CVEs on CISA's
//! Known Exploited Vulnerabilities catalogue.
//!
//! | model | firmware | CVEs | source |
//! |---|---|---|---|
//! | BD Alaris 8015 PC unit | 9.33.1 | CVE-2020-25165 | BD bulletin, Nov 2020 (fixed in 12.1.1) |
//! | Baxter Sigma Spectrum v8 (35700BAX2) | WBM 20D29 | CVE-2022-26390, -26392, -26393, -26394 | ICSMA-22-251-01 |
//! | Baxter Spectrum IQ (35700BAX3) | WBM 22D24 | CVE-2022-26390 | ICSMA-22-251-01 (IQ authenticates: not -26394) |
//! | B. Braun Infusomat / Perfusor Space, SpaceCom | L81 | CVE-2020-25166, CVE-2021-33882 to -33886 | B. Braun advisory 05/2021, ICSMA-21-294-01 (fixed in L82) |
//! | Philips IntelliVue MX450 | M.04 | CVE-2020-16216, -16228 | ICSMA-20-254-01 |
//! | Philips IntelliVue MX800 | M.04 | CVE-2020-16216 | ICSMA-20-254-01 (-16228 does not list the MX800) |
//! | Philips PIC iX | C.02 | CVE-2020-16214, -16218, -16224, -16228 | ICSMA-20-254-01 |
//! | GE CARESCAPE B650 | 2.x | CVE-2020-6962, -6965 | ICSMA-20-023-01 ("MDhex") |
//! | GE CARESCAPE Central Station | 2.x | CVE-2020-6962, -6964 | ICSMA-20-023-01 |
//! | GE CIC Pro | 5.x | CVE-2020-6961 to -6966 | ICSMA-20-023-01 |
//! | Medtronic MiniMed Paradigm 722 | all | CVE-2019-10964 | ICSMA-19-178-01 (recalled, cannot be updated) |
//! | Windows 7 SP1 acquisition workstations | 6.1.7601 | CVE-2019-0708 (BlueKeep), CVE-2017-0144 (EternalBlue), both on KEV | Microsoft, CISA KEV |

use crate::hospital::{DeviceKind, Patching};

/// One product as the hospital runs it.
#[derive(Debug)]
pub(crate) struct Model {
    pub kind: DeviceKind,
    pub manufacturer: &'static str,
    pub model: &'static str,
    /// Equivalent builds (the same CVEs); the seed picks one per device.
    pub firmware: &'static [&'static str],
    pub patching: Patching,
    /// (CVE, on CISA KEV).
    pub cves: &'static [(&'static str, bool)],
    /// Starts every serial number of this model (unique per model).
    pub serial_prefix: &'static str,
    /// The kind in host names: `icu-pump-012`.
    pub slug: &'static str,
    /// Sends HL7 observations through the ward's device gateway.
    pub reports_hl7: bool,
}

/// What most models share: patched by their manufacturer, no published
/// CVE for the version run, not an HL7 reporter.
const BASE: Model = Model {
    kind: DeviceKind::Other,
    manufacturer: "",
    model: "",
    firmware: &[],
    patching: Patching::Manufacturer,
    cves: &[],
    serial_prefix: "",
    slug: "",
    reports_hl7: false,
};

const SPACECOM_L81: &[(&str, bool)] = &[
    ("CVE-2020-25166", false),
    ("CVE-2021-33882", false),
    ("CVE-2021-33883", false),
    ("CVE-2021-33884", false),
    ("CVE-2021-33885", false),
    ("CVE-2021-33886", false),
];

const WINDOWS_7: &[(&str, bool)] = &[("CVE-2017-0144", true), ("CVE-2019-0708", true)];

const WINDOWS_10: &[&str] = &[
    "Windows 10 Enterprise 22H2 (19045.4291)",
    "Windows 10 Enterprise 22H2 (19045.4412)",
    "Windows 10 Enterprise 22H2 (19045.4529)",
];

// Infusion and syringe pumps.
pub(crate) static ALARIS_OLD: Model = Model {
    kind: DeviceKind::InfusionPump,
    manufacturer: "BD",
    model: "Alaris 8015 PC unit with 8100 LVP module",
    firmware: &["9.33.1"],
    cves: &[("CVE-2020-25165", false)],
    serial_prefix: "AL8015-",
    slug: "pump",
    reports_hl7: true,
    ..BASE
};
pub(crate) static ALARIS_NEW: Model = Model {
    kind: DeviceKind::InfusionPump,
    manufacturer: "BD",
    model: "Alaris 8015 PC unit with 8100 LVP module",
    firmware: &["12.1.2"],
    serial_prefix: "AL8015N-",
    slug: "pump",
    reports_hl7: true,
    ..BASE
};
pub(crate) static SIGMA_V8: Model = Model {
    kind: DeviceKind::InfusionPump,
    manufacturer: "Baxter",
    model: "Sigma Spectrum 35700BAX2 (v8) with Wireless Battery Module",
    firmware: &["8.00.01 / WBM 20D29"],
    cves: &[
        ("CVE-2022-26390", false),
        ("CVE-2022-26392", false),
        ("CVE-2022-26393", false),
        ("CVE-2022-26394", false),
    ],
    serial_prefix: "SIG8-",
    slug: "pump",
    reports_hl7: true,
    ..BASE
};
pub(crate) static SPECTRUM_IQ: Model = Model {
    kind: DeviceKind::InfusionPump,
    manufacturer: "Baxter",
    model: "Spectrum IQ 35700BAX3 (v9) with Wireless Battery Module",
    firmware: &["9.02.02 / WBM 22D24"],
    cves: &[("CVE-2022-26390", false)],
    serial_prefix: "SIQ-",
    slug: "pump",
    reports_hl7: true,
    ..BASE
};
pub(crate) static INFUSOMAT_L81: Model = Model {
    kind: DeviceKind::InfusionPump,
    manufacturer: "B. Braun",
    model: "Infusomat Space with Battery Pack SP WiFi",
    firmware: &["SpaceCom L81"],
    cves: SPACECOM_L81,
    serial_prefix: "IFS-",
    slug: "pump",
    reports_hl7: true,
    ..BASE
};
pub(crate) static INFUSOMAT_L82: Model = Model {
    kind: DeviceKind::InfusionPump,
    manufacturer: "B. Braun",
    model: "Infusomat Space with Battery Pack SP WiFi",
    firmware: &["SpaceCom L82"],
    serial_prefix: "IFSN-",
    slug: "pump",
    reports_hl7: true,
    ..BASE
};
pub(crate) static PERFUSOR_L81: Model = Model {
    kind: DeviceKind::SyringePump,
    manufacturer: "B. Braun",
    model: "Perfusor Space with Battery Pack SP WiFi",
    firmware: &["SpaceCom L81"],
    cves: SPACECOM_L81,
    serial_prefix: "PFS-",
    slug: "syr",
    reports_hl7: true,
    ..BASE
};
pub(crate) static PERFUSOR_L82: Model = Model {
    kind: DeviceKind::SyringePump,
    manufacturer: "B. Braun",
    model: "Perfusor Space with Battery Pack SP WiFi",
    firmware: &["SpaceCom L82"],
    serial_prefix: "PFSN-",
    slug: "syr",
    reports_hl7: true,
    ..BASE
};

// Patient monitors and central stations.
pub(crate) static MX800: Model = Model {
    kind: DeviceKind::PatientMonitor,
    manufacturer: "Philips",
    model: "IntelliVue MX800",
    firmware: &["M.04.01", "M.04.03"],
    cves: &[("CVE-2020-16216", false)],
    serial_prefix: "DE8",
    slug: "mon",
    reports_hl7: true,
    ..BASE
};
pub(crate) static MX450: Model = Model {
    kind: DeviceKind::PatientMonitor,
    manufacturer: "Philips",
    model: "IntelliVue MX450",
    firmware: &["M.04.01", "M.04.03"],
    cves: &[("CVE-2020-16216", false), ("CVE-2020-16228", false)],
    serial_prefix: "DE4",
    slug: "mon",
    reports_hl7: true,
    ..BASE
};
pub(crate) static B650: Model = Model {
    kind: DeviceKind::PatientMonitor,
    manufacturer: "GE Healthcare",
    model: "CARESCAPE B650",
    firmware: &["2.0.8", "2.0.9"],
    cves: &[("CVE-2020-6962", false), ("CVE-2020-6965", false)],
    serial_prefix: "SJN",
    slug: "mon",
    reports_hl7: true,
    ..BASE
};
pub(crate) static PIC_IX: Model = Model {
    kind: DeviceKind::PatientMonitor,
    manufacturer: "Philips",
    model: "IntelliVue Patient Information Center iX (central station)",
    firmware: &["C.02"],
    cves: &[
        ("CVE-2020-16214", false),
        ("CVE-2020-16218", false),
        ("CVE-2020-16224", false),
        ("CVE-2020-16228", false),
    ],
    serial_prefix: "PIC-",
    slug: "central",
    ..BASE
};
pub(crate) static CIC_PRO: Model = Model {
    kind: DeviceKind::PatientMonitor,
    manufacturer: "GE Healthcare",
    model: "CARESCAPE CIC Pro (central station)",
    firmware: &["5.1.2"],
    patching: Patching::NotPatchable,
    cves: &[
        ("CVE-2020-6961", false),
        ("CVE-2020-6962", false),
        ("CVE-2020-6963", false),
        ("CVE-2020-6964", false),
        ("CVE-2020-6965", false),
        ("CVE-2020-6966", false),
    ],
    serial_prefix: "CIC-",
    slug: "central",
    ..BASE
};
pub(crate) static CSCS: Model = Model {
    kind: DeviceKind::PatientMonitor,
    manufacturer: "GE Healthcare",
    model: "CARESCAPE Central Station",
    firmware: &["2.0.3"],
    cves: &[("CVE-2020-6962", false), ("CVE-2020-6964", false)],
    serial_prefix: "CSCS-",
    slug: "central",
    ..BASE
};

// Ventilation and anaesthesia.
pub(crate) static EVITA_V500: Model = Model {
    kind: DeviceKind::Ventilator,
    manufacturer: "Dräger",
    model: "Evita V500",
    firmware: &["2.51", "2.52"],
    serial_prefix: "ASCN-",
    slug: "vent",
    reports_hl7: true,
    ..BASE
};
pub(crate) static HAMILTON_C6: Model = Model {
    kind: DeviceKind::Ventilator,
    manufacturer: "Hamilton Medical",
    model: "HAMILTON-C6",
    firmware: &["1.2.2", "1.3.1"],
    serial_prefix: "C6-",
    slug: "vent",
    reports_hl7: true,
    ..BASE
};
pub(crate) static AISYS_CS2: Model = Model {
    kind: DeviceKind::AnaesthesiaMachine,
    manufacturer: "GE Healthcare",
    model: "Aisys CS2",
    firmware: &["11.0", "11.1"],
    serial_prefix: "ANCS-",
    slug: "anaes",
    ..BASE
};

// Home care (reported by the home-care gateway, not HL7).
pub(crate) static DEXCOM_G6: Model = Model {
    kind: DeviceKind::GlucoseMonitor,
    manufacturer: "Dexcom",
    model: "G6 receiver",
    firmware: &["5.1.2.2"],
    serial_prefix: "PG6-",
    slug: "cgm",
    ..BASE
};
pub(crate) static DEXCOM_G7: Model = Model {
    kind: DeviceKind::GlucoseMonitor,
    manufacturer: "Dexcom",
    model: "G7 receiver",
    firmware: &["1.4.1"],
    serial_prefix: "PG7-",
    slug: "cgm",
    ..BASE
};
pub(crate) static MINIMED_780G: Model = Model {
    kind: DeviceKind::InsulinPump,
    manufacturer: "Medtronic",
    model: "MiniMed 780G (through the patient's home gateway)",
    firmware: &["2.3.0"],
    serial_prefix: "NG78-",
    slug: "insulin",
    ..BASE
};
pub(crate) static PARADIGM_722: Model = Model {
    kind: DeviceKind::InsulinPump,
    manufacturer: "Medtronic",
    model: "MiniMed Paradigm 722",
    firmware: &["3.1A"],
    patching: Patching::NotPatchable,
    cves: &[("CVE-2019-10964", false)],
    serial_prefix: "PAR722-",
    slug: "insulin",
    ..BASE
};

// Imaging and laboratory.
pub(crate) static SOMATOM_AS: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "Siemens Healthineers",
    model: "SOMATOM Definition AS",
    firmware: &["syngo CT VB10A"],
    serial_prefix: "SDAS-",
    slug: "ct",
    ..BASE
};
pub(crate) static SOMATOM_GO: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "Siemens Healthineers",
    model: "SOMATOM go.Up",
    firmware: &["syngo CT VA30A"],
    serial_prefix: "SGO-",
    slug: "ct",
    ..BASE
};
pub(crate) static SIGNA_ARTIST: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "GE Healthcare",
    model: "SIGNA Artist 1.5T",
    firmware: &["MR30.1"],
    serial_prefix: "SGA-",
    slug: "mr",
    ..BASE
};
pub(crate) static SIGNA_PREMIER: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "GE Healthcare",
    model: "SIGNA Premier 3.0T",
    firmware: &["MR30.1"],
    serial_prefix: "SGP-",
    slug: "mr",
    ..BASE
};
pub(crate) static EPIQ_7: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "Philips",
    model: "EPIQ 7 ultrasound",
    firmware: &["9.0.3"],
    serial_prefix: "EPQ-",
    slug: "us",
    ..BASE
};
pub(crate) static AFFINITI_70: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "Philips",
    model: "Affiniti 70 ultrasound",
    firmware: &["9.0.3"],
    serial_prefix: "AFF-",
    slug: "us",
    ..BASE
};
pub(crate) static YSIO_MAX: Model = Model {
    kind: DeviceKind::ImagingModality,
    manufacturer: "Siemens Healthineers",
    model: "Ysio Max radiography",
    firmware: &["VF10"],
    serial_prefix: "YSM-",
    slug: "xr",
    ..BASE
};
pub(crate) static ACQ_WIN7: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Siemens Healthineers",
    model: "syngo Acquisition Workplace (Windows 7 SP1)",
    firmware: &["Windows 7 Professional SP1 (6.1.7601)"],
    patching: Patching::NotPatchable,
    cves: WINDOWS_7,
    serial_prefix: "AWP-",
    slug: "acq",
    ..BASE
};
pub(crate) static ARCHITECT_CI: Model = Model {
    kind: DeviceKind::LabAnalyser,
    manufacturer: "Abbott",
    model: "ARCHITECT ci8200",
    firmware: &["9.45"],
    serial_prefix: "ARC-",
    slug: "chem",
    ..BASE
};
pub(crate) static ARCHITECT_I2000: Model = Model {
    kind: DeviceKind::LabAnalyser,
    manufacturer: "Abbott",
    model: "ARCHITECT i2000SR",
    firmware: &["9.45"],
    serial_prefix: "ARI-",
    slug: "immuno",
    ..BASE
};
pub(crate) static COBAS_8000: Model = Model {
    kind: DeviceKind::LabAnalyser,
    manufacturer: "Roche Diagnostics",
    model: "cobas 8000",
    firmware: &["06-03"],
    serial_prefix: "C8K-",
    slug: "chem",
    ..BASE
};
pub(crate) static COBAS_PRO: Model = Model {
    kind: DeviceKind::LabAnalyser,
    manufacturer: "Roche Diagnostics",
    model: "cobas pro",
    firmware: &["02-01"],
    serial_prefix: "CPRO-",
    slug: "chem",
    ..BASE
};

// Computers, gateways, nurse call, network services.
pub(crate) static WORKSTATION: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Dell",
    model: "OptiPlex 7090",
    firmware: WINDOWS_10,
    patching: Patching::Hospital,
    serial_prefix: "DL7090-",
    slug: "ws",
    ..BASE
};
pub(crate) static READING_WS: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Dell",
    model: "Precision 5860 (radiology reading)",
    firmware: WINDOWS_10,
    patching: Patching::Hospital,
    serial_prefix: "DL5860-",
    slug: "read",
    ..BASE
};
pub(crate) static GATEWAY: Model = Model {
    kind: DeviceKind::Gateway,
    manufacturer: "Philips Capsule",
    model: "Medical Device Information Platform (device gateway)",
    firmware: &["11.2.1"],
    serial_prefix: "MDIP-",
    slug: "gw",
    ..BASE
};
pub(crate) static HOME_GATEWAY: Model = Model {
    kind: DeviceKind::Gateway,
    manufacturer: "Wardwatch",
    model: "Simulated home-care gateway",
    firmware: &["1.0"],
    patching: Patching::Hospital,
    serial_prefix: "WWHG-",
    slug: "gw",
    ..BASE
};
pub(crate) static NURSE_CALL: Model = Model {
    kind: DeviceKind::NurseCall,
    manufacturer: "Rauland",
    model: "Responder 5",
    firmware: &["5.9"],
    serial_prefix: "R5-",
    slug: "nursecall",
    ..BASE
};
pub(crate) static SCANNER: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Tenable",
    model: "Nessus vulnerability scanner",
    firmware: &["Nessus 10.7.3"],
    patching: Patching::Hospital,
    serial_prefix: "NES-",
    slug: "scanner",
    ..BASE
};
pub(crate) static DNS_SERVER: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Microsoft",
    model: "Windows Server 2022 (DNS)",
    firmware: &["10.0.20348.2461"],
    patching: Patching::Hospital,
    serial_prefix: "DNS-",
    slug: "dns",
    ..BASE
};
pub(crate) static PACS_SERVER: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Dell",
    model: "PowerEdge R750 (PACS archive)",
    firmware: &["Windows Server 2022 (10.0.20348.2461)"],
    patching: Patching::Hospital,
    serial_prefix: "PACS-",
    slug: "pacs",
    ..BASE
};
pub(crate) static IDS_SENSOR: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Wardwatch",
    model: "Simulated Suricata sensor",
    firmware: &["Suricata 7.0.5"],
    patching: Patching::Hospital,
    serial_prefix: "IDS-",
    slug: "ids",
    ..BASE
};
pub(crate) static IOMT_PLATFORM: Model = Model {
    kind: DeviceKind::Workstation,
    manufacturer: "Wardwatch",
    model: "Simulated IoMT platform",
    firmware: &["1.0"],
    patching: Patching::Hospital,
    serial_prefix: "IOMT-",
    slug: "iomt",
    ..BASE
};
