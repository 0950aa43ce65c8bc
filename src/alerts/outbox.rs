//! The delivery side of the outbox: one worker per sink takes the sink's queue
//! from the store in order, flushes the store (an alert goes out only once the
//! version it announces is on disk), delivers it, and removes an entry only
//! once it is delivered. Failures are retried with exponential backoff and jitter (or after
//! the receiver's Retry-After) until the sink's maximum age, then go to the
//! failed list, as do alerts the receiver refuses for good (4xx).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Alert, Delivery, Sink};
use crate::fetch::backoff;
use crate::metrics::{Metrics, SinkLabel};
use crate::store::{OutboxEntry, Store, StoreError};

/// Entries read from the store at a time.
const BATCH: usize = 64;
/// Longest backoff between two attempts for one alert: a minute, so that a
/// receiver back after an outage gets its backlog within a minute, while one
/// that stays down sees one request a minute per story lane.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Longest Retry-After honoured; a receiver asking for more is tried again then.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A sink with its queue state.
pub struct SinkSlot {
    pub sink: Sink,
    name: String,
    wake: Notify,
    queued: AtomicUsize,
}

impl SinkSlot {
    /// Wraps `sink`, counting what its queue already holds.
    pub fn new(sink: Sink, store: &dyn Store) -> Result<SinkSlot, StoreError> {
        let name = sink.name();
        let queued = store.outbox_len(&name)?;
        if queued > 0 {
            tracing::info!(sink = %name, queued, "resuming delivery of queued alerts");
        }
        Ok(SinkSlot {
            sink,
            name,
            wake: Notify::new(),
            queued: AtomicUsize::new(queued),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Alerts waiting in this sink's queue.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// The outbox entries for `alert`: one per sink that wants it and has room.
/// They count in their sinks' queues at once, before they are committed, so
/// that a worker that delivers one before [`wake`] never takes a count below
/// zero; [`unqueue`] them if their commit fails.
pub fn entries_for(
    slots: &[Arc<SinkSlot>],
    store: &dyn Store,
    alert: &Alert,
    max_queued: usize,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut entries = Vec::new();
    for slot in slots.iter().filter(|s| s.sink.accepts(alert)) {
        if slot.queued() >= max_queued {
            tracing::error!(sink = %slot.name, queued = slot.queued(), url = %alert.url, "outbox full: alert not queued for this sink (raise alerts.outbox_max or fix the receiver)");
            continue;
        }
        entries.push(OutboxEntry {
            sink: slot.name.clone(),
            seq: store.next_sequence()?,
            alert: alert.clone(),
            enqueued: Utc::now(),
            attempts: 0,
            next_attempt: None,
            last_error: None,
        });
    }
    count(slots, &entries, |queued, added| {
        queued.fetch_add(added, Ordering::Relaxed);
    });
    Ok(entries)
}

/// Takes `entries` whose commit failed out of their sinks' counts.
pub fn unqueue(slots: &[Arc<SinkSlot>], entries: &[OutboxEntry]) {
    count(slots, entries, |queued, added| {
        queued.fetch_sub(added, Ordering::Relaxed);
    });
}

/// Tells the sinks of committed `entries` that they have work.
pub fn wake(slots: &[Arc<SinkSlot>], entries: &[OutboxEntry]) {
    for slot in slots {
        if entries.iter().any(|e| e.sink == slot.name) {
            slot.wake.notify_one();
        }
    }
}

/// Applies `change` to the count of each sink that has some of `entries`.
fn count(slots: &[Arc<SinkSlot>], entries: &[OutboxEntry], change: impl Fn(&AtomicUsize, usize)) {
    for slot in slots {
        let added = entries.iter().filter(|e| e.sink == slot.name).count();
        if added > 0 {
            change(&slot.queued, added);
        }
    }
}

/// Delivers `slot`'s queue until `stop`; local sinks empty their queue first.
///
/// Each round reads the oldest entries and delivers them in lanes, one per story
/// (see [`Sink::lanes`]): within a story, an alert is sent only once the one
/// before it was delivered or given up, so each story's order is kept while a
/// failing alert holds back nothing else.
pub async fn deliver_loop(
    slot: Arc<SinkSlot>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    loop {
        if !writable(store.as_ref(), &stop).await {
            return;
        }
        let batch = match durable_batch(&slot, &store).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(sink = %slot.name, %error, "cannot read the outbox or make it durable");
                if wait(&slot, &stop, Some(Duration::from_secs(1))).await {
                    return;
                }
                continue;
            }
        };
        // Only an empty queue ends a stopped worker: work queued just before
        // the stop is still read.
        if batch.is_empty() && stop.is_cancelled() {
            return;
        }
        let round = deliver_round(&slot, store.as_ref(), &metrics, batch, &stop).await;
        if round.delivered == 0 {
            if stop.is_cancelled() {
                return;
            }
            let until_retry = round
                .next_retry
                .map(|at| (at - Utc::now()).to_std().unwrap_or_default());
            wait(&slot, &stop, until_retry).await;
        }
    }
}

/// Waits while the store cannot be written (a delivery is recorded by a write);
/// false if `stop` came first.
async fn writable(store: &dyn Store, stop: &CancellationToken) -> bool {
    match store.write_gate() {
        Some(gate) if !gate.is_open() => tokio::select! {
            _ = stop.cancelled() => false,
            _ = gate.opened() => true,
        },
        _ => true,
    }
}

/// The oldest entries of `slot`'s queue, once they are on disk: an alert is
/// delivered only after the version it announces can no longer be lost to a
/// crash or a failed write.
async fn durable_batch(
    slot: &SinkSlot,
    store: &Arc<dyn Store>,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let batch = store.outbox(&slot.name, BATCH)?;
    if !batch.is_empty() {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .expect("a store flush does not panic")?;
    }
    Ok(batch)
}

/// What a round of deliveries achieved.
#[derive(Default)]
struct Round {
    /// Entries delivered or given up.
    delivered: usize,
    /// The earliest retry time of an entry left in the queue.
    next_retry: Option<DateTime<Utc>>,
}

impl Round {
    fn add(mut self, other: Round) -> Round {
        self.delivered += other.delivered;
        self.next_retry = match (self.next_retry, other.next_retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }
}

async fn deliver_round(
    slot: &SinkSlot,
    store: &dyn Store,
    metrics: &Metrics,
    batch: Vec<OutboxEntry>,
    stop: &CancellationToken,
) -> Round {
    let lanes = story_lanes(batch, slot.sink.lanes() > 1);
    futures_util::stream::iter(lanes)
        .map(|lane| deliver_lane(slot, store, metrics, lane, stop))
        .buffer_unordered(slot.sink.lanes())
        .fold(
            Round::default(),
            |total, round| async move { total.add(round) },
        )
        .await
}

/// The batch split by story (first appearance order), or kept whole.
fn story_lanes(batch: Vec<OutboxEntry>, by_story: bool) -> Vec<Vec<OutboxEntry>> {
    if !by_story {
        return vec![batch];
    }
    let mut lanes: Vec<Vec<OutboxEntry>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in batch {
        let story = entry
            .alert
            .cluster
            .clone()
            .unwrap_or_else(|| entry.alert.id.clone());
        let lane = *index.entry(story).or_insert_with(|| {
            lanes.push(Vec::new());
            lanes.len() - 1
        });
        lanes[lane].push(entry);
    }
    lanes
}

/// Delivers one story's entries in order, up to the first that must wait.
async fn deliver_lane(
    slot: &SinkSlot,
    store: &dyn Store,
    metrics: &Metrics,
    lane: Vec<OutboxEntry>,
    stop: &CancellationToken,
) -> Round {
    let mut round = Round::default();
    for entry in lane {
        if stop.is_cancelled() && !slot.sink.drains_on_shutdown() {
            break;
        }
        if let Some(at) = entry.next_attempt.filter(|at| *at > Utc::now()) {
            round.next_retry = Some(at);
            break;
        }
        match deliver_one(slot, store, metrics, entry).await {
            None => round.delivered += 1,
            Some(at) => {
                round.next_retry = Some(at);
                break;
            }
        }
    }
    round
}

/// Waits for new work, `timeout` or `stop`; true when stopped.
async fn wait(slot: &SinkSlot, stop: &CancellationToken, timeout: Option<Duration>) -> bool {
    let sleep = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(3600)));
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = slot.wake.notified() => false,
        _ = sleep => false,
    }
}

