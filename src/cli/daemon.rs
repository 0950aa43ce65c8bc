//! `redline run` and `redline demo`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Args, data_dir};
use crate::alerts::{self, OutputFormat, Sink, StdoutSink};
use crate::config::Config;
use crate::demo;
use crate::store::SledStore;
use crate::topology::Topology;

/// Alerts waiting for the sinks before the pipeline waits for them.
const ALERT_QUEUE: usize = 1024;

pub(super) async fn run(
    config: &Config,
    args: &Args,
    format: Option<OutputFormat>,
) -> anyhow::Result<()> {
    let dir = data_dir(args, config);
    let store = SledStore::open(&dir, config.storage.cache_capacity_mb)?;
    tracing::info!(data_dir = %dir.display(), "store opened");
    let format = format.unwrap_or(config.alerts.format);
    let (tx, rx) = mpsc::channel(ALERT_QUEUE);
    let sinks: Vec<Box<dyn Sink>> = vec![Box::new(StdoutSink::new(format))];
    let dispatcher = alerts::spawn_dispatcher(rx, sinks);
    let topology = Topology::new(config.clone(), Arc::new(store), tx)?;
    stop_on_signal(topology.shutdown_token());
    topology.run().await?;
    dispatcher
        .join()
        .map_err(|_| anyhow::anyhow!("the alert thread panicked"))?;
    Ok(())
}

pub(super) async fn demo(format: OutputFormat, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone());
    let report = demo::run(format, data_dir, shutdown)
        .await
        .context("the demo failed")?;
    eprintln!(
        "demo finished: {} articles ingested, {} updates detected, {} alerts in all",
        report.articles, report.updates, report.alerts
    );
    Ok(())
}

/// Cancels `token` on SIGINT or SIGTERM.
fn stop_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received");
        token.cancel();
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
