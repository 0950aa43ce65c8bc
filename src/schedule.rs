//! When to look again: the revisit schedule of stored articles, the jittered
//! start of feed polls, and the grid that polls are woken on.
//!
//! Stories are edited after they leave the feed, mostly in their first day, so
//! articles are revisited at ages that are dense while a story is young and thin
//! out later (by default 10 min, 30 min, 1 h, 3 h, 12 h, 24 h, 3 d, then never).

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngExt;

use crate::config::ScheduleConfig;

/// Ages at which an article is fetched again after it was first seen.
#[derive(Debug, Clone)]
pub struct RevisitPolicy {
    ages: Vec<Duration>,
    tail_interval: Option<Duration>,
    stop_after: Option<Duration>,
}

impl RevisitPolicy {
    pub fn new(config: &ScheduleConfig) -> RevisitPolicy {
        RevisitPolicy {
            ages: config.revisit_ages.clone(),
            tail_interval: config.revisit_tail_interval,
            stop_after: config.revisit_stop_after,
        }
    }

    /// The next time an article first seen at `first_seen` is due, strictly after
    /// `now`; `None` once it is too old to revisit. Ages missed while the daemon was
    /// down are skipped rather than run in a burst.
    pub fn next_check(
        &self,
        first_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let age = (now - first_seen).to_std().unwrap_or_default();
        let next_age = self.next_age(age)?;
        if self.stop_after.is_some_and(|stop| next_age > stop) {
            return None;
        }
        Some(first_seen + chrono::Duration::from_std(next_age).ok()?)
    }

    fn next_age(&self, age: Duration) -> Option<Duration> {
        if let Some(next) = self.ages.iter().copied().find(|a| *a > age) {
            return Some(next);
        }
        let tail = self.tail_interval?;
        let last = self.ages.last().copied().unwrap_or_default();
        let periods = (age.saturating_sub(last).as_nanos() / tail.as_nanos()) as u32 + 1;
        Some(last + tail * periods)
    }
}

/// A random delay in `[0, interval)`, so feeds started together do not poll in lockstep.
pub fn start_jitter(interval: Duration) -> Duration {
    let millis = interval.as_millis().min(u64::MAX as u128) as u64;
    if millis == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::rng().random_range(0..millis))
}

/// Feed polls wake on this grid: polls falling due within one tick of each
/// other run in one wake-up of the runtime instead of one each (parking and
/// waking a worker thread cost about as much as an unchanged poll itself).
pub const POLL_TICK: Duration = Duration::from_millis(100);

/// `at`, moved later (by less than a tick) onto the grid of [`POLL_TICK`]s
/// counted from the first call.
pub fn on_tick(at: tokio::time::Instant) -> tokio::time::Instant {
    static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(|| at);
    let tick = POLL_TICK.as_nanos();
    let nanos = |n: u128| Duration::from_nanos(n.min(u64::MAX as u128) as u64);
    if at >= epoch {
        let ticks = (at - epoch).as_nanos().div_ceil(tick);
        epoch + nanos(ticks * tick)
    } else {
        let ticks = (epoch - at).as_nanos() / tick;
        epoch - nanos(ticks * tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_times_move_later_onto_a_shared_tick() {
        let start = tokio::time::Instant::now();
        let base = on_tick(start);
        assert!(base >= start);
        for offset in [1, 30, 99, 100, 101, 250, 1_000] {
            let at = base + Duration::from_millis(offset);
            let woken = on_tick(at);
            assert!(woken >= at && woken - at < POLL_TICK, "{offset} ms");
            assert_eq!((woken - base).as_nanos() % POLL_TICK.as_nanos(), 0);
        }
        let near = on_tick(base + Duration::from_millis(20));
        assert_eq!(near, on_tick(base + Duration::from_millis(80)));
        if let Some(before) = base.checked_sub(Duration::from_millis(150)) {
            let woken = on_tick(before);
            assert_eq!(woken, base - POLL_TICK);
        }
    }

    fn policy(ages: &[u64], tail: Option<u64>, stop: Option<u64>) -> RevisitPolicy {
        RevisitPolicy {
            ages: ages.iter().copied().map(Duration::from_secs).collect(),
            tail_interval: tail.map(Duration::from_secs),
            stop_after: stop.map(Duration::from_secs),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn follows_the_ages_then_stops() {
        let p = policy(&[600, 1800, 3600], None, None);
        assert_eq!(p.next_check(at(0), at(0)), Some(at(600)));
        assert_eq!(p.next_check(at(0), at(600)), Some(at(1800)));
        assert_eq!(p.next_check(at(0), at(3599)), Some(at(3600)));
        assert_eq!(p.next_check(at(0), at(3600)), None);
    }

    #[test]
    fn missed_ages_are_skipped() {
        let p = policy(&[600, 1800, 3600], None, None);
        assert_eq!(p.next_check(at(0), at(2000)), Some(at(3600)));
    }

    #[test]
    fn the_tail_repeats_until_the_stop_age() {
        let p = policy(&[3], Some(3), Some(10));
        assert_eq!(p.next_check(at(0), at(3)), Some(at(6)));
        assert_eq!(p.next_check(at(0), at(7)), Some(at(9)));
        assert_eq!(p.next_check(at(0), at(9)), None);
    }

    #[test]
    fn jitter_stays_inside_the_interval() {
        for _ in 0..100 {
            assert!(start_jitter(Duration::from_secs(2)) < Duration::from_secs(2));
        }
        assert_eq!(start_jitter(Duration::ZERO), Duration::ZERO);
    }
}
