use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::model::Severity;

fn t(min: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).single().unwrap_or_else(|| panic!("a valid time"))
        + Duration::minutes(min)
}

#[test]
fn identities_take_one_spelling() {
    let check = |kind, input: &str, expected: Result<&str, ()>| {
        let got = Identity::new(kind, input).map(|i| i.value).map_err(|_| ());
        assert_eq!(got.as_deref().map_err(|_| ()), expected, "{kind:?} {input:?}");
    };
    use IdentityKind::*;
    check(Ip, " 10.1.2.3 ", Ok("10.1.2.3"));
    check(Ip, "fd00:0::1", Ok("fd00::1"));
    check(Ip, "10.1.2", Err(()));
    check(Mac, "00-1A-2B-3C-4D-5E", Ok("00:1a:2b:3c:4d:5e"));
    check(Mac, "001a2b3c4d5e", Ok("00:1a:2b:3c:4d:5e"));
    check(Mac, "00:1a:2b:3c:4d", Err(()));
    check(Mac, "00:1a:2b:3c:4d:5g", Err(()));
    check(Eui64, "00:1a:2b:ff:fe:3c:4d:5e", Ok("001A2BFFFE3C4D5E"));
    check(Eui64, "001a2bfffe3c4d5e", Ok("001A2BFFFE3C4D5E"));
    check(Eui64, "001a2bfffe3c4d", Err(()));
    check(Hostname, "ICU-MON-01.Ward.Example.", Ok("icu-mon-01.ward.example"));
    check(Hostname, "bad host", Err(()));
    check(Serial, " SN 1234 ", Ok("SN 1234"));
    check(Serial, "", Err(()));
    check(Serial, "a\u{7}b", Err(()));
}

#[test]
fn cve_ids_are_recognised() {
    for (s, ok) in [
        ("CVE-2020-25165", true),
        ("CVE-2019-0708", true),
        ("CVE-2021-1234567", true),
        ("cve-2020-25165", false),
        ("CVE-20-25165", false),
        ("CVE-2020-123", false),
        ("CVE-2020-25165-1", false),
    ] {
        assert_eq!(is_cve(s), ok, "{s}");
    }
}

#[test]
fn fennigkoh_smith_factors_give_the_tier() {
    let check = |f, r, m, tier| {
        let factors = Factors::new(f, r, m).unwrap_or_else(|e| panic!("in range: {e:?}"));
        assert_eq!(factors.tier(), tier, "{f}/{r}/{m}");
    };
    use CriticalityTier::*;
    check(10, 5, 5, LifeSustaining); // ventilator
    check(9, 5, 4, LifeSupporting); // infusion pump
    check(7, 5, 3, LifeSupporting); // ICU patient monitor
    check(8, 3, 3, Therapeutic);
    check(7, 3, 2, Therapeutic);
    check(6, 3, 3, Diagnostic); // imaging
    check(5, 3, 3, Diagnostic); // lab analyser
    check(3, 1, 1, NonClinical); // workstation
    assert!(Factors::new(11, 1, 1).is_err());
    assert!(Factors::new(1, 1, 1).is_err());
    assert!(Factors::new(5, 0, 1).is_err());
    assert!(Factors::new(5, 1, 6).is_err());
    let f = Factors::new(9, 5, 4).unwrap_or_else(|e| panic!("in range: {e:?}"));
    assert_eq!(f.em_number(), 18);
    assert_eq!(
        Criticality::from_factors(f).explain(),
        "Life-supporting: function 9 (surgical and intensive care), physical risk 5 (patient death), \
         maintenance 4 (above average); equipment-management number 18"
    );
}

#[test]
fn vocabularies_parse_their_spellings_and_labels() {
    assert_eq!(DeviceKind::parse("Infusion pump"), Some(DeviceKind::InfusionPump));
    assert_eq!(DeviceKind::parse("infusion-pump"), Some(DeviceKind::InfusionPump));
    assert_eq!(DeviceKind::parse("INFUSION_PUMP"), Some(DeviceKind::InfusionPump));
    assert_eq!(DeviceKind::parse("toaster"), None);
    assert_eq!(WardKind::parse("home care"), Some(WardKind::HomeCare));
    assert_eq!(CriticalityTier::parse("Life-sustaining"), Some(CriticalityTier::LifeSustaining));
    for k in DeviceKind::ALL {
        assert_eq!(DeviceKind::parse(k.as_str()), Some(*k));
        assert_eq!(DeviceKind::parse(k.label()), Some(*k));
    }
}

