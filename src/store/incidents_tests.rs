//! Incidents through the writer's path and people's work, on real SQLCipher
//! files: folding across sources, by address, storms, recurrence, the
//! attributed actions and maintenance windows.

use chrono::{DateTime, Duration, Utc};

use super::hospital_tests::{assert_chain_intact, audit_kinds, cef, icu, id, import, open, pump, t};
use super::*;
use crate::audit::kind;
use crate::hospital::{CriticalityTier, UseState};
use crate::incident::{Action, ActionError, Outcome, Priority, State, SubjectKind};
use crate::normalize::{self, Receipt};

/// A CEF alert from product `product` of vendor `vendor`.
fn from(
    vendor: &str,
    product: &str,
    src: &str,
    dst: &str,
    name: &str,
    severity: u8,
    at: DateTime<Utc>,
) -> Ingested {
    let receipt =
        Receipt { received_at: at, source_addr: None, listener: Some("tcp://127.0.0.1:5514".into()) };
    let raw = format!("CEF:0|{vendor}|{product}|1|100|{name}|{severity}|src={src} dst={dst}");
    match normalize::decode_auto(raw.as_bytes(), &receipt).map(normalize::AutoDecoded::into_alert) {
        Ok(Some(a)) => Ingested::Alert(a),
        other => panic!("fixture does not decode to an alert: {other:?}"),
    }
}

fn all(store: &Store, at: DateTime<Utc>) -> Result<Vec<Incident>, StoreError> {
    store.incidents(&IncidentFilter::default(), at, &ViewRules::default())
}

fn only(store: &Store, at: DateTime<Utc>) -> Result<Incident, StoreError> {
    let mut list = all(store, at)?;
    assert_eq!(list.len(), 1, "{:#?}", list.iter().map(|i| &i.record.key).collect::<Vec<_>>());
    Ok(list.remove(0))
}

fn in_use(store: &mut Store, device: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    store.set_clinical_use(&id(device), UseState::InUse, "nurse.a", "infusion running", at).map(|_| ())
}

#[test]
fn the_ids_and_the_iomt_platform_reporting_one_scan_make_one_incident_with_both_sources(
) -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[pump("P1", "10.1.0.5", "0011223344556677")], t(0))?;
    store.append(&mut [
        from("OISF", "Suricata", "203.0.113.9", "10.1.0.5", "ET SCAN Vulnerability scanner probe", 5, t(1)),
        from(
            "Medigate",
            "IoMT Platform",
            "203.0.113.9",
            "10.1.0.5",
            "Network scan against medical devices",
            6,
            t(2),
        ),
        from("OISF", "Suricata", "203.0.113.9", "10.1.0.5", "ET SCAN Nmap SYN scan", 5, t(3)),
    ])?;
    let i = only(&store, t(4))?;
    assert_eq!(i.record.key, "device:P1/scan");
    assert_eq!((i.record.title.as_str(), i.record.count), ("Network scan", 3));
    assert_eq!(i.record.sources, ["Suricata", "IoMT Platform"]);
    assert_eq!((i.record.first_seen, i.record.last_seen), (t(1), t(3)));
    assert_eq!(i.record.severity.value(), 6, "the worst alert's");
    assert_eq!(i.ward.as_ref().map(|w| w.as_str()), Some("icu"));
    assert_eq!(store.incident_alerts(i.record.id, 10)?.len(), 3);
    assert!(i.assessed.reasons.iter().any(|r| r.factor == "confidence"), "{:?}", i.assessed.reasons);
    Ok(())
}

#[test]
fn alerts_about_no_known_device_fold_by_source_address() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    store.append(&mut [
        cef("203.0.113.9", "198.51.100.7", "ET MALWARE CnC Beacon", 8, t(1)),
        cef("203.0.113.9", "198.51.100.8", "ET MALWARE CnC Beacon", 8, t(2)),
        cef("203.0.113.10", "198.51.100.8", "ET MALWARE CnC Beacon", 8, t(3)),
    ])?;
    let keys: Vec<(String, u64)> =
        all(&store, t(4))?.into_iter().map(|i| (i.record.key, i.record.count)).collect();
    assert_eq!(
        keys,
        [("address:203.0.113.10/c2-beacon".to_owned(), 1), ("address:203.0.113.9/c2-beacon".to_owned(), 2)]
    );
    Ok(())
}

