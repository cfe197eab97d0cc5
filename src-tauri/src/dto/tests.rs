use std::path::PathBuf;

use serde_json::json;
use ts_rs::TS;
use wardwatch::model::Format;
use wardwatch::normalize::{self, Receipt};

use super::*;
use crate::error::IpcError;

fn bindings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings")
}

/// Compares the generated TypeScript of `T` with the committed file, or
/// rewrites the file when `UPDATE_BINDINGS=1` (`make bindings`).
fn check_binding<T: TS + 'static>(stale: &mut Vec<String>) {
    let generated = match T::export_to_string() {
        Ok(s) => s,
        Err(e) => panic!("ts-rs could not render {}: {e}", T::name()),
    };
    let path = bindings_dir().join(format!("{}.ts", T::name()));
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        if let Err(e) = std::fs::write(&path, &generated) {
            panic!("could not write {}: {e}", path.display());
        }
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        stale.push(T::name());
    }
}

#[test]
fn typescript_bindings_are_fresh() {
    let mut stale = Vec::new();
    check_binding::<AlertView>(&mut stale);
    check_binding::<SeverityLabel>(&mut stale);
    check_binding::<ParseMode>(&mut stale);
    check_binding::<RejectedView>(&mut stale);
    check_binding::<RawEncoding>(&mut stale);
    check_binding::<AlertStreamEvent>(&mut stale);
    check_binding::<ListenerView>(&mut stale);
    check_binding::<ListenerState>(&mut stale);
    check_binding::<ListenerCounters>(&mut stale);
    check_binding::<SourceView>(&mut stale);
    check_binding::<ReasonView>(&mut stale);
    check_binding::<ConsoleInfo>(&mut stale);
    check_binding::<IntegrityView>(&mut stale);
    check_binding::<StoreHealthView>(&mut stale);
    check_binding::<AuditView>(&mut stale);
    check_binding::<AuditCheckState>(&mut stale);
    check_binding::<DamageView>(&mut stale);
    check_binding::<IpcError>(&mut stale);
    check_binding::<GradeView>(&mut stale);
    check_binding::<GateView>(&mut stale);
    check_binding::<GradedView>(&mut stale);
    check_binding::<PlayView>(&mut stale);
    check_binding::<NotOfferedView>(&mut stale);
    check_binding::<PlaybookView>(&mut stale);
    check_binding::<RequestStateView>(&mut stale);
    check_binding::<SignView>(&mut stale);
    check_binding::<ChecklistItemView>(&mut stale);
    check_binding::<ResponseRequestView>(&mut stale);
    check_binding::<ResponseEventView>(&mut stale);
    check_binding::<ResponseDetailView>(&mut stale);
    check_binding::<ResponseStep>(&mut stale);
    check_binding::<HealthLevel>(&mut stale);
    check_binding::<UseStateView>(&mut stale);
    check_binding::<HealthCount>(&mut stale);
    check_binding::<IncidentView>(&mut stale);
    check_binding::<WardTile>(&mut stale);
    check_binding::<WardsOverview>(&mut stale);
    check_binding::<ClinicalUseView>(&mut stale);
    check_binding::<HealthReasonView>(&mut stale);
    check_binding::<IdentityView>(&mut stale);
    check_binding::<DeviceRow>(&mut stale);
    check_binding::<WardDetail>(&mut stale);
    check_binding::<VulnerabilityView>(&mut stale);
    check_binding::<FactorsView>(&mut stale);
    check_binding::<IdentityPeriodView>(&mut stale);
    check_binding::<DeviceDetail>(&mut stale);
    check_binding::<StagedQueue>(&mut stale);
    check_binding::<WardChoice>(&mut stale);
    check_binding::<ImportPreview>(&mut stale);
    check_binding::<RowOutcomeKind>(&mut stale);
    check_binding::<ImportRowView>(&mut stale);
    check_binding::<ImportCounts>(&mut stale);
    check_binding::<AdoptionView>(&mut stale);
    check_binding::<ImportResult>(&mut stale);
    check_binding::<Priority>(&mut stale);
    check_binding::<IncidentStateView>(&mut stale);
    check_binding::<SubjectKind>(&mut stale);
    check_binding::<Outcome>(&mut stale);
    check_binding::<MaintenanceScope>(&mut stale);
    check_binding::<PriorityReasonView>(&mut stale);
    check_binding::<NoticeKind>(&mut stale);
    check_binding::<NoticeView>(&mut stale);
    check_binding::<MuteView>(&mut stale);
    check_binding::<MaintenanceView>(&mut stale);
    check_binding::<IncidentRow>(&mut stale);
    check_binding::<IncidentCounts>(&mut stale);
    check_binding::<IncidentList>(&mut stale);
    check_binding::<IncidentFilter>(&mut stale);
    check_binding::<IncidentEventView>(&mut stale);
    check_binding::<IncidentDetail>(&mut stale);
    check_binding::<IncidentAction>(&mut stale);
    check_binding::<Role>(&mut stale);
    check_binding::<UserView>(&mut stale);
    check_binding::<SessionView>(&mut stale);
    assert!(
        stale.is_empty(),
        "stale TypeScript bindings for {stale:?}: run `make bindings` and commit ui/src/lib/bindings"
    );
}

