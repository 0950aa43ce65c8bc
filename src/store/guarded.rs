//! A store that outlives failed writes, such as a full disk.
//!
//! sled 0.34 poisons a database when a write to its log fails (ENOSPC, EIO): the
//! error is kept as a "global error" that every later write returns, and its
//! flusher thread stops, so only opening the database again recovers it. What
//! had not reached the log by then is lost, as in a crash; what had is kept.
//!
//! [`GuardedStore`] wraps the [`SledStore`] of a daemon. The first I/O error
//! closes its [`WriteGate`] and logs which data directory cannot be written; the
//! daemon's tasks wait at the gate instead of polling and fetching, while the
//! poisoned database still serves reads. A recovery task calls
//! [`Store::recover`] with backoff: once the file system has room again, it
//! reopens the database and writes and flushes a probe record; when that
//! succeeds the gate opens again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{
    ArticleRecord, Commit, Current, Due, FeedRecord, OutboxEntry, RawSnapshot, SledStore, Store,
    StoreError, StoreStats, Version,
};
use crate::alerts::story::HeldAlert;

/// Free space the file system must have before writes are tried again: a few
/// of sled's 512 KiB log segments.
const MIN_FREE_BYTES: u64 = 2 * 1024 * 1024;

/// Whether the store can be written; tasks that would write wait while it cannot.
#[derive(Debug)]
pub struct WriteGate {
    open: watch::Sender<bool>,
    /// How many times the gate reopened.
    reopened: AtomicU64,
}

impl Default for WriteGate {
    fn default() -> WriteGate {
        WriteGate {
            open: watch::Sender::new(true),
            reopened: AtomicU64::new(0),
        }
    }
}

impl WriteGate {
    /// Whether writes are expected to succeed.
    pub fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// Returns once the gate is open (at once if it is).
    pub async fn opened(&self) {
        let mut rx = self.open.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = rx.wait_for(|open| *open).await;
    }

    /// Returns once the gate is closed (at once if it is).
    pub async fn closed(&self) {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|open| !*open).await;
    }

    /// Closes the gate; true if it was open.
    fn close(&self) -> bool {
        self.open.send_replace(false)
    }

    /// How many times the gate has reopened: writes accepted just before it
    /// closed may have been lost with the failed log write, so a task that saw
    /// this number change reads its source again in full.
    pub fn reopened(&self) -> u64 {
        self.reopened.load(Ordering::SeqCst)
    }

    fn reopen(&self) {
        self.reopened.fetch_add(1, Ordering::SeqCst);
        self.open.send_replace(true);
    }
}

/// A [`SledStore`] that closes its [`WriteGate`] on I/O errors and reopens the
/// database to recover (see the module documentation).
pub struct GuardedStore {
    dir: PathBuf,
    cache_capacity_mb: u64,
    /// The open database; `None` while a reopen has failed.
    current: RwLock<Option<Arc<SledStore>>>,
    /// Set by an I/O error: the open database must be reopened before use.
    poisoned: AtomicBool,
    gate: Arc<WriteGate>,
}

impl GuardedStore {
    /// Opens the store in `dir` (see [`SledStore::open`]).
    pub fn open(dir: &Path, cache_capacity_mb: u64) -> Result<GuardedStore, StoreError> {
        let store = SledStore::open(dir, cache_capacity_mb)?;
        Ok(GuardedStore {
            dir: dir.to_owned(),
            cache_capacity_mb,
            current: RwLock::new(Some(Arc::new(store))),
            poisoned: AtomicBool::new(false),
            gate: Arc::new(WriteGate::default()),
        })
    }

    fn current(&self) -> Result<Arc<SledStore>, StoreError> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.clone().ok_or_else(|| StoreError::Unavailable {
            path: self.dir.clone(),
        })
    }

    /// Runs `op` on the open database; an I/O error closes the gate.
    fn with<T>(
        &self,
        op: impl FnOnce(&SledStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = op(&*self.current()?);
        if let Err(error) = &result
            && error.is_io()
        {
            self.poisoned.store(true, Ordering::SeqCst);
            if self.gate.close() {
                tracing::error!(
                    data_dir = %self.dir.display(),
                    %error,
                    "cannot write to the store (is the disk full?): feed polls, fetches and \
                     deliveries are paused until it can write again; what is stored is kept"
                );
            }
        }
        result
    }

    /// Drops the poisoned database and opens it again.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        // The old database must be gone (its file lock released) before the open.
        current.take();
        let store = SledStore::open(&self.dir, self.cache_capacity_mb)?;
        *current = Some(Arc::new(store));
        self.poisoned.store(false, Ordering::SeqCst);
        tracing::info!(data_dir = %self.dir.display(), "store reopened after a failed write");
        Ok(())
    }

    /// Room left on the data directory's file system, in bytes.
    fn free_space(&self) -> Result<u64, StoreError> {
        fs2::available_space(&self.dir).map_err(|source| StoreError::Space {
            path: self.dir.clone(),
            source,
        })
    }
}

