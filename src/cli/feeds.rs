//! `redline feeds import|list|add|remove|pause|resume`.
//!
//! Feeds come from three places: the config file (`[[feed]]`, written to the
//! store at every start), feed lists (`imports` in the config, or `feeds
//! import`), and `feeds add`. Pausing works on any of them and lasts until
//! `feeds resume`; removing works on imported and added feeds (a config-file
//! feed is removed from the config file). While a daemon runs, these commands
//! reach it through its API and take effect at once; otherwise they edit the
//! store, and the next start follows it.

use std::io::Write;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::alerts::SourceState;
use crate::canonical;
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::store::{FeedOrigin, FeedRecord, Store};
use crate::topology::{FeedControl, import_feed_list, record_imports};

#[derive(Debug, Subcommand)]
pub(super) enum FeedsCommand {
    /// Add the feeds of an OPML file or plain URL list (a path or an http(s) URL).
    Import { source: String },
    /// List the feeds with their polling state.
    List,
    /// Watch a feed (a running daemon starts polling it at once).
    Add {
        url: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        language: Option<String>,
    },
    /// Stop watching a feed added by `feeds add` or an import (its articles stay).
    Remove { url: String },
    /// Stop polling a feed until `feeds resume`.
    Pause { url: String },
    /// Poll a paused feed again (also one disabled after 410 Gone).
    Resume { url: String },
}

pub(super) async fn run(
    command: &FeedsCommand,
    config: &Config,
    store: &dyn Store,
    control: Option<&FeedControl>,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (url, edit): (&str, Edit) = match command {
        FeedsCommand::Import { source } => {
            return import(config, store, control, source, out).await;
        }
        FeedsCommand::List => return list(store, out),
        FeedsCommand::Add {
            url,
            title,
            language,
        } => (url, Edit::Add(title.clone(), language.clone())),
        FeedsCommand::Remove { url } => (url, Edit::Change(Change::Remove)),
        FeedsCommand::Pause { url } => (url, Edit::Change(Change::Pause)),
        FeedsCommand::Resume { url } => (url, Edit::Change(Change::Resume)),
    };
    let url = canonical::parse_http_url(url)
        .with_context(|| format!("{url} is not a feed URL"))?
        .to_string();
    let said = match control {
        Some(control) => control.edit(&url, |s| edit.apply(s, &url)).await?,
        None => edit.apply(store, &url).and_then(|said| {
            store.flush()?;
            Ok(said)
        }),
    }?;
    writeln!(out, "{said}")?;
    Ok(())
}

/// A change to the feed set.
enum Edit {
    /// A new feed, with its title and language.
    Add(Option<String>, Option<String>),
    Change(Change),
}

/// A change to a known feed.
enum Change {
    Remove,
    Pause,
    Resume,
}

impl Edit {
    /// Applies the edit to the store; returns what to tell the user.
    fn apply(self, store: &dyn Store, url: &str) -> anyhow::Result<String> {
        let known = store.feed(url)?;
        match (self, known) {
            (Edit::Add(..), Some(feed)) => {
                bail!("{url} is already watched ({})", origin_name(feed.origin))
            }
            (Edit::Add(title, language), None) => {
                let mut record = FeedRecord::new(url, FeedOrigin::Added);
                record.title = title;
                record.language = language;
                store.put_feed(&record)?;
                Ok(format!("{url}: added"))
            }
            (Edit::Change(_), None) => {
                bail!("{url} is not a known feed (see `redline feeds list`)")
            }
            (Edit::Change(change), Some(feed)) => change.apply(store, feed),
        }
    }
}

impl Change {
    fn apply(self, store: &dyn Store, mut feed: FeedRecord) -> anyhow::Result<String> {
        let url = feed.url.clone();
        if let Some(to) = &feed.moved_to {
            bail!("{url} moved permanently to {to}: give that URL");
        }
        let said = match self {
            Change::Remove if feed.origin == FeedOrigin::Config => {
                bail!("{url} is listed in the config file: remove it there (or pause it)")
            }
            Change::Remove => {
                store.remove_feed(&url)?;
                return Ok(format!("{url}: removed (its articles stay in the store)"));
            }
            Change::Pause => {
                let at = Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
                feed.disabled = Some(format!("paused with `redline feeds pause` on {at}"));
                "paused"
            }
            Change::Resume if feed.disabled.is_none() => bail!("{url} is not paused"),
            Change::Resume => {
                feed.disabled = None;
                feed.next_poll = None;
                "resumed"
            }
        };
        store.put_feed(&feed)?;
        Ok(format!("{url}: {said}"))
    }
}

fn origin_name(origin: FeedOrigin) -> &'static str {
    match origin {
        FeedOrigin::Config => "config",
        FeedOrigin::Import => "import",
        FeedOrigin::Added => "added",
    }
}

async fn import(
    config: &Config,
    store: &dyn Store,
    control: Option<&FeedControl>,
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
    if let Some(control) = control {
        for entry in &entries {
            control.ensure(&entry.url).await?;
        }
    }
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
        let origin = origin_name(feed.origin);
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
        health(&feed, out)?;
    }
    Ok(())
}

/// The feed's silent or failing episode, if a `source` alert is out about it.
fn health(feed: &FeedRecord, out: &mut dyn Write) -> anyhow::Result<()> {
    let since = match feed.health.alerted {
        Some(SourceState::Silent) => ("silent", feed.health.quiet_since),
        Some(SourceState::Failing) => ("failing", feed.health.failing_since),
        Some(SourceState::Recovered) | None => return Ok(()),
    };
    writeln!(out, "    {} since {}", since.0, when(since.1))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_to_a_moved_or_config_feed_name_what_to_do_instead() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SledStore::open(dir.path(), 16).unwrap();
        let mut moved = FeedRecord::new("http://127.0.0.1/old", FeedOrigin::Added);
        moved.moved_to = Some("http://127.0.0.1/new".into());
        store.put_feed(&moved).unwrap();
        store
            .put_feed(&FeedRecord::new("http://127.0.0.1/cfg", FeedOrigin::Config))
            .unwrap();
        let pause = Edit::Change(Change::Pause).apply(&store, "http://127.0.0.1/old");
        assert!(pause.unwrap_err().to_string().contains("give that URL"));
        let remove = Edit::Change(Change::Remove).apply(&store, "http://127.0.0.1/cfg");
        assert!(remove.unwrap_err().to_string().contains("config file"));
        let paused = Edit::Change(Change::Pause).apply(&store, "http://127.0.0.1/cfg");
        assert_eq!(paused.unwrap(), "http://127.0.0.1/cfg: paused");
        let feed = store.feed("http://127.0.0.1/cfg").unwrap().unwrap();
        assert!(feed.disabled.unwrap().starts_with("paused with"));
    }

    #[test]
    fn a_feed_with_an_open_episode_says_since_when() {
        let mut feed = FeedRecord::new("http://127.0.0.1/rss", FeedOrigin::Added);
        let mut out = Vec::new();
        health(&feed, &mut out).unwrap();
        assert!(out.is_empty(), "a healthy feed has no health line");
        feed.health.failing_since = DateTime::from_timestamp(1_800_000_000, 0);
        feed.health.alerted = Some(SourceState::Failing);
        health(&feed, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "    failing since 2027-01-15 08:00:00\n"
        );
    }
}
