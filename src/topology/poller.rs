//! Polling one feed: a conditional GET on its interval, parsing off the async
//! workers, and an article task for every link not seen before.
//!
//! The interval adapts to how often the feed publishes (shorter after a poll that
//! found new links, longer after one that did not, within the configured bounds);
//! a failing feed backs off exponentially up to a ceiling and keeps being retried
//! there; 410 Gone disables it; a permanent redirect moves it to its new URL.
//!
//! The feed also tells when a stored article changed: an item whose title,
//! summary or updated date differs from the previous poll's has its article
//! revisited at once, whatever its revisit schedule says.
//!
//! A poll that finds nothing new (a 304, or the same body as last time) is
//! neither parsed nor written to the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::feed_set::ActiveFeed;
use super::{Context, articles, source_health};
use crate::config::ScheduleConfig;
use crate::feeds::{self, ParsedFeed};
use crate::fetch::{FetchError, FetchOutcome, Page, Priority, Validators, scaled_backoff};
use crate::metrics::FeedGauges;
use crate::schedule::{on_tick, start_jitter};
use crate::store::{FeedOrigin, FeedRecord};

/// The second poll of each feed comes up to this much (or up to its interval,
/// if shorter) later than its interval says, so that feeds started together do
/// not poll in lockstep. The first poll is at once: a new feed list is read
/// without delay, and the global and per-host limits already pace the burst.
const MAX_START_SPREAD: Duration = Duration::from_secs(10);

/// Feed state that changed only by poll bookkeeping (counters, times) is saved
/// at most this often; anything else is saved at once.
const QUIET_SAVE_EVERY: Duration = Duration::from_secs(300);

/// What one poll came to.
pub(super) enum Polled {
    /// A 304, or a 200 with the same body as the last one read: nothing to parse.
    Unchanged,
    /// A 200 read, with the number of links not seen before.
    Fine { new_links: usize },
    /// Failed; tried again after a backoff.
    Failed,
    /// 410 Gone: the feed is disabled.
    Gone,
    /// Moved for good to this URL.
    Moved { to: Url, new_links: usize },
}

/// Polls `feed` until `stop` (shutdown, or the feed paused or removed) or until
/// it is gone. A poll under way when `stop` comes is abandoned.
///
/// The feed's record is read once and kept here; a poll that changes nothing but
/// the bookkeeping (a 304, or the same body again) writes nothing to the store,
/// and that bookkeeping is saved every [`QUIET_SAVE_EVERY`] and when stopped.
pub(super) async fn poll_loop(ctx: Arc<Context>, feed: ActiveFeed, stop: CancellationToken) {
    let mut url = feed.url.clone();
    let mut record = load(&ctx, &url);
    let mut gauges = FeedGauges::new(url.as_str());
    let mut last_body = None;
    let mut saved = Instant::now();
    let mut interval = feed.interval;
    let mut next = on_tick(Instant::now());
    let mut spread = start_jitter(interval.min(MAX_START_SPREAD));
    // The first poll after start is unconditional: articles that failed before a
    // restart are then found again even if the feed itself has not changed.
    let mut conditional = false;
    let mut items = ItemStates::default();
    let mut store_epoch = ctx.store_reopened();
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                save(&ctx, &record);
                return;
            }
            _ = tokio::time::sleep_until(next) => {}
        }
        if !ctx.writable(&stop).await {
            save(&ctx, &record);
            return;
        }
        // Links stored just before a failed write may have been lost with it:
        // after the store reopened, the feed is read in full to find them again.
        let reopened = ctx.store_reopened();
        if reopened != store_epoch {
            store_epoch = reopened;
            conditional = false;
        }
        let was_failing = record.error_streak > 0;
        let Some(polled) = poll(
            &ctx,
            &url,
            conditional,
            &stop,
            &mut record,
            &mut last_body,
            &mut items,
        )
        .await
        else {
            return;
        };
        record_health(&ctx, &record, &gauges);
        let alerted = source_health::observe(&ctx, &mut record, &gauges, &polled).await;
        let quiet = matches!(polled, Polled::Unchanged) && !was_failing && !alerted;
        conditional = true;
        let wait = match polled {
            Polled::Gone => {
                save(&ctx, &record);
                return;
            }
            Polled::Moved { to, new_links } => {
                save(&ctx, &record);
                url = to;
                record = load(&ctx, &url);
                gauges = FeedGauges::new(url.as_str());
                interval = adapt(interval, new_links, feed.fixed, &ctx.schedule);
                interval
            }
            Polled::Unchanged => {
                interval = adapt(interval, 0, feed.fixed, &ctx.schedule);
                interval
            }
            Polled::Fine { new_links } => {
                interval = adapt(interval, new_links, feed.fixed, &ctx.schedule);
                interval
            }
            Polled::Failed => {
                let streak = record.error_streak.saturating_sub(1);
                scaled_backoff(interval, streak, ctx.schedule.feed_backoff_max)
            }
        };
        next = on_tick(Instant::now() + wait + std::mem::take(&mut spread));
        record.interval_ms = Some(interval.as_millis() as u64);
        record.next_poll = chrono::Duration::from_std(wait)
            .ok()
            .map(|w| Utc::now() + w);
        if !quiet || saved.elapsed() >= QUIET_SAVE_EVERY {
            save(&ctx, &record);
            saved = Instant::now();
        }
    }
}

