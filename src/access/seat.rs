//! The seat at a console: who is acting there now, and its lock.
//!
//! A window has one seat. A person logs in (the seat is theirs), works (each
//! command counts as activity), and the seat locks after `idle_lock` without
//! any, or at once with one key. A locked seat still belongs to its person
//! (unlocked with their PIN or password); switching user empties it first,
//! so the next person never sees what was on screen. Pure: times are given.

use chrono::{DateTime, Duration, Utc};

/// Who holds the seat, as the console sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatState<P> {
    Empty,
    Active(P),
    Locked(P),
}

#[derive(Debug, Clone)]
pub struct Seat<P> {
    idle_lock: Duration,
    holder: Option<(P, bool)>,
    last_active: DateTime<Utc>,
}

impl<P: Clone> Seat<P> {
    pub fn new(idle_lock: Duration) -> Self {
        Self { idle_lock, holder: None, last_active: DateTime::<Utc>::MIN_UTC }
    }

    pub fn idle_lock(&self) -> Duration {
        self.idle_lock
    }

    /// The state at `now`: an active seat idle for `idle_lock` locks here.
    pub fn state(&mut self, now: DateTime<Utc>) -> SeatState<P> {
        if let Some((_, locked @ false)) = &mut self.holder {
            if now - self.last_active >= self.idle_lock {
                *locked = true;
            }
        }
        match &self.holder {
            None => SeatState::Empty,
            Some((p, false)) => SeatState::Active(p.clone()),
            Some((p, true)) => SeatState::Locked(p.clone()),
        }
    }

    /// Whether the seat locked itself by idleness at `now` (it was active).
    pub fn idle_at(&self, now: DateTime<Utc>) -> bool {
        matches!(self.holder, Some((_, false))) && now - self.last_active >= self.idle_lock
    }

    pub fn login(&mut self, person: P, now: DateTime<Utc>) {
        self.holder = Some((person, false));
        self.last_active = now;
    }

    /// Counts activity at `now` (a command).
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.last_active = now;
    }

    pub fn lock(&mut self) {
        if let Some((_, locked)) = &mut self.holder {
            *locked = true;
        }
    }

    /// Empties the seat; who held it.
    pub fn logout(&mut self) -> Option<P> {
        self.holder.take().map(|(p, _)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn a_seat_locks_after_idling_and_at_once_on_request_and_keeps_its_person() {
        let mut seat: Seat<&str> = Seat::new(Duration::seconds(120));
        assert_eq!(seat.state(t(0)), SeatState::Empty);
        seat.login("nina", t(0));
        seat.touch(t(100));
        assert_eq!(seat.state(t(219)), SeatState::Active("nina"));
        assert!(seat.idle_at(t(220)));
        assert_eq!(seat.state(t(220)), SeatState::Locked("nina"), "120 s after the last command");
        seat.touch(t(221));
        assert_eq!(seat.state(t(222)), SeatState::Locked("nina"), "activity does not unlock");
        seat.login("nina", t(230));
        seat.lock();
        assert_eq!(seat.state(t(231)), SeatState::Locked("nina"));
        assert_eq!(seat.logout(), Some("nina"));
        assert_eq!(seat.state(t(232)), SeatState::Empty);
    }
}
