//! The topology: the daemon's tasks and how the stages connect.
//!
//! One task per feed polls it on its interval ([`poller`]), started, stopped and
//! restarted as feeds are added, paused or removed ([`feed_control`]); after each
//! poll the feed's health is judged and a `source` alert sent when it goes silent
//! or failing ([`source_health`]). Each link it has not seen becomes an article
//! task that fetches, extracts and stores version 1 ([`articles`]); a scheduler task takes stored articles whose revisit is due
//! and runs them through the same path, which stores a new version and emits an
//! `updated` alert with its diff when the text changed; articles on a topic, and
//! those whose story just changed ([`hot_articles`]), are revisited ahead of the
//! others on their host; a revisit waiting for its host when the feed says its
//! article changed is raised ahead of them ([`underway`]). Alerts are queued in the
//! store's outbox, from which one task per sink delivers them; an update of a
//! story with copies elsewhere is held for the story window first
//! ([`story_window`]), so that the copies' same changes join it. CPU-bound work (parsing, extraction, diffing) runs on the
//! blocking pool, bounded by a semaphore sized to the cores.
//!
//! While the store cannot write (a full disk), polls, fetches, revisits and
//! deliveries wait and the store is tried again with backoff ([`write_gate`]).
//!
//! Shutdown: when the token is cancelled, polling and scheduling stop, article
//! tasks that are still fetching are dropped, those that already have their page
//! finish their writes, held story alerts are released, local sinks are drained
//! and the store is flushed.

mod articles;
mod feed_control;
mod feed_set;
mod group_commit;
mod hot_articles;
mod poller;
mod source_health;
mod story_window;
mod underway;
mod write_gate;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::alerts::outbox::{self, SinkSlot};
use crate::alerts::story::StoryHolds;
use crate::alerts::{Alert, Sink};
use crate::changes::Detector;
use crate::config::{Config, ScheduleConfig};
use crate::dedup::{Clusters, Loader, StoredFingerprint};
use crate::extract::SiteRules;
use crate::fetch::{FetchError, Fetcher};
use crate::metrics::Metrics;
use crate::priority::{ClassedSlots, Priority};
use crate::schedule::RevisitPolicy;
use crate::store::{Store, StoreError};
use crate::topics::TopicSet;
use hot_articles::HotArticles;
use underway::{Underway, Underways};

pub use feed_control::FeedControl;
pub use feed_set::{ActiveFeed, import_feed_list, record_imports};

/// Why the daemon could not start or stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Topics(#[from] crate::topics::TopicError),
    #[error("story clusters: {0}")]
    Dedup(crate::dedup::DedupError),
}

/// How often the scheduler looks for due revisits.
const SCHEDULER_TICK: Duration = Duration::from_millis(500);
/// Revisits started per scheduler tick at most.
const SCHEDULER_BATCH: usize = 1000;
/// Scheduled revisits under way at most: when hosts fall behind, the rest wait
/// in the store's queue rather than as tasks in memory.
const REVISITS_RUNNING: usize = 2048;
/// Article locks; an article's id picks one, so two tasks never update it at once.
const ARTICLE_LOCKS: usize = 64;