/// One attempt at one entry, its outcome recorded: `None` once the entry left
/// the queue (delivered or given up), else when to try it again.
async fn deliver_one(
    slot: &SinkSlot,
    store: &dyn Store,
    metrics: &Metrics,
    mut entry: OutboxEntry,
) -> Option<DateTime<Utc>> {
    let outcome = slot.sink.deliver(&entry).await;
    let label = SinkLabel {
        sink: slot.name.clone(),
    };
    match &outcome {
        Delivery::Delivered => metrics.alerts_delivered.get_or_create(&label).inc(),
        Delivery::Reject { .. } => metrics.alerts_failed.get_or_create(&label).inc(),
        Delivery::Retry { .. } => 0,
    };
    let written = match outcome {
        Delivery::Delivered => store.outbox_remove(&entry).map(|()| true),
        Delivery::Reject { error } => give_up(slot, store, &mut entry, error),
        Delivery::Retry { after, error } => retry_later(slot, store, &mut entry, after, error),
    };
    match written {
        Ok(true) => {
            let left = slot
                .queued
                .fetch_sub(1, Ordering::Relaxed)
                .saturating_sub(1);
            metrics.outbox_depth.get_or_create(&label).set(left as i64);
            None
        }
        Ok(false) => Some(entry.next_attempt.unwrap_or_else(Utc::now)),
        Err(error) => {
            tracing::error!(sink = %slot.name, %error, "cannot record a delivery");
            Some(Utc::now() + chrono::Duration::seconds(1))
        }
    }
}

