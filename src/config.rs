//! Configuration: the TOML file that says which feeds to watch and how.
//!
//! Every section has defaults, so an empty file is valid. Unknown keys and bad
//! values are errors that name the key and the file. See `config/redline.toml`
//! for the documented reference.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::alerts::OutputFormat;
use crate::alerts::webhook::WebhookConfig;
use crate::fetch::{HostPolicy, host_key};

/// The bundled topic definitions.
const BUNDLED_TOPICS: &str = include_str!("../config/topics.toml");

/// A configuration that failed to load or validate.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config file {path}: `{key}` {problem}")]
    Invalid {
        path: PathBuf,
        key: String,
        problem: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Feed lists (OPML or plain URL lists; file paths or URLs) imported at start-up.
    #[serde(default)]
    pub imports: Vec<String>,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub fetch: FetchConfig,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub api: ApiConfig,
    /// Per-site extraction rules for pages the automatic extractor gets wrong.
    #[serde(default)]
    pub extract: crate::extract::SiteRules,
    /// Topic definitions (TOML); the bundled config/topics.toml when not given.
    /// Relative paths are taken from this file's directory.
    #[serde(default)]
    pub topics_file: Option<PathBuf>,
    /// Feeds listed one by one.
    #[serde(default, rename = "feed")]
    pub feeds: Vec<FeedConfig>,
    /// Where this configuration was read from (for error messages).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Where and how the store keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Data directory; `--data-dir` overrides it.
    pub data_dir: PathBuf,
    /// sled's page cache, in MiB.
    pub cache_capacity_mb: u64,
    /// Story fingerprints kept in memory: those of the articles that changed most
    /// recently. Older articles are no longer matched as copies of new ones.
    pub resident_fingerprints: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("redline-data"),
            cache_capacity_mb: 128,
            resident_fingerprints: crate::dedup::DEFAULT_RESIDENT,
        }
    }
}

/// HTTP client behaviour, shared by feed polls and article fetches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    pub user_agent: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Total time for one request, body included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Largest body accepted, after decompression.
    pub max_body_mb: u64,
    pub max_redirects: usize,
    /// Requests in flight to one host at once.
    pub per_host_concurrency: usize,
    /// Minimum time between two request starts on one host.
    #[serde(with = "humantime_serde")]
    pub min_host_delay: Duration,
    /// Requests in flight in all.
    pub global_concurrency: usize,
    /// Attempts after the first on timeouts, resets, 429 and 5xx.
    pub retries: u32,
    /// Longest wait between attempts, and longest pause of a failing host.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Fetch from loopback addresses (127.0.0.0/8, ::1); refused by default.
    pub allow_loopback: bool,
    /// Fetch from private addresses (RFC 1918, 100.64.0.0/10, fc00::/7); refused
    /// by default.
    pub allow_private: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: concat!(
                "redline/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/redline-news/redline)"
            )
            .to_string(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(20),
            timeout: Duration::from_secs(30),
            max_body_mb: 8,
            max_redirects: 5,
            per_host_concurrency: 1,
            min_host_delay: Duration::from_secs(1),
            global_concurrency: 32,
            retries: 3,
            max_backoff: Duration::from_secs(600),
            allow_loopback: false,
            allow_private: false,
        }
    }
}

/// How often feeds are polled and stored articles revisited.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// How often a feed is polled at first; it then adapts to how often the feed
    /// publishes, between `feed_interval_min` and `feed_interval_max`.
    #[serde(with = "humantime_serde")]
    pub feed_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub feed_interval_min: Duration,
    #[serde(with = "humantime_serde")]
    pub feed_interval_max: Duration,
    /// Ceiling of the backoff of a failing feed; it is retried at this pace for ever.
    #[serde(with = "humantime_serde")]
    pub feed_backoff_max: Duration,
    /// Ages (time since an article was first seen) at which it is fetched again.
    #[serde(deserialize_with = "duration_list")]
    pub revisit_ages: Vec<Duration>,
    /// After the last age, keep revisiting this often...
    #[serde(with = "humantime_serde")]
    pub revisit_tail_interval: Option<Duration>,
    /// ...until the article is this old.
    #[serde(with = "humantime_serde")]
    pub revisit_stop_after: Option<Duration>,
    /// A feed with no new item for `silent_factor` times its usual gap between
    /// new items, and at least this long, gets a `source` alert (`silent`).
    #[serde(with = "humantime_serde")]
    pub silent_after: Duration,
    pub silent_factor: f64,
    /// A feed whose every poll has failed for this long gets a `source` alert (`failing`).
    #[serde(with = "humantime_serde")]
    pub failing_after: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        let ages = [
            10 * 60,
            30 * 60,
            3600,
            3 * 3600,
            12 * 3600,
            86400,
            3 * 86400,
        ];
        ScheduleConfig {
            feed_interval: Duration::from_secs(600),
            feed_interval_min: Duration::from_secs(120),
            feed_interval_max: Duration::from_secs(3600),
            feed_backoff_max: Duration::from_secs(6 * 3600),
            revisit_ages: ages.into_iter().map(Duration::from_secs).collect(),
            revisit_tail_interval: None,
            revisit_stop_after: None,
            silent_after: Duration::from_secs(24 * 3600),
            silent_factor: 4.0,
            failing_after: Duration::from_secs(6 * 3600),
        }
    }
}