/// The stored record of the feed at `url`, or a fresh one.
fn load(ctx: &Context, url: &Url) -> FeedRecord {
    match ctx.store.feed(url.as_str()) {
        Ok(record) => record.unwrap_or_else(|| FeedRecord::new(url.as_str(), FeedOrigin::Import)),
        Err(error) => {
            tracing::error!(feed = %url, %error, "cannot read feed state; starting afresh");
            FeedRecord::new(url.as_str(), FeedOrigin::Import)
        }
    }
}

/// The next interval: shorter after a poll that found something new, longer after
/// one that did not, within the configured bounds; unchanged when fixed.
fn adapt(interval: Duration, new_links: usize, fixed: bool, schedule: &ScheduleConfig) -> Duration {
    if fixed {
        return interval;
    }
    let next = if new_links > 0 {
        interval.mul_f64(2.0 / 3.0)
    } else {
        interval.mul_f64(1.25)
    };
    next.clamp(schedule.feed_interval_min, schedule.feed_interval_max)
}

/// One poll; updates `record` (saved by the caller) and returns what the poll
/// came to, or `None` when stopped. `last_body` is the hash of the last body read.
async fn poll(
    ctx: &Arc<Context>,
    url: &Url,
    conditional: bool,
    stop: &CancellationToken,
    record: &mut FeedRecord,
    last_body: &mut Option<u64>,
    items: &mut ItemStates,
) -> Option<Polled> {
    // An unconditional poll (after start, or when an article from the feed
    // failed) reads the feed even if it has not changed, to find those links again.
    let conditional = conditional && !ctx.take_refetch(url.as_str());
    let validators = if conditional {
        record.validators.clone()
    } else {
        Validators::default()
    };
    let started = std::time::Instant::now();
    let fetched = tokio::select! {
        _ = stop.cancelled() => return None,
        fetched = ctx.fetcher.get_as(url, &validators, Priority::Normal) => fetched,
    };
    record.last_polled = Some(Utc::now());
    record.polls += 1;
    let polled = match fetched {
        Ok(FetchOutcome::NotModified) => {
            record.not_modified += 1;
            succeeded(record);
            Polled::Unchanged
        }
        Ok(FetchOutcome::Fetched(page)) => {
            let hash = xxhash_rust::xxh3::xxh3_64(&page.body);
            if conditional && *last_body == Some(hash) && page.moved_permanently.is_none() {
                succeeded(record);
                record.validators = page.validators;
                Polled::Unchanged
            } else {
                let polled = fetched_page(ctx, record, *page, items).await;
                let read = matches!(polled, Polled::Fine { .. } | Polled::Moved { .. });
                *last_body = read.then_some(hash);
                polled
            }
        }
        Err(error) => failed(record, &error),
    };
    let took_ms = started.elapsed().as_millis() as u64;
    if let Some(error) = &record.last_error {
        tracing::warn!(feed = %url, streak = record.error_streak, took_ms, %error, "feed poll failed");
    }
    Some(polled)
}

async fn fetched_page(
    ctx: &Arc<Context>,
    record: &mut FeedRecord,
    page: Page,
    items: &mut ItemStates,
) -> Polled {
    let feed_url = page.url.clone();
    let body = page.body.clone();
    let content_type = page.content_type.clone();
    let parsed = ctx
        .cpu(Priority::Normal, move || {
            feeds::parse(&body, content_type.as_deref(), &feed_url)
        })
        .await;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            record.error_streak += 1;
            record.last_error = Some(error.to_string());
            return Polled::Failed;
        }
    };
    succeeded(record);
    match page.moved_permanently {
        Some(to) if to.as_str() != record.url => {
            let new_links = move_feed(ctx, record, &to, page.validators, parsed, items);
            Polled::Moved { to, new_links }
        }
        _ => {
            record.validators = page.validators;
            Polled::Fine {
                new_links: discover(ctx, record, parsed, items),
            }
        }
    }
}

fn record_health(ctx: &Context, record: &FeedRecord, gauges: &FeedGauges) {
    ctx.metrics.feeds_polled.inc();
    ctx.metrics
        .set_error_streak(gauges, i64::from(record.error_streak));
    if let Some(at) = record.last_success {
        ctx.metrics
            .set_last_success(gauges, at.timestamp_millis() as f64 / 1000.0);
    }
}

fn succeeded(record: &mut FeedRecord) {
    record.last_success = record.last_polled;
    record.error_streak = 0;
    record.last_error = None;
}

