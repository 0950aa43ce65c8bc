//! Storage: every version of every article, the feeds and their HTTP state, and
//! the revisit queue, behind the small [`Store`] trait.
//!
//! [`sled_store::SledStore`] is the embedded default. The trait is what a shared
//! backend (PostgreSQL, so that several daemons can split the work) implements.
//! Writes that belong together (a new version, its article record, its links and
//! its place in the revisit queue) are one atomic [`Store::commit`].

mod care;
mod compress;
mod export;
mod guarded;
mod revisit_state;
mod sled_store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alerts::Alert;
use crate::alerts::story::HeldAlert;
use crate::changes::ChangeClass;
use crate::fetch::Validators;

pub use care::{StoreStats, TreeStats};
pub use compress::RawSnapshot;
pub use export::{ExportError, ExportOptions, export_jsonl};
pub use guarded::{GuardedStore, WriteGate};
pub use sled_store::SledStore;

/// A storage failure, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store in {path}: {source}{hint}")]
    Open {
        path: std::path::PathBuf,
        source: sled::Error,
        hint: &'static str,
    },
    #[error("store error while {context}: {source}")]
    Backend {
        context: &'static str,
        source: sled::Error,
    },
    #[error(
        "the commit writer stopped before answering (it panicked, or the daemon is stopping); the commit may not be stored"
    )]
    WriterStopped,
    #[error("the store in {path} is closed after a failed write and could not be opened again yet")]
    Unavailable { path: std::path::PathBuf },
    #[error("cannot tell the free space of {path}: {source}")]
    Space {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the file system of {path} is still full ({free} bytes free)")]
    Full { path: std::path::PathBuf, free: u64 },
    #[error("stored record for {key} is unreadable: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("stored record for {key} does not decompress: {source}")]
    Compressed { key: String, source: std::io::Error },
    #[error("stored record for {key} is damaged: {problem}")]
    Damaged { key: String, problem: String },
    #[error(
        "the store in {path} has the older format {found} (this redline reads formats {supported} and later: \
         zstd-compressed versions and raw snapshots); move the directory away and start afresh, \
         keeping `redline export --with-text` from the older build if its data matters"
    )]
    OldFormat {
        path: std::path::PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "the store in {path} was written by a newer redline (format {found}, this one reads {supported})"
    )]
    Format {
        path: std::path::PathBuf,
        found: u32,
        supported: u32,
    },
}

impl StoreError {
    /// Whether the error is the file system's (a full disk, a failing device)
    /// rather than the data's.
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            StoreError::Backend {
                source: sled::Error::Io(_),
                ..
            }
        )
    }
}

/// A stored article: what is known about it besides its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleRecord {
    /// Short stable id (see [`crate::canonical::article_id`]).
    pub id: String,
    /// Canonical URL.
    pub url: String,
    /// The feed it was first found in.
    pub feed: String,
    pub title: String,
    pub language: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_changed: DateTime<Utc>,
    pub last_checked: DateTime<Utc>,
    /// Number of stored versions (the latest one's number).
    pub versions: u32,
    /// When it is due to be fetched again; `None` once revisits are over.
    pub next_check: Option<DateTime<Utc>>,
    /// HTTP validators of the last page fetch.
    #[serde(default)]
    pub validators: Validators,
    /// Where the article lives now, if it moved (its history stays under `url`).
    #[serde(default)]
    pub moved_to: Option<String>,
    /// Set once the page answers 410, or 404 twice in a row.
    #[serde(default)]
    pub removed: Option<Removal>,
    /// 404s in a row so far.
    #[serde(default)]
    pub not_found_strikes: u32,
    /// Topic ids the latest version matches.
    #[serde(default)]
    pub topics: Vec<String>,
    /// The story (wire-copy cluster) it belongs to.
    #[serde(default)]
    pub cluster: Option<String>,
}

impl ArticleRecord {
    /// The URL to fetch the article from.
    pub fn fetch_url(&self) -> &str {
        self.moved_to.as_deref().unwrap_or(&self.url)
    }
}

/// When and how an article was taken down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// One version of an article's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1-based.
    pub number: u32,
    pub title: String,
    /// One paragraph per line.
    pub body: String,
    /// BLAKE3 of title and body (hex, 16 digits).
    pub content_hash: String,
    pub first_seen: DateTime<Utc>,
    /// The earlier version whose text this one repeats (a flip-flop).
    #[serde(default)]
    pub reverts_to: Option<u32>,
    /// What kind of update this version is (empty for version 1).
    #[serde(default)]
    pub changes: Vec<ChangeClass>,
}

impl Version {
    /// The hash that decides whether a fetch is a new version.
    pub fn hash_content(title: &str, body: &str) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(title.as_bytes());
        hasher.update(b"\n\x00\n");
        hasher.update(body.as_bytes());
        hasher.finalize().to_hex()[..16].to_string()
    }
}

/// Where a feed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedOrigin {
    /// Listed in the configuration file.
    Config,
    /// Added by `redline feeds import` or a configured import.
    Import,
    /// Added by `redline feeds add`.
    Added,
}