/// The daemon's local API (for the CLI while it runs, `tail` and `/metrics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// "unix" (a socket in the data directory), "unix:PATH", "HOST:PORT" or "off".
    pub listen: String,
    /// On TCP, the environment variable with the bearer token; without it a token
    /// is generated and written to `api.token` in the data directory.
    pub token_env: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "unix".to_string(),
            token_env: None,
        }
    }
}

/// Where alerts go and which ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Format on stdout.
    pub format: OutputFormat,
    /// Alert on updates that only reword a few words (they are stored either way).
    pub minor_edits: bool,
    /// Alerts queued per sink at most; beyond it new alerts skip that sink (logged).
    pub outbox_max: usize,
    /// How long an update of a story that other outlets carry waits for their
    /// copies to make the same change, so that one alert names them all ("0s":
    /// alert every copy at once).
    #[serde(with = "humantime_serde")]
    pub story_window: Duration,
    /// Webhooks (`[[alerts.webhook]]`).
    #[serde(rename = "webhook")]
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            format: OutputFormat::Json,
            minor_edits: false,
            outbox_max: 100_000,
            story_window: Duration::from_secs(600),
            webhooks: Vec::new(),
        }
    }
}

/// One feed to poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub url: String,
    pub title: Option<String>,
    pub language: Option<String>,
    /// A fixed poll interval for this feed (no adaptation).
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Requests in flight to this feed's host (overrides `fetch.per_host_concurrency`).
    pub host_concurrency: Option<usize>,
    /// Minimum gap between requests to this feed's host (overrides `fetch.min_host_delay`).
    #[serde(default, with = "humantime_serde")]
    pub host_delay: Option<Duration>,
}

impl FeedConfig {
    /// A feed with no overrides.
    pub fn new(url: impl Into<String>) -> FeedConfig {
        FeedConfig {
            url: url.into(),
            title: None,
            language: None,
            interval: None,
            host_concurrency: None,
            host_delay: None,
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.source = Some(path.to_owned());
        config.validate()?;
        Ok(config)
    }

    /// Checks values that the types alone do not constrain.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.extract
            .validate()
            .map_err(|e| self.invalid("extract.site", &e.to_string()))?;
        let positive = [
            (
                "fetch.per_host_concurrency",
                self.fetch.per_host_concurrency,
            ),
            ("fetch.global_concurrency", self.fetch.global_concurrency),
            ("fetch.max_body_mb", self.fetch.max_body_mb as usize),
            (
                "storage.cache_capacity_mb",
                self.storage.cache_capacity_mb as usize,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(self.invalid(key, "must be at least 1"));
            }
        }
        let durations = [
            ("fetch.timeout", self.fetch.timeout),
            ("fetch.connect_timeout", self.fetch.connect_timeout),
            ("fetch.read_timeout", self.fetch.read_timeout),
            ("fetch.max_backoff", self.fetch.max_backoff),
            ("schedule.feed_interval", self.schedule.feed_interval),
            (
                "schedule.feed_interval_min",
                self.schedule.feed_interval_min,
            ),
            ("schedule.feed_backoff_max", self.schedule.feed_backoff_max),
            ("schedule.silent_after", self.schedule.silent_after),
            ("schedule.failing_after", self.schedule.failing_after),
        ];
        for (key, value) in durations {
            if value.is_zero() {
                return Err(self.invalid(key, "must be longer than zero"));
            }
        }
        if self.schedule.feed_interval_min > self.schedule.feed_interval_max {
            return Err(self.invalid(
                "schedule.feed_interval_min",
                "must not exceed schedule.feed_interval_max",
            ));
        }
        if !(self.schedule.silent_factor.is_finite() && self.schedule.silent_factor >= 1.0) {
            return Err(self.invalid("schedule.silent_factor", "must be a number of at least 1"));
        }
        self.validate_revisits()?;
        for (i, hook) in self.alerts.webhooks.iter().enumerate() {
            crate::canonical::parse_http_url(&hook.url).map_err(|e| {
                self.invalid(
                    &format!("alerts.webhook[{i}].url"),
                    &format!("{:?}: {e}", hook.url),
                )
            })?;
        }
        for (i, feed) in self.feeds.iter().enumerate() {
            let key = format!("feed[{i}].url");
            crate::canonical::parse_http_url(&feed.url)
                .map_err(|e| self.invalid(&key, &format!("{:?}: {e}", feed.url)))?;
            if feed.interval.is_some_and(|d| d.is_zero()) {
                return Err(
                    self.invalid(&format!("feed[{i}].interval"), "must be longer than zero")
                );
            }
            if feed.host_concurrency == Some(0) {
                return Err(
                    self.invalid(&format!("feed[{i}].host_concurrency"), "must be at least 1")
                );
            }
        }
        Ok(())
    }

