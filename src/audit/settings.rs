//! Configuration changes in the audit log. The console's configuration is a
//! file read at start; every start compares the settings in force
//! ([`crate::ConsoleConfig::settings`]) with the last `config.settings`
//! record in the chain, and appends a new one when they differ (or when
//! there is none), listing each change with its value before and after.
//! A start with the same settings adds nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{kind, AuditError, Entry};

/// The body of a `config.settings` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// Every setting in force, by name.
    pub settings: BTreeMap<String, String>,
    /// What differs from the previous `config.settings` record, by name.
    pub changes: Vec<SettingChange>,
    /// The previous `config.settings` record, when the live log has one.
    pub previous_seq: Option<u64>,
    /// The live log has none because the records before it were moved to
    /// archives: the previous settings, and so the changes, are there
    /// (`changes` is then empty: nothing is claimed).
    #[serde(default)]
    pub previous_in_archive: bool,
}

/// One setting that changed: absent before (added) or after (removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    pub setting: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What differs between two sets of settings, in name order.
pub fn changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<SettingChange> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| SettingChange {
            setting: n.clone(),
            before: before.get(n).cloned(),
            after: after.get(n).cloned(),
        })
        .collect()
}

/// The `config.settings` record to append for `now`, given the last one in
/// the live log (its sequence number and body) and whether earlier records
/// were moved to archives; `None` when nothing changed. A previous body that
/// cannot be read counts as no previous settings: every setting is then
/// listed as a change, which overstates, never hides.
pub fn entry(
    previous: Option<(u64, &[u8])>,
    archived: bool,
    now: &BTreeMap<String, String>,
    at: DateTime<Utc>,
) -> Result<Option<Entry>, AuditError> {
    let before = previous
        .and_then(|(_, body)| serde_json::from_slice::<SettingsRecord>(body).ok())
        .map(|r| r.settings)
        .unwrap_or_default();
    let previous_in_archive = previous.is_none() && archived;
    let changes = if previous_in_archive { Vec::new() } else { changes(&before, now) };
    if changes.is_empty() && previous.is_some() {
        return Ok(None);
    }
    let record = SettingsRecord {
        settings: now.clone(),
        changes,
        previous_seq: previous.map(|(seq, _)| seq),
        previous_in_archive,
    };
    Entry::new(at, "console", kind::CONFIG_SETTINGS, &record).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn change(setting: &str, before: Option<&str>, after: Option<&str>) -> SettingChange {
        SettingChange {
            setting: setting.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
        }
    }

    #[test]
    fn changes_name_what_was_changed_added_and_removed() {
        let before = settings(&[
            ("listen", "udp://127.0.0.1:5514"),
            ("max_connections", "256"),
            ("tls.cert_file", "a"),
        ]);
        let after = settings(&[
            ("listen", "udp://127.0.0.1:5514"),
            ("max_connections", "64"),
            ("atna.url", "tls://x:6514"),
        ]);
        assert_eq!(
            changes(&before, &after),
            [
                change("atna.url", None, Some("tls://x:6514")),
                change("max_connections", Some("256"), Some("64")),
                change("tls.cert_file", Some("a"), None),
            ]
        );
        assert_eq!(changes(&after, &after), []);
    }

    #[test]
    fn a_start_records_settings_first_and_then_only_when_they_change(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let a = settings(&[("max_connections", "256")]);
        let first = entry(None, false, &a, at)?.ok_or("no first record")?;
        assert_eq!(first.kind, "config.settings");
        let body: SettingsRecord = serde_json::from_slice(&first.body)?;
        assert_eq!(body.changes, [change("max_connections", None, Some("256"))]);
        assert_eq!(body.previous_seq, None);
        // Same settings: nothing to record.
        assert_eq!(entry(Some((7, &first.body)), false, &a, at)?, None);
        let b = settings(&[("max_connections", "64")]);
        let next = entry(Some((7, &first.body)), false, &b, at)?.ok_or("no change recorded")?;
        let body: SettingsRecord = serde_json::from_slice(&next.body)?;
        assert_eq!(body.changes, [change("max_connections", Some("256"), Some("64"))]);
        assert_eq!((body.previous_seq, body.settings), (Some(7), b));
        // An unreadable previous body: everything is listed, nothing hidden.
        let again = entry(Some((9, b"not json")), false, &a, at)?.ok_or("nothing recorded")?;
        let body: SettingsRecord = serde_json::from_slice(&again.body)?;
        assert_eq!(body.changes, [change("max_connections", None, Some("256"))]);
        // The previous settings went to an archive: recorded again, no changes claimed.
        let after_archive = entry(None, true, &a, at)?.ok_or("nothing recorded")?;
        let body: SettingsRecord = serde_json::from_slice(&after_archive.body)?;
        assert_eq!((body.changes, body.previous_in_archive, body.settings), (vec![], true, a));
        Ok(())
    }
}
