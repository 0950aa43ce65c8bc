//! The embedded sled store.
//!
//! Trees: `articles` (id → record), `checks` (id → the record's revisit state
//! when it changed since the record was written: see [`super::revisit_state`]),
//! `versions` (id ‖ number, big-endian → version,
//! zstd-compressed), `raw` (same key → the page the version was extracted from,
//! compressed: see [`super::compress`]; apart so that listing versions never
//! decompresses HTML),
//! `links` (URL → id), `due` (time in ms, big-endian ‖ id → nothing: the revisit
//! queue in time order), `feeds` (URL → record), `outbox` (sink ‖ 0 ‖ sequence,
//! big-endian → alert entry: the delivery queues), `failed` (delivery id → entry:
//! the dead letters), `fingerprints` (id → story fingerprint record), `holds`
//! (sequence, big-endian → an update alert held for its story window, see
//! [`crate::alerts::story`]) and `meta` (format version). Records are JSON so
//! that they stay readable across releases, except fingerprints (see
//! [`crate::dedup::StoredFingerprint::to_bytes`]).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Transactional, Tree};

use super::compress::{self, RawSnapshot};
use super::revisit_state::{RevisitState, same_but_revisit_state};
use super::{
    ArticleRecord, Commit, Current, Due, FeedRecord, OutboxEntry, Store, StoreError, StoreStats,
    Version,
};
use crate::alerts::story::HeldAlert;
use crate::canonical;

/// The version whose page later pages are compressed against.
const BASE_VERSION: u32 = 1;

/// The on-disk format this build writes: 3 keeps revisit states apart (tree
/// `checks`), 2 compresses versions and keeps raw snapshots (1 stored versions as
/// plain JSON, without snapshots).
pub(super) const FORMAT: u32 = 3;
/// The oldest format this build reads: a format-2 store is a format-3 store
/// without separate revisit states, and is marked 3 when opened (after which
/// builds that know only format 2 refuse it rather than miss those states).
const OLDEST_READABLE: u32 = 2;

/// sled-backed [`Store`]. Cloning shares the same database.
#[derive(Clone)]
pub struct SledStore {
    pub(super) db: sled::Db,
    pub(super) articles: Tree,
    pub(super) checks: Tree,
    pub(super) versions: Tree,
    pub(super) raw: Tree,
    pub(super) links: Tree,
    pub(super) due: Tree,
    pub(super) feeds: Tree,
    pub(super) outbox: Tree,
    pub(super) failed: Tree,
    pub(super) fingerprints: Tree,
    pub(super) holds: Tree,
}

pub(super) fn backend(context: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |source| StoreError::Backend { context, source }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise to JSON")
}

pub(super) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

pub(super) fn version_key(id: &str, number: u32) -> Vec<u8> {
    let mut key = id.as_bytes().to_vec();
    key.extend_from_slice(&number.to_be_bytes());
    key
}

fn outbox_prefix(sink: &str) -> Vec<u8> {
    let mut key = sink.as_bytes().to_vec();
    key.push(0);
    key
}

fn outbox_key(entry: &OutboxEntry) -> Vec<u8> {
    let mut key = outbox_prefix(&entry.sink);
    key.extend_from_slice(&entry.seq.to_be_bytes());
    key
}

fn due_key(at: DateTime<Utc>, id: &str) -> Vec<u8> {
    let millis = at.timestamp_millis().max(0) as u64;
    let mut key = millis.to_be_bytes().to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

fn open_hint(error: &sled::Error) -> &'static str {
    let text = error.to_string();
    if text.contains("lock") {
        " (another redline process, such as a running daemon, is using this data directory)"
    } else if matches!(error, sled::Error::Corruption { .. }) {
        " (the data directory is damaged: `redline db check` tells what is readable; \
         restore the directory from a backup, or re-create it from a `redline export`)"
    } else {
        ""
    }
}

thread_local! {
    /// Set while this thread opens a database, so the panic hook stays quiet.
    static OPENING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Opens the database. sled panics on some damaged files (a truncated segment,
/// for one) where it should report corruption: such a panic is caught, logged
/// without a backtrace, and reported as corruption.
fn open_catching_panics(config: &sled::Config) -> Result<sled::Db, sled::Error> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if OPENING.get() {
                let reason = info.payload_as_str().unwrap_or("unknown");
                let at = info.location().map(ToString::to_string);
                tracing::warn!(reason, at, "sled gave up reading the store");
            } else {
                previous(info);
            }
        }));
    });
    OPENING.set(true);
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
    OPENING.set(false);
    opened.unwrap_or(Err(sled::Error::Corruption { at: None, bt: () }))
}

/// How long an open waits for a lock that a closing store of this process has
/// not released yet (sled's flusher thread lets go of it shortly after the drop).
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

