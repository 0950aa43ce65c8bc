//! Read-only commands over the store: stories, versions, show, diff, export.

use std::io::Write;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde::Serialize;

use crate::diff::{self, Side, render_human};
use crate::store::{ArticleRecord, Store, Version};

#[derive(Debug, clap::Args)]
pub(super) struct StoriesArgs {
    /// Only articles changed since this time: a duration ("2h", "3d") or an RFC 3339 date.
    #[arg(long, value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// Only articles from this feed (its URL).
    #[arg(long)]
    feed: Option<String>,
    /// At most this many rows.
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub(super) struct DiffArgs {
    article: String,
    /// Older version (default: the one before --to).
    #[arg(long)]
    from: Option<u32>,
    /// Newer version (default: the latest).
    #[arg(long)]
    to: Option<u32>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Unified)]
    format: DiffFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DiffFormat {
    Unified,
    Json,
    Human,
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(duration) = humantime::parse_duration(text) {
        let duration = chrono::Duration::from_std(duration).map_err(|e| e.to_string())?;
        return Ok(Utc::now() - duration);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is neither a duration (2h, 3d) nor an RFC 3339 date"))
}

pub(super) fn find(store: &dyn Store, key: &str) -> anyhow::Result<ArticleRecord> {
    store.find_article(key)?.ok_or_else(|| {
        anyhow!("no stored article matches {key:?} (give an id, a unique id prefix or a URL)")
    })
}

fn get_version(store: &dyn Store, article: &ArticleRecord, number: u32) -> anyhow::Result<Version> {
    store.version(&article.id, number)?.ok_or_else(|| {
        anyhow!(
            "{} has no version {number} (it has {})",
            article.url,
            article.versions
        )
    })
}

pub(super) fn stories(
    store: &dyn Store,
    args: &StoriesArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut articles = store.articles()?;
    articles.retain(|a| args.since.is_none_or(|since| a.last_changed >= since));
    articles.retain(|a| args.feed.as_deref().is_none_or(|feed| a.feed == feed));
    articles.sort_by(|a, b| {
        b.first_seen
            .cmp(&a.first_seen)
            .then_with(|| a.id.cmp(&b.id))
    });
    for a in articles.iter().take(args.limit.unwrap_or(usize::MAX)) {
        let changed = a.last_changed.format("%Y-%m-%d %H:%M");
        writeln!(
            out,
            "{}  v{:<3} {changed}  {}\n            {}",
            a.id, a.versions, a.title, a.url
        )?;
    }
    Ok(())
}

pub(super) fn versions(store: &dyn Store, key: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let article = find(store, key)?;
    writeln!(out, "{}  {}\n{}", article.id, article.url, article.title)?;
    for v in store.versions(&article.id)? {
        let words = v.body.split_whitespace().count();
        writeln!(
            out,
            "  v{:<3} {}  {:>5} words  {}  {}",
            v.number,
            v.first_seen.to_rfc3339(),
            words,
            v.content_hash,
            v.title
        )?;
    }
    Ok(())
}

pub(super) fn show(
    store: &dyn Store,
    key: &str,
    number: Option<u32>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let article = find(store, key)?;
    let version = get_version(store, &article, number.unwrap_or(article.versions))?;
    writeln!(
        out,
        "{}\n{}  version {} of {}  first seen {}\n",
        version.title,
        article.url,
        version.number,
        article.versions,
        version.first_seen.to_rfc3339()
    )?;
    writeln!(out, "{}", version.body)?;
    Ok(())
}

pub(super) fn diff(
    store: &dyn Store,
    args: &DiffArgs,
    out: &mut dyn Write,
    color: bool,
) -> anyhow::Result<()> {
    let article = find(store, &args.article)?;
    let to = args.to.unwrap_or(article.versions);
    let from = args.from.unwrap_or(to.saturating_sub(1).max(1));
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    let old = get_version(store, &article, from)?;
    let new = get_version(store, &article, to)?;
    let (old_label, new_label) = (
        format!("{} v{from}", article.url),
        format!("{} v{to}", article.url),
    );
    let d = diff::diff(
        Side::new(&old.title, &old.body, &old_label),
        Side::new(&new.title, &new.body, &new_label),
    );
    match args.format {
        DiffFormat::Unified => write!(out, "{}", d.unified)?,
        DiffFormat::Human => write!(out, "{}", render_human(&d, color))?,
        DiffFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(&JsonDiff {
                url: &article.url,
                from,
                to,
                diff: &d
            })?
        )?,
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    url: &'a str,
    from: u32,
    to: u32,
    #[serde(flatten)]
    diff: &'a diff::VersionDiff,
}

pub(super) fn export(
    store: &dyn Store,
    with_text: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(out);
    crate::store::export_jsonl(store, &mut out, with_text).context("export failed")?;
    out.flush()?;
    Ok(())
}