impl Store for GuardedStore {
    fn article(&self, id: &str) -> Result<Option<ArticleRecord>, StoreError> {
        self.with(|s| s.article(id))
    }
    fn find_article(&self, key: &str) -> Result<Option<ArticleRecord>, StoreError> {
        self.with(|s| s.find_article(key))
    }
    fn resolve_link(&self, link: &str) -> Result<Option<String>, StoreError> {
        self.with(|s| s.resolve_link(link))
    }
    fn articles(&self) -> Result<Vec<ArticleRecord>, StoreError> {
        self.with(|s| s.articles())
    }
    fn version(&self, id: &str, number: u32) -> Result<Option<Version>, StoreError> {
        self.with(|s| s.version(id, number))
    }
    fn versions(&self, id: &str) -> Result<Vec<Version>, StoreError> {
        self.with(|s| s.versions(id))
    }
    fn put_version(&self, id: &str, version: &Version) -> Result<(), StoreError> {
        self.with(|s| s.put_version(id, version))
    }
    fn refresh_current(
        &self,
        id: &str,
        versions: u32,
        current: &Current<'_>,
    ) -> Result<bool, StoreError> {
        self.with(|s| s.refresh_current(id, versions, current))
    }
    fn raw_snapshot(&self, id: &str, number: u32) -> Result<Option<RawSnapshot>, StoreError> {
        self.with(|s| s.raw_snapshot(id, number))
    }
    fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.with(|s| s.due(now, limit))
    }
    fn remove_due(&self, due: &Due) -> Result<(), StoreError> {
        self.with(|s| s.remove_due(due))
    }
    fn commit(&self, commit: &Commit<'_>) -> Result<(), StoreError> {
        self.with(|s| s.commit(commit))
    }
    fn commit_group(&self, commits: &[Commit<'_>]) -> Result<(), StoreError> {
        self.with(|s| s.commit_group(commits))
    }
    fn feed(&self, url: &str) -> Result<Option<FeedRecord>, StoreError> {
        self.with(|s| s.feed(url))
    }
    fn feeds(&self) -> Result<Vec<FeedRecord>, StoreError> {
        self.with(|s| s.feeds())
    }
    fn put_feed(&self, feed: &FeedRecord) -> Result<(), StoreError> {
        self.with(|s| s.put_feed(feed))
    }
    fn remove_feed(&self, url: &str) -> Result<bool, StoreError> {
        self.with(|s| s.remove_feed(url))
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.with(|s| s.flush())
    }
    fn next_sequence(&self) -> Result<u64, StoreError> {
        self.with(|s| s.next_sequence())
    }
    fn outbox(&self, sink: &str, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.with(|s| s.outbox(sink, limit))
    }
    fn outbox_all(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.with(|s| s.outbox_all(limit))
    }
    fn outbox_len(&self, sink: &str) -> Result<usize, StoreError> {
        self.with(|s| s.outbox_len(sink))
    }
    fn outbox_update(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.with(|s| s.outbox_update(entry))
    }
    fn outbox_remove(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.with(|s| s.outbox_remove(entry))
    }
    fn outbox_fail(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.with(|s| s.outbox_fail(entry))
    }
    fn failed(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.with(|s| s.failed())
    }
    fn holds(&self) -> Result<Vec<HeldAlert>, StoreError> {
        self.with(|s| s.holds())
    }
    fn release_hold(&self, held: &HeldAlert, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        self.with(|s| s.release_hold(held, entries))
    }
    fn each_fingerprint(&self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        self.with(|s| s.each_fingerprint(visit))
    }
    fn fingerprint(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| s.fingerprint(id))
    }
    fn retry_failed(&self, delivery: Option<&str>) -> Result<usize, StoreError> {
        self.with(|s| s.retry_failed(delivery))
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.with(|s| s.stats())
    }
    fn check(&self) -> Result<Vec<String>, StoreError> {
        self.with(|s| s.check())
    }

    fn write_gate(&self) -> Option<Arc<WriteGate>> {
        Some(self.gate.clone())
    }

    /// Once the file system has room (sled cannot even open a store on a full
    /// one), reopens a poisoned database and writes and flushes a probe record;
    /// opens the gate when that succeeds. Until then the poisoned database
    /// still serves reads.
    fn recover(&self) -> Result<(), StoreError> {
        let free = self.free_space()?;
        if free < MIN_FREE_BYTES {
            return Err(StoreError::Full {
                path: self.dir.clone(),
                free,
            });
        }
        let closed = self.current.read().map_or(true, |c| c.is_none());
        if closed || self.poisoned.load(Ordering::SeqCst) {
            self.reopen()?;
        }
        self.with(|s| s.probe_write())?;
        self.gate.reopen();
        tracing::info!(data_dir = %self.dir.display(), free_bytes = free, "the store can write again: resuming feed polls, fetches and deliveries");
        Ok(())
    }
}
