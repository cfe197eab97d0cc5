use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

/// 2025-03-01 at `h:m:s` UTC: the virtual clock.
fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(2025, 3, 1, h, m, s) {
        chrono::LocalResult::Single(t) => t,
        _ => panic!("bad test time {h}:{m}:{s}"),
    }
}

fn title(id: i64) -> String {
    format!("Exploit attempt on Infusion pump B-{id}")
}

fn detail(id: i64) -> String {
    format!("Exploit traffic to the pump's service port (rule {id})")
}

/// A high-priority open incident in the ICU.
fn icu(id: i64) -> Candidate {
    Candidate {
        incident_id: id,
        ward: Some(WardId("icu".into())),
        ward_name: Some("ICU".into()),
        priority: Priority::High,
        title: title(id),
        detail: detail(id),
        acknowledged: false,
        resolved: false,
        muted: false,
        in_maintenance: false,
    }
}

fn in_ward(id: i64, ward: Option<&str>, name: Option<&str>) -> Candidate {
    Candidate { ward: ward.map(|w| WardId(w.into())), ward_name: name.map(str::to_owned), ..icu(id) }
}

fn with(c: &Candidate, f: impl FnOnce(&mut Candidate)) -> Candidate {
    let mut c = c.clone();
    f(&mut c);
    c
}

fn policy() -> Policy {
    Policy::new(PolicyConfig::default())
}

/// Asserts the decision's kind and text, and that it was made `at`.
fn check(e: &Evaluation, kind: DecisionKind, at: DateTime<Utc>, text: &str) {
    assert_eq!(e.decision, Decision { kind, at, text: text.into() });
    match kind {
        DecisionKind::Notified => assert!(e.notification.is_some(), "{text}: no notification"),
        _ => assert_eq!(e.notification, None, "{text}: a notification"),
    }
}

fn incident(id: i64, role: &str) -> Notification {
    Notification {
        kind: NotificationKind::Incident,
        incident_id: Some(id),
        ward: Some(WardId("icu".into())),
        summary: title(id),
        body: detail(id),
        priority: Priority::High,
        role: Some(role.into()),
    }
}

#[test]
fn defaults_are_the_hospital_defaults() {
    let c = PolicyConfig::default();
    assert_eq!(c.min_priority, Priority::High);
    assert_eq!(c.ward_interval, Duration::minutes(1));
    assert_eq!(c.escalate_after, Duration::minutes(10));
    assert_eq!(c.roles, ["security officer", "charge nurse", "clinical engineering on call"]);
    assert_eq!(c.max_tracked, 10_000);
}

#[test]
fn a_new_high_incident_notifies_the_first_role() {
    let mut p = policy();
    let e = p.evaluate(&icu(1), t(10, 2, 0));
    check(&e, DecisionKind::Notified, t(10, 2, 0), "notified at 10:02 to security officer");
    assert_eq!(e.notification, Some(incident(1, "security officer")));
}

#[test]
fn only_high_notifies_by_default() {
    let mut p = policy();
    for (id, priority) in [(1, Priority::Medium), (2, Priority::Low)] {
        let e = p.evaluate(&with(&icu(id), |c| c.priority = priority), t(10, 0, 0));
        check(&e, DecisionKind::Suppressed, t(10, 0, 0), "suppressed: below high priority");
    }
    assert_eq!(p.tracked(), 0);
}

#[test]
fn min_priority_medium_notifies_medium_and_again_when_it_rises_to_high() {
    let mut p = Policy::new(PolicyConfig { min_priority: Priority::Medium, ..Default::default() });
    let low = with(&icu(1), |c| c.priority = Priority::Low);
    check(
        &p.evaluate(&low, t(10, 0, 0)),
        DecisionKind::Suppressed,
        t(10, 0, 0),
        "suppressed: below medium priority",
    );
    let medium = with(&icu(1), |c| c.priority = Priority::Medium);
    let e = p.evaluate(&medium, t(10, 1, 0));
    check(&e, DecisionKind::Notified, t(10, 1, 0), "notified at 10:01 to security officer");
    assert_eq!(
        e.notification,
        Some(Notification { priority: Priority::Medium, ..incident(1, "security officer") })
    );
    // The same again: no repeat.
    let e = p.evaluate(&medium, t(10, 3, 0));
    check(&e, DecisionKind::Suppressed, t(10, 3, 0), "suppressed: already notified at 10:01");
    // A re-evaluation with a higher priority escalates.
    let e = p.evaluate(&icu(1), t(10, 5, 0));
    check(
        &e,
        DecisionKind::Notified,
        t(10, 5, 0),
        "notified at 10:05 to security officer: priority rose to high",
    );
    assert_eq!(
        e.notification,
        Some(Notification {
            kind: NotificationKind::Escalation,
            body: format!("Priority rose to high. {}", detail(1)),
            ..incident(1, "security officer")
        })
    );
    // Down and up again: high was already sent.
    check(
        &p.evaluate(&medium, t(10, 7, 0)),
        DecisionKind::Suppressed,
        t(10, 7, 0),
        "suppressed: already notified at 10:05",
    );
    check(
        &p.evaluate(&icu(1), t(10, 8, 0)),
        DecisionKind::Suppressed,
        t(10, 8, 0),
        "suppressed: already notified at 10:05",
    );
}