    fn validate_revisits(&self) -> Result<(), ConfigError> {
        let ages = &self.schedule.revisit_ages;
        if ages.windows(2).any(|w| w[0] >= w[1]) {
            return Err(self.invalid("schedule.revisit_ages", "must be strictly increasing"));
        }
        if self
            .schedule
            .revisit_tail_interval
            .is_some_and(|d| d.is_zero())
        {
            return Err(self.invalid("schedule.revisit_tail_interval", "must be longer than zero"));
        }
        Ok(())
    }

    fn invalid(&self, key: &str, problem: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.source.clone().unwrap_or_default(),
            key: key.to_string(),
            problem: problem.to_string(),
        }
    }

    /// Per-host politeness set by `[[feed]]` overrides, keyed by host and port.
    pub fn host_overrides(&self) -> HashMap<String, HostPolicy> {
        let mut overrides = HashMap::new();
        for feed in &self.feeds {
            if feed.host_concurrency.is_none() && feed.host_delay.is_none() {
                continue;
            }
            let Ok(url) = crate::canonical::parse_http_url(&feed.url) else {
                continue;
            };
            let policy = HostPolicy {
                concurrency: feed
                    .host_concurrency
                    .unwrap_or(self.fetch.per_host_concurrency),
                min_delay: feed.host_delay.unwrap_or(self.fetch.min_host_delay),
            };
            overrides.insert(host_key(&url), policy);
        }
        overrides
    }

    /// The topics: `topics_file` when set, else the bundled config/topics.toml.
    pub fn topic_set(&self) -> Result<crate::topics::TopicSet, crate::topics::TopicError> {
        match &self.topics_file {
            Some(path) => {
                let base = self
                    .source
                    .as_deref()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new("."));
                crate::topics::TopicSet::load(&base.join(path))
            }
            None => {
                crate::topics::TopicSet::from_toml(BUNDLED_TOPICS, "<bundled config/topics.toml>")
            }
        }
    }

    /// Resolves an import entry: URLs stay as they are, relative paths are taken
    /// relative to the config file's directory.
    pub fn resolve_import(&self, entry: &str) -> ImportSource {
        if (entry.starts_with("http://") || entry.starts_with("https://"))
            && let Ok(url) = Url::parse(entry)
        {
            return ImportSource::Url(url);
        }
        let path = Path::new(entry);
        let base = self.source.as_deref().and_then(Path::parent);
        match base {
            Some(dir) if path.is_relative() => ImportSource::File(dir.join(path)),
            _ => ImportSource::File(path.to_owned()),
        }
    }
}

/// Where a feed list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    Url(Url),
    File(PathBuf),
}

/// Reads a list of human-readable durations ("10m", "1h 30m").
fn duration_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let items: Vec<humantime_serde::Serde<Duration>> = Deserialize::deserialize(d)?;
    Ok(items.into_iter().map(|s| s.into_inner()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.fetch.per_host_concurrency, 1);
        assert_eq!(config.schedule.revisit_ages.len(), 7);
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let err = parse("[fetch]\nuser_agnet = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("user_agnet"), "{err}");
        assert!(err.contains("test.toml"), "{err}");
    }

    #[test]
    fn bad_duration_is_an_error() {
        let err = parse("[schedule]\nfeed_interval = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("feed_interval"), "{err}");
    }

    #[test]
    fn non_http_feed_is_rejected_with_its_index() {
        let err = parse("[[feed]]\nurl = \"ftp://example.org/rss\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("feed[0].url"), "{err}");
    }

    #[test]
    fn zero_concurrency_is_rejected() {
        let err = parse("[fetch]\nper_host_concurrency = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("fetch.per_host_concurrency"), "{err}");
    }

    #[test]
    fn decreasing_revisit_ages_are_rejected() {
        let err = parse("[schedule]\nrevisit_ages = [\"1h\", \"10m\"]\n").unwrap_err();
        assert!(err.to_string().contains("revisit_ages"));
    }

    #[test]
    fn feed_overrides_set_their_host_policy() {
        let text = "[fetch]\nmin_host_delay = \"2s\"\n[[feed]]\nurl = \"https://tass.ru/rss/v2.xml\"\nhost_concurrency = 2\n";
        let config = parse(text).unwrap();
        let overrides = config.host_overrides();
        let policy = overrides["tass.ru:443"];
        assert_eq!(policy.concurrency, 2);
        assert_eq!(policy.min_delay, Duration::from_secs(2));
    }

    #[test]
    fn imports_resolve_relative_to_the_config_file() {
        let config = Config::parse("", Path::new("/etc/redline/redline.toml")).unwrap();
        assert_eq!(
            config.resolve_import("feeds.opml"),
            ImportSource::File(PathBuf::from("/etc/redline/feeds.opml"))
        );
        assert!(matches!(
            config.resolve_import("http://127.0.0.1:8800/feeds.opml"),
            ImportSource::Url(_)
        ));
    }
}