fn evidence(state: UseState, source: UseSource, at: i64) -> UseEvidence {
    UseEvidence { state, source, at: t(at) }
}

fn hl7(patient: bool) -> UseSource {
    UseSource::Hl7 { message_type: "ORU^R01".into(), patient_associated: patient }
}

#[test]
fn clinical_use_comes_from_the_newest_evidence_and_ages_out() {
    let idle_after = Duration::minutes(30);
    let none = ClinicalUse::derive(None, t(0), idle_after);
    assert_eq!(none.state, UseState::Unknown);
    assert!(none.counts_as_in_use(), "unknown is treated as in use");
    assert_eq!(none.describe(t(0)), "Unknown (treated as in use) (no evidence yet)");

    let obs = evidence(UseState::InUse, hl7(true), 0);
    let now = ClinicalUse::derive(Some(&obs), t(29), idle_after);
    assert_eq!((now.state, now.since), (UseState::InUse, Some(t(0))));
    assert_eq!(now.describe(t(29)), "In use with a patient (HL7 ORU^R01 with a patient, 29 min ago)");

    let later = ClinicalUse::derive(Some(&obs), t(31), idle_after);
    assert_eq!(later.state, UseState::Idle);
    assert_eq!(later.source, UseSource::NoRecentObservation { last_in_use: t(0) });
    assert_eq!(later.since, Some(t(30)));
    assert!(!later.counts_as_in_use());

    // What a person sets does not age out.
    let person = evidence(
        UseState::InUse,
        UseSource::Person { actor: "nurse.a".into(), reason: "bedside check".into() },
        0,
    );
    assert_eq!(ClinicalUse::derive(Some(&person), t(600), idle_after).state, UseState::InUse);
    let maint = evidence(
        UseState::Maintenance,
        UseSource::Person { actor: "biomed.b".into(), reason: "annual service".into() },
        5,
    );
    assert!(maint.supersedes(&obs));
    assert!(!obs.supersedes(&maint));
    assert_eq!(ClinicalUse::derive(Some(&maint), t(600), idle_after).state, UseState::Maintenance);
}

fn device(tier: CriticalityTier) -> Device {
    let mut d = Device::staged_from(
        Identity::new(IdentityKind::Ip, "10.1.1.1").unwrap_or_else(|e| panic!("an ip: {e:?}")),
    );
    d.staged = false;
    d.criticality = Criticality { tier, factors: None };
    d.patching = Patching::Manufacturer;
    d
}

fn incident(severity: u8, last: i64) -> OpenIncident {
    OpenIncident {
        id: 1,
        condition: "ET EXPLOIT test".into(),
        severity: Severity::new(severity).unwrap_or_else(|| panic!("0-10")),
        count: 3,
        first_seen: t(last - 10),
        last_seen: t(last),
    }
}

fn health(d: &Device, incidents: &[OpenIncident], last_seen: Option<i64>) -> Assessment {
    let use_ =
        ClinicalUse::derive(Some(&evidence(UseState::Idle, hl7(false), 0)), t(60), Duration::minutes(30));
    assess(d, &use_, incidents, last_seen.map(t), t(60), &HealthRules::default())
}

