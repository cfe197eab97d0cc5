//! How long the caller waits before trying an order again: capped
//! exponential back-off, deterministic (no jitter: the caller adds some if
//! it wants, and a test can predict every wait).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::ConfigError;

/// `[response.retry]`: how often and how patiently a failed attempt that
/// may be retried ([`super::Attempt::Failed`] with `retry`) is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// The wait after the first failure; each later wait doubles it.
    pub base_ms: u64,
    /// No wait is longer than this.
    pub cap_ms: u64,
}

impl Default for RetryPolicy {
    /// 5 attempts; waits of 2, 4, 8 and 16 s between them; 60 s at most.
    fn default() -> Self {
        Self { max_attempts: 5, base_ms: 2_000, cap_ms: 60_000 }
    }
}

impl RetryPolicy {
    /// At least one attempt, at most 100; a base of at least 1 ms and no
    /// more than the cap; a cap of at most a day.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, reason: String| Err(ConfigError::Retry { field, reason });
        if !(1..=100).contains(&self.max_attempts) {
            return bad("max_attempts", format!("{}: expected 1 to 100", self.max_attempts));
        }
        if self.cap_ms > 86_400_000 {
            return bad("cap_ms", format!("{}: expected at most 86400000 (a day)", self.cap_ms));
        }
        if self.base_ms == 0 || self.base_ms > self.cap_ms {
            return bad("base_ms", format!("{}: expected 1 to cap_ms ({})", self.base_ms, self.cap_ms));
        }
        Ok(())
    }
}

/// The wait before the next attempt, when `attempt` attempts have been made
/// (and the last one failed and may be retried): nothing before the first,
/// `base` after the first, doubling after each, never more than `cap`;
/// `None` once `max_attempts` have been made.
pub fn backoff(attempt: u32, policy: &RetryPolicy) -> Option<Duration> {
    if attempt >= policy.max_attempts {
        return None;
    }
    let Some(failures) = attempt.checked_sub(1) else {
        return Some(Duration::ZERO);
    };
    let factor = 1u64.checked_shl(failures).unwrap_or(u64::MAX);
    let ms = policy.base_ms.saturating_mul(factor).min(policy.cap_ms);
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(attempt: u32, policy: &RetryPolicy, expected: Option<u64>) {
        assert_eq!(
            backoff(attempt, policy),
            expected.map(Duration::from_millis),
            "attempt {attempt}, {policy:?}"
        );
    }

    #[test]
    fn the_default_policy() {
        let p = RetryPolicy::default();
        check(0, &p, Some(0));
        check(1, &p, Some(2_000));
        check(2, &p, Some(4_000));
        check(3, &p, Some(8_000));
        check(4, &p, Some(16_000));
        check(5, &p, None);
        check(6, &p, None);
        check(u32::MAX, &p, None);
    }

    #[test]
    fn waits_are_capped_and_never_overflow() {
        let p = RetryPolicy { max_attempts: 100, base_ms: 1_000, cap_ms: 60_000 };
        check(6, &p, Some(32_000));
        check(7, &p, Some(60_000));
        check(8, &p, Some(60_000));
        check(64, &p, Some(60_000));
        check(65, &p, Some(60_000));
        check(99, &p, Some(60_000));
        check(100, &p, None);
        let huge = RetryPolicy { max_attempts: u32::MAX, base_ms: u64::MAX, cap_ms: u64::MAX };
        check(2, &huge, Some(u64::MAX));
        check(u32::MAX - 1, &huge, Some(u64::MAX));
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let p = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
        check(0, &p, Some(0));
        check(1, &p, None);
    }

    #[test]
    fn policies_are_read_and_checked() -> Result<(), toml::de::Error> {
        let p: RetryPolicy = toml::from_str("max_attempts = 3\nbase_ms = 500\n")?;
        assert_eq!(p, RetryPolicy { max_attempts: 3, base_ms: 500, cap_ms: 60_000 });
        assert_eq!(toml::from_str::<RetryPolicy>("")?, RetryPolicy::default());
        assert!(toml::from_str::<RetryPolicy>("jitter = 1\n").is_err());
        let check = |p: RetryPolicy, want: &str| {
            let got = p.validate().err().map_or_else(|| "ok".to_owned(), |e| e.to_string());
            assert!(got.contains(want), "{p:?}: {got:?} should say {want:?}");
        };
        check(RetryPolicy::default(), "ok");
        check(RetryPolicy { max_attempts: 0, ..p }, "response.retry.max_attempts: 0: expected 1 to 100");
        check(RetryPolicy { base_ms: 0, ..p }, "response.retry.base_ms: 0");
        check(
            RetryPolicy { base_ms: 70_000, ..p },
            "response.retry.base_ms: 70000: expected 1 to cap_ms (60000)",
        );
        check(RetryPolicy { cap_ms: 86_400_001, ..p }, "response.retry.cap_ms");
        Ok(())
    }
}
