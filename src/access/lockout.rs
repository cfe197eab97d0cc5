//! Failed attempts and the lockout that grows with them.
//!
//! The first [`LOCK_AFTER`] failures in a row cost nothing; each one after
//! locks the account for twice as long as the last (30 s, 1 min, 2 min, ...),
//! at most [`MAX_LOCK`]. A success clears the count. While locked, every
//! attempt is refused without looking at the password, so guessing gets no
//! faster by trying harder.

use chrono::{DateTime, Duration, Utc};

/// Failures in a row allowed before the first lock.
pub const LOCK_AFTER: u32 = 3;
const FIRST_LOCK: Duration = Duration::seconds(30);
/// The longest a lock lasts.
pub const MAX_LOCK: Duration = Duration::minutes(15);

/// An account's failures in a row and its lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lockout {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Lockout {
    /// Until when attempts are refused, if they are at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|t| *t > now)
    }

    /// Counts a failure at `now`; the lock it starts, if any.
    pub fn fail(&mut self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.failures = self.failures.saturating_add(1);
        let over = self.failures.checked_sub(LOCK_AFTER)?;
        if over == 0 {
            return None;
        }
        let lock = FIRST_LOCK.checked_mul(1 << (over - 1).min(16)).unwrap_or(MAX_LOCK).min(MAX_LOCK);
        self.locked_until = Some(now + lock);
        self.locked_until
    }

    pub fn succeed(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn the_lock_grows_with_each_failure_past_the_third_and_a_success_clears_it() {
        let mut l = Lockout::default();
        assert_eq!((l.fail(t(0)), l.fail(t(1)), l.fail(t(2))), (None, None, None));
        assert_eq!(l.fail(t(3)), Some(t(33)), "4th: 30 s");
        assert_eq!(l.locked_at(t(10)), Some(t(33)));
        assert_eq!(l.locked_at(t(33)), None);
        assert_eq!(l.fail(t(40)), Some(t(100)), "5th: 1 min");
        assert_eq!(l.fail(t(200)), Some(t(320)), "6th: 2 min");
        for _ in 0..20 {
            l.fail(t(1000));
        }
        assert_eq!(l.locked_until, Some(t(1000) + MAX_LOCK), "at most 15 min");
        l.succeed();
        assert_eq!(l, Lockout::default());
    }
}
