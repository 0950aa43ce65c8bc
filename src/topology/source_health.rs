//! Watching the watcher: after every poll, whether the feed has gone silent (no
//! new item for much longer than it usually takes, and at least
//! `schedule.silent_after`) or failing (every poll failed for
//! `schedule.failing_after`). Each episode gives one `source` alert, and its end
//! another (`recovered`), through the same outbox and sinks as article alerts.
//! The episode state lives in the feed record, so a restart neither repeats nor
//! forgets an alert.

use chrono::{DateTime, Utc};

use super::Context;
use super::articles::commit_with_alert;
use super::poller::Polled;
use crate::alerts::{Alert, Event, SourceReport, SourceState};
use crate::config::ScheduleConfig;
use crate::metrics::FeedGauges;
use crate::store::{Commit, FeedHealth, FeedRecord};

/// Weight of the newest gap in the moving average of gaps between new items.
const GAP_WEIGHT: f64 = 0.25;

/// Updates the feed's health after a poll and alerts when its state changes;
/// true when it did (the record must then be saved at once).
pub(super) async fn observe(
    ctx: &Context,
    record: &mut FeedRecord,
    gauges: &FeedGauges,
    polled: &Polled,
) -> bool {
    let now = Utc::now();
    if !note_poll(&mut record.health, polled, now) {
        return false;
    }
    let state = assess(&record.health, &ctx.schedule, now);
    export_state(ctx, gauges, state);
    let Some(report) = transition(&mut record.health, state) else {
        return false;
    };
    tracing::warn!(feed = %record.url, state = ?report.state, from = ?report.from, since = %report.since, "feed health changed");
    let alert = source_alert(record, report, now);
    if let Err(error) = commit_with_alert(ctx, Commit::default(), Some(alert)).await {
        tracing::error!(feed = %record.url, %error, "cannot queue a source alert");
    }
    true
}

/// Sets the feed's `feed_source_state` gauge.
fn export_state(ctx: &Context, gauges: &FeedGauges, state: Option<SourceState>) {
    let value = match state {
        Some(SourceState::Silent) => 1,
        Some(SourceState::Failing) => 2,
        Some(SourceState::Recovered) | None => 0,
    };
    ctx.metrics.set_source_state(gauges, value);
}

/// Records what the poll says about the feed; false when the feed is gone.
fn note_poll(health: &mut FeedHealth, polled: &Polled, now: DateTime<Utc>) -> bool {
    let new_links = match polled {
        Polled::Gone => return false,
        Polled::Failed => {
            health.failing_since.get_or_insert(now);
            return true;
        }
        Polled::Unchanged => 0,
        Polled::Fine { new_links } | Polled::Moved { new_links, .. } => *new_links,
    };
    health.failing_since = None;
    if new_links == 0 {
        health.quiet_since.get_or_insert(now);
        return true;
    }
    if let Some(quiet) = health.quiet_since {
        let gap = (now - quiet).num_milliseconds().max(0) as f64;
        let usual = health.usual_gap_ms.map_or(gap, |old| {
            old as f64 * (1.0 - GAP_WEIGHT) + gap * GAP_WEIGHT
        });
        health.usual_gap_ms = Some(usual as u64);
    }
    health.quiet_since = Some(now);
    true
}

/// How long a feed may stay quiet: `silent_factor` times its usual gap, and at
/// least `silent_after`.
fn silent_threshold(health: &FeedHealth, schedule: &ScheduleConfig) -> chrono::Duration {
    let floor = chrono::Duration::from_std(schedule.silent_after).unwrap_or(chrono::Duration::MAX);
    let usual = health.usual_gap_ms.unwrap_or(0) as f64 * schedule.silent_factor;
    floor.max(chrono::Duration::milliseconds(usual as i64))
}