#[test]
fn a_medium_incident_that_becomes_high_is_a_first_notification() {
    let mut p = policy();
    let medium = with(&icu(1), |c| c.priority = Priority::Medium);
    check(
        &p.evaluate(&medium, t(10, 0, 0)),
        DecisionKind::Suppressed,
        t(10, 0, 0),
        "suppressed: below high priority",
    );
    let e = p.evaluate(&icu(1), t(10, 4, 0));
    check(&e, DecisionKind::Notified, t(10, 4, 0), "notified at 10:04 to security officer");
    assert_eq!(e.notification, Some(incident(1, "security officer")));
}

#[test]
fn one_notification_per_ward_per_minute_then_a_summary() {
    let mut p = policy();
    check(
        &p.evaluate(&icu(1), t(10, 2, 0)),
        DecisionKind::Notified,
        t(10, 2, 0),
        "notified at 10:02 to security officer",
    );
    for (id, s) in [(2, 10), (3, 20), (4, 30)] {
        let e = p.evaluate(&icu(id), t(10, 2, s));
        check(&e, DecisionKind::Summarised, t(10, 2, s), "summarised at 10:02: ward rate limit");
    }
    // Another ward is not held back by the ICU.
    let ed = in_ward(5, Some("ed"), Some("Emergency"));
    let e = p.evaluate(&ed, t(10, 2, 40));
    check(&e, DecisionKind::Notified, t(10, 2, 40), "notified at 10:02 to security officer");
    // A held incident evaluated again is not counted twice.
    check(
        &p.evaluate(&icu(3), t(10, 2, 50)),
        DecisionKind::Summarised,
        t(10, 2, 50),
        "summarised at 10:02: ward rate limit",
    );

    assert_eq!(p.tick(t(10, 2, 59)), []);
    let due = p.tick(t(10, 3, 0));
    assert_eq!(due.len(), 1, "{due:?}");
    let (id, e) = &due[0];
    assert_eq!(*id, None);
    check(e, DecisionKind::Notified, t(10, 3, 0), "notified at 10:03 to security officer: 3 more in ICU");
    assert_eq!(
        e.notification,
        Some(Notification {
            kind: NotificationKind::Summary,
            incident_id: None,
            ward: Some(WardId("icu".into())),
            summary: "3 more in ICU".into(),
            body: [title(2), title(3), title(4)].join("\n"),
            priority: Priority::High,
            role: Some("security officer".into()),
        })
    );
    // Once summarised, not again.
    check(
        &p.evaluate(&icu(3), t(10, 3, 10)),
        DecisionKind::Suppressed,
        t(10, 3, 10),
        "suppressed: already summarised at 10:02",
    );
    // The summary was the ICU's notification for this minute.
    check(
        &p.evaluate(&icu(6), t(10, 3, 30)),
        DecisionKind::Summarised,
        t(10, 3, 30),
        "summarised at 10:03: ward rate limit",
    );
    let due = p.tick(t(10, 4, 0));
    assert_eq!(due.len(), 1);
    check(
        &due[0].1,
        DecisionKind::Notified,
        t(10, 4, 0),
        "notified at 10:04 to security officer: 1 more in ICU",
    );
    assert_eq!(due[0].1.notification.as_ref().map(|n| n.body.clone()), Some(title(6)));
    // A quiet minute later the ward is free again.
    assert_eq!(p.tick(t(10, 5, 0)), []);
    check(
        &p.evaluate(&icu(7), t(10, 5, 10)),
        DecisionKind::Notified,
        t(10, 5, 10),
        "notified at 10:05 to security officer",
    );
}

