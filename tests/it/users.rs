//! Local accounts from the command line: the first administrator (password
//! on standard input), then only an administrator adds people; refusals
//! and failures are audited, and no password reaches the audit log.

use anyhow::Context;
use serde_json::Value;

use crate::support::run;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_first_admin_then_only_an_admin_adds_people_and_every_refusal_is_audited() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let d = data.to_str().context("non-UTF-8 temp dir")?;
    let secrets = |name: &str, pw: &str| -> anyhow::Result<String> {
        let f = dir.path().join(name);
        std::fs::write(&f, format!("{pw}\n"))?;
        Ok(f.to_str().context("path")?.to_owned())
    };
    // The first person must be an administrator.
    let out = run(
        &["users", "add", "--data-dir", d, "--username", "ann", "--role", "auditor"],
        Some(b"orchid-violet-42x\n"),
    )?;
    assert!(
        !out.status.success() && text(&out).contains("the first person must be an administrator"),
        "{}",
        text(&out)
    );
    let out = run(
        &["users", "add", "--data-dir", d, "--username", "ada", "--name", "Ada L.", "--role", "admin"],
        Some(b"orchid-violet-42x\n"),
    )?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ada (Ada L.) added as administrator"), "{}", text(&out));

    // Then nobody adds people without proving they are an administrator.
    let new_pw = secrets("new.txt", "tulip-meadow-77q")?;
    let add_auditor = [
        "users",
        "add",
        "--data-dir",
        d,
        "--username",
        "aud",
        "--role",
        "auditor",
        "--password-file",
        &new_pw,
    ];
    let out = run(&add_auditor, None)?;
    assert!(
        !out.status.success() && text(&out).contains("only an administrator adds people"),
        "{}",
        text(&out)
    );
    let wrong = secrets("wrong.txt", "orchid-violet-43x")?;
    let out = run(&[&add_auditor[..], &["--as", "ada", "--as-password-file", &wrong]].concat(), None)?;
    assert!(!out.status.success() && text(&out).contains("[auth.wrong]"), "{}", text(&out));
    let right = secrets("right.txt", "orchid-violet-42x")?;
    let out = run(&[&add_auditor[..], &["--as", "ada", "--as-password-file", &right]].concat(), None)?;
    assert!(out.status.success(), "{}", text(&out));
    // An auditor may not add people: refused and recorded.
    let aud = secrets("aud.txt", "tulip-meadow-77q")?;
    let add_nurse = [
        "users",
        "add",
        "--data-dir",
        d,
        "--username",
        "nina",
        "--role",
        "security_officer",
        "--password-file",
        &new_pw,
    ];
    let out = run(&[&add_nurse[..], &["--as", "aud", "--as-password-file", &aud]].concat(), None)?;
    assert!(
        !out.status.success() && text(&out).contains("[access.refused] aud may not add people"),
        "{}",
        text(&out)
    );

    let as_ada = ["--user", "ada", "--user-password-file", &right];
    let as_aud = ["--user", "aud", "--user-password-file", &aud];
    let out = run(&[&["users", "list", "--data-dir", d, "--json"][..], &as_ada].concat(), None)?;
    let people: Vec<Value> =
        String::from_utf8(out.stdout)?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let names: Vec<(&str, &Value)> =
        people.iter().map(|p| (p["username"].as_str().unwrap_or(""), &p["roles"])).collect();
    assert_eq!(names, [("ada", &serde_json::json!(["admin"])), ("aud", &serde_json::json!(["auditor"]))]);

    // With accounts, every command that opens the data directory needs one.
    let out = run(&["incidents", "--data-dir", d], None)?;
    assert!(!out.status.success() && text(&out).contains("[auth.required]"), "{}", text(&out));
    let out = run(&[&["incident", "ack", "--data-dir", d, "1"][..], &as_aud].concat(), None)?;
    assert!(
        text(&out).contains("[access.refused] aud: your role (auditor) may not acknowledge incidents"),
        "{}",
        text(&out)
    );
    // An auditor may not change roles; the administrator may (recorded).
    let promote = [
        "users",
        "change",
        "--data-dir",
        d,
        "--username",
        "aud",
        "--role",
        "auditor",
        "--role",
        "security_officer",
    ];
    let out = run(&[&promote[..], &as_aud].concat(), None)?;
    assert!(
        text(&out).contains("[access.refused] aud: your role (auditor) may not manage people"),
        "{}",
        text(&out)
    );
    let out = run(&[&promote[..], &as_ada].concat(), None)?;
    assert!(out.status.success() && text(&out).contains("aud: security officer, auditor"), "{}", text(&out));
    let out =
        run(&[&["audit", "log", "--data-dir", d, "--limit", "100", "--json"][..], &as_aud].concat(), None)?;
    assert!(out.status.success(), "{}", text(&out));
    let log = String::from_utf8(out.stdout)?;
    let kinds: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["kind"].as_str().map(str::to_owned))
        .filter(|k| k.starts_with("person.") || k.starts_with("auth.") || k.starts_with("access."))
        .collect();
    let want = [
        "person.added",   // ada, the first administrator
        "auth.failed",    // ada's wrong password
        "auth.login",     // ada adds aud
        "person.added",   // aud
        "auth.login",     // aud tries to add someone
        "access.refused", // ... and may not
        "auth.login",     // ada lists people
        "auth.login",     // aud tries to acknowledge
        "access.refused", // ... and may not
        "auth.login",     // aud tries to change roles
        "access.refused", // ... and may not
        "auth.login",     // ada does
        "person.changed", // aud: auditor and security officer
        "auth.login",     // aud reads the audit log
    ];
    assert_eq!(kinds, want);
    for pw in ["orchid-violet", "tulip-meadow"] {
        assert!(!log.contains(pw), "a password in the audit log");
    }
    Ok(())
}
