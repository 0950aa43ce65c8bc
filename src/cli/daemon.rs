//! `redline run` and `redline demo`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::{Args, data_dir};
use crate::alerts::webhook::WebhookConfig;
use crate::alerts::{OutputFormat, Sink, WebhookSink};
use crate::config::Config;
use crate::demo;
use crate::store::SledStore;
use crate::topology::Topology;

pub(super) async fn run(config: &Config, args: &Args, run: &RunArgs) -> anyhow::Result<()> {
    let dir = data_dir(args, config);
    let store = SledStore::open(&dir, config.storage.cache_capacity_mb)?;
    tracing::info!(data_dir = %dir.display(), "store opened");
    let topology = Topology::new(config.clone(), Arc::new(store), sinks(config, run)?)?;
    stop_on_signal(topology.shutdown_token());
    topology.run().await?;
    Ok(())
}

/// stdout, the configured webhooks and the one given with --webhook.
fn sinks(config: &Config, run: &RunArgs) -> anyhow::Result<Vec<Sink>> {
    let mut sinks = vec![Sink::Stdout(run.format.unwrap_or(config.alerts.format))];
    let mut hooks = config.alerts.webhooks.clone();
    if let Some(url) = &run.webhook {
        crate::canonical::parse_http_url(url).with_context(|| format!("--webhook {url}"))?;
        let mut hook = WebhookConfig::new(url);
        hook.secret_env = run.webhook_secret_env.clone();
        hooks.push(hook);
    }
    for hook in hooks {
        sinks.push(Sink::Webhook(WebhookSink::new(hook)?));
    }
    Ok(sinks)
}

/// Options of `redline run`.
#[derive(Debug, clap::Args)]
pub(super) struct RunArgs {
    /// Alert format on stdout (default: alerts.format from the config).
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Also deliver alerts to this webhook.
    #[arg(long)]
    webhook: Option<String>,
    /// Environment variable holding the --webhook signing secret.
    #[arg(long, requires = "webhook")]
    webhook_secret_env: Option<String>,
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
