//! Polling one feed: a conditional GET on its interval, parsing off the async
//! workers, and an article task for every link not seen before.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::feed_set::ActiveFeed;
use super::{Context, articles};
use crate::feeds::{self, ParsedFeed};
use crate::fetch::{FetchOutcome, Validators};
use crate::schedule::start_jitter;
use crate::store::{FeedOrigin, FeedRecord};

/// The first poll of each feed starts within this much of start-up (or within
/// its interval, if shorter), so feeds do not poll in lockstep.
const MAX_START_SPREAD: Duration = Duration::from_secs(10);

/// Polls `feed` until shutdown.
pub(super) async fn poll_loop(ctx: Arc<Context>, feed: ActiveFeed) {
    let mut next = Instant::now() + start_jitter(feed.interval.min(MAX_START_SPREAD));
    // The first poll after start is unconditional: articles that failed before a
    // restart are then found again even if the feed itself has not changed.
    let mut conditional = false;
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        poll(&ctx, &feed, conditional).await;
        conditional = true;
        next = Instant::now() + feed.interval;
    }
}

async fn poll(ctx: &Arc<Context>, feed: &ActiveFeed, conditional: bool) {
    let url = feed.url.as_str();
    let mut record = match ctx.store.feed(url) {
        Ok(record) => record.unwrap_or_else(|| FeedRecord::new(url, FeedOrigin::Import)),
        Err(error) => {
            tracing::error!(feed = url, %error, "cannot read feed state");
            return;
        }
    };
    let validators = if conditional && !ctx.take_refetch(url) {
        record.validators.clone()
    } else {
        Validators::default()
    };
    let started = std::time::Instant::now();
    let fetched = tokio::select! {
        _ = ctx.shutdown.cancelled() => return,
        fetched = ctx.fetcher.get(&feed.url, &validators) => fetched,
    };
    record.last_polled = Some(Utc::now());
    let outcome = match fetched {
        Ok(FetchOutcome::NotModified) => {
            tracing::debug!(feed = url, "feed not modified");
            Ok(())
        }
        Ok(FetchOutcome::Fetched(page)) => {
            let body = page.body.clone();
            let content_type = page.content_type.clone();
            let feed_url = feed.url.clone();
            let parsed = ctx
                .cpu(move || feeds::parse(&body, content_type.as_deref(), &feed_url))
                .await;
            match parsed {
                Ok(parsed) => {
                    record.validators = page.validators;
                    discover(ctx, &mut record, parsed);
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            }
        }
        Err(error) => Err(error.to_string()),
    };
    finish(ctx, &mut record, outcome, started.elapsed());
}

/// Starts an article task for each link of the feed that is neither stored nor under way.
fn discover(ctx: &Arc<Context>, record: &mut FeedRecord, parsed: ParsedFeed) {
    if parsed.degraded() {
        tracing::warn!(feed = %record.url, repairs = ?parsed.repairs, "feed is malformed; read after repair");
    }
    record.degraded = parsed.degraded();
    record.title = record.title.take().or(parsed.title);
    record.language = record.language.take().or(parsed.language);
    record.items = parsed.items.len() as u32;
    let mut started = 0;
    for item in parsed.items {
        match ctx.store.resolve_link(item.link.as_str()) {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(error) => {
                tracing::error!(feed = %record.url, %error, "cannot look up a link");
                continue;
            }
        }
        let key = item.link.to_string();
        if !ctx.begin(&key) {
            continue;
        }
        started += 1;
        let job = articles::NewArticle {
            link: item.link,
            feed: record.url.clone(),
            feed_title: item.title,
            feed_language: record.language.clone(),
        };
        ctx.tasks.spawn(articles::discover(ctx.clone(), job));
    }
    tracing::info!(feed = %record.url, items = record.items, new = started, "feed polled");
}

fn finish(ctx: &Context, record: &mut FeedRecord, outcome: Result<(), String>, took: Duration) {
    match outcome {
        Ok(()) => {
            record.last_success = record.last_polled;
            record.error_streak = 0;
            record.last_error = None;
        }
        Err(error) => {
            record.error_streak += 1;
            tracing::warn!(feed = %record.url, streak = record.error_streak, took_ms = took.as_millis() as u64, %error, "feed poll failed");
            record.last_error = Some(error);
        }
    }
    if let Err(error) = ctx.store.put_feed(record) {
        tracing::error!(feed = %record.url, %error, "cannot save feed state");
    }
}
