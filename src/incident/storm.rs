//! Storm detection: a source address, or one condition, that floods.
//!
//! Each key's rate is estimated over a sliding window from two fixed
//! buckets (the current one, and the previous one weighted by how much of
//! it the window still covers). A key storms when the estimate passes its
//! rate, and keeps storming until it falls below half of it (hysteresis: a
//! storm at the threshold does not flap). State is in memory only: after a
//! restart a storm is detected again within one window.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::rules::StormRules;

/// Keys tracked at most per kind; the stalest are dropped beyond it.
const MAX_KEYS: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Calm,
    /// The alert's source address floods.
    Source(IpAddr),
    /// The alert's condition floods, across sources.
    Signature(String),
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    bucket_start_us: i64,
    current: u32,
    previous: u32,
    storming: bool,
}

impl Rate {
    fn new(at_us: i64) -> Self {
        Self { bucket_start_us: at_us, current: 0, previous: 0, storming: false }
    }

    /// Counts one at `at_us`; whether the key storms now.
    fn hit(&mut self, at_us: i64, window_us: i64, limit: u32) -> bool {
        let elapsed = at_us - self.bucket_start_us;
        if elapsed >= 2 * window_us {
            (self.previous, self.current, self.bucket_start_us) = (0, 0, at_us);
        } else if elapsed >= window_us {
            (self.previous, self.current) = (self.current, 0);
            self.bucket_start_us += window_us;
        }
        self.current = self.current.saturating_add(1);
        let into = (at_us - self.bucket_start_us).clamp(0, window_us) as f64 / window_us as f64;
        let estimate = f64::from(self.previous) * (1.0 - into) + f64::from(self.current);
        let limit = f64::from(limit);
        self.storming = if self.storming { estimate > limit / 2.0 } else { estimate > limit };
        self.storming
    }
}

#[derive(Debug)]
pub struct Storms {
    rules: StormRules,
    sources: HashMap<IpAddr, Rate>,
    signatures: HashMap<String, Rate>,
}

impl Storms {
    pub fn new(rules: StormRules) -> Self {
        Self { rules, sources: HashMap::new(), signatures: HashMap::new() }
    }

    /// Counts an alert from `source` of `condition` at `at`: whether it is
    /// part of a storm, the source's first.
    pub fn observe(&mut self, source: Option<IpAddr>, condition: &str, at: DateTime<Utc>) -> Verdict {
        let at_us = at.timestamp_micros();
        let window = i64::try_from(self.rules.window_secs).unwrap_or(i64::MAX / 2_000_000) * 1_000_000;
        let source_storms = source.is_some_and(|ip| {
            prune(&mut self.sources, at_us, window);
            self.sources.entry(ip).or_insert_with(|| Rate::new(at_us)).hit(
                at_us,
                window,
                self.rules.source_rate,
            )
        });
        prune(&mut self.signatures, at_us, window);
        let signature_storms = match self.signatures.get_mut(condition) {
            Some(r) => r.hit(at_us, window, self.rules.signature_rate),
            None => {
                let mut r = Rate::new(at_us);
                let storms = r.hit(at_us, window, self.rules.signature_rate);
                self.signatures.insert(condition.to_owned(), r);
                storms
            }
        };
        match (source, source_storms, signature_storms) {
            (Some(ip), true, _) => Verdict::Source(ip),
            (_, _, true) => Verdict::Signature(condition.to_owned()),
            _ => Verdict::Calm,
        }
    }
}

/// Drops the keys quiet for two windows once there are too many.
fn prune<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Rate>, at_us: i64, window_us: i64) {
    if map.len() >= MAX_KEYS {
        map.retain(|_, r| at_us - r.bucket_start_us < 2 * window_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> StormRules {
        StormRules { window_secs: 10, source_rate: 20, signature_rate: 200 }
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap_or_default()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_source_storms_past_its_rate_and_calms_below_half() {
        let mut s = Storms::new(rules());
        let verdicts: Vec<Verdict> =
            (0..21).map(|i| s.observe(ip("10.0.0.9"), &format!("c{i}"), at(i * 100))).collect();
        assert!(verdicts[..20].iter().all(|v| *v == Verdict::Calm), "{verdicts:?}");
        assert_eq!(
            verdicts[20],
            Verdict::Source("10.0.0.9".parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()))
        );
        // Another source is not affected.
        assert_eq!(s.observe(ip("10.0.0.10"), "c", at(2_100)), Verdict::Calm);
        // 15 s later, at one alert a second: the window estimate falls below 10.
        assert_eq!(s.observe(ip("10.0.0.9"), "x", at(25_000)), Verdict::Calm);
    }

    #[test]
    fn one_condition_from_many_sources_is_a_signature_storm() {
        let mut s = Storms::new(rules());
        let mut last = Verdict::Calm;
        for i in 0..201u32 {
            let src = ip(&format!("10.1.{}.{}", i / 250, i % 250 + 1));
            last = s.observe(src, "worm", at(i64::from(i) * 10));
        }
        assert_eq!(last, Verdict::Signature("worm".into()));
    }

    #[test]
    fn a_steady_pace_under_the_rate_never_storms() {
        let mut s = Storms::new(rules());
        // One alert every 600 ms: under 17 per 10 s, for ten minutes.
        let storms =
            (0..1000).filter(|i| s.observe(ip("10.0.0.1"), "beacon", at(i * 600)) != Verdict::Calm).count();
        assert_eq!(storms, 0);
    }
}