fn failed(record: &mut FeedRecord, error: &FetchError) -> Polled {
    if error.status() == Some(reqwest::StatusCode::GONE) {
        let reason = format!("410 Gone on {}", Utc::now().to_rfc3339());
        tracing::warn!(feed = %record.url, %reason, "feed is gone; no longer polled");
        record.disabled = Some(reason);
        return Polled::Gone;
    }
    record.error_streak += 1;
    record.last_error = Some(error.to_string());
    Polled::Failed
}

/// Records the feed under its new URL (the old record points there) and reads it.
fn move_feed(
    ctx: &Arc<Context>,
    old: &mut FeedRecord,
    to: &Url,
    validators: Validators,
    parsed: ParsedFeed,
    items: &mut ItemStates,
) -> usize {
    tracing::info!(feed = %old.url, moved_to = %to, "feed moved permanently; following it");
    let mut moved = old.clone();
    moved.url = to.to_string();
    moved.validators = validators;
    moved.moved_to = None;
    let new_links = discover(ctx, &mut moved, parsed, items);
    save(ctx, &moved);
    old.moved_to = Some(to.to_string());
    new_links
}

fn save(ctx: &Context, record: &FeedRecord) {
    if let Err(error) = ctx.store.put_feed(record) {
        tracing::error!(feed = %record.url, %error, "cannot save feed state");
    }
}

/// What the previous poll's items said, by link (see [`crate::feeds::FeedItem::state`]).
type ItemStates = HashMap<String, u64>;

/// Starts an article task for each link of the feed that is neither stored nor
/// under way, and a revisit for each stored one whose item changed; returns how
/// many new links it started.
fn discover(
    ctx: &Arc<Context>,
    record: &mut FeedRecord,
    parsed: ParsedFeed,
    items: &mut ItemStates,
) -> usize {
    if parsed.degraded() {
        tracing::warn!(feed = %record.url, repairs = ?parsed.repairs, "feed is malformed; read after repair");
    }
    record.degraded = parsed.degraded();
    record.title = record.title.take().or(parsed.title);
    record.language = record.language.take().or(parsed.language);
    record.items = parsed.items.len() as u32;
    let mut started = 0;
    let previous = std::mem::take(items);
    for item in parsed.items {
        let link = item.link.to_string();
        let changed = previous.get(&link).is_some_and(|s| *s != item.state);
        items.insert(link, item.state);
        let urgent =
            || articles::looks_on_topic(ctx, item.title.as_deref(), record.language.as_deref());
        match ctx.store.resolve_link(item.link.as_str()) {
            Ok(Some(id)) => {
                if changed {
                    item_changed(ctx, &record.url, id, urgent());
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(feed = %record.url, %error, "cannot look up a link");
                continue;
            }
        }
        if ctx.begin(item.link.as_str()).is_none() {
            continue;
        }
        started += 1;
        let job = articles::NewArticle {
            priority: articles::item_class(urgent()),
            link: item.link,
            feed: record.url.clone(),
            feed_title: item.title,
            feed_language: record.language.clone(),
        };
        ctx.tasks.spawn(articles::discover(ctx.clone(), job));
    }
    tracing::info!(feed = %record.url, items = record.items, new = started, "feed polled");
    started
}

/// The feed item of stored article `id` changed: revisits it at once, or tells
/// the revisit already under way (see [`super::underway`]); urgently if the item
/// looks on a watched topic, or the article is on one.
fn item_changed(ctx: &Arc<Context>, feed: &str, id: String, item_on_topic: bool) {
    let on_topic = item_on_topic
        || ctx
            .store
            .article(&id)
            .is_ok_and(|a| a.is_some_and(|a| !a.topics.is_empty()));
    match ctx
        .underway
        .feed_item_changed(&id, articles::item_class(on_topic))
    {
        Some(task) => {
            tracing::debug!(feed, %id, "feed item changed; revisiting its article");
            let why = articles::Revisit::FeedItemChanged(id);
            ctx.tasks.spawn(articles::revisit(ctx.clone(), why, task));
        }
        None => tracing::debug!(feed, %id, "feed item changed; told the revisit under way"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_shrinks_when_a_feed_publishes_and_grows_when_it_does_not() {
        let schedule = ScheduleConfig {
            feed_interval_min: Duration::from_secs(60),
            feed_interval_max: Duration::from_secs(600),
            ..ScheduleConfig::default()
        };
        let start = Duration::from_secs(300);
        assert!(adapt(start, 3, false, &schedule) < start);
        assert!(adapt(start, 0, false, &schedule) > start);
        assert_eq!(
            adapt(Duration::from_secs(60), 5, false, &schedule),
            Duration::from_secs(60)
        );
        assert_eq!(
            adapt(Duration::from_secs(600), 0, false, &schedule),
            Duration::from_secs(600)
        );
        assert_eq!(adapt(start, 0, true, &schedule), start);
    }
}
