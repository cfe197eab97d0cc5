//! Accounts on a real SQLCipher store: making them, logging in, failing,
//! being locked out with a growing lock, PINs, and what the audit log says.

use std::collections::BTreeSet;

use super::hospital_tests::{audit_kinds, icu, import, open, t};
use super::*;
use crate::access::Role;
use crate::hospital::WardId;

const PASSWORD: &str = "lamp-harbour-cello-9";

fn roles(r: &[Role]) -> BTreeSet<Role> {
    r.iter().copied().collect()
}

fn bodies(store: &Store) -> Result<String, StoreError> {
    Ok(store.audit_records("", 1000)?.iter().map(|r| r.body.to_string()).collect::<Vec<_>>().join("\n"))
}

#[test]
fn an_admin_is_made_and_logs_in_and_no_secret_reaches_the_audit_log() -> Result<(), AuthError> {
    let (_dir, mut store) = open();
    assert!(!store.has_admin()?);
    let admin = store.add_person("ada", "Ada L.", &roles(&[Role::Admin]), &[], PASSWORD, "cli:root", t(0))?;
    assert_eq!(
        (admin.username.as_str(), admin.display_name.as_str(), admin.has_pin),
        ("ada", "Ada L.", false)
    );
    assert!(store.has_admin()?);
    let who = store.authenticate("ada", Proof::Password(PASSWORD), t(1))?;
    assert_eq!(who.last_full_login, Some(t(1)));
    assert!(matches!(
        store.authenticate("ada", Proof::Password("lamp-harbour-cello-8"), t(2)),
        Err(AuthError::Wrong)
    ));
    assert!(matches!(store.authenticate("nobody", Proof::Password(PASSWORD), t(3)), Err(AuthError::Wrong)));
    let kinds = audit_kinds(&store)?;
    for k in [kind::PERSON_ADDED, kind::LOGIN, kind::LOGIN_FAILED] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    let text = bodies(&store)?;
    assert!(!text.contains(PASSWORD) && !text.contains("cello"), "a secret in the audit log: {text}");
    let hash: String = store
        .connection()
        .query_row("SELECT password_hash FROM people WHERE username = 'ada'", [], |r| r.get(0))
        .map_err(|e| store.wrap(e))?;
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    Ok(())
}

#[test]
fn failures_lock_the_account_for_longer_each_time_and_the_lock_refuses_even_the_right_password(
) -> Result<(), AuthError> {
    let (_dir, mut store) = open();
    store.add_person("sam", "", &roles(&[Role::SecurityOfficer]), &[], PASSWORD, "cli:root", t(0))?;
    let wrong = |store: &mut Store, at| store.authenticate("sam", Proof::Password("guess-guess-guess"), at);
    for s in 1..=3 {
        assert!(matches!(wrong(&mut store, t(s)), Err(AuthError::Wrong)), "failure {s} costs nothing yet");
    }
    assert!(matches!(wrong(&mut store, t(4)), Err(AuthError::Locked(until)) if until == t(34)));
    assert!(matches!(store.authenticate("sam", Proof::Password(PASSWORD), t(10)), Err(AuthError::Locked(_))));
    assert!(
        matches!(wrong(&mut store, t(40)), Err(AuthError::Locked(until)) if until == t(100)),
        "then 1 min"
    );
    let who = store.authenticate("sam", Proof::Password(PASSWORD), t(101))?;
    assert_eq!(who.username, "sam");
    // A success clears the count: three free failures again.
    assert!(matches!(wrong(&mut store, t(102)), Err(AuthError::Wrong)));
    let kinds = audit_kinds(&store)?;
    assert_eq!(kinds.iter().filter(|k| *k == kind::LOCKED_OUT).count(), 2);
    assert_eq!(kinds.iter().filter(|k| *k == kind::LOGIN_FAILED).count(), 7);
    Ok(())
}