/// State shared by every task of a running daemon.
pub(crate) struct Context {
    pub store: Arc<dyn Store>,
    /// Commits of new versions, grouped into one transaction each.
    group_commit: Arc<group_commit::GroupCommit>,
    pub fetcher: Fetcher,
    /// The sinks and their outbox queues.
    pub sinks: Vec<Arc<SinkSlot>>,
    pub outbox_max: usize,
    pub revisits: RevisitPolicy,
    pub schedule: ScheduleConfig,
    pub detector: Detector,
    pub topics: Arc<TopicSet>,
    pub rules: SiteRules,
    /// Stories: wire copies grouped by their fingerprints.
    pub clusters: Mutex<Clusters>,
    pub metrics: Arc<Metrics>,
    /// Every alert as it is queued, for live followers (`redline tail`).
    pub tail: broadcast::Sender<Alert>,
    /// Whether minor rewording is alerted.
    pub minor_edits: bool,
    /// How long an update of a story with copies waits for the copies' same change.
    pub story_window: Duration,
    /// Alerts held for their story window.
    pub holds: Mutex<StoryHolds>,
    /// Articles whose story just changed: revisited ahead of the others.
    pub hot: HotArticles,
    /// Wakes the release task when a hold is added.
    pub holds_changed: Notify,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    /// Bounds CPU-bound work on the blocking pool, served by class: on a
    /// machine that cannot keep up, revisits wait and new articles do not.
    pub cpu: ClassedSlots,
    /// Bounds the scheduled revisits under way ([`REVISITS_RUNNING`]).
    revisits_running: Arc<Semaphore>,
    /// Links and article ids with a task under way.
    underway: Underways,
    /// Feeds whose next poll must be unconditional (an article from them failed).
    refetch_feeds: Mutex<HashSet<String>>,
    article_locks: Vec<tokio::sync::Mutex<()>>,
}

impl Context {
    /// Marks `key` as under way; `None` if it already was.
    fn begin(&self, key: &str) -> Option<Arc<Underway>> {
        self.underway.begin(key)
    }

    fn end(&self, key: &str) {
        self.underway.end(key);
    }

    fn request_refetch(&self, feed: &str) {
        self.refetch_feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(feed.to_string());
    }

    fn take_refetch(&self, feed: &str) -> bool {
        self.refetch_feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(feed)
    }

    fn article_lock(&self, id: &str) -> &tokio::sync::Mutex<()> {
        let hash = blake3::hash(id.as_bytes());
        let index = hash.as_bytes()[0] as usize % self.article_locks.len();
        &self.article_locks[index]
    }