fn open_db(dir: &Path, cache_capacity_mb: u64) -> Result<sled::Db, sled::Error> {
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_capacity_mb.saturating_mul(1024 * 1024))
        .flush_every_ms(Some(500));
    let deadline = std::time::Instant::now() + LOCK_GRACE;
    loop {
        match open_catching_panics(&config) {
            Err(e) if e.to_string().contains("lock") && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir` with a bounded page cache.
    pub fn open(dir: &Path, cache_capacity_mb: u64) -> Result<SledStore, StoreError> {
        // sled writes `conf` when it creates a store.
        let existed = dir.join("conf").is_file();
        let db = open_db(dir, cache_capacity_mb).map_err(|source| StoreError::Open {
            path: dir.to_owned(),
            hint: open_hint(&source),
            source,
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(backend("opening a tree"));
        let store = SledStore {
            articles: tree("articles")?,
            checks: tree("checks")?,
            versions: tree("versions")?,
            raw: tree("raw")?,
            links: tree("links")?,
            due: tree("due")?,
            feeds: tree("feeds")?,
            outbox: tree("outbox")?,
            failed: tree("failed")?,
            fingerprints: tree("fingerprints")?,
            holds: tree("holds")?,
            db: db.clone(),
        };
        store.check_format(dir, existed)?;
        Ok(store)
    }

    /// Checks the format of an existing store, records it in a new one. An
    /// existing store without it has lost its data (sled reads an emptied or
    /// overwritten log as a new, empty store).
    fn check_format(&self, dir: &Path, existed: bool) -> Result<(), StoreError> {
        let meta = self
            .db
            .open_tree("meta")
            .map_err(backend("opening a tree"))?;
        match meta.get("format").map_err(backend("reading the format"))? {
            None if existed => {
                let source = sled::Error::Corruption { at: None, bt: () };
                Err(StoreError::Open {
                    path: dir.to_owned(),
                    hint: open_hint(&source),
                    source,
                })
            }
            None => {
                meta.insert("format", &FORMAT.to_be_bytes())
                    .map_err(backend("writing the format"))?;
                meta.flush().map_err(backend("writing the format"))?;
                Ok(())
            }
            Some(bytes) => {
                let found = bytes
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found < OLDEST_READABLE {
                    return Err(StoreError::OldFormat {
                        path: dir.to_owned(),
                        found,
                        supported: OLDEST_READABLE,
                    });
                }
                if found > FORMAT {
                    return Err(StoreError::Format {
                        path: dir.to_owned(),
                        found,
                        supported: FORMAT,
                    });
                }
                if found < FORMAT {
                    meta.insert("format", &FORMAT.to_be_bytes())
                        .map_err(backend("writing the format"))?;
                    meta.flush().map_err(backend("writing the format"))?;
                }
                Ok(())
            }
        }
    }

    /// Writes a small record and flushes it to disk: whether writes succeed.
    pub(super) fn probe_write(&self) -> Result<(), StoreError> {
        let now = Utc::now().timestamp_millis().to_be_bytes();
        self.db
            .insert("write-probe", &now)
            .map_err(backend("writing a probe record"))?;
        self.flush()
    }

    /// A version's page as stored: later versions against the first one's page.
    fn encode_raw(&self, id: &str, number: u32, raw: &RawSnapshot) -> Vec<u8> {
        let base = match number {
            1 => None,
            _ => self.raw_snapshot(id, BASE_VERSION).unwrap_or_else(|error| {
                tracing::warn!(id, %error, "first page unreadable; storing this one on its own");
                None
            }),
        };
        let base = base.as_ref().map(|b| (BASE_VERSION, b.body.as_ref()));
        compress::encode_snapshot(raw, base)
    }

    fn get<T: DeserializeOwned>(
        &self,
        tree: &Tree,
        key: &[u8],
        context: &'static str,
    ) -> Result<Option<T>, StoreError> {
        match tree.get(key).map_err(backend(context))? {
            Some(bytes) => decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn find_by_prefix(&self, prefix: &str) -> Result<Option<ArticleRecord>, StoreError> {
        let mut matches = self.articles.scan_prefix(prefix.as_bytes());
        let Some(first) = matches.next() else {
            return Ok(None);
        };
        if matches.next().is_some() {
            return Ok(None);
        }
        let (key, value) = first.map_err(backend("scanning articles"))?;
        self.read_article(&key, &value).map(Some)
    }

    /// An article from its stored record, with its latest revisit state.
    pub(super) fn read_article(
        &self,
        key: &[u8],
        value: &[u8],
    ) -> Result<ArticleRecord, StoreError> {
        let mut article: ArticleRecord = decode(key, value)?;
        let state = self
            .checks
            .get(key)
            .map_err(backend("reading a revisit state"))?;
        if let Some(state) = state {
            RevisitState::from_bytes(key, &state)?.apply_to(&mut article);
        }
        Ok(article)
    }
}

impl Store for SledStore {
    fn article(&self, id: &str) -> Result<Option<ArticleRecord>, StoreError> {
        let key = id.as_bytes();
        match self
            .articles
            .get(key)
            .map_err(backend("reading an article"))?
        {
            Some(value) => self.read_article(key, &value).map(Some),
            None => Ok(None),
        }
    }

    fn find_article(&self, key: &str) -> Result<Option<ArticleRecord>, StoreError> {
        if canonical::looks_like_id(key) {
            return self.find_by_prefix(&key.to_ascii_lowercase());
        }
        let Ok(url) = canonical::parse_http_url(key) else {
            return Ok(None);
        };
        let url = canonical::canonicalize(url);
        if let Some(article) = self.article(&canonical::article_id(&url))? {
            return Ok(Some(article));
        }
        match self.resolve_link(url.as_str())? {
            Some(id) => self.article(&id),
            None => Ok(None),
        }
    }

    fn resolve_link(&self, link: &str) -> Result<Option<String>, StoreError> {
        let found = self
            .links
            .get(link.as_bytes())
            .map_err(backend("reading a link"))?;
        Ok(found.map(|id| String::from_utf8_lossy(&id).into_owned()))
    }

    fn articles(&self) -> Result<Vec<ArticleRecord>, StoreError> {
        self.articles
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(backend("listing articles"))?;
                self.read_article(&key, &value)
            })
            .collect()
    }

    fn version(&self, id: &str, number: u32) -> Result<Option<Version>, StoreError> {
        let key = version_key(id, number);
        match self
            .versions
            .get(&key)
            .map_err(backend("reading a version"))?
        {
            Some(value) => decode_version(&key, &value).map(Some),
            None => Ok(None),
        }
    }

    fn versions(&self, id: &str) -> Result<Vec<Version>, StoreError> {
        self.versions
            .scan_prefix(id.as_bytes())
            .map(|entry| {
                let (key, value) = entry.map_err(backend("listing versions"))?;
                decode_version(&key, &value)
            })
            .collect()
    }

    fn put_version(&self, id: &str, version: &Version) -> Result<(), StoreError> {
        self.versions
            .insert(version_key(id, version.number), encode_version(version))
            .map_err(backend("rewriting a version"))?;
        Ok(())
    }

    fn refresh_current(
        &self,
        id: &str,
        versions: u32,
        current: &Current<'_>,
    ) -> Result<bool, StoreError> {
        let key = id.as_bytes();
        let result: Result<bool, TransactionError<StoreError>> =
            (&self.articles, &self.fingerprints).transaction(|(articles, fingerprints)| {
                let Some(bytes) = articles.get(key)? else {
                    return Ok(false);
                };
                let mut article: ArticleRecord =
                    decode(key, &bytes).map_err(ConflictableTransactionError::Abort)?;
                if article.versions != versions {
                    return Ok(false);
                }
                article.title = current.title.to_string();
                article.topics = current.topics.to_vec();
                articles.insert(key, encode(&article))?;
                if let Some(record) = current.fingerprint {
                    fingerprints.insert(key, record)?;
                }
                Ok(true)
            });
        result.map_err(|e| match e {
            TransactionError::Storage(source) => StoreError::Backend {
                context: "refreshing an article",
                source,
            },
            TransactionError::Abort(error) => error,
        })
    }

    fn raw_snapshot(&self, id: &str, number: u32) -> Result<Option<RawSnapshot>, StoreError> {
        let key = version_key(id, number);
        let read = self.raw.get(&key);
        let Some(value) = read.map_err(backend("reading a raw snapshot"))? else {
            return Ok(None);
        };
        let base = match compress::snapshot_base(&key, &value)? {
            Some(base) if base < number => self.raw_snapshot(id, base)?.map(|s| s.body),
            _ => None,
        };
        compress::decode_snapshot(&key, &value, base.as_deref()).map(Some)
    }

    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Due>, StoreError> {
        let end = due_key(now, "\u{7f}");
        self.due
            .range(..end)
            .take(limit)
            .map(|entry| {
                let (key, _) = entry.map_err(backend("reading the revisit queue"))?;
                let millis = u64::from_be_bytes(key[..8].try_into().expect("8-byte time prefix"));
                Ok(Due {
                    at: DateTime::from_timestamp_millis(millis as i64).unwrap_or_default(),
                    id: String::from_utf8_lossy(&key[8..]).into_owned(),
                })
            })
            .collect()
    }

    fn remove_due(&self, due: &Due) -> Result<(), StoreError> {
        self.due
            .remove(due_key(due.at, &due.id))
            .map_err(backend("updating the revisit queue"))?;
        Ok(())
    }

    fn commit(&self, commit: &Commit<'_>) -> Result<(), StoreError> {
        if let Some(article) = commit.article
            && commit.version.is_none()
            && commit.links.is_empty()
            && commit.outbox.is_empty()
        {
            return self.reschedule(article, commit.previous_check);
        }
        self.commit_group(std::slice::from_ref(commit))
    }

    fn commit_group(&self, commits: &[Commit<'_>]) -> Result<(), StoreError> {
        let writes: Vec<Writes> = commits.iter().map(|c| self.writes(c)).collect();
        let trees = (
            &self.articles,
            &self.checks,
            &self.versions,
            &self.raw,
            &self.links,
            &self.due,
            &self.outbox,
            &self.fingerprints,
            &self.holds,
        );
        let result: Result<(), TransactionError<()>> = trees.transaction(
            |(articles, checks, versions, raws, links, due, outbox, fingerprints, holds)| {
                for w in &writes {
                    if let Some((key, value)) = &w.article {
                        articles.insert(key.as_slice(), value.as_slice())?;
                        checks.remove(key.as_slice())?;
                    }
                    if let Some((key, value)) = &w.version {
                        versions.insert(key.as_slice(), value.as_slice())?;
                    }
                    if let Some((key, value)) = &w.raw {
                        raws.insert(key.as_slice(), value.as_slice())?;
                    }
                    for link in w.links {
                        links.insert(link.as_bytes(), w.id.as_bytes())?;
                    }
                    if let Some(key) = &w.old_due {
                        due.remove(key.as_slice())?;
                    }
                    if let Some(key) = &w.new_due {
                        due.insert(key.as_slice(), &[])?;
                    }
                    for (key, value) in &w.queued {
                        outbox.insert(key.as_slice(), value.as_slice())?;
                    }
                    if let Some(record) = w.fingerprint {
                        fingerprints.insert(w.id.as_bytes(), record)?;
                    }
                    if let Some((key, value)) = &w.hold {
                        holds.insert(key, value.as_slice())?;
                    }
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            },
        );
        result.map_err(|e| transaction_error(e, "committing a version"))
    }

    fn feed(&self, url: &str) -> Result<Option<FeedRecord>, StoreError> {
        self.get(&self.feeds, url.as_bytes(), "reading a feed")
    }

    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError> {
        self.feeds
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(backend("listing feeds"))?;
                decode(&key, &value)
            })
            .collect()
    }

    fn put_feed(&self, feed: &FeedRecord) -> Result<(), StoreError> {
        self.feeds
            .insert(feed.url.as_bytes(), encode(feed))
            .map_err(backend("writing a feed"))?;
        Ok(())
    }

    fn remove_feed(&self, url: &str) -> Result<bool, StoreError> {
        let old = self
            .feeds
            .remove(url.as_bytes())
            .map_err(backend("removing a feed"))?;
        Ok(old.is_some())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(backend("flushing"))?;
        Ok(())
    }

    fn next_sequence(&self) -> Result<u64, StoreError> {
        self.db.generate_id().map_err(backend("numbering an alert"))
    }

    fn outbox(&self, sink: &str, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox
            .scan_prefix(outbox_prefix(sink))
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(backend("reading the outbox"))?;
                decode(&key, &value)
            })
            .collect()
    }

    fn each_fingerprint(&self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        for entry in self.fingerprints.iter() {
            let (key, value) = entry.map_err(backend("reading fingerprints"))?;
            visit(&String::from_utf8_lossy(&key), &value);
        }
        Ok(())
    }

    fn fingerprint(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self
            .fingerprints
            .get(id.as_bytes())
            .map_err(backend("reading a fingerprint"))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn holds(&self) -> Result<Vec<HeldAlert>, StoreError> {
        self.holds
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(backend("reading held alerts"))?;
                decode(&key, &value)
            })
            .collect()
    }

    fn release_hold(&self, held: &HeldAlert, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        let key = held.seq.to_be_bytes();
        let queued: Vec<(Vec<u8>, Vec<u8>)> =
            entries.iter().map(|e| (outbox_key(e), encode(e))).collect();
        let result: Result<(), TransactionError<()>> =
            (&self.holds, &self.outbox).transaction(|(holds, outbox)| {
                holds.remove(&key)?;
                for (key, value) in &queued {
                    outbox.insert(key.as_slice(), value.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|e| transaction_error(e, "releasing a held alert"))
    }

    fn outbox_all(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox
            .iter()
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(backend("reading the outbox"))?;
                decode(&key, &value)
            })
            .collect()
    }

    fn outbox_len(&self, sink: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self.outbox.scan_prefix(outbox_prefix(sink)).keys() {
            key.map_err(backend("counting the outbox"))?;
            count += 1;
        }
        Ok(count)
    }

    fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox
            .insert(outbox_key(entry), encode(entry))
            .map_err(backend("updating the outbox"))?;
        Ok(())
    }

    fn outbox_remove(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox
            .remove(outbox_key(entry))
            .map_err(backend("updating the outbox"))?;
        Ok(())
    }

    fn outbox_fail(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let key = outbox_key(entry);
        let value = encode(entry);
        let id = entry.delivery_id();
        let result: Result<(), TransactionError<()>> =
            (&self.outbox, &self.failed).transaction(|(outbox, failed)| {
                outbox.remove(key.as_slice())?;
                failed.insert(id.as_bytes(), value.as_slice())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|e| transaction_error(e, "moving an alert to the failed list"))
    }

    fn failed(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.failed
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(backend("reading the failed list"))?;
                decode(&key, &value)
            })
            .collect()
    }

    fn retry_failed(&self, delivery: Option<&str>) -> Result<usize, StoreError> {
        let entries: Vec<OutboxEntry> = match delivery {
            Some(id) => self
                .get(&self.failed, id.as_bytes(), "reading the failed list")?
                .into_iter()
                .collect(),
            None => self.failed()?,
        };
        for entry in &entries {
            let id = entry.delivery_id();
            let mut again = entry.clone();
            again.attempts = 0;
            again.next_attempt = None;
            again.enqueued = Utc::now();
            let (key, value) = (outbox_key(&again), encode(&again));
            let result: Result<(), TransactionError<()>> = (&self.outbox, &self.failed)
                .transaction(|(outbox, failed)| {
                    failed.remove(id.as_bytes())?;
                    outbox.insert(key.as_slice(), value.as_slice())?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
            result.map_err(|e| transaction_error(e, "queueing a failed alert again"))?;
        }
        Ok(entries.len())
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        super::care::stats(self)
    }

    fn check(&self) -> Result<Vec<String>, StoreError> {
        super::care::check(self)
    }
}

/// A version as stored: its JSON, compressed.
fn encode_version(version: &Version) -> Vec<u8> {
    compress::pack(&encode(version))
}

pub(super) fn decode_version(key: &[u8], value: &[u8]) -> Result<Version, StoreError> {
    decode(key, &compress::unpack(key, value)?)
}

/// A commit's records, encoded: what its transaction writes.
struct Writes<'a> {
    id: String,
    article: Option<(Vec<u8>, Vec<u8>)>,
    version: Option<(Vec<u8>, Vec<u8>)>,
    raw: Option<(Vec<u8>, Vec<u8>)>,
    links: &'a [String],
    old_due: Option<Vec<u8>>,
    new_due: Option<Vec<u8>>,
    queued: Vec<(Vec<u8>, Vec<u8>)>,
    fingerprint: Option<&'a [u8]>,
    hold: Option<([u8; 8], Vec<u8>)>,
}

impl SledStore {
    /// Encodes (and compresses) what `commit` writes, outside any transaction.
    fn writes<'a>(&self, commit: &Commit<'a>) -> Writes<'a> {
        let article = commit
            .article
            .map(|a| (a.id.as_bytes().to_vec(), encode(a)));
        let version = match (commit.article, commit.version) {
            (Some(a), Some(v)) => Some((version_key(&a.id, v.number), encode_version(v))),
            _ => None,
        };
        let raw = match (commit.article, commit.version, commit.raw) {
            (Some(a), Some(v), Some(raw)) => Some((
                version_key(&a.id, v.number),
                self.encode_raw(&a.id, v.number, raw),
            )),
            _ => None,
        };
        Writes {
            id: commit.article.map(|a| a.id.clone()).unwrap_or_default(),
            article,
            version,
            raw,
            links: commit.links,
            old_due: commit
                .article
                .zip(commit.previous_check)
                .map(|(a, at)| due_key(at, &a.id)),
            new_due: commit
                .article
                .and_then(|a| a.next_check.map(|at| due_key(at, &a.id))),
            queued: commit
                .outbox
                .iter()
                .map(|e| (outbox_key(e), encode(e)))
                .collect(),
            fingerprint: commit.fingerprint,
            hold: commit.hold.map(|h| (h.seq.to_be_bytes(), encode(h))),
        }
    }
}

impl SledStore {
    /// Stores `article` and moves its revisit without a transaction: each sled
    /// transaction writes out its own log buffer, and a revisit that found
    /// nothing new is the most frequent write. The new queue entry goes first,
    /// so an interrupted reschedule leaves at worst a stale entry, which the
    /// scheduler drops when it falls due. When only the revisit state changed,
    /// as after nearly every revisit, only that is written.
    fn reschedule(
        &self,
        article: &ArticleRecord,
        previous_check: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let new_due = article.next_check.map(|at| due_key(at, &article.id));
        if let Some(key) = &new_due {
            self.due
                .insert(key.as_slice(), &[])
                .map_err(backend("updating the revisit queue"))?;
        }
        self.write_article(article)?;
        if let Some(old) = previous_check.map(|at| due_key(at, &article.id))
            && Some(&old) != new_due.as_ref()
        {
            self.due
                .remove(old)
                .map_err(backend("updating the revisit queue"))?;
        }
        Ok(())
    }
}

impl SledStore {
    /// Writes `article`: its revisit state alone if the stored record differs
    /// in nothing else, else the record (and no separate state) atomically.
    fn write_article(&self, article: &ArticleRecord) -> Result<(), StoreError> {
        let key = article.id.as_bytes();
        let stored: Option<ArticleRecord> = self.get(&self.articles, key, "reading an article")?;
        if stored.is_some_and(|s| same_but_revisit_state(&s, article)) {
            self.checks
                .insert(key, RevisitState::of(article).to_bytes())
                .map_err(backend("writing a revisit state"))?;
            return Ok(());
        }
        let record = encode(article);
        let result: Result<(), TransactionError<()>> =
            (&self.articles, &self.checks).transaction(|(articles, checks)| {
                articles.insert(key, record.as_slice())?;
                checks.remove(key)?;
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|e| transaction_error(e, "writing an article"))
    }
}

fn transaction_error(error: TransactionError<()>, context: &'static str) -> StoreError {
    match error {
        TransactionError::Storage(source) => StoreError::Backend { context, source },
        TransactionError::Abort(()) => unreachable!("redline's transactions never abort"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, versions: u32, next: Option<DateTime<Utc>>) -> ArticleRecord {
        ArticleRecord {
            next_check: next,
            ..crate::store::test_article(id, versions)
        }
    }

    fn version(number: u32, body: &str) -> Version {
        Version {
            number,
            title: "t".into(),
            body: body.into(),
            content_hash: Version::hash_content("t", body),
            first_seen: Utc::now(),
            reverts_to: None,
            changes: Vec::new(),
        }
    }

    #[test]
    fn commit_stores_article_version_links_and_queue_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        let at = DateTime::from_timestamp(1_000, 0).unwrap();
        let a = record("abcdef0123", 1, Some(at));
        let links = vec!["http://127.0.0.1/alias".to_string()];
        store
            .commit(&Commit {
                article: Some(&a),
                version: Some(&version(1, "x")),
                links: &links,
                previous_check: None,
                outbox: &[],
                ..Commit::default()
            })
            .unwrap();
        assert_eq!(
            store
                .resolve_link("http://127.0.0.1/alias")
                .unwrap()
                .as_deref(),
            Some("abcdef0123")
        );
        let due = store.due(at, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, "abcdef0123");
        assert!(due[0].is_current(&a));
        assert!(
            store
                .due(at - chrono::Duration::seconds(1), 10)
                .unwrap()
                .is_empty()
        );

        let later = at + chrono::Duration::seconds(60);
        let b = ArticleRecord {
            versions: 2,
            next_check: Some(later),
            ..a.clone()
        };
        store
            .commit(&Commit {
                article: Some(&b),
                version: Some(&version(2, "y")),
                links: &[],
                previous_check: Some(at),
                outbox: &[],
                ..Commit::default()
            })
            .unwrap();
        assert!(
            store.due(at, 10).unwrap().is_empty(),
            "the old queue entry is replaced"
        );
        assert_eq!(store.versions("abcdef0123").unwrap().len(), 2);
        assert_eq!(store.find_article("abcd").unwrap().unwrap().versions, 2);
        assert_eq!(
            store
                .find_article("http://127.0.0.1/alias")
                .unwrap()
                .unwrap()
                .id,
            "abcdef0123"
        );
    }

    #[test]
    fn a_group_commit_stores_each_of_its_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        let at = DateTime::from_timestamp(1_000, 0).unwrap();
        let a = record("aaaaaaaaaa", 1, Some(at));
        let b = record("bbbbbbbbbb", 1, Some(at));
        let links = vec!["http://127.0.0.1/b-alias".to_string()];
        let (va, vb) = (version(1, "x"), version(1, "y"));
        store
            .commit_group(&[
                Commit {
                    article: Some(&a),
                    version: Some(&va),
                    fingerprint: Some(b"fa"),
                    ..Commit::default()
                },
                Commit {
                    article: Some(&b),
                    version: Some(&vb),
                    links: &links,
                    fingerprint: Some(b"fb"),
                    ..Commit::default()
                },
            ])
            .unwrap();
        assert_eq!(store.version("aaaaaaaaaa", 1).unwrap().unwrap().body, "x");
        assert_eq!(store.version("bbbbbbbbbb", 1).unwrap().unwrap().body, "y");
        assert_eq!(
            store.resolve_link("http://127.0.0.1/b-alias").unwrap(),
            Some("bbbbbbbbbb".to_string())
        );
        assert_eq!(store.fingerprint("aaaaaaaaaa").unwrap().unwrap(), b"fa");
        assert_eq!(store.fingerprint("bbbbbbbbbb").unwrap().unwrap(), b"fb");
        assert_eq!(store.due(at, 10).unwrap().len(), 2);
    }

    /// A store in `dir` holding article 0123456789 with version 1, due at 1,000 s.
    fn one_article(dir: &Path) -> (SledStore, ArticleRecord) {
        let store = SledStore::open(dir, 16).unwrap();
        let first = DateTime::from_timestamp(1_000, 0).unwrap();
        let a = record("0123456789", 1, Some(first));
        let full = Commit {
            article: Some(&a),
            version: Some(&version(1, "x")),
            ..Commit::default()
        };
        store.commit(&full).unwrap();
        (store, a)
    }

    #[test]
    fn a_reschedule_moves_the_queue_entry_and_stale_entries_can_be_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (store, a) = one_article(dir.path());
        let first = a.next_check.unwrap();
        let later = first + chrono::Duration::seconds(60);
        let b = ArticleRecord {
            next_check: Some(later),
            ..a.clone()
        };
        let moved = Commit {
            article: Some(&b),
            previous_check: Some(first),
            ..Commit::default()
        };
        store.commit(&moved).unwrap();
        let due = store.due(later, 10).unwrap();
        assert_eq!(due.len(), 1, "the old entry is gone: {due:?}");
        assert!(due[0].is_current(&store.article("0123456789").unwrap().unwrap()));

        // An entry left behind by an interrupted reschedule is not current.
        let stale = Due {
            at: first,
            id: "0123456789".into(),
        };
        assert!(!stale.is_current(&b));
        store.remove_due(&due[0]).unwrap();
        assert!(store.due(later, 10).unwrap().is_empty());
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path(), 16).unwrap();
            let a = record("0123456789", 1, None);
            store
                .commit(&Commit {
                    article: Some(&a),
                    version: Some(&version(1, "x")),
                    links: &[],
                    previous_check: None,
                    outbox: &[],
                    ..Commit::default()
                })
                .unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path(), 16).unwrap();
        assert_eq!(store.version("0123456789", 1).unwrap().unwrap().body, "x");
    }

    #[test]
    fn a_revisit_that_changes_only_the_revisit_state_writes_only_that() {
        let dir = tempfile::tempdir().unwrap();
        let (store, a) = one_article(dir.path());
        let first = a.next_check.unwrap();
        let stored_record = || store.articles.get("0123456789").unwrap().unwrap();
        let before = stored_record();

        let later = first + chrono::Duration::seconds(4);
        let mut b = a.clone();
        b.last_checked = later;
        b.next_check = Some(later);
        b.validators.etag = Some("\"2\"".into());
        let unchanged = Commit {
            article: Some(&b),
            previous_check: Some(first),
            ..Commit::default()
        };
        store.commit(&unchanged).unwrap();
        assert_eq!(stored_record(), before, "the record is not rewritten");
        assert_eq!(store.article("0123456789").unwrap().unwrap(), b);
        assert_eq!(store.articles().unwrap(), [b.clone()]);
        assert_eq!(store.find_article("0123").unwrap().unwrap(), b);
        let due = store.due(later, 10).unwrap();
        assert!(due.len() == 1 && due[0].is_current(&b), "{due:?}");
        assert_eq!(store.check().unwrap(), Vec::<String>::new());

        // Anything else changed: the whole record, and no separate state left.
        let mut c = b.clone();
        c.topics = vec!["russia-ukraine-talks".into()];
        c.next_check = Some(later + chrono::Duration::seconds(4));
        let retopiced = Commit {
            article: Some(&c),
            previous_check: b.next_check,
            ..Commit::default()
        };
        store.commit(&retopiced).unwrap();
        assert_eq!(store.article("0123456789").unwrap().unwrap(), c);
        assert!(store.checks.is_empty());
        store.commit(&unchanged).unwrap();
        let mut d = c.clone();
        d.versions = 2;
        let new_version = Commit {
            article: Some(&d),
            version: Some(&version(2, "y")),
            ..Commit::default()
        };
        store.commit(&new_version).unwrap();
        assert_eq!(store.article("0123456789").unwrap().unwrap(), d);
        assert!(
            store.checks.is_empty(),
            "a version commit writes the whole record"
        );
    }

    #[test]
    fn a_refresh_sets_title_topics_and_fingerprint_of_the_current_version_only() {
        let dir = tempfile::tempdir().unwrap();
        let (store, a) = one_article(dir.path());
        let first = a.next_check.unwrap();
        let mut checked = a.clone();
        checked.next_check = Some(first + chrono::Duration::seconds(4));
        store
            .commit(&Commit {
                article: Some(&checked),
                previous_check: Some(first),
                ..Commit::default()
            })
            .unwrap();
        let before = store.article("0123456789").unwrap().unwrap();
        let topics = vec!["russia-ukraine-talks".to_string()];
        let current = Current {
            title: "Talks resume",
            topics: &topics,
            fingerprint: Some(b"fp"),
        };
        assert!(
            !store
                .refresh_current("0123456789", a.versions + 1, &current)
                .unwrap(),
            "a newer version stored meanwhile keeps its own"
        );
        assert_eq!(store.article("0123456789").unwrap().unwrap(), before);
        assert!(!store.refresh_current("nobody", 1, &current).unwrap());

        assert!(
            store
                .refresh_current("0123456789", a.versions, &current)
                .unwrap()
        );
        let refreshed = store.article("0123456789").unwrap().unwrap();
        assert_eq!(
            (refreshed.title.as_str(), &refreshed.topics),
            ("Talks resume", &topics)
        );
        assert_eq!(
            (refreshed.next_check, refreshed.last_checked),
            (before.next_check, before.last_checked),
            "the revisit state stays"
        );
        assert_eq!(store.fingerprint("0123456789").unwrap().unwrap(), b"fp");
    }

    #[test]
    fn a_store_of_format_2_is_read_as_it_is_and_marked_3() {
        let dir = tempfile::tempdir().unwrap();
        let a = record("0123456789", 1, None);
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert("format", &2u32.to_be_bytes())
                .unwrap();
            db.open_tree("articles")
                .unwrap()
                .insert("0123456789", encode(&a))
                .unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(dir.path(), 16).unwrap();
        assert_eq!(store.article("0123456789").unwrap().unwrap(), a);
        let meta = store.db.open_tree("meta").unwrap();
        assert_eq!(
            meta.get("format").unwrap().unwrap().as_ref(),
            3u32.to_be_bytes()
        );
    }

    #[test]
    fn a_store_of_the_older_format_is_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            meta.insert("format", &1u32.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let err = SledStore::open(dir.path(), 16).err().unwrap().to_string();
        assert!(err.contains("older format 1"), "{err}");
        assert!(err.contains("redline export"), "{err}");
    }

    #[test]
    fn versions_are_stored_compressed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        let body = "Delegations met in Geneva for talks.\n".repeat(100);
        let a = record("0123456789", 1, None);
        store
            .commit(&Commit {
                article: Some(&a),
                version: Some(&version(1, &body)),
                ..Commit::default()
            })
            .unwrap();
        let stored = store
            .versions
            .get(version_key("0123456789", 1))
            .unwrap()
            .unwrap();
        assert!(stored.len() < body.len() / 10, "{} bytes", stored.len());
        assert_eq!(store.versions("0123456789").unwrap()[0].body, body);
    }

    #[test]
    fn a_second_open_names_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledStore::open(dir.path(), 16).unwrap();
        let err = SledStore::open(dir.path(), 16).err().unwrap().to_string();
        assert!(err.contains("another redline process"), "{err}");
    }

    #[test]
    fn a_held_alert_is_stored_with_its_version_and_released_to_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        let a = record("abcdef0123", 2, None);
        let alert: crate::alerts::Alert = serde_json::from_value(serde_json::json!({
            "event": "updated", "id": a.id, "url": a.url, "version": 2, "previous_version": 1,
            "title": "t", "feed": a.feed, "language": null, "topics": [],
            "detected_at": "2026-11-29T08:00:00Z", "diff": null, "own_edit": true
        }))
        .unwrap();
        let held = HeldAlert {
            seq: store.next_sequence().unwrap(),
            release_at: Utc::now(),
            cluster: "s1".into(),
            alert: alert.clone(),
            articles: vec![a.id.clone()],
            signature: None,
        };
        store
            .commit(&Commit {
                article: Some(&a),
                version: Some(&version(2, "y")),
                hold: Some(&held),
                ..Commit::default()
            })
            .unwrap();
        drop(store);
        let store = SledStore::open(dir.path(), 16).unwrap();
        assert_eq!(
            store.holds().unwrap(),
            vec![held.clone()],
            "held across a restart"
        );
        let entry = OutboxEntry {
            sink: "stdout".into(),
            seq: store.next_sequence().unwrap(),
            alert,
            enqueued: Utc::now(),
            attempts: 0,
            next_attempt: None,
            last_error: None,
        };
        store
            .release_hold(&held, std::slice::from_ref(&entry))
            .unwrap();
        assert!(store.holds().unwrap().is_empty());
        assert_eq!(store.outbox("stdout", 10).unwrap(), vec![entry]);
    }
}