fn stored_alert() -> wardwatch::model::Alert {
    let receipt = Receipt {
        received_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        source_addr: "127.0.0.1:40001".parse().ok(),
        listener: Some("tcp://127.0.0.1:5514".into()),
    };
    let raw = b"<9>1 2023-11-14T22:13:20Z gw sentinel - EXPLOIT - Exploit attempt on infusion pump";
    match normalize::decode(Format::Rfc5424, raw, &receipt) {
        Ok(mut a) => {
            a.id = Some(wardwatch::model::AlertId(42));
            a
        }
        Err(e) => panic!("fixture does not parse: {e}"),
    }
}

#[test]
fn stream_events_are_tagged_with_kind_and_data() {
    let event = AlertStreamEvent::Alert(AlertView::from(&stored_alert()));
    let v = serde_json::to_value(&event).unwrap_or_default();
    assert_eq!(v["kind"], "alert");
    assert_eq!(v["data"]["id"], 42);
    assert_eq!(v["data"]["severityLabel"], "critical");
    assert_eq!(v["data"]["severity"], 9);
    assert_eq!(v["data"]["name"], "Exploit attempt on infusion pump");
    assert_eq!(v["data"]["receivedAt"], "2023-11-14T22:13:20Z");
    assert_eq!(v["data"]["sourceAddr"], "127.0.0.1:40001");
    assert_eq!(
        serde_json::to_value(AlertStreamEvent::Lagged { missed: 7 }).ok(),
        Some(json!({"kind": "lagged", "data": {"missed": 7}}))
    );
}

#[test]
fn integrity_view_names_a_full_disk_and_the_first_damage() {
    let health = wardwatch::StoreHealth {
        ok: false,
        since: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        error: Some("disk full: database or disk is full".into()),
        pending: 12,
        stored: 3,
        batches: 1,
        largest_batch: 3,
    };
    let audit = wardwatch::audit::AuditStatus {
        state: wardwatch::audit::AuditState::Damaged,
        verified_from: 1,
        verified_through: 41,
        archived_through: 0,
        records: 41,
        checkpoints: 2,
        key_fingerprint: "ed25519:00112233445566778899aabbccddeeff".into(),
        damage: Some(wardwatch::audit::Damage {
            seq: 42,
            kind: wardwatch::audit::DamageKind::BadSignature,
            detail: "checkpoint at record 42: the signature does not verify".into(),
        }),
        error: None,
    };
    let v = serde_json::to_value(IntegrityView::from((&health, &audit))).unwrap_or_default();
    assert_eq!(
        v,
        json!({
            "store": {"writing": false, "since": "2023-11-14T22:13:20Z",
                      "error": "disk full: database or disk is full", "pending": 12, "stored": 3},
            "audit": {"state": "damaged", "verifiedFrom": 1, "verifiedThrough": 41, "archivedThrough": 0, "checkpoints": 2,
                      "keyFingerprint": "ed25519:00112233445566778899aabbccddeeff",
                      "damage": {"seq": 42, "kind": "bad signature",
                                 "detail": "checkpoint at record 42: the signature does not verify"},
                      "error": null}
        })
    );
}