#[test]
fn a_flooding_source_becomes_one_storm_incident_and_every_alert_is_audited() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    let start = t(10);
    let mut batch: Vec<Ingested> = (0..2000)
        .map(|n| {
            let dst = format!("198.51.100.{}", n % 250);
            cef(
                "203.0.113.66",
                &dst,
                &format!("ET SCAN probe {}", n % 7),
                5,
                start + Duration::milliseconds(n * 5),
            )
        })
        .collect();
    store.append(&mut batch)?;
    let list = all(&store, t(30))?;
    assert!(
        list.len() <= 8,
        "a short list: {:?}",
        list.iter().map(|i| (&i.record.key, i.record.count)).collect::<Vec<_>>()
    );
    let storm = list.iter().find(|i| i.record.storm).unwrap_or_else(|| panic!("no storm incident"));
    assert_eq!(storm.record.key, "address:203.0.113.66/storm");
    assert_eq!(storm.record.title, "Alert storm from 203.0.113.66");
    assert_eq!(list.iter().map(|i| i.record.count).sum::<u64>(), 2000, "every alert counted once");
    assert!(storm.record.count >= 1970, "{}", storm.record.count);
    let received = audit_kinds(&store)?.iter().filter(|k| *k == kind::ALERT_RECEIVED).count();
    assert_eq!(received, 2000);
    assert_chain_intact(&store)?;
    Ok(())
}

#[test]
fn one_condition_from_many_sources_is_a_signature_storm() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    let mut batch: Vec<Ingested> = (0..400)
        .map(|n| {
            let src = format!("203.0.{}.{}", n / 200, n % 200);
            cef(&src, "198.51.100.1", "ET MALWARE CnC Beacon", 8, t(10) + Duration::milliseconds(n * 10))
        })
        .collect();
    store.append(&mut batch)?;
    let list = all(&store, t(20))?;
    let storm = list.iter().find(|i| i.record.storm).unwrap_or_else(|| panic!("no storm incident"));
    assert_eq!(
        (storm.record.subject_kind, storm.record.key.as_str()),
        (SubjectKind::Signature, "signature:c2-beacon/storm")
    );
    assert_eq!(storm.record.count, 400 - 200, "the first 200 fold by address, the rest into the storm");
    assert_eq!(list.len(), 201);
    Ok(())
}

#[test]
fn an_in_use_life_critical_pump_under_attack_is_high_with_its_reasons() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    let mut p = pump("P1", "10.1.0.5", "0011223344556677");
    p.criticality.tier = CriticalityTier::LifeSustaining;
    p.vulnerabilities =
        vec![crate::hospital::Vulnerability { cve: "CVE-2020-25165".into(), known_exploited: true }];
    import(&mut store, &[p, pump("P2", "10.1.0.6", "0011223344556688")], t(0))?;
    in_use(&mut store, "P1", t(1))?;
    store.append(&mut [
        cef("203.0.113.9", "10.1.0.6", "ET SCAN Vulnerability scanner probe", 3, t(2)),
        cef("203.0.113.9", "10.1.0.5", "ET EXPLOIT Alaris PCU session hijack", 9, t(3)),
    ])?;
    let list = all(&store, t(4))?;
    assert_eq!(
        list.iter().map(|i| i.record.key.as_str()).collect::<Vec<_>>(),
        ["device:P1/exploit", "device:P2/scan"]
    );
    let high = &list[0];
    assert_eq!(high.assessed.priority, Priority::High);
    let factors: Vec<&str> = high.assessed.reasons.iter().map(|r| r.factor).collect();
    assert_eq!(factors, ["severity", "criticality", "clinical_use", "confidence", "score"]);
    let text = high.assessed.reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("; ");
    assert!(text.contains("life-sustaining") && text.contains("CVE-2020-25165"), "{text}");
    assert!(list[1].assessed.priority < Priority::High);
    let filter = IncidentFilter { priority: Some(Priority::High), ..IncidentFilter::default() };
    assert_eq!(store.incidents(&filter, t(4), &ViewRules::default())?.len(), 1);
    Ok(())
}