#[test]
fn health_follows_the_table() {
    use CriticalityTier::*;
    let diag = device(Diagnostic);
    let check = |d: &Device, incidents: &[OpenIncident], seen: Option<i64>, expected: Health| {
        let a = health(d, incidents, seen);
        assert_eq!(a.health, expected, "{:#?}", a.reasons);
        assert!(a.reasons.iter().filter_map(|r| r.raises_to).all(|h| h <= a.health));
        if expected != Health::Ok {
            assert!(a.reasons.iter().any(|r| r.raises_to == Some(a.health)), "{:#?}", a.reasons);
        }
    };
    check(&diag, &[], Some(50), Health::Ok);
    check(&diag, &[], None, Health::Unknown);
    check(&diag, &[], Some(60 - 25 * 60), Health::Unknown);
    check(&diag, &[incident(3, 55)], Some(50), Health::Watch);
    check(&diag, &[incident(5, 55)], Some(50), Health::Watch);
    check(&diag, &[incident(7, 55)], Some(50), Health::AtRisk);
    check(&diag, &[incident(9, 55)], Some(50), Health::CompromisedSuspected);
    check(&diag, &[incident(3, 55), incident(8, 50)], Some(50), Health::AtRisk);
    // Stale but with an incident: the incident decides.
    check(&diag, &[incident(7, 55)], None, Health::AtRisk);
    // A life-critical device goes one step up with an open incident of
    // medium severity or more; a low one (a new connection seen) stays watch.
    check(&device(LifeSustaining), &[incident(3, 55)], Some(50), Health::Watch);
    check(&device(LifeSustaining), &[incident(4, 55)], Some(50), Health::AtRisk);
    check(&device(LifeSupporting), &[incident(7, 55)], Some(50), Health::CompromisedSuspected);
    check(&device(LifeSustaining), &[incident(10, 55)], Some(50), Health::CompromisedSuspected);
    check(&device(LifeSustaining), &[], Some(50), Health::Ok);

    let mut vulnerable = device(Diagnostic);
    vulnerable.vulnerabilities = vec![Vulnerability { cve: "CVE-2020-25165".into(), known_exploited: false }];
    check(&vulnerable, &[], Some(50), Health::Ok);
    vulnerable.patching = Patching::NotPatchable;
    check(&vulnerable, &[], Some(50), Health::Watch);
    vulnerable.vulnerabilities.push(Vulnerability { cve: "CVE-2019-0708".into(), known_exploited: true });
    check(&vulnerable, &[], Some(50), Health::Watch);
    vulnerable.criticality.tier = LifeSupporting;
    check(&vulnerable, &[], Some(50), Health::AtRisk);
}

#[test]
fn health_reasons_say_why_in_words() {
    let mut d = device(CriticalityTier::LifeSupporting);
    d.vulnerabilities = vec![Vulnerability { cve: "CVE-2019-0708".into(), known_exploited: true }];
    let a = health(&d, &[incident(7, 55)], None);
    let texts: Vec<&str> = a.reasons.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Life-supporting device with an open high incident: one step up",
            "high incident open: ET EXPLOIT test (3 times, last 5 min ago)",
            "CVE-2019-0708 known to be exploited, on a life-critical device",
            "never heard from",
        ]
    );
    assert_eq!(a.health, Health::CompromisedSuspected);
}

#[test]
fn wards_roll_up_counts_and_the_worst_incident() {
    let state = |id: &str, incidents: Vec<OpenIncident>, use_state| {
        let mut d = device(CriticalityTier::Diagnostic);
        d.id = AssetId(id.into());
        let clinical_use = ClinicalUse { state: use_state, source: UseSource::NoEvidence, since: None };
        let assessment = assess(&d, &clinical_use, &incidents, Some(t(50)), t(60), &HealthRules::default());
        DeviceState { device: d, clinical_use, last_seen: Some(t(50)), incidents, assessment }
    };
    let states = [
        state("a", vec![], UseState::InUse),
        state("b", vec![incident(7, 40)], UseState::Idle),
        state("c", vec![incident(7, 50), incident(2, 59)], UseState::InUse),
        state("d", vec![], UseState::Unknown),
    ];
    let w = roll_up(&states);
    assert_eq!(w.devices, 4);
    assert_eq!(w.in_use, 2);
    assert_eq!(w.counts, [2, 0, 0, 2, 0]);
    assert_eq!(w.worst, Health::AtRisk);
    let (on, worst) = w.worst_incident.unwrap_or_else(|| panic!("an incident"));
    assert_eq!((on.as_str(), worst.last_seen), ("c", t(50)));
    let empty = roll_up(&[]);
    assert_eq!((empty.devices, empty.worst, empty.worst_incident), (0, Health::Ok, None));
}