/// A feed and its polling state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedRecord {
    pub url: String,
    pub title: Option<String>,
    pub language: Option<String>,
    pub origin: FeedOrigin,
    #[serde(default)]
    pub validators: Validators,
    pub last_polled: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    #[serde(default)]
    pub error_streak: u32,
    /// Whether the last successful parse needed repairs.
    #[serde(default)]
    pub degraded: bool,
    #[serde(default)]
    pub items: u32,
    /// Polls in all, and how many of them were answered 304 Not Modified.
    #[serde(default)]
    pub polls: u64,
    #[serde(default)]
    pub not_modified: u64,
    /// The adapted poll interval, in milliseconds.
    #[serde(default)]
    pub interval_ms: Option<u64>,
    #[serde(default)]
    pub next_poll: Option<DateTime<Utc>>,
    /// Why the feed is no longer polled (410 Gone), if it is not.
    #[serde(default)]
    pub disabled: Option<String>,
    /// Where the feed moved to for good (301/308); polled there instead.
    #[serde(default)]
    pub moved_to: Option<String>,
    /// Whether the feed is watched, and since when it is quiet or failing.
    #[serde(default)]
    pub health: FeedHealth,
}

/// What the daemon knows about a feed's publishing rhythm and failures, to say
/// when it has gone silent or failing (a `source` alert, once per episode).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedHealth {
    /// Since when no new item has appeared (set on the first successful poll,
    /// reset whenever new items appear).
    pub quiet_since: Option<DateTime<Utc>>,
    /// The usual gap between polls that found new items (a moving average), in ms.
    pub usual_gap_ms: Option<u64>,
    /// Since when every poll has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// The episode a `source` alert was sent about and not yet recovered from.
    pub alerted: Option<crate::alerts::SourceState>,
}

impl FeedRecord {
    /// Share of polls answered 304 Not Modified.
    pub fn not_modified_share(&self) -> f64 {
        self.not_modified as f64 / self.polls.max(1) as f64
    }

    pub fn new(url: &str, origin: FeedOrigin) -> FeedRecord {
        FeedRecord {
            url: url.to_string(),
            title: None,
            language: None,
            origin,
            validators: Validators::default(),
            last_polled: None,
            last_success: None,
            last_error: None,
            error_streak: 0,
            degraded: false,
            items: 0,
            polls: 0,
            not_modified: 0,
            interval_ms: None,
            next_poll: None,
            disabled: None,
            moved_to: None,
            health: FeedHealth::default(),
        }
    }
}

/// An alert waiting for delivery to one sink (the durable outbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The sink it is for ("stdout", "webhook:NAME", ...).
    pub sink: String,
    /// Position in the sink's queue (from [`Store::next_sequence`]); also the
    /// delivery id receivers see, stable across retries.
    pub seq: u64,
    pub alert: Alert,
    pub enqueued: DateTime<Utc>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_attempt: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl OutboxEntry {
    /// The delivery id: unique per sink entry, the same on every retry.
    pub fn delivery_id(&self) -> String {
        format!("{:016x}", self.seq)
    }
}

/// Writes that must land together.
#[derive(Debug, Clone, Default)]
pub struct Commit<'a> {
    pub article: Option<&'a ArticleRecord>,
    /// A new version of `article`.
    pub version: Option<&'a Version>,
    /// Links (feed item URLs, redirect aliases) that lead to `article`.
    pub links: &'a [String],
    /// The revisit time `article` had before this commit, to be replaced.
    pub previous_check: Option<DateTime<Utc>>,
    /// Alerts about this change, queued for delivery in the same transaction.
    pub outbox: &'a [OutboxEntry],
    /// `article`'s story fingerprint record (see [`crate::dedup`]).
    pub fingerprint: Option<&'a [u8]>,
    /// An alert about this change held for its story window (new or amended).
    pub hold: Option<&'a HeldAlert>,
    /// The page `version` was extracted from (stored only with a version).
    pub raw: Option<&'a RawSnapshot>,
}

/// What an article's current version gives it: see [`Store::refresh_current`].
pub struct Current<'a> {
    pub title: &'a str,
    pub topics: &'a [String],
    /// The story fingerprint record (see [`crate::dedup`]), if the article has one.
    pub fingerprint: Option<&'a [u8]>,
}

/// An entry of the revisit queue: an article due at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The revisit time, to the millisecond.
    pub at: DateTime<Utc>,
    pub id: String,
}

impl Due {
    /// Whether this entry is the article's current revisit, rather than one left
    /// behind by a reschedule that was cut short.
    pub fn is_current(&self, article: &ArticleRecord) -> bool {
        article.next_check.map(|t| t.timestamp_millis()) == Some(self.at.timestamp_millis())
    }
}