fn give_up(
    slot: &SinkSlot,
    store: &dyn Store,
    entry: &mut OutboxEntry,
    error: String,
) -> Result<bool, StoreError> {
    tracing::error!(sink = %slot.name, delivery = %entry.delivery_id(), url = %entry.alert.url, %error, "alert not delivered; moved to the failed list (`redline alerts retry`)");
    entry.last_error = Some(error);
    store.outbox_fail(entry)?;
    Ok(true)
}

fn retry_later(
    slot: &SinkSlot,
    store: &dyn Store,
    entry: &mut OutboxEntry,
    after: Option<Duration>,
    error: String,
) -> Result<bool, StoreError> {
    let age = (Utc::now() - entry.enqueued).to_std().unwrap_or_default();
    if age > slot.sink.max_age() {
        return give_up(
            slot,
            store,
            entry,
            format!(
                "{error} (still failing after {})",
                humantime::format_duration(Duration::from_secs(age.as_secs()))
            ),
        );
    }
    let wait = after.map_or_else(
        || backoff(entry.attempts, MAX_RETRY_WAIT),
        |d| d.min(MAX_RETRY_AFTER),
    );
    entry.attempts += 1;
    entry.next_attempt = chrono::Duration::from_std(wait)
        .ok()
        .map(|w| Utc::now() + w);
    tracing::warn!(sink = %slot.name, delivery = %entry.delivery_id(), attempts = entry.attempts, wait_ms = wait.as_millis() as u64, %error, "alert delivery failed; will retry");
    entry.last_error = Some(error);
    store.outbox_update(entry)?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Event;
    use crate::store::SledStore;

    #[test]
    fn entries_count_in_their_queue_before_they_are_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let sink = Sink::Channel {
            name: "test".into(),
            tx,
        };
        let slots = vec![Arc::new(SinkSlot::new(sink, &store).unwrap())];
        let alert = Alert::new(
            Event::New,
            "0123456789".into(),
            "http://127.0.0.1/a".into(),
            1,
            "t".into(),
            "http://127.0.0.1/rss".into(),
        );
        let entries = entries_for(&slots, &store, &alert, 10).unwrap();
        assert_eq!(entries.len(), 1);
        // A worker may deliver the entry as soon as it is committed, before
        // `wake`: the count it takes one off already holds it.
        assert_eq!(slots[0].queued(), 1);
        wake(&slots, &entries);
        assert_eq!(slots[0].queued(), 1);
        unqueue(&slots, &entries);
        assert_eq!(slots[0].queued(), 0);
    }
}