#[test]
fn people_acknowledge_mute_and_resolve_with_attribution_and_a_recurrence_reopens() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[pump("P1", "10.1.0.5", "0011223344556677")], t(0))?;
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "ET EXPLOIT probe", 8, t(1))])?;
    let i = only(&store, t(2))?.record;

    let r = store.act_on_incident(i.id, &Action::Acknowledge, "sec.officer", t(3))?;
    assert_eq!((r.state, r.owner.as_deref()), (State::Acknowledged, Some("sec.officer")));
    assert!(matches!(
        store.act_on_incident(i.id, &Action::Acknowledge, "sec.officer", t(4)),
        Err(StoreError::Incident(ActionError::WrongState { .. }))
    ));
    let no_reason = Action::Mute { until: t(3600), reason: " ".into() };
    assert!(matches!(
        store.act_on_incident(i.id, &no_reason, "sec.officer", t(4)),
        Err(StoreError::Incident(ActionError::Missing("reason")))
    ));
    let forever = Action::Mute { until: t(8 * 86_400), reason: "noisy".into() };
    assert!(matches!(
        store.act_on_incident(i.id, &forever, "sec.officer", t(4)),
        Err(StoreError::Incident(ActionError::MuteTooLong))
    ));
    let mute = Action::Mute { until: t(3600), reason: "vendor patching tonight".into() };
    let r = store.act_on_incident(i.id, &mute, "sec.officer", t(5))?;
    assert!(r.muted_at(t(6)) && !r.muted_at(t(3601)));
    assert_eq!(
        r.mute.as_ref().map(|m| (m.reason.as_str(), m.by.as_str())),
        Some(("vendor patching tonight", "sec.officer"))
    );
    let r = store.act_on_incident(i.id, &Action::Silence { minutes: 5 }, "nurse.a", t(6))?;
    assert_eq!(r.silenced_until, Some(t(306)));
    store.act_on_incident(i.id, &Action::Comment { text: "biomed informed".into() }, "sec.officer", t(7))?;
    let resolve = Action::Resolve { outcome: Outcome::FalsePositive, reason: "our own scanner".into() };
    let r = store.act_on_incident(i.id, &resolve, "sec.officer", t(8))?;
    assert_eq!((r.state, r.outcome), (State::Resolved, Some(Outcome::FalsePositive)));
    assert!(store
        .incidents(&IncidentFilter { open_only: true, ..Default::default() }, t(9), &ViewRules::default())?
        .is_empty());

    // It comes back: the same incident, reopened, nobody owns it.
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "ET EXPLOIT probe", 8, t(10))])?;
    let r = only(&store, t(11))?.record;
    assert_eq!(
        (r.id, r.state, r.owner, r.outcome, r.reopened, r.count),
        (i.id, State::Open, None, None, 1, 2)
    );

    let history: Vec<(String, String)> =
        store.incident_history(i.id)?.into_iter().map(|e| (e.actor, e.action)).collect();
    let expected = [
        ("console", "opened"),
        ("sec.officer", "acknowledged"),
        ("sec.officer", "muted"),
        ("nurse.a", "silenced"),
        ("sec.officer", "commented"),
        ("sec.officer", "resolved"),
        ("console", "recurred"),
    ];
    assert_eq!(history, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let kinds = audit_kinds(&store)?;
    for k in [
        "incident.acknowledged",
        "incident.muted",
        "incident.silenced",
        "incident.commented",
        "incident.resolved",
        kind::INCIDENT_RECURRED,
    ] {
        assert_eq!(kinds.iter().filter(|x| *x == k).count(), 1, "{k} in {kinds:?}");
    }
    assert_chain_intact(&store)?;
    Ok(())
}