/// What redline keeps. Implementations are cheap to share between tasks.
pub trait Store: Send + Sync {
    fn article(&self, id: &str) -> Result<Option<ArticleRecord>, StoreError>;
    /// Finds an article by id, unique id prefix, canonical URL or known link.
    fn find_article(&self, key: &str) -> Result<Option<ArticleRecord>, StoreError>;
    /// The article a feed link or alias is known to lead to.
    fn resolve_link(&self, link: &str) -> Result<Option<String>, StoreError>;
    fn articles(&self) -> Result<Vec<ArticleRecord>, StoreError>;
    fn version(&self, id: &str, number: u32) -> Result<Option<Version>, StoreError>;
    fn versions(&self, id: &str) -> Result<Vec<Version>, StoreError>;
    /// Replaces the text of a stored version (after re-extraction); the article
    /// record is left as it is.
    fn put_version(&self, id: &str, version: &Version) -> Result<(), StoreError>;
    /// Sets the title and topics of article `id`, and its story fingerprint
    /// record, if it still has `versions` versions (a running daemon may have
    /// stored a newer one meanwhile, with its own); everything else, its
    /// revisit state included, stays. Returns whether it did.
    fn refresh_current(
        &self,
        id: &str,
        versions: u32,
        current: &Current<'_>,
    ) -> Result<bool, StoreError>;
    /// The page a version was extracted from, if it was kept.
    fn raw_snapshot(&self, id: &str, number: u32) -> Result<Option<RawSnapshot>, StoreError>;
    /// Revisit queue entries at or before `now`, oldest first.
    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Due>, StoreError>;
    /// Drops a revisit queue entry that is not its article's current one.
    fn remove_due(&self, due: &Due) -> Result<(), StoreError>;
    /// Applies a group of writes atomically. A commit that only stores the
    /// article and moves its revisit (no version, links or alerts) may instead
    /// land in steps, the new queue entry first, so that a crash can at worst
    /// leave a stale queue entry behind (see [`Due::is_current`]).
    fn commit(&self, commit: &Commit<'_>) -> Result<(), StoreError>;
    /// Applies several commits, in order, as one atomic group: one log write for
    /// all of them where each [`Store::commit`] would make its own.
    fn commit_group(&self, commits: &[Commit<'_>]) -> Result<(), StoreError>;
    fn feed(&self, url: &str) -> Result<Option<FeedRecord>, StoreError>;
    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError>;
    fn put_feed(&self, feed: &FeedRecord) -> Result<(), StoreError>;
    /// Forgets a feed (its articles stay); returns whether it was known.
    fn remove_feed(&self, url: &str) -> Result<bool, StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// A number larger than any handed out before, also across restarts.
    fn next_sequence(&self) -> Result<u64, StoreError>;
    /// The oldest `limit` entries queued for `sink`, in order.
    fn outbox(&self, sink: &str, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Entries queued for every sink, by sink then order, at most `limit`.
    fn outbox_all(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Entries queued for `sink`.
    fn outbox_len(&self, sink: &str) -> Result<usize, StoreError>;
    /// Replaces a queued entry (after a failed attempt).
    fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError>;
    /// Removes a delivered entry.
    fn outbox_remove(&self, entry: &OutboxEntry) -> Result<(), StoreError>;
    /// Moves an entry that will not be delivered to the failed list.
    fn outbox_fail(&self, entry: &OutboxEntry) -> Result<(), StoreError>;
    /// Entries that failed for good, oldest first.
    fn failed(&self) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Alerts held for their story window, oldest first.
    fn holds(&self) -> Result<Vec<HeldAlert>, StoreError>;
    /// Removes a held alert and queues its outbox entries, together.
    fn release_hold(&self, held: &HeldAlert, entries: &[OutboxEntry]) -> Result<(), StoreError>;
    /// Calls `visit` with every stored fingerprint record and its article id.
    fn each_fingerprint(&self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError>;
    /// The stored fingerprint record of one article.
    fn fingerprint(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Queues failed entries again (one by delivery id, or all); returns how many.
    fn retry_failed(&self, delivery: Option<&str>) -> Result<usize, StoreError>;
    /// Record counts and sizes, per tree and on disk.
    fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Decodes every record and checks that they refer to each other as they
    /// should; returns the problems found (none on a sound store).
    fn check(&self) -> Result<Vec<String>, StoreError>;
    /// The gate that closes while writes fail, for stores that watch their
    /// writes (see [`GuardedStore`]); `None` for a store that does not.
    fn write_gate(&self) -> Option<std::sync::Arc<WriteGate>> {
        None
    }
    /// Tries to make the store writable again after its gate closed; an error
    /// says why it cannot write yet.
    fn recover(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// An article record for tests: `versions` versions, stored from
/// `http://127.0.0.1/{id}`, in no story.
#[cfg(test)]
pub(crate) fn test_article(id: &str, versions: u32) -> ArticleRecord {
    let now = chrono::Utc::now();
    ArticleRecord {
        id: id.into(),
        url: format!("http://127.0.0.1/{id}"),
        feed: "http://127.0.0.1/rss".into(),
        title: "t".into(),
        language: None,
        first_seen: now,
        last_changed: now,
        last_checked: now,
        versions,
        next_check: None,
        validators: Default::default(),
        moved_to: None,
        removed: None,
        not_found_strikes: 0,
        topics: Vec::new(),
        cluster: None,
    }
}
