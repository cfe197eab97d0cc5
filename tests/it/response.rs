//! Care-safe response: the scenario table (`tests/fixtures/response/
//! scenarios.csv`: device kind × criticality × clinical use × threat ×
//! action, with the grade and gate each must get and why, in clinical
//! terms), checked through the library and through `wardwatch response
//! grade`.

use chrono::Duration;
use wardwatch::hospital::{CriticalityTier, DeviceKind, UseState};
use wardwatch::response::{grade, plan, Catalogue, Subject, Usage};

use crate::support::wardwatch;

const TABLE: &str = include_str!("../fixtures/response/scenarios.csv");

#[derive(Debug, serde::Deserialize)]
struct Case {
    kind: String,
    tier: String,
    #[serde(rename = "use")]
    usage: String,
    threat: String,
    action: String,
    grade: String,
    gate: String,
    why: String,
}

fn cases() -> Vec<Case> {
    let mut r = csv::Reader::from_reader(TABLE.as_bytes());
    r.deserialize().collect::<Result<_, _>>().unwrap_or_else(|e| panic!("the scenario table: {e}"))
}

fn subject(c: &Case) -> Option<Subject> {
    if c.kind == "none" {
        return None;
    }
    let usage = match c.usage.as_str() {
        "in_use" => Usage::given(UseState::InUse),
        "idle" => Usage::given(UseState::Idle),
        "maintenance" => Usage::given(UseState::Maintenance),
        "unknown" => Usage { state: UseState::Unknown, age: None, evidence: None },
        "idle_stale" => Usage { state: UseState::Idle, age: Some(Duration::hours(3)), evidence: None },
        other => panic!("use {other:?} is not one the table knows"),
    };
    Some(Subject {
        kind: DeviceKind::parse(&c.kind).unwrap_or_else(|| panic!("kind {:?}", c.kind)),
        tier: CriticalityTier::parse(&c.tier).unwrap_or_else(|| panic!("tier {:?}", c.tier)),
        usage,
    })
}

#[test]
fn the_scenario_table_covers_every_action_kind_tier_and_use() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let catalogue = Catalogue::shipped();
    for a in &catalogue.actions {
        assert!(cases.iter().any(|c| c.action == a.id.as_str()), "no case for {}", a.id);
    }
    for t in CriticalityTier::ALL {
        assert!(cases.iter().any(|c| c.tier == t.as_str()), "no case for {}", t.as_str());
    }
    for u in ["in_use", "idle", "idle_stale", "maintenance", "unknown"] {
        assert!(cases.iter().any(|c| c.usage == u), "no case for {u}");
    }
    for g in ["safe_now", "coordinate", "clinician_signoff", "not_while_in_use", "not_offered"] {
        assert!(cases.iter().any(|c| c.grade == g), "no case graded {g}");
    }
    assert!(cases.iter().all(|c| !c.why.trim().is_empty()), "every case says why");
}

#[test]
fn every_scenario_gets_its_grade_and_gate_with_reasons() {
    let catalogue = Catalogue::shipped();
    let mut wrong = Vec::new();
    for c in cases() {
        let s = subject(&c);
        let playbook = plan(&catalogue, &c.threat, s.as_ref());
        let play = playbook.plays.iter().find(|p| p.graded.action.as_str() == c.action);
        let (got_grade, got_gate) = match play {
            Some(p) => {
                assert!(!p.graded.reasons.is_empty(), "{c:?}: no reasons");
                // The playbook grades as `grade` does.
                let spec = catalogue
                    .action(&c.action)
                    .unwrap_or_else(|| panic!("{} is not in the catalogue", c.action));
                assert_eq!(grade(&catalogue, spec, s.as_ref()), p.graded);
                (p.graded.grade.as_str(), p.graded.gate.as_str())
            }
            None => {
                assert!(playbook.not_offered.iter().any(|n| n.action.as_str() == c.action), "{c:?}");
                ("not_offered", "")
            }
        };
        if (got_grade, got_gate) != (c.grade.as_str(), c.gate.as_str()) {
            wrong.push(format!(
                "{} {} {} {} {}: expected {}/{}, got {got_grade}/{got_gate} ({})",
                c.kind, c.tier, c.usage, c.threat, c.action, c.grade, c.gate, c.why
            ));
        }
    }
    assert!(wrong.is_empty(), "{} scenarios graded wrongly:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn the_what_if_cli_grades_each_scenario_as_the_library_does() {
    for c in cases() {
        let in_use = match c.usage.as_str() {
            "in_use" => "yes",
            "idle" => "no",
            "unknown" => "unknown",
            _ => continue,
        };
        if c.kind == "none" {
            continue;
        }
        let out = wardwatch()
            .args(["response", "grade", "--device-kind", &c.kind, "--criticality", &c.tier])
            .args(["--in-use", in_use, "--action", &c.action, "--json"])
            .output()
            .unwrap_or_else(|e| panic!("wardwatch: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(v["action"], c.action.as_str(), "{stdout}");
        assert_eq!(v["grade"], c.grade.as_str(), "{c:?}: {stdout}");
        assert_eq!(v["gate"], c.gate.as_str(), "{c:?}: {stdout}");
        assert!(v["reasons"].as_array().is_some_and(|r| !r.is_empty()), "{stdout}");
    }
}

#[test]
fn the_what_if_cli_speaks_plainly_and_refuses_what_it_does_not_know() {
    let out = wardwatch()
        .args(["response", "grade", "--device-kind", "ventilator", "--criticality", "life_sustaining"])
        .args(["--in-use", "yes", "--action", "reboot"])
        .output()
        .unwrap_or_else(|e| panic!("wardwatch: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("⛔ Not while in use"), "{text}");
    assert!(
        text.contains("It would stop a life-sustaining ventilator while a patient depends on it."),
        "{text}"
    );
    assert!(text.contains("Gate: blocked until the device is taken out of use"), "{text}");

    for (flag, value, says) in [
        ("--device-kind", "toaster", "toaster"),
        ("--criticality", "vital", "vital"),
        ("--in-use", "maybe", "maybe"),
        ("--action", "unplug", "unplug"),
    ] {
        let mut args = vec![
            "response",
            "grade",
            "--device-kind",
            "ventilator",
            "--criticality",
            "life_sustaining",
            "--in-use",
            "yes",
            "--action",
            "reboot",
        ];
        let at = args.iter().position(|a| *a == flag).unwrap_or_else(|| panic!("{flag}")) + 1;
        args[at] = value;
        let out = wardwatch().args(&args).output().unwrap_or_else(|e| panic!("wardwatch: {e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {value} was accepted");
        assert!(err.contains(says), "{err}");
    }
}
