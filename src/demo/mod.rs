//! The offline demo: a bundled news site served on loopback ([`site`]), ingested
//! by a real daemon with fast intervals; the site then publishes edits to two
//! stories, and the demo ends once their `updated` alerts are out.

pub mod site;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::alerts::{Alert, Event, OutputFormat, Sink};
use crate::config::{Config, FeedConfig, FetchConfig, ScheduleConfig, StorageConfig};
use crate::store::{SledStore, StoreError};
use crate::topology::{Topology, TopologyError};

pub use site::DemoSite;

/// Longest wait for each phase of the demo.
const PHASE_TIMEOUT: Duration = Duration::from_secs(25);

/// Why the demo did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the demo site: {0}")]
    Site(#[source] std::io::Error),
    #[error("cannot create a temporary data directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error("timed out while {phase}: {seen} of {expected} alerts after {PHASE_TIMEOUT:?}")]
    Timeout {
        phase: &'static str,
        seen: usize,
        expected: usize,
    },
    #[error("interrupted")]
    Interrupted,
}

/// What the demo saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoReport {
    pub articles: usize,
    pub updates: usize,
    pub alerts: usize,
}

/// The daemon configuration for the demo site: its feeds, polled every second,
/// and articles revisited every second.
pub fn demo_config(site: &DemoSite) -> Config {
    let feeds = site.feed_urls().into_iter().map(FeedConfig::new).collect();
    let second = Duration::from_secs(1);
    Config {
        feeds,
        schedule: ScheduleConfig {
            feed_interval: second,
            feed_interval_min: second,
            feed_interval_max: second,
            feed_backoff_max: Duration::from_secs(5),
            revisit_ages: vec![second],
            revisit_tail_interval: Some(second),
            revisit_stop_after: Some(Duration::from_secs(600)),
            ..ScheduleConfig::default()
        },
        fetch: FetchConfig {
            timeout: Duration::from_secs(5),
            retries: 1,
            min_host_delay: Duration::ZERO,
            // The demo site is served on 127.0.0.1.
            allow_loopback: true,
            ..FetchConfig::default()
        },
        storage: StorageConfig {
            cache_capacity_mb: 16,
            ..StorageConfig::default()
        },
        ..Config::default()
    }
}

/// Runs the demo; alerts go to stdout in `format`. With `data_dir` the store is
/// kept there, else in a temporary directory.
pub async fn run(
    format: OutputFormat,
    data_dir: Option<&Path>,
    stop: CancellationToken,
) -> Result<DemoReport, DemoError> {
    let site = DemoSite::start().await.map_err(DemoError::Site)?;
    let temp = tempfile::tempdir().map_err(DemoError::TempDir)?;
    let dir = data_dir.unwrap_or(temp.path());
    let store = SledStore::open(dir, 16)?;
    let (watch_tx, mut watch) = mpsc::unbounded_channel();
    let sinks = vec![
        Sink::Stdout(format),
        Sink::Channel {
            name: "demo".into(),
            tx: watch_tx,
        },
    ];
    let topology = Topology::new(demo_config(&site), Arc::new(store), sinks)?;
    let token = topology.shutdown_token();
    let daemon = tokio::spawn(topology.run());
    eprintln!(
        "demo: serving a news site on {} and ingesting it",
        site.base_url()
    );

    let mut seen = Vec::new();
    let phases = async {
        let articles = wait_for(
            &mut watch,
            &mut seen,
            &stop,
            Event::New,
            DemoSite::ARTICLES,
            "ingesting",
        )
        .await?;
        eprintln!(
            "demo: {articles} articles stored; the site now publishes edits to {} stories",
            DemoSite::EDITED_STORIES
        );
        site.publish_edits();
        wait_for(
            &mut watch,
            &mut seen,
            &stop,
            Event::Updated,
            DemoSite::EDITED_STORIES,
            "waiting for updates",
        )
        .await
    };
    let outcome = phases.await;
    token.cancel();
    let stopped = daemon.await.expect("the daemon task does not panic");
    site.shutdown().await;
    let updates = outcome?;
    stopped?;
    Ok(DemoReport {
        articles: seen.iter().filter(|a| a.event == Event::New).count(),
        updates,
        alerts: seen.len(),
    })
}

/// Collects alerts until `expected` distinct articles had an `event` alert.
async fn wait_for(
    watch: &mut mpsc::UnboundedReceiver<Alert>,
    seen: &mut Vec<Alert>,
    stop: &CancellationToken,
    event: Event,
    expected: usize,
    phase: &'static str,
) -> Result<usize, DemoError> {
    let count = |seen: &[Alert]| {
        let mut ids: Vec<&str> = seen
            .iter()
            .filter(|a| a.event == event)
            .map(|a| a.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    while count(seen) < expected {
        tokio::select! {
            _ = stop.cancelled() => return Err(DemoError::Interrupted),
            _ = tokio::time::sleep_until(deadline) => {
                return Err(DemoError::Timeout { phase, seen: count(seen), expected });
            }
            alert = watch.recv() => match alert {
                Some(alert) => seen.push(alert),
                None => return Err(DemoError::Timeout { phase, seen: count(seen), expected }),
            },
        }
    }
    Ok(count(seen))
}
