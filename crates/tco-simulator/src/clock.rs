//! The simulator's controllable clock.
//!
//! Time-dependent rules (the 180-day refund limit, once-a-day reauthorisation, the 7-day payment
//! authorisation, the dates of refunds and shipments, comment timestamps) read "now" from here
//! rather than from the system, so tests can move time forward or jump to a date without
//! sleeping. The clock is real UTC time plus an offset; moving it changes
//! the offset only, so time keeps flowing naturally between test steps.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// Real UTC time plus an offset that tests control.
#[derive(Debug)]
pub struct SimClock {
    offset: Mutex<TimeDelta>,
    /// Counts the moves, so subscribers learn of each.
    moves: watch::Sender<u64>,
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock { offset: Mutex::new(TimeDelta::zero()), moves: watch::Sender::new(0) }
    }
}

impl SimClock {
    /// A clock showing real time.
    pub fn new() -> Self {
        SimClock::default()
    }

    /// The simulated current time.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = self.current_offset();
        Utc::now().checked_add_signed(offset).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Moves simulated time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut offset = self.lock();
        *offset = offset.checked_add(&by).unwrap_or(TimeDelta::MAX);
        drop(offset);
        self.announce_move();
    }

    /// Makes `now()` return `at` (then keep flowing from there).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at.signed_duration_since(Utc::now());
        self.announce_move();
    }

    /// Back to real time.
    pub fn reset(&self) {
        *self.lock() = TimeDelta::zero();
        self.announce_move();
    }

    /// A receiver that sees a change each time the clock is moved (`advance`, `set`, `reset`).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.moves.subscribe()
    }

    fn announce_move(&self) {
        self.moves.send_modify(|moves| *moves = moves.wrapping_add(1));
    }

    /// How far the simulated time is from the real one.
    pub fn offset(&self) -> TimeDelta {
        self.current_offset()
    }

    fn current_offset(&self) -> TimeDelta {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TimeDelta> {
        // The guarded value is a plain number: a panic elsewhere cannot leave it inconsistent.
        self.offset.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::SimClock;
    use chrono::{TimeZone, Utc};
    use std::time::Duration;

    #[test]
    fn advance_moves_now_forward_by_the_given_duration() {
        let clock = SimClock::new();
        let before = clock.now();
        clock.advance(Duration::from_secs(181 * 24 * 3600));
        let moved = clock.now().signed_duration_since(before);
        assert!(moved.num_days() >= 181 && moved.num_days() < 182);
    }

    #[test]
    fn set_makes_now_start_from_the_given_instant() {
        let clock = SimClock::new();
        let target = Utc.with_ymd_and_hms(2012, 3, 31, 10, 56, 31).unwrap();
        clock.set(target);
        let drift = clock.now().signed_duration_since(target);
        assert!(drift.num_seconds() >= 0 && drift.num_seconds() < 5);
        clock.reset();
        assert!(clock.offset().num_seconds().abs() < 5);
    }
}