#[test]
fn a_summary_lists_three_titles_and_counts_the_rest() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    for id in 2..=6 {
        p.evaluate(&icu(id), t(10, 0, 30));
    }
    let due = p.tick(t(10, 1, 0));
    let n = due.first().and_then(|(_, e)| e.notification.clone());
    assert_eq!(n.as_ref().map(|n| n.summary.as_str()), Some("5 more in ICU"));
    assert_eq!(n.map(|n| n.body), Some(format!("{}\n{}\n{}\nand 2 more", title(2), title(3), title(4))));
}

#[test]
fn incidents_without_a_ward_group_together() {
    let mut p = policy();
    let none = |id| in_ward(id, None, None);
    check(
        &p.evaluate(&none(1), t(10, 0, 0)),
        DecisionKind::Notified,
        t(10, 0, 0),
        "notified at 10:00 to security officer",
    );
    for id in 2..=4 {
        check(
            &p.evaluate(&none(id), t(10, 0, 5)),
            DecisionKind::Summarised,
            t(10, 0, 5),
            "summarised at 10:00: ward rate limit",
        );
    }
    // A ward known only by its id.
    p.evaluate(&in_ward(5, Some("onc-4"), None), t(10, 0, 0));
    p.evaluate(&in_ward(6, Some("onc-4"), None), t(10, 0, 1));
    let due = p.tick(t(10, 1, 0));
    let summaries: Vec<(Option<WardId>, String, String)> = due
        .iter()
        .filter_map(|(_, e)| e.notification.as_ref())
        .map(|n| (n.ward.clone(), n.summary.clone(), n.body.clone()))
        .collect();
    assert_eq!(
        summaries,
        [
            (None, "3 more outside any ward".into(), [title(2), title(3), title(4)].join("\n")),
            (Some(WardId("onc-4".into())), "1 more in onc-4".into(), title(6)),
        ]
    );
}

#[test]
fn unacknowledged_incidents_escalate_through_the_roles_and_stop_at_the_end() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    assert_eq!(p.tick(t(10, 9, 59)), []);
    let due = p.tick(t(10, 10, 0));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, Some(1));
    check(
        &due[0].1,
        DecisionKind::Notified,
        t(10, 10, 0),
        "notified at 10:10 to charge nurse: unacknowledged for 10 min",
    );
    assert_eq!(
        due[0].1.notification,
        Some(Notification {
            kind: NotificationKind::Escalation,
            body: format!("Unacknowledged for 10 min. {}", detail(1)),
            ..incident(1, "charge nurse")
        })
    );
    assert_eq!(p.tick(t(10, 15, 0)), []);
    let due = p.tick(t(10, 20, 0));
    assert_eq!(due.len(), 1);
    check(
        &due[0].1,
        DecisionKind::Notified,
        t(10, 20, 0),
        "notified at 10:20 to clinical engineering on call: unacknowledged for 20 min",
    );
    assert_eq!(
        due[0].1.notification.as_ref().and_then(|n| n.role.clone()),
        Some("clinical engineering on call".into())
    );
    // The end of the list: nothing more, ever.
    assert_eq!(p.tick(t(10, 30, 0)), []);
    assert_eq!(p.tick(t(12, 0, 0)), []);
    // And a re-evaluation is no repeat.
    check(
        &p.evaluate(&icu(1), t(12, 1, 0)),
        DecisionKind::Suppressed,
        t(12, 1, 0),
        "suppressed: already notified at 10:20",
    );
}

#[test]
fn escalate_after_is_configurable() {
    let mut p = Policy::new(PolicyConfig { escalate_after: Duration::minutes(3), ..Default::default() });
    p.evaluate(&icu(1), t(10, 0, 0));
    assert_eq!(p.tick(t(10, 2, 59)), []);
    let due = p.tick(t(10, 3, 0));
    check(
        &due[0].1,
        DecisionKind::Notified,
        t(10, 3, 0),
        "notified at 10:03 to charge nurse: unacknowledged for 3 min",
    );
}

#[test]
fn acknowledged_incidents_are_quiet_and_forgotten() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    let acked = with(&icu(1), |c| c.acknowledged = true);
    check(
        &p.evaluate(&acked, t(10, 5, 0)),
        DecisionKind::Suppressed,
        t(10, 5, 0),
        "suppressed: acknowledged",
    );
    assert_eq!(p.tracked(), 0);
    assert_eq!(p.tick(t(10, 10, 0)), []);
    assert_eq!(p.tick(t(11, 0, 0)), []);
    // New alerts on it while acknowledged: still quiet.
    check(
        &p.evaluate(&acked, t(11, 1, 0)),
        DecisionKind::Suppressed,
        t(11, 1, 0),
        "suppressed: acknowledged",
    );
}

