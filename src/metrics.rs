//! Metrics in the Prometheus text format, served on the daemon's `/metrics`:
//! polls, HTTP status classes, 304s, bytes, articles, versions, alerts and their
//! delivery, outbox depth, fetch and extraction latency, and per-feed health
//! (error streak, last success, silent or failing).

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabel {
    /// "2xx", "3xx", "4xx", "5xx", or "error" (no response).
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedLabel {
    pub feed: String,
}

/// One feed's gauges, found in their families on first use and kept by the
/// feed's poller, so that a poll does not look them up by URL again.
pub struct FeedGauges {
    label: FeedLabel,
    error_streak: OnceLock<Gauge>,
    last_success: OnceLock<Gauge<f64, AtomicU64>>,
    source_state: OnceLock<Gauge>,
}

impl FeedGauges {
    pub fn new(feed: &str) -> FeedGauges {
        FeedGauges {
            label: FeedLabel {
                feed: feed.to_string(),
            },
            error_streak: OnceLock::new(),
            last_success: OnceLock::new(),
            source_state: OnceLock::new(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    pub sink: String,
}

/// Every metric the daemon keeps.
pub struct Metrics {
    registry: Registry,
    pub feeds_polled: Counter,
    pub http_responses: Family<ClassLabel, Counter>,
    pub not_modified: Counter,
    pub bytes: Counter,
    pub articles_new: Counter,
    pub articles_updated: Counter,
    pub versions: Counter,
    pub alerts_emitted: Counter,
    pub alerts_delivered: Family<SinkLabel, Counter>,
    pub alerts_failed: Family<SinkLabel, Counter>,
    pub outbox_depth: Family<SinkLabel, Gauge>,
    pub fetch_seconds: Histogram,
    pub extract_seconds: Histogram,
    pub feed_error_streak: Family<FeedLabel, Gauge>,
    pub feed_last_success: Family<FeedLabel, Gauge<f64, AtomicU64>>,
    /// 0 while a feed is fine, 1 while it is silent, 2 while it is failing.
    pub feed_source_state: Family<FeedLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("redline");
        let m = Metrics {
            feeds_polled: Counter::default(),
            http_responses: Family::default(),
            not_modified: Counter::default(),
            bytes: Counter::default(),
            articles_new: Counter::default(),
            articles_updated: Counter::default(),
            versions: Counter::default(),
            alerts_emitted: Counter::default(),
            alerts_delivered: Family::default(),
            alerts_failed: Family::default(),
            outbox_depth: Family::default(),
            fetch_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            extract_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 14)),
            feed_error_streak: Family::default(),
            feed_last_success: Family::default(),
            feed_source_state: Family::default(),
            registry: Registry::default(),
        };
        registry.register("feeds_polled", "Feed polls", m.feeds_polled.clone());
        registry.register(
            "http_responses",
            "HTTP responses by status class",
            m.http_responses.clone(),
        );
        registry.register(
            "not_modified",
            "Responses 304 Not Modified",
            m.not_modified.clone(),
        );
        registry.register(
            "fetched_bytes",
            "Body bytes received, after decompression",
            m.bytes.clone(),
        );
        registry.register(
            "articles_new",
            "Articles stored for the first time",
            m.articles_new.clone(),
        );
        registry.register(
            "articles_updated",
            "Articles that got a new version",
            m.articles_updated.clone(),
        );
        registry.register("versions", "Versions stored", m.versions.clone());
        registry.register(
            "alerts_emitted",
            "Alerts queued for delivery",
            m.alerts_emitted.clone(),
        );
        registry.register(
            "alerts_delivered",
            "Alerts delivered, by sink",
            m.alerts_delivered.clone(),
        );
        registry.register(
            "alerts_failed",
            "Alerts given up, by sink",
            m.alerts_failed.clone(),
        );
        registry.register(
            "outbox_depth",
            "Alerts waiting, by sink",
            m.outbox_depth.clone(),
        );
        registry.register(
            "fetch_seconds",
            "Time per HTTP request",
            m.fetch_seconds.clone(),
        );
        registry.register(
            "extract_seconds",
            "Time per page decode and extraction",
            m.extract_seconds.clone(),
        );
        registry.register(
            "feed_error_streak",
            "Failed polls in a row, by feed",
            m.feed_error_streak.clone(),
        );
        registry.register(
            "feed_last_success_timestamp_seconds",
            "Unix time of the last successful poll, by feed",
            m.feed_last_success.clone(),
        );
        registry.register(
            "feed_source_state",
            "0 fine, 1 silent, 2 failing (as its source alerts say), by feed",
            m.feed_source_state.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts a response by its status class.
    pub fn response(&self, status: Option<u16>) {
        let class = match status {
            Some(code) => format!("{}xx", code / 100),
            None => "error".to_string(),
        };
        self.http_responses
            .get_or_create(&ClassLabel { class })
            .inc();
    }

    /// Sets a feed's error streak gauge.
    pub fn set_error_streak(&self, feed: &FeedGauges, streak: i64) {
        feed.error_streak
            .get_or_init(|| self.feed_error_streak.get_or_create(&feed.label).clone())
            .set(streak);
    }

    /// Sets a feed's last success gauge (Unix seconds).
    pub fn set_last_success(&self, feed: &FeedGauges, at: f64) {
        feed.last_success
            .get_or_init(|| self.feed_last_success.get_or_create(&feed.label).clone())
            .set(at);
    }

    /// Sets a feed's source state gauge.
    pub fn set_source_state(&self, feed: &FeedGauges, state: i64) {
        feed.source_state
            .get_or_init(|| self.feed_source_state.get_or_create(&feed.label).clone())
            .set(state);
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_with_labels() {
        let m = Metrics::new();
        m.response(Some(304));
        m.response(None);
        m.articles_new.inc();
        m.feed_error_streak
            .get_or_create(&FeedLabel {
                feed: "http://127.0.0.1/rss".into(),
            })
            .set(2);
        let text = m.encode();
        assert!(
            text.contains("redline_http_responses_total{class=\"3xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("redline_http_responses_total{class=\"error\"} 1"),
            "{text}"
        );
        assert!(text.contains("redline_articles_new_total 1"), "{text}");
        assert!(
            text.contains("redline_feed_error_streak{feed=\"http://127.0.0.1/rss\"} 2"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