    /// Runs CPU-bound work on the blocking pool, at most one job per core at
    /// once, queued in `class`.
    async fn cpu<T: Send + 'static>(
        &self,
        class: Priority,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let _permit = self.cpu.acquire(class).await;
        match tokio::task::spawn_blocking(work).await {
            Ok(value) => value,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// Shared parts of a running daemon, for its API.
#[derive(Clone)]
pub struct DaemonHandles {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub tail: broadcast::Sender<Alert>,
    pub sinks: Vec<Arc<SinkSlot>>,
    /// The poll tasks, for feed changes while the daemon runs.
    pub feeds: Arc<FeedControl>,
}

/// Alerts kept for slow live followers before they miss some.
const TAIL_BUFFER: usize = 1024;

/// The running daemon's wiring.
pub struct Topology {
    ctx: Arc<Context>,
    feeds: Arc<FeedControl>,
    config: Config,
}

impl Topology {
    /// Wires the stages; alerts go to `sinks`.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        sinks: Vec<Sink>,
    ) -> Result<Topology, TopologyError> {
        let sinks = sinks
            .into_iter()
            .map(|sink| SinkSlot::new(sink, store.as_ref()).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let metrics = Arc::new(Metrics::new());
        let ctx = Context {
            fetcher: Fetcher::new(&config.fetch, config.host_overrides())?
                .with_metrics(metrics.clone()),
            metrics,
            tail: broadcast::channel(TAIL_BUFFER).0,
            revisits: RevisitPolicy::new(&config.schedule),
            schedule: config.schedule.clone(),
            detector: Detector::default(),
            topics: Arc::new(config.topic_set()?),
            rules: config.extract.clone(),
            clusters: Mutex::new(load_clusters(
                store.as_ref(),
                config.storage.resident_fingerprints,
            )?),
            minor_edits: config.alerts.minor_edits,
            story_window: config.alerts.story_window,
            holds: Mutex::new(StoryHolds::new(store.holds()?)),
            hot: HotArticles::new(config.alerts.story_window),
            holds_changed: Notify::new(),
            group_commit: group_commit::GroupCommit::new(store.clone()),
            store,
            sinks,
            outbox_max: config.alerts.outbox_max,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            cpu: ClassedSlots::new(cores),
            revisits_running: Arc::new(Semaphore::new(REVISITS_RUNNING)),
            underway: Underways::default(),
            refetch_feeds: Mutex::new(HashSet::new()),
            article_locks: (0..ARTICLE_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        };
        let ctx = Arc::new(ctx);
        Ok(Topology {
            feeds: Arc::new(FeedControl::new(ctx.clone(), &config)),
            ctx,
            config,
        })
    }

    /// What the local API needs of a running daemon.
    pub fn handles(&self) -> DaemonHandles {
        DaemonHandles {
            store: self.ctx.store.clone(),
            metrics: self.ctx.metrics.clone(),
            tail: self.ctx.tail.clone(),
            sinks: self.ctx.sinks.clone(),
            feeds: self.feeds.clone(),
        }
    }

    /// A token that stops the daemon when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.ctx.shutdown.clone()
    }

    /// Runs until the shutdown token is cancelled, then drains and flushes.
    pub async fn run(self) -> Result<(), TopologyError> {
        let ctx = self.ctx;
        let feeds = feed_set::active_feeds(&ctx, &self.config).await?;
        if feeds.is_empty() {
            tracing::warn!(
                "no feeds configured: add [[feed]] entries, imports, or run `redline feeds import`"
            );
        }
        tracing::info!(feeds = feeds.len(), "redline started");
        self.feeds.start(feeds).await;
        ctx.tasks.spawn(revisit_scheduler(ctx.clone()));
        ctx.tasks.spawn(story_window::release_loop(ctx.clone()));
        ctx.tasks.spawn(write_gate::recovery_loop(ctx.clone()));
        let delivery = TaskTracker::new();
        let stop_delivery = CancellationToken::new();
        for slot in &ctx.sinks {
            let store = ctx.store.clone();
            let metrics = ctx.metrics.clone();
            delivery.spawn(outbox::deliver_loop(
                slot.clone(),
                store,
                metrics,
                stop_delivery.clone(),
            ));
        }
        ctx.shutdown.cancelled().await;
        tracing::info!("shutting down: finishing in-flight writes");
        ctx.tasks.close();
        ctx.tasks.wait().await;
        if let Err(error) = story_window::release(&ctx, true) {
            tracing::error!(%error, "held story alerts stay queued for the next start");
        }
        stop_delivery.cancel();
        delivery.close();
        delivery.wait().await;
        let store = ctx.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .expect("flush task does not panic")?;
        tracing::info!("store flushed; stopped");
        Ok(())
    }
}

/// Rebuilds the story clusters from the stored fingerprints.
fn load_clusters(store: &dyn Store, resident: usize) -> Result<Clusters, TopologyError> {
    let mut loader = Loader::new(resident);
    store.each_fingerprint(
        &mut |id, bytes| match StoredFingerprint::from_bytes(bytes) {
            Ok(record) => loader.add(id.to_string(), record),
            Err(error) => tracing::warn!(id = %id, %error, "unreadable fingerprint skipped"),
        },
    )?;
    let loaded = loader.finish().map_err(TopologyError::Dedup)?;
    if !loaded.stale.is_empty() {
        tracing::info!(
            articles = loaded.stale.len(),
            "fingerprints of an older version are refreshed at their next change"
        );
    }
    Ok(loaded.clusters)
}

/// Starts revisits of stored articles as they fall due.
async fn revisit_scheduler(ctx: Arc<Context>) {
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(SCHEDULER_TICK) => {}
        }
        if !ctx.writable(&ctx.shutdown).await {
            return;
        }
        let due = match ctx.store.due(chrono::Utc::now(), SCHEDULER_BATCH) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "cannot read the revisit queue");
                continue;
            }
        };
        for entry in due {
            let Ok(running) = ctx.revisits_running.clone().try_acquire_owned() else {
                break;
            };
            if let Some(task) = ctx.begin(&entry.id) {
                let why = articles::Revisit::Scheduled(entry);
                let ctx = ctx.clone();
                ctx.tasks.clone().spawn(async move {
                    articles::revisit(ctx, why, task).await;
                    drop(running);
                });
            }
        }
    }
}
