//! Per-host politeness: requests in flight, the minimum gap between request
//! starts (a token bucket of one), pauses asked for with Retry-After, and backoff
//! after repeated failures.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;
use url::Url;

use super::retry::backoff;
use crate::priority::ClassedSlots;

/// How one host is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Minimum time between two request starts; zero for none.
    pub min_delay: Duration,
}

/// Failures in a row after which a host is paused.
const FAILURES_BEFORE_PAUSE: u32 = 3;

/// Politeness state of one host.
pub(super) struct HostState {
    /// Request slots, served by class.
    pub slots: ClassedSlots,
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
            slots: ClassedSlots::new(policy.concurrency),
            spacing,
            state: Mutex::new(Health::default()),
            pause_ceiling,
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
        assert_eq!(a.slots.available(), 4);
        assert_eq!(b.slots.available(), 1);
    }

    /// A host with one request slot and no spacing between requests.
    fn one_slot_host() -> Arc<HostState> {
        let policy = HostPolicy {
            concurrency: 1,
            min_delay: Duration::ZERO,
        };
        Arc::new(HostState::new(policy, Duration::from_secs(60)))
    }
}
