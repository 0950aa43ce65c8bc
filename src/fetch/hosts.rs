//! Per-host politeness: requests in flight, the minimum gap between request
//! starts (a token bucket of one), pauses asked for with Retry-After, and backoff
//! after repeated failures.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use url::Url;

use super::retry::backoff;

/// How one host is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Minimum time between two request starts; zero for none.
    pub min_delay: Duration,
}

/// How a request queues for its host, the most urgent class first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Feed polls, and the articles (new, or whose feed item changed) that look
    /// on a watched topic by their feed item or their stored version: those an
    /// alert depends on.
    Urgent,
    /// Other new articles and articles whose feed item changed.
    Normal,
    /// Revisits of articles that matter most: those that can raise an alert, or
    /// whose story just changed.
    Watched,
    /// Other scheduled revisits.
    Background,
}

/// How many classes [`Priority`] has.
const CLASSES: usize = 4;

/// Failures in a row after which a host is paused.
const FAILURES_BEFORE_PAUSE: u32 = 3;

/// Politeness state of one host.
pub(super) struct HostState {
    slots: Arc<Semaphore>,
    /// One gate (as wide as `slots`) per class below the first: a request
    /// passes the gates of its own class and of every class above it, from its
    /// own up, before it queues for a slot, so that few requests of a class ever
    /// wait ahead of those of a more urgent one.
    gates: [Arc<Semaphore>; CLASSES - 1],
    /// Requests waiting for a slot, by class.
    waiting: [AtomicUsize; CLASSES],
    spacing: Option<DefaultDirectRateLimiter>,
    state: Mutex<Health>,
    pause_ceiling: Duration,
}

#[derive(Default)]
struct Health {
    not_before: Option<Instant>,
    failures: u32,
}

impl HostState {
    fn new(policy: HostPolicy, pause_ceiling: Duration) -> HostState {
        let spacing = Quota::with_period(policy.min_delay)
            .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        HostState {
            slots: Arc::new(Semaphore::new(policy.concurrency.max(1))),
            gates: std::array::from_fn(|_| Arc::new(Semaphore::new(policy.concurrency.max(1)))),
            waiting: Default::default(),
            spacing,
            state: Mutex::new(Health::default()),
            pause_ceiling,
        }
    }

    /// Waits for a request slot. Requests below the first class first pass
    /// gates as wide as the host's slots (held until they have a slot), so at
    /// most that many of each class queue ahead of a request of a higher class.
    pub async fn slot(&self, priority: Priority) -> OwnedSemaphorePermit {
        let class = priority as usize;
        let _waiting = Waiting::count(&self.waiting[class]);
        let mut passed = Vec::with_capacity(class);
        for gate in self.gates[..class].iter().rev() {
            passed.push(acquire(gate).await);
        }
        let slot = acquire(&self.slots).await;
        drop(passed);
        slot
    }

    /// The most urgent class, more urgent than `priority`, with a request
    /// waiting for a slot.
    pub fn urgent_waiting_ahead_of(&self, priority: Priority) -> Option<Priority> {
        const CLASSES_IN_ORDER: [Priority; CLASSES] = [
            Priority::Urgent,
            Priority::Normal,
            Priority::Watched,
            Priority::Background,
        ];
        self.waiting[..priority as usize]
            .iter()
            .zip(CLASSES_IN_ORDER)
            .find(|(n, _)| n.load(Ordering::SeqCst) > 0)
            .map(|(_, class)| class)
    }

