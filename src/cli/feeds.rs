//! `redline feeds import` and `redline feeds list`.

use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::store::{FeedOrigin, Store};
use crate::topology::{import_feed_list, record_imports};

#[derive(Debug, Subcommand)]
pub(super) enum FeedsCommand {
    /// Add the feeds of an OPML file or plain URL list (a path or an http(s) URL).
    Import { source: String },
    /// List the feeds with their polling state.
    List,
}

pub(super) async fn run(
    command: &FeedsCommand,
    config: &Config,
    store: &dyn Store,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    match command {
        FeedsCommand::Import { source } => import(config, store, source, out).await,
        FeedsCommand::List => list(store, out),
    }
}

async fn import(
    config: &Config,
    store: &dyn Store,
    source: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let fetcher = Fetcher::new(&config.fetch, config.host_overrides())?;
    // Relative paths are taken relative to the working directory here, not the config.
    let location = if source.starts_with("http://") || source.starts_with("https://") {
        config.resolve_import(source)
    } else {
        crate::config::ImportSource::File(source.into())
    };
    let entries = import_feed_list(&location, &fetcher)
        .await
        .with_context(|| format!("cannot import {source}"))?;
    let added = record_imports(store, &entries)?;
    store.flush()?;
    writeln!(
        out,
        "{source}: {} feeds listed, {added} added",
        entries.len()
    )?;
    Ok(())
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "never".to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

fn list(store: &dyn Store, out: &mut dyn Write) -> anyhow::Result<()> {
    for feed in store.feeds()? {
        let origin = match feed.origin {
            FeedOrigin::Config => "config",
            FeedOrigin::Import => "import",
        };
        let title = feed.title.as_deref().unwrap_or("-");
        writeln!(out, "{}  [{origin}] {title}", feed.url)?;
        if let Some(to) = &feed.moved_to {
            writeln!(out, "    moved permanently to {to}")?;
            continue;
        }
        if let Some(reason) = &feed.disabled {
            writeln!(out, "    disabled: {reason}")?;
        }
        let interval = feed.interval_ms.map_or("-".to_string(), |ms| {
            humantime::format_duration(std::time::Duration::from_millis(ms / 1000 * 1000))
                .to_string()
        });
        writeln!(
            out,
            "    items {}  polls {}  304s {:.0}%  interval {interval}  next poll {}{}",
            feed.items,
            feed.polls,
            feed.not_modified_share() * 100.0,
            when(feed.next_poll),
            if feed.degraded {
                "  degraded (repaired)"
            } else {
                ""
            },
        )?;
        writeln!(
            out,
            "    last success {}  errors in a row {}",
            when(feed.last_success),
            feed.error_streak
        )?;
        if let Some(error) = &feed.last_error {
            writeln!(out, "    last error: {error}")?;
        }
    }
    Ok(())
}