#[test]
fn resolved_incidents_are_quiet_and_forgotten() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    let resolved = with(&icu(1), |c| c.resolved = true);
    check(&p.evaluate(&resolved, t(10, 1, 0)), DecisionKind::Suppressed, t(10, 1, 0), "suppressed: resolved");
    assert_eq!(p.tracked(), 0);
    assert_eq!(p.tick(t(10, 20, 0)), []);
}

#[test]
fn muted_incidents_are_quiet_and_do_not_escalate_until_the_mute_ends() {
    let mut p = policy();
    let muted = with(&icu(1), |c| c.muted = true);
    // Muted from the start: nothing, nothing remembered.
    check(&p.evaluate(&muted, t(9, 0, 0)), DecisionKind::Suppressed, t(9, 0, 0), "suppressed: muted");
    assert_eq!(p.tracked(), 0);

    p.evaluate(&icu(1), t(10, 0, 0));
    check(&p.evaluate(&muted, t(10, 1, 0)), DecisionKind::Suppressed, t(10, 1, 0), "suppressed: muted");
    assert_eq!(p.tick(t(10, 10, 0)), []);
    // The mute ends: no repeat, and the overdue escalation is due.
    check(
        &p.evaluate(&icu(1), t(10, 12, 0)),
        DecisionKind::Suppressed,
        t(10, 12, 0),
        "suppressed: already notified at 10:00",
    );
    let due = p.tick(t(10, 12, 5));
    assert_eq!(due.len(), 1);
    check(
        &due[0].1,
        DecisionKind::Notified,
        t(10, 12, 5),
        "notified at 10:12 to charge nurse: unacknowledged for 12 min",
    );
}

#[test]
fn incidents_in_a_maintenance_window_are_quiet() {
    let mut p = policy();
    let maint = with(&icu(1), |c| c.in_maintenance = true);
    check(
        &p.evaluate(&maint, t(10, 0, 0)),
        DecisionKind::Suppressed,
        t(10, 0, 0),
        "suppressed: in a maintenance window",
    );
    assert_eq!(p.tick(t(10, 30, 0)), []);
    // After the window: news, never sent before.
    check(
        &p.evaluate(&icu(1), t(11, 0, 0)),
        DecisionKind::Notified,
        t(11, 0, 0),
        "notified at 11:00 to security officer",
    );
}

#[test]
fn a_held_incident_that_goes_quiet_leaves_the_summary() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    p.evaluate(&icu(2), t(10, 0, 10));
    p.evaluate(&icu(3), t(10, 0, 20));
    p.evaluate(&icu(4), t(10, 0, 25));
    check(
        &p.evaluate(&with(&icu(3), |c| c.muted = true), t(10, 0, 30)),
        DecisionKind::Suppressed,
        t(10, 0, 30),
        "suppressed: muted",
    );
    check(
        &p.evaluate(&with(&icu(4), |c| c.acknowledged = true), t(10, 0, 40)),
        DecisionKind::Suppressed,
        t(10, 0, 40),
        "suppressed: acknowledged",
    );
    let due = p.tick(t(10, 1, 0));
    let n = due.first().and_then(|(_, e)| e.notification.clone());
    assert_eq!(n.as_ref().map(|n| (n.summary.as_str(), n.body.clone())), Some(("1 more in ICU", title(2))));
    // The mute ends after the summary: it was never shown, so it is news
    // (the ICU's minute is taken by the summary: held again).
    check(
        &p.evaluate(&icu(3), t(10, 1, 30)),
        DecisionKind::Summarised,
        t(10, 1, 30),
        "summarised at 10:01: ward rate limit",
    );
}

#[test]
fn an_escalation_in_a_busy_ward_is_summarised_for_the_next_role() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    check(
        &p.evaluate(&icu(2), t(10, 9, 30)),
        DecisionKind::Notified,
        t(10, 9, 30),
        "notified at 10:09 to security officer",
    );
    let due = p.tick(t(10, 10, 0));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, Some(1));
    check(
        &due[0].1,
        DecisionKind::Summarised,
        t(10, 10, 0),
        "summarised at 10:10: ward rate limit; escalated to charge nurse",
    );
    let due = p.tick(t(10, 10, 30));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, None);
    check(
        &due[0].1,
        DecisionKind::Notified,
        t(10, 10, 30),
        "notified at 10:10 to charge nurse: 1 more in ICU",
    );
    assert_eq!(due[0].1.notification.as_ref().map(|n| n.body.clone()), Some(title(1)));
}

