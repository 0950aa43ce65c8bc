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
    /// At most this many stories.
    #[arg(long)]
    limit: Option<usize>,
    /// Only stories that more than one outlet carries.
    #[arg(long)]
    copies: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct DiffArgs {
    /// The article (id, id prefix or URL).
    #[arg(required_unless_present = "between")]
    article: Option<String>,
    /// Compare the latest versions of two articles instead: two outlets' copies of a story.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["article", "from", "to"])]
    between: Option<Vec<String>>,
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
    articles.retain(|a| args.feed.as_deref().is_none_or(|feed| a.feed == feed));
    let mut stories = group_stories(articles);
    stories.retain(|s| args.since.is_none_or(|since| s.last_changed() >= since));
    stories.retain(|s| !args.copies || s.articles.len() > 1);
    stories.sort_by(|a, b| {
        b.last_changed()
            .cmp(&a.last_changed())
            .then_with(|| a.id.cmp(&b.id))
    });
    for story in stories.iter().take(args.limit.unwrap_or(usize::MAX)) {
        write_story(story, out)?;
    }
    Ok(())
}

/// Articles of one story (wire copies of one another), oldest first.
struct Story {
    id: String,
    articles: Vec<ArticleRecord>,
}

impl Story {
    fn last_changed(&self) -> DateTime<Utc> {
        self.articles
            .iter()
            .map(|a| a.last_changed)
            .max()
            .unwrap_or_default()
    }
}

/// Groups articles by story; an article with no story is a story of its own.
fn group_stories(articles: Vec<ArticleRecord>) -> Vec<Story> {
    let mut by_story: std::collections::BTreeMap<String, Vec<ArticleRecord>> = Default::default();
    for article in articles {
        let key = article
            .cluster
            .clone()
            .unwrap_or_else(|| article.id.clone());
        by_story.entry(key).or_default().push(article);
    }
    by_story
        .into_iter()
        .map(|(id, mut articles)| {
            articles.sort_by(|a, b| {
                a.first_seen
                    .cmp(&b.first_seen)
                    .then_with(|| a.id.cmp(&b.id))
            });
            Story { id, articles }
        })
        .collect()
}

fn write_story(story: &Story, out: &mut dyn Write) -> anyhow::Result<()> {
    let first = &story.articles[0];
    let outlets = match story.articles.len() {
        1 => "1 outlet".to_string(),
        n => format!("{n} outlets"),
    };
    let changed = story.last_changed().format("%Y-%m-%d %H:%M");
    writeln!(out, "{}  {outlets}  {changed}  {}", story.id, first.title)?;
    for a in &story.articles {
        writeln!(out, "    {}  v{:<3} {}", a.id, a.versions, a.url)?;
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
    write_copies(store, &article, out)
}

/// The other articles of `article`'s story, if any.
fn write_copies(
    store: &dyn Store,
    article: &ArticleRecord,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Some(cluster) = &article.cluster else {
        return Ok(());
    };
    let mut copies: Vec<ArticleRecord> = store
        .articles()?
        .into_iter()
        .filter(|a| a.cluster.as_ref() == Some(cluster) && a.id != article.id)
        .collect();
    if copies.is_empty() {
        return Ok(());
    }
    copies.sort_by_key(|a| a.first_seen);
    writeln!(out, "\nstory {cluster}, also carried by:")?;
    for copy in copies {
        writeln!(
            out,
            "  {}  v{:<3} {}  {}",
            copy.id, copy.versions, copy.url, copy.title
        )?;
    }
    Ok(())
}

pub(super) fn diff(
    store: &dyn Store,
    args: &DiffArgs,
    out: &mut dyn Write,
    color: bool,
) -> anyhow::Result<()> {
    let (old, new) = match (&args.between, &args.article) {
        (Some(pair), _) => between(store, &pair[0], &pair[1])?,
        (None, Some(key)) => versions_of(store, key, args.from, args.to)?,
        (None, None) => bail!("name an article, or two with --between"),
    };
    let d = diff::diff(
        Side::new(&old.version.title, &old.version.body, &old.label()),
        Side::new(&new.version.title, &new.version.body, &new.label()),
    );
    match args.format {
        DiffFormat::Unified => write!(out, "{}", d.unified)?,
        DiffFormat::Human => write!(out, "{}", render_human(&d, color))?,
        DiffFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(&JsonDiff {
                from: DiffSide::of(&old),
                to: DiffSide::of(&new),
                diff: &d
            })?
        )?,
    }
    Ok(())
}

/// One side of a diff: an article's version.
struct Compared {
    url: String,
    version: Version,
}

impl Compared {
    fn label(&self) -> String {
        format!("{} v{}", self.url, self.version.number)
    }
}

/// Two versions of one article (by default the last two).
fn versions_of(
    store: &dyn Store,
    key: &str,
    from: Option<u32>,
    to: Option<u32>,
) -> anyhow::Result<(Compared, Compared)> {
    let article = find(store, key)?;
    let to = to.unwrap_or(article.versions);
    let from = from.unwrap_or(to.saturating_sub(1).max(1));
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    let side = |number| -> anyhow::Result<Compared> {
        Ok(Compared {
            url: article.url.clone(),
            version: get_version(store, &article, number)?,
        })
    };
    Ok((side(from)?, side(to)?))
}

/// The latest versions of two articles.
fn between(store: &dyn Store, a: &str, b: &str) -> anyhow::Result<(Compared, Compared)> {
    let latest = |key: &str| -> anyhow::Result<Compared> {
        let article = find(store, key)?;
        Ok(Compared {
            version: get_version(store, &article, article.versions)?,
            url: article.url,
        })
    };
    Ok((latest(a)?, latest(b)?))
}

#[derive(Serialize)]
struct DiffSide<'a> {
    url: &'a str,
    version: u32,
}

impl DiffSide<'_> {
    fn of(side: &Compared) -> DiffSide<'_> {
        DiffSide {
            url: &side.url,
            version: side.version.number,
        }
    }
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    from: DiffSide<'a>,
    to: DiffSide<'a>,
    #[serde(flatten)]
    diff: &'a diff::VersionDiff,
}

pub(super) fn export(
    store: &dyn Store,
    options: crate::store::ExportOptions,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(out);
    crate::store::export_jsonl(store, &mut out, options).context("export failed")?;
    out.flush()?;
    Ok(())
}
