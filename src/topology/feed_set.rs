//! The set of feeds a daemon polls: those in the config file, those its imports
//! list, and those added earlier with `redline feeds import` or `feeds add`.

use std::collections::HashMap;
use std::time::Duration;

use url::Url;

use super::{Context, TopologyError};
use crate::canonical;
use crate::config::{Config, ImportSource, ScheduleConfig};
use crate::feeds::opml::{self, FeedEntry, FeedListError};
use crate::fetch::charset::{self, DocKind};
use crate::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::store::{FeedOrigin, FeedRecord, Store, StoreError};

/// A feed to poll, with its interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFeed {
    pub url: Url,
    /// The interval to start with.
    pub interval: Duration,
    /// Whether the interval is fixed by the config rather than adapted.
    pub fixed: bool,
}

/// A feed list that could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read feed list {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot fetch feed list: {0}")]
    Fetch(#[from] FetchError),
    #[error("feed list {name} is invalid: {source}")]
    Parse { name: String, source: FeedListError },
}

/// Reads a feed list (OPML or plain URLs) from a file or URL.
pub async fn import_feed_list(
    source: &ImportSource,
    fetcher: &Fetcher,
) -> Result<Vec<FeedEntry>, ImportError> {
    let (name, bytes, content_type) = match source {
        ImportSource::File(path) => {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|source| ImportError::Read {
                    path: path.clone(),
                    source,
                })?;
            (path.display().to_string(), bytes, None)
        }
        ImportSource::Url(url) => match fetcher.get(url, &Validators::default()).await? {
            FetchOutcome::Fetched(page) => (url.to_string(), page.body.to_vec(), page.content_type),
            FetchOutcome::NotModified => (url.to_string(), Vec::new(), None),
        },
    };
    let text = charset::decode(&bytes, content_type.as_deref(), DocKind::Xml, None).text;
    opml::parse_feed_list(&text).map_err(|source| ImportError::Parse { name, source })
}

/// Records the configured and imported feeds in the store and returns the set to
/// poll: feeds that moved are polled at their new URL, disabled ones not at all.
pub(super) async fn active_feeds(
    ctx: &Context,
    config: &Config,
) -> Result<Vec<ActiveFeed>, TopologyError> {
    let store = ctx.store.as_ref();
    let mut wanted: Vec<(String, Option<Duration>)> = Vec::new();
    for feed in &config.feeds {
        let url = canonical::parse_http_url(&feed.url).expect("validated with the config");
        let mut record = store
            .feed(url.as_str())?
            .unwrap_or_else(|| FeedRecord::new(url.as_str(), FeedOrigin::Config));
        record.title = feed.title.clone().or(record.title);
        record.language = feed.language.clone().or(record.language);
        store.put_feed(&record)?;
        wanted.push((url.to_string(), feed.interval));
    }
    for entry in &config.imports {
        let source = config.resolve_import(entry);
        match import_feed_list(&source, &ctx.fetcher).await {
            Ok(entries) => {
                let added = record_imports(store, &entries)?;
                tracing::info!(import = %entry, feeds = entries.len(), added, "feed list imported");
            }
            Err(error) => tracing::error!(import = %entry, %error, "feed list import failed"),
        }
    }
    for record in store.feeds()? {
        if matches!(record.origin, FeedOrigin::Import | FeedOrigin::Added) {
            wanted.push((record.url, None));
        }
    }
    let mut active: HashMap<String, ActiveFeed> = HashMap::new();
    for (url, fixed) in wanted {
        if let Some(feed) = current_feed(store, &url, fixed, &config.schedule)? {
            active.entry(feed.url.to_string()).or_insert(feed);
        }
    }
    let mut feeds: Vec<ActiveFeed> = active.into_values().collect();
    feeds.sort_by(|a, b| a.url.as_str().cmp(b.url.as_str()));
    Ok(feeds)
}

/// Follows a feed's permanent moves to its current record; `None` if it is disabled.
pub(super) fn current_feed(
    store: &dyn Store,
    url: &str,
    fixed: Option<Duration>,
    schedule: &ScheduleConfig,
) -> Result<Option<ActiveFeed>, StoreError> {
    let mut record = match store.feed(url)? {
        Some(record) => record,
        None => FeedRecord::new(url, FeedOrigin::Import),
    };
    for _ in 0..MAX_MOVES {
        let Some(next) = record.moved_to.clone() else {
            break;
        };
        record = store
            .feed(&next)?
            .unwrap_or_else(|| FeedRecord::new(&next, record.origin));
    }
    if let Some(reason) = &record.disabled {
        tracing::warn!(feed = %record.url, %reason, "feed disabled; not polled");
        return Ok(None);
    }
    let Ok(url) = canonical::parse_http_url(&record.url) else {
        return Ok(None);
    };
    let adapted = record.interval_ms.map(Duration::from_millis);
    let interval = fixed.or(adapted).unwrap_or(schedule.feed_interval);
    Ok(Some(ActiveFeed {
        url,
        interval,
        fixed: fixed.is_some(),
    }))
}

/// Longest chain of feed moves followed.
const MAX_MOVES: usize = 8;

/// Adds imported feeds that the store does not know yet; returns how many.
pub fn record_imports(store: &dyn Store, entries: &[FeedEntry]) -> Result<usize, StoreError> {
    let mut added = 0;
    for entry in entries {
        if store.feed(&entry.url)?.is_some() {
            continue;
        }
        let mut record = FeedRecord::new(&entry.url, FeedOrigin::Import);
        record.title = entry.title.clone();
        store.put_feed(&record)?;
        added += 1;
    }
    Ok(added)
}