#[test]
fn a_maintenance_window_marks_a_wards_incidents_until_it_ends() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[pump("P1", "10.1.0.5", "0011223344556677")], t(0))?;
    store.append(&mut [cef("203.0.113.9", "10.1.0.5", "ET EXPLOIT probe", 8, t(1))])?;
    let refuse = |r: Result<MaintenanceWindow, StoreError>| match r {
        Err(e) => e.code(),
        Ok(w) => panic!("accepted {w:?}"),
    };
    let ward = MaintenanceScope::Ward;
    assert_eq!(
        refuse(store.add_maintenance(ward, "icu", t(0), t(3600), "", "biomed", t(2))),
        "incident.reason_required"
    );
    assert_eq!(
        refuse(store.add_maintenance(ward, "icu", t(0), t(8 * 86_400), "fw", "biomed", t(2))),
        "maintenance.window"
    );
    assert_eq!(
        refuse(store.add_maintenance(ward, "icu", t(0), t(1), "fw", "biomed", t(2))),
        "maintenance.window"
    );
    assert_eq!(
        refuse(store.add_maintenance(ward, "nowhere", t(0), t(60), "fw", "biomed", t(2))),
        "hospital.unknown_ward"
    );
    let dev = MaintenanceScope::Device;
    assert_eq!(
        refuse(store.add_maintenance(dev, "nope", t(0), t(60), "fw", "biomed", t(2))),
        "hospital.unknown_device"
    );

    let w = store.add_maintenance(ward, "icu", t(0), t(3600), "pump firmware update", "biomed", t(2))?;
    assert_eq!(only(&store, t(3))?.maintenance.map(|m| m.id), Some(w.id));
    assert!(only(&store, t(3601))?.maintenance.is_none(), "over at its end");
    let ended = store.end_maintenance(w.id, "finished early", "biomed", t(100))?;
    assert_eq!(ended.ended_at, Some(t(100)));
    assert!(only(&store, t(101))?.maintenance.is_none());
    assert!(store.maintenance_windows(t(101), false)?.is_empty());
    assert_eq!(store.maintenance_windows(t(101), true)?.len(), 1);
    let kinds = audit_kinds(&store)?;
    assert!(
        kinds.contains(&kind::MAINTENANCE_SET.to_owned())
            && kinds.contains(&kind::MAINTENANCE_ENDED.to_owned())
    );
    Ok(())
}

#[test]
fn a_staged_devices_incidents_merge_into_the_device_that_adopts_it() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[pump("P1", "10.1.0.5", "0011223344556677")], t(0))?;
    // 10.1.0.9 is nobody: staged, with its own scan incident.
    store.append(&mut [
        cef("203.0.113.9", "10.1.0.9", "ET SCAN probe", 5, t(1)),
        cef("203.0.113.9", "10.1.0.5", "ET SCAN probe", 5, t(2)),
    ])?;
    assert_eq!(all(&store, t(3))?.len(), 2);
    // The inventory now says P1 also has 10.1.0.9: the staged device is adopted.
    let mut p = pump("P1", "10.1.0.5", "0011223344556677");
    p.identities.push(
        crate::hospital::Identity::new(crate::hospital::IdentityKind::Ip, "10.1.0.9")
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let adopted = [(id("seen-ip-10.1.0.9"), id("P1"))];
    store.apply_import(&[icu()], &[p], &adopted, "tester", &serde_json::json!({"file": "b.csv"}), t(4))?;
    let i = only(&store, t(5))?;
    assert_eq!((i.record.key.as_str(), i.record.count, i.record.first_seen), ("device:P1/scan", 2, t(1)));
    assert_eq!(store.incident_alerts(i.record.id, 10)?.len(), 2);
    Ok(())
}

#[test]
fn changed_incidents_are_handed_to_the_console_once() -> Result<(), StoreError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    store.append(&mut [cef("203.0.113.9", "198.51.100.7", "ET SCAN probe", 5, t(1))])?;
    let touched = store.take_touched_incidents();
    assert_eq!(touched.len(), 1);
    assert!(store.take_touched_incidents().is_empty());
    store.set_notices(&[(
        touched[0],
        crate::notify::Decision {
            kind: crate::notify::DecisionKind::Suppressed,
            at: t(2),
            text: "suppressed: below high priority".into(),
        },
    )])?;
    assert_eq!(
        only(&store, t(3))?.record.notice.map(|n| n.text),
        Some("suppressed: below high priority".into())
    );
    Ok(())
}