#[test]
fn a_notified_incident_that_falls_below_the_minimum_does_not_escalate() {
    let mut p = policy();
    p.evaluate(&icu(1), t(10, 0, 0));
    let medium = with(&icu(1), |c| c.priority = Priority::Medium);
    check(
        &p.evaluate(&medium, t(10, 5, 0)),
        DecisionKind::Suppressed,
        t(10, 5, 0),
        "suppressed: below high priority",
    );
    assert_eq!(p.tick(t(10, 20, 0)), []);
    // High again: already sent at high.
    check(
        &p.evaluate(&icu(1), t(10, 21, 0)),
        DecisionKind::Suppressed,
        t(10, 21, 0),
        "suppressed: already notified at 10:00",
    );
}

#[test]
fn without_roles_notifications_go_to_nobody_in_particular_and_do_not_escalate() {
    let mut p = Policy::new(PolicyConfig { roles: vec![], ..Default::default() });
    let e = p.evaluate(&icu(1), t(10, 0, 0));
    check(&e, DecisionKind::Notified, t(10, 0, 0), "notified at 10:00");
    assert_eq!(e.notification.and_then(|n| n.role), None);
    p.evaluate(&icu(2), t(10, 0, 1));
    let due = p.tick(t(10, 1, 0));
    check(&due[0].1, DecisionKind::Notified, t(10, 1, 0), "notified at 10:01: 1 more in ICU");
    assert_eq!(p.tick(t(11, 0, 0)), []);
}

#[test]
fn no_ward_interval_means_no_rate_limit() {
    let mut p = Policy::new(PolicyConfig { ward_interval: Duration::zero(), ..Default::default() });
    for id in 1..=3 {
        check(
            &p.evaluate(&icu(id), t(10, 0, 0)),
            DecisionKind::Notified,
            t(10, 0, 0),
            "notified at 10:00 to security officer",
        );
    }
}

#[test]
fn memory_is_bounded_with_the_oldest_forgotten_first() {
    let mut p =
        Policy::new(PolicyConfig { max_tracked: 2, ward_interval: Duration::zero(), ..Default::default() });
    for id in 1..=3 {
        p.evaluate(&icu(id), t(10, 0, id as u32));
    }
    assert_eq!(p.tracked(), 2);
    // 1 was forgotten, so it is news again; 3 is remembered.
    check(
        &p.evaluate(&icu(3), t(10, 1, 0)),
        DecisionKind::Suppressed,
        t(10, 1, 0),
        "suppressed: already notified at 10:00",
    );
    check(
        &p.evaluate(&icu(1), t(10, 1, 0)),
        DecisionKind::Notified,
        t(10, 1, 0),
        "notified at 10:01 to security officer",
    );
    assert_eq!(p.tracked(), 2);

    let mut p = policy();
    for id in 0..20_000 {
        p.evaluate(&in_ward(id, Some(&format!("w{id}")), None), t(10, 0, 0));
    }
    assert_eq!(p.tracked(), DEFAULT_MAX_TRACKED);
}

#[test]
fn decisions_serialise_as_the_store_keeps_them() -> Result<(), serde_json::Error> {
    let d = Decision {
        kind: DecisionKind::Summarised,
        at: t(10, 3, 0),
        text: "summarised at 10:03: ward rate limit".into(),
    };
    let json = serde_json::to_string(&d)?;
    assert_eq!(
        json,
        r#"{"kind":"summarised","at":"2025-03-01T10:03:00Z","text":"summarised at 10:03: ward rate limit"}"#
    );
    assert_eq!(serde_json::from_str::<Decision>(&json)?, d);
    Ok(())
}

#[test]
fn spans_read_as_people_say_them() {
    for (d, text) in [
        (Duration::minutes(10), "10 min"),
        (Duration::seconds(90), "1 min"),
        (Duration::seconds(45), "45 s"),
        (Duration::minutes(60), "1 h"),
        (Duration::minutes(65), "1 h 5 min"),
        (Duration::seconds(-5), "0 s"),
    ] {
        assert_eq!(span(d), text);
    }
}