/// The feed's state now: failing first, then silent, else fine (`None`).
fn assess(
    health: &FeedHealth,
    schedule: &ScheduleConfig,
    now: DateTime<Utc>,
) -> Option<SourceState> {
    let failing_after =
        chrono::Duration::from_std(schedule.failing_after).unwrap_or(chrono::Duration::MAX);
    if health
        .failing_since
        .is_some_and(|t| now - t >= failing_after)
    {
        return Some(SourceState::Failing);
    }
    if health
        .quiet_since
        .is_some_and(|t| now - t >= silent_threshold(health, schedule))
    {
        return Some(SourceState::Silent);
    }
    None
}

/// The report to send when the state differs from the one last alerted.
fn transition(health: &mut FeedHealth, state: Option<SourceState>) -> Option<SourceReport> {
    if health.alerted == state {
        return None;
    }
    let from = std::mem::replace(&mut health.alerted, state);
    let (state, from) = match state {
        Some(state) => (state, None),
        None => (SourceState::Recovered, from),
    };
    let since = match state {
        SourceState::Failing => health.failing_since,
        SourceState::Silent => health.quiet_since,
        SourceState::Recovered => None,
    };
    Some(SourceReport {
        state,
        from,
        since: since.unwrap_or_else(Utc::now),
        usual_gap_secs: health.usual_gap_ms.map(|ms| ms / 1000),
        last_error: None,
    })
}

/// A `source` alert about `record`: its `url` and `feed` are the feed's URL.
fn source_alert(record: &FeedRecord, mut report: SourceReport, now: DateTime<Utc>) -> Alert {
    report.last_error = record.last_error.clone();
    let id = blake3::hash(record.url.as_bytes()).to_hex()[..10].to_string();
    let title = record.title.clone().unwrap_or_else(|| record.url.clone());
    let url = record.url.clone();
    let mut alert = Alert::new(Event::Source, id, url.clone(), 0, title, url);
    alert.language = record.language.clone();
    alert.detected_at = now;
    alert.source = Some(report);
    alert
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn schedule() -> ScheduleConfig {
        ScheduleConfig {
            silent_after: Duration::from_secs(3600),
            silent_factor: 4.0,
            failing_after: Duration::from_secs(600),
            ..ScheduleConfig::default()
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_feed_that_publishes_hourly_is_silent_after_four_hours_once() {
        let (s, mut h) = (schedule(), FeedHealth::default());
        for hour in 0..4 {
            note_poll(&mut h, &Polled::Fine { new_links: 1 }, at(hour * 3600));
        }
        assert_eq!(h.usual_gap_ms, Some(3_600_000));
        note_poll(&mut h, &Polled::Fine { new_links: 0 }, at(6 * 3600));
        assert_eq!(assess(&h, &s, at(6 * 3600)), None, "3 h quiet is usual");
        let state = assess(&h, &s, at(7 * 3600 + 1));
        assert_eq!(state, Some(SourceState::Silent));
        let report = transition(&mut h, state).unwrap();
        assert_eq!(
            (report.state, report.since),
            (SourceState::Silent, at(3 * 3600))
        );
        assert!(transition(&mut h, state).is_none(), "once per episode");
        note_poll(&mut h, &Polled::Fine { new_links: 2 }, at(8 * 3600));
        let now_fine = assess(&h, &s, at(8 * 3600));
        let recovered = transition(&mut h, now_fine).unwrap();
        assert_eq!(recovered.state, SourceState::Recovered);
        assert_eq!(recovered.from, Some(SourceState::Silent));
    }

    #[test]
    fn failing_longer_than_the_threshold_is_reported_before_silence() {
        let (s, mut h) = (schedule(), FeedHealth::default());
        note_poll(&mut h, &Polled::Fine { new_links: 1 }, at(0));
        note_poll(&mut h, &Polled::Failed, at(60));
        assert_eq!(assess(&h, &s, at(300)), None);
        note_poll(&mut h, &Polled::Failed, at(7200));
        assert_eq!(assess(&h, &s, at(7200)), Some(SourceState::Failing));
        assert!(!note_poll(&mut h, &Polled::Gone, at(7300)));
    }
}
