//! Shared pieces of the integration tests: a loopback web server whose pages the
//! test edits, and a daemon harness that collects alerts.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use redline::alerts::{Alert, Sink};
use redline::config::{Config, FeedConfig, FetchConfig, ScheduleConfig, StorageConfig};
use redline::store::SledStore;
use redline::topology::Topology;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One page: its content type and bytes.
#[derive(Clone)]
pub struct Page {
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Pages {
    pages: HashMap<String, Page>,
    hits: HashMap<String, usize>,
}

/// A web server on 127.0.0.1 serving pages the test sets and changes.
#[derive(Clone)]
pub struct TestServer {
    pub base: String,
    state: Arc<Mutex<Pages>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let state = Arc::new(Mutex::new(Pages::default()));
        let app = Router::new().fallback(serve).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer { base, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        let page = Page {
            content_type: content_type.to_string(),
            body: body.into(),
        };
        self.state
            .lock()
            .unwrap()
            .pages
            .insert(path.to_string(), page);
    }

    /// How many requests `path` has received.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

async fn serve(State(state): State<Arc<Mutex<Pages>>>, uri: Uri) -> Response {
    let mut pages = state.lock().unwrap();
    *pages.hits.entry(uri.path().to_string()).or_default() += 1;
    match pages.pages.get(uri.path()) {
        Some(page) => (
            [(header::CONTENT_TYPE, page.content_type.clone())],
            page.body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An RSS 2.0 feed linking to `links`.
pub fn rss(links: &[String]) -> String {
    let items: String = links
        .iter()
        .map(|l| format!("<item><title>item</title><link>{l}</link></item>"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Test feed</title>{items}</channel></rss>"
    )
}

/// An article page with boilerplate around `paragraphs`.
pub fn article(title: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} | Test Site</title></head>\
         <body><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>\
         <article><h1>{title}</h1><div class=\"article-body\">{body}</div></article>\
         <footer><p>© Test Site, all rights reserved, every one of them, forever and ever.</p></footer></body></html>"
    )
}

/// A config polling `feeds` fast and revisiting articles every 100 ms.
pub fn fast_config(feeds: &[String]) -> Config {
    let feeds = feeds
        .iter()
        .map(|url| FeedConfig::new(url.as_str()))
        .collect();
    let tick = Duration::from_millis(100);
    Config {
        feeds,
        schedule: ScheduleConfig {
            feed_interval: Duration::from_millis(200),
            feed_interval_min: Duration::from_millis(200),
            feed_interval_max: Duration::from_millis(200),
            feed_backoff_max: Duration::from_secs(1),
            revisit_ages: vec![tick],
            revisit_tail_interval: Some(tick),
            revisit_stop_after: Some(Duration::from_secs(3600)),
            ..ScheduleConfig::default()
        },
        fetch: FetchConfig {
            timeout: Duration::from_secs(10),
            retries: 0,
            min_host_delay: Duration::ZERO,
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

/// A daemon running in this process, with its alerts in a channel.
pub struct Daemon {
    pub store: SledStore,
    pub alerts: mpsc::UnboundedReceiver<Alert>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Daemon {
    pub fn start(config: Config, dir: &Path) -> Daemon {
        Daemon::start_with(config, dir, Vec::new())
    }

    /// A daemon delivering to `extra` sinks besides the test channel.
    pub fn start_with(config: Config, dir: &Path, extra: Vec<Sink>) -> Daemon {
        let store = SledStore::open(dir, 16).expect("store opens");
        let (tx, alerts) = mpsc::unbounded_channel();
        let mut sinks = vec![Sink::Channel {
            name: "test".into(),
            tx,
        }];
        sinks.extend(extra);
        let topology =
            Topology::new(config, Arc::new(store.clone()), sinks).expect("topology builds");
        let stop = topology.shutdown_token();
        let task = tokio::spawn(async move { topology.run().await.expect("daemon runs") });
        Daemon {
            store,
            alerts,
            stop,
            task,
        }
    }

    /// The next alert, or a panic after `secs` seconds without one.
    pub async fn next_alert(&mut self, secs: u64) -> Alert {
        tokio::time::timeout(Duration::from_secs(secs), self.alerts.recv())
            .await
            .expect("an alert arrives in time")
            .expect("the alert channel is open")
    }

    /// Stops the daemon gracefully and waits until the store is flushed and released.
    pub async fn stop(mut self) -> Vec<Alert> {
        self.stop.cancel();
        (&mut self.task).await.unwrap();
        let mut rest = Vec::new();
        while let Ok(alert) = self.alerts.try_recv() {
            rest.push(alert);
        }
        rest
    }
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `secs` seconds.
pub async fn wait_until(secs: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `redline` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_redline");

/// The `redline` command on `config` and `data` with `args`, to run or spawn.
pub fn redline(config: &Path, data: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(args);
    command
}

/// Runs the CLI on `config` and `data`.
pub fn cli(config: &Path, data: &Path, args: &[&str]) -> std::process::Output {
    redline(config, data, args).output().expect("the CLI runs")
}

/// A child process (a daemon, `redline tail`) killed when the test ends.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `app` on `ip` (a loopback address) at a free port; its base URL.
pub async fn serve_router(ip: [u8; 4], app: Router) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((ip, 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A fetcher for loopback test servers: no host delay, no retries, `adjust`ed.
pub fn fetcher(adjust: impl FnOnce(&mut FetchConfig)) -> redline::fetch::Fetcher {
    let mut config = FetchConfig {
        min_host_delay: Duration::ZERO,
        retries: 0,
        allow_loopback: true,
        ..FetchConfig::default()
    };
    adjust(&mut config);
    redline::fetch::Fetcher::new(&config, HashMap::new()).unwrap()
}

/// A URL from a string known to be one.
pub fn url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap()
}
