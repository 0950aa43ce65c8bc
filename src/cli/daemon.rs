//! `redline run` and `redline demo`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::{Args, data_dir};
use crate::alerts::webhook::WebhookConfig;
use crate::alerts::{OutputFormat, Sink, WebhookSink};
use crate::api::{self, ApiClient, ClientError, CommandRunner, Listen};
use crate::config::Config;
use crate::demo;
use crate::store::GuardedStore;
use crate::topology::DaemonHandles;
use crate::topology::Topology;

pub(super) async fn run(config: &Config, args: &Args, run: &RunArgs) -> anyhow::Result<()> {
    let dir = data_dir(args, config);
    let store = GuardedStore::open(&dir, config.storage.cache_capacity_mb)?;
    tracing::info!(data_dir = %dir.display(), "store opened");
    let topology = Topology::new(config.clone(), Arc::new(store), sinks(config, run)?)?;
    let stop = topology.shutdown_token();
    stop_on_signal(stop.clone());
    let (listen, token) = api_endpoint(args, config, true)?;
    let runner = command_runner(config, &topology.handles());
    let api = tokio::spawn(api::serve(
        listen,
        topology.handles(),
        runner,
        token,
        stop.clone(),
    ));
    let ran = topology.run().await;
    stop.cancel();
    api.await.context("the API task failed")??;
    Ok(ran?)
}

/// Runs the CLI's store commands on the daemon's store, for API clients.
fn command_runner(config: &Config, handles: &DaemonHandles) -> CommandRunner {
    let config = config.clone();
    let handles = handles.clone();
    Arc::new(move |argv, color| {
        let (config, handles) = (config.clone(), handles.clone());
        Box::pin(async move { super::run_for_client(&argv, &config, &handles, color).await })
    })
}

/// Where the API of the daemon for this data directory listens, and its token
/// (TCP only). The daemon (`create`) makes a token when none is configured.
fn api_endpoint(
    args: &Args,
    config: &Config,
    create: bool,
) -> anyhow::Result<(Listen, Option<String>)> {
    let dir = data_dir(args, config);
    let listen =
        Listen::parse(&config.api.listen, &dir).map_err(|e| anyhow::anyhow!("api.listen: {e}"))?;
    if !matches!(listen, Listen::Tcp(_)) {
        return Ok((listen, None));
    }
    if let Some(var) = &config.api.token_env {
        let token =
            std::env::var(var).with_context(|| format!("api.token_env: {var} is not set"))?;
        return Ok((listen, Some(token)));
    }
    let path = dir.join("api.token");
    if create {
        let token = hex::encode(rand::random::<[u8; 16]>());
        write_private(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
        return Ok((listen, Some(token)));
    }
    let token = std::fs::read_to_string(&path)
        .ok()
        .map(|t| t.trim().to_string());
    Ok((listen, token))
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Runs the current command through a running daemon's API; `None` when no
/// daemon answers (the caller then opens the store itself).
pub(super) async fn via_api(args: &Args, config: &Config) -> anyhow::Result<Option<String>> {
    let (listen, token) = api_endpoint(args, config, false)?;
    let Some(client) = ApiClient::new(&listen, token) else {
        return Ok(None);
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match client.run(argv, crate::alerts::stdout_has_colour()).await {
        Ok(output) => Ok(Some(output)),
        Err(ClientError::Unreachable(_)) => Ok(None),
        Err(ClientError::Command { output, error }) => {
            super::print_output(&output)?;
            Err(anyhow::anyhow!(error))
        }
        Err(error) => Err(error.into()),
    }
}

/// `redline tail`: prints alerts from the running daemon as they come.
pub(super) async fn tail(args: &Args, config: &Config) -> anyhow::Result<()> {
    let (listen, token) = api_endpoint(args, config, false)?;
    let dir = data_dir(args, config);
    let client = ApiClient::new(&listen, token).ok_or_else(|| {
        anyhow::anyhow!(
            "no daemon is running for {} (its API is off or not started)",
            dir.display()
        )
    })?;
    client
        .tail(|line| println!("{line}"))
        .await
        .with_context(|| format!("cannot follow the daemon of {}", dir.display()))
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