    /// [`HostState::slot`] for a request whose class may be raised while it
    /// waits: it then leaves its place and queues again in its new class.
    pub async fn slot_raisable(
        &self,
        priority: &mut watch::Receiver<Priority>,
    ) -> OwnedSemaphorePermit {
        loop {
            let class = *priority.borrow_and_update();
            tokio::select! {
                slot = self.slot(class) => return slot,
                Ok(()) = priority.changed() => {}
            }
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits out any pause, then for the next start slot of the token bucket.
    pub async fn ready(&self) {
        while let Some(until) = self.paused_until() {
            tokio::time::sleep_until(until).await;
        }
        if let Some(limiter) = &self.spacing {
            limiter.until_ready().await;
        }
    }

    /// No request to the host starts for `wait` (Retry-After).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(self.pause_ceiling);
        let mut health = self.health();
        if health.not_before.is_none_or(|t| t < until) {
            health.not_before = Some(until);
        }
    }

    /// A connection failure, timeout or server error: after a few in a row the
    /// host is paused, for longer each time.
    pub fn failed(&self) {
        let failures = {
            let mut health = self.health();
            health.failures += 1;
            health.failures
        };
        if failures >= FAILURES_BEFORE_PAUSE {
            let wait = backoff(failures - FAILURES_BEFORE_PAUSE, self.pause_ceiling);
            tracing::debug!(
                failures,
                wait_ms = wait.as_millis() as u64,
                "host paused after repeated failures"
            );
            self.pause_for(wait);
        }
    }

    pub fn succeeded(&self) {
        self.health().failures = 0;
    }

    fn paused_until(&self) -> Option<Instant> {
        self.health().not_before.filter(|t| *t > Instant::now())
    }
}

/// Counts a request as waiting for a slot until it is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Waiting<'_> {
    fn count(counter: &AtomicUsize) -> Waiting<'_> {
        counter.fetch_add(1, Ordering::SeqCst);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn acquire(semaphore: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    semaphore
        .clone()
        .acquire_owned()
        .await
        .expect("host semaphores are never closed")
}

/// The politeness state of every host seen so far.
pub(super) struct Hosts {
    default: HostPolicy,
    overrides: HashMap<String, HostPolicy>,
    pause_ceiling: Duration,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
}

impl Hosts {
    pub fn new(
        default: HostPolicy,
        overrides: HashMap<String, HostPolicy>,
        pause_ceiling: Duration,
    ) -> Hosts {
        Hosts {
            default,
            overrides,
            pause_ceiling,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, url: &Url) -> Arc<HostState> {
        let key = host_key(url);
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = hosts.get(&key) {
            return state.clone();
        }
        let policy = self.overrides.get(&key).copied().unwrap_or(self.default);
        let state = Arc::new(HostState::new(policy, self.pause_ceiling));
        hosts.insert(key, state.clone());
        state
    }
}

/// The politeness key of a URL: its host and port.
pub fn host_key(url: &Url) -> String {
    match url.port_or_known_default() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_includes_the_port() {
        let url = Url::parse("http://127.0.1.5:8099/a").unwrap();
        assert_eq!(host_key(&url), "127.0.1.5:8099");
        let url = Url::parse("https://example.org/a").unwrap();
        assert_eq!(host_key(&url), "example.org:443");
    }

    #[tokio::test]
    async fn repeated_failures_pause_the_host_and_success_resets() {
        let host = one_slot_host();
        host.failed();
        host.failed();
        assert!(host.paused_until().is_none(), "two failures are tolerated");
        host.failed();
        assert!(host.paused_until().is_some(), "the third pauses the host");
        host.succeeded();
        assert_eq!(host.health().failures, 0);
    }

    #[tokio::test]
    async fn retry_after_keeps_the_longest_pause() {
        let host = one_slot_host();
        host.pause_for(Duration::from_secs(30));
        let long = host.paused_until().unwrap();
        host.pause_for(Duration::from_secs(1));
        assert_eq!(host.paused_until(), Some(long));
    }

    #[test]
    fn overrides_apply_to_their_host_only() {
        let default = HostPolicy {
            concurrency: 1,
            min_delay: Duration::ZERO,
        };
        let special = HostPolicy {
            concurrency: 4,
            min_delay: Duration::ZERO,
        };
        let overrides = HashMap::from([("example.org:443".to_string(), special)]);
        let hosts = Hosts::new(default, overrides, Duration::from_secs(60));
        let a = hosts.get(&Url::parse("https://example.org/x").unwrap());
        let b = hosts.get(&Url::parse("https://other.org/x").unwrap());
        assert_eq!(a.slots.available_permits(), 4);
        assert_eq!(b.slots.available_permits(), 1);
    }

    /// A host with one request slot and no spacing between requests.
    fn one_slot_host() -> Arc<HostState> {
        let policy = HostPolicy {
            concurrency: 1,
            min_delay: Duration::ZERO,
        };
        Arc::new(HostState::new(policy, Duration::from_secs(60)))
    }

    /// The order in which requests get the one slot of a busy host, queued in
    /// `batches`: on a single-threaded runtime each batch runs up to its wait
    /// before the next is queued.
    async fn slot_order(batches: &[&[(&'static str, Priority)]]) -> Vec<&'static str> {
        let host = one_slot_host();
        let busy = host.slot(Priority::Normal).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for batch in batches {
            for &(name, priority) in *batch {
                let (host, order) = (host.clone(), order.clone());
                tasks.push(tokio::spawn(async move {
                    let _slot = host.slot(priority).await;
                    order.lock().unwrap().push(name);
                }));
            }
            tokio::task::yield_now().await;
        }
        drop(busy);
        for task in tasks {
            task.await.unwrap();
        }
        order.lock().unwrap().clone()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn background_requests_queue_behind_normal_ones_but_one() {
        use Priority::{Background, Normal};
        let order = slot_order(&[
            &[("b1", Background), ("b2", Background), ("b3", Background)],
            &[("n", Normal)],
        ])
        .await;
        assert_eq!(order, ["b1", "n", "b2", "b3"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn watched_requests_queue_ahead_of_background_ones_but_one() {
        use Priority::{Background, Normal, Watched};
        let order = slot_order(&[
            &[("b1", Background), ("b2", Background), ("b3", Background)],
            &[("w1", Watched), ("w2", Watched)],
            &[("n", Normal)],
        ])
        .await;
        assert_eq!(order, ["b1", "n", "w1", "w2", "b2", "b3"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn urgent_requests_queue_ahead_of_every_other_class_but_one() {
        use Priority::{Background, Normal, Urgent, Watched};
        let order = slot_order(&[
            &[("b", Background), ("n1", Normal), ("n2", Normal)],
            &[("w", Watched)],
            &[("u1", Urgent), ("u2", Urgent)],
        ])
        .await;
        assert_eq!(order, ["b", "u1", "u2", "n1", "n2", "w"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_raised_while_it_waits_queues_again_in_its_new_class() {
        use Priority::{Background, Normal, Watched};
        let host = one_slot_host();
        let busy = host.slot(Normal).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let raised = watch::Sender::new(Background);
        let fixed = |class| watch::Sender::new(class).subscribe();
        let requests = [
            ("w1", fixed(Watched)),
            ("w2", fixed(Watched)),
            ("r", raised.subscribe()),
            ("n", fixed(Normal)),
        ];
        let mut tasks = Vec::new();
        for (name, mut priority) in requests {
            let (host, order) = (host.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = host.slot_raisable(&mut priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        raised.send_replace(Normal);
        tokio::task::yield_now().await;
        drop(busy);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["w1", "n", "r", "w2"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn requests_waiting_in_a_more_urgent_class_are_seen() {
        use Priority::{Background, Normal, Watched};
        let host = one_slot_host();
        let busy = host.slot(Background).await;
        assert!(
            host.urgent_waiting_ahead_of(Background).is_none(),
            "a slot held is no wait"
        );
        let waiter = host.clone();
        let watched = tokio::spawn(async move { drop(waiter.slot(Watched).await) });
        tokio::task::yield_now().await;
        assert!(host.urgent_waiting_ahead_of(Background).is_some());
        assert_eq!(host.urgent_waiting_ahead_of(Background), Some(Watched));
        assert!(
            host.urgent_waiting_ahead_of(Watched).is_none()
                && host.urgent_waiting_ahead_of(Normal).is_none()
        );
        let waiter = host.clone();
        let normal = tokio::spawn(async move { drop(waiter.slot(Normal).await) });
        tokio::task::yield_now().await;
        assert_eq!(
            host.urgent_waiting_ahead_of(Background),
            Some(Normal),
            "the most urgent"
        );
        assert_eq!(host.urgent_waiting_ahead_of(Watched), Some(Normal));
        assert_eq!(host.urgent_waiting_ahead_of(Normal), None);
        drop(busy);
        watched.await.unwrap();
        normal.await.unwrap();
        assert!(host.urgent_waiting_ahead_of(Background).is_none());
    }
}
