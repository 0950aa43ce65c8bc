//! The running daemon's poll tasks, one per feed, and changes to the feed set
//! while it runs (`redline feeds add|remove|pause|resume` through the API).
//!
//! A change stops the feed's poll task and waits until it has ended (a poll
//! under way is abandoned, so it cannot write the feed record back over the
//! change), applies the change to the store, then starts the feed again if it
//! is still one to poll.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::feed_set::{ActiveFeed, current_feed};
use super::{Context, poller};
use crate::canonical;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// A feed's poll task.
struct Running {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The feeds a daemon polls, and the way to change them while it runs.
pub struct FeedControl {
    ctx: Arc<Context>,
    /// Fixed intervals of the feeds in the config file, by URL.
    fixed: HashMap<String, Duration>,
    running: Mutex<HashMap<String, Running>>,
}

impl FeedControl {
    pub(super) fn new(ctx: Arc<Context>, config: &Config) -> FeedControl {
        let fixed = config
            .feeds
            .iter()
            .filter_map(|f| {
                let url = canonical::parse_http_url(&f.url).ok()?;
                Some((url.to_string(), f.interval?))
            })
            .collect();
        FeedControl {
            ctx,
            fixed,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a poll task for each feed.
    pub(super) async fn start(&self, feeds: Vec<ActiveFeed>) {
        let mut running = self.running.lock().await;
        for feed in feeds {
            self.spawn(&mut running, feed);
        }
    }

    fn spawn(&self, running: &mut HashMap<String, Running>, feed: ActiveFeed) {
        let key = feed.url.to_string();
        if running.get(&key).is_some_and(|r| !r.task.is_finished()) {
            return;
        }
        let stop = self.ctx.shutdown.child_token();
        let task = self
            .ctx
            .tasks
            .spawn(poller::poll_loop(self.ctx.clone(), feed, stop.clone()));
        running.insert(key, Running { stop, task });
    }

    /// Applies `edit` to the store with the feed at `url` stopped, then polls it
    /// again if it is still known and not paused. Returns what `edit` returned.
    pub async fn edit<T>(
        &self,
        url: &str,
        edit: impl FnOnce(&dyn Store) -> T,
    ) -> Result<T, StoreError> {
        let mut running = self.running.lock().await;
        if let Some(old) = running.remove(url) {
            old.stop.cancel();
            // A poll task that panicked has ended all the same.
            let _ = old.task.await;
        }
        let result = edit(self.ctx.store.as_ref());
        self.start_if_wanted(&mut running, url)?;
        Ok(result)
    }

    /// Starts polling the feed at `url` if it is stored, not paused, and not
    /// polled yet (after `feeds import`).
    pub async fn ensure(&self, url: &str) -> Result<(), StoreError> {
        let mut running = self.running.lock().await;
        self.start_if_wanted(&mut running, url)
    }

    fn start_if_wanted(
        &self,
        running: &mut HashMap<String, Running>,
        url: &str,
    ) -> Result<(), StoreError> {
        let store = self.ctx.store.as_ref();
        if store.feed(url)?.is_none() {
            return Ok(());
        }
        let fixed = self.fixed.get(url).copied();
        if let Some(feed) = current_feed(store, url, fixed, &self.ctx.schedule)? {
            tracing::info!(feed = %feed.url, "feed polled from now on");
            self.spawn(running, feed);
        }
        Ok(())
    }
}