#[test]
fn a_pin_works_only_after_a_full_login_that_day() -> Result<(), AuthError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    let icu_id = icu().id;
    store.add_person("nina", "Nina", &roles(&[Role::Nurse]), &[icu_id], PASSWORD, "cli:root", t(0))?;
    assert!(matches!(store.set_pin("nina", "12", "nina", t(1)), Err(AuthError::Secret(_))));
    store.set_pin("nina", "4821", "nina", t(1))?;
    assert!(matches!(store.authenticate("nina", Proof::Pin("4821"), t(2)), Err(AuthError::NeedsFullLogin)));
    store.authenticate("nina", Proof::Password(PASSWORD), t(3))?;
    assert_eq!(store.authenticate("nina", Proof::Pin("4821"), t(4))?.wards, [WardId("icu".into())]);
    assert!(matches!(store.authenticate("nina", Proof::Pin("4822"), t(5)), Err(AuthError::Wrong)));
    // The next day the PIN needs a full login again (t is noon UTC).
    assert!(matches!(
        store.authenticate("nina", Proof::Pin("4821"), t(86_400)),
        Err(AuthError::NeedsFullLogin)
    ));
    Ok(())
}

#[test]
fn accounts_are_refused_without_a_role_a_nurse_without_a_ward_or_a_name_twice() -> Result<(), AuthError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    let add = |store: &mut Store, name: &str, r: &[Role], w: &[WardId], pw: &str| {
        store.add_person(name, "", &roles(r), w, pw, "cli:root", t(1)).err().map(|e| e.code())
    };
    assert_eq!(add(&mut store, "x y", &[Role::Admin], &[], PASSWORD), Some("person.bad_name"));
    assert_eq!(add(&mut store, "ann", &[], &[], PASSWORD), Some("person.no_role"));
    assert_eq!(add(&mut store, "ann", &[Role::Nurse], &[], PASSWORD), Some("person.nurse_without_ward"));
    assert_eq!(
        add(&mut store, "ann", &[Role::Nurse], &[WardId("nope".into())], PASSWORD),
        Some("hospital.unknown_ward")
    );
    assert_eq!(add(&mut store, "ann", &[Role::Auditor], &[], "short"), Some("access.password_too_short"));
    assert_eq!(add(&mut store, "ann", &[Role::Auditor], &[], PASSWORD), None);
    assert_eq!(add(&mut store, "ann", &[Role::Auditor], &[], PASSWORD), Some("person.exists"));
    assert_eq!(store.people()?.len(), 1);
    Ok(())
}

#[test]
fn roles_change_with_a_record_of_before_and_after_and_the_last_admin_stays() -> Result<(), AuthError> {
    let (_dir, mut store) = open();
    import(&mut store, &[], t(0))?;
    store.add_person("ada", "", &roles(&[Role::Admin]), &[], PASSWORD, "cli:root", t(0))?;
    store.add_person("sam", "", &roles(&[Role::Auditor]), &[], PASSWORD, "ada", t(1))?;
    let icu = vec![icu().id];
    let sam = store.change_person("sam", Some(&roles(&[Role::Nurse])), Some(&icu), None, "ada", t(2))?;
    assert_eq!((sam.roles, sam.wards), (roles(&[Role::Nurse]), icu));
    let last = store.change_person("ada", Some(&roles(&[Role::Auditor])), None, None, "ada", t(3));
    assert!(matches!(last, Err(AuthError::LastAdmin)));
    assert!(matches!(
        store.change_person("ada", None, None, Some(true), "ada", t(3)),
        Err(AuthError::LastAdmin)
    ));
    store.change_person("sam", None, None, Some(true), "ada", t(4))?;
    assert!(matches!(store.authenticate("sam", Proof::Password(PASSWORD), t(5)), Err(AuthError::Disabled)));
    let changed = store.audit_records(kind::PERSON_CHANGED, 10)?;
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0].body["before"]["roles"], serde_json::json!(["auditor"]));
    assert_eq!(changed[0].body["after"]["roles"], serde_json::json!(["nurse"]));
    assert_eq!(changed[1].body["after"]["disabled"], true);
    Ok(())
}
