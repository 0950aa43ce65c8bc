//! Looking after the store: `redline db stats`, `redline db check` and
//! `redline reextract`, which runs extraction again over the raw snapshots and
//! brings each article's current title, topics and story fingerprint up to date.

use std::io::Write;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use url::Url;

use crate::changes::Detector;
use crate::config::Config;
use crate::dedup::{self, StoredFingerprint};
use crate::extract;
use crate::fetch::charset::{self, DocKind};
use crate::fetch::host_key;
use crate::store::{ArticleRecord, Current, Store, StoreStats, Version};
use crate::topics::{Document, TopicSet};

#[derive(Debug, Subcommand)]
pub(super) enum DbCommand {
    /// Counts of records, bytes per tree, compressed and plain payloads, disk use.
    Stats,
    /// Decode every record and check references; exits non-zero on a problem.
    Check,
}

/// Options of `redline reextract`.
#[derive(Debug, clap::Args)]
pub(super) struct ReextractArgs {
    /// The article (id, unique id prefix or URL).
    #[arg(long, required_unless_present = "all")]
    id: Option<String>,
    /// Every stored article.
    #[arg(long, conflicts_with = "id")]
    all: bool,
}

pub(super) fn run(
    store: &dyn Store,
    command: &DbCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        DbCommand::Stats => print_stats(&store.stats()?, out),
        DbCommand::Check => check(store, out),
    }
}

fn check(store: &dyn Store, out: &mut dyn Write) -> anyhow::Result<()> {
    let problems = store.check()?;
    for problem in &problems {
        writeln!(out, "{problem}")?;
    }
    if !problems.is_empty() {
        bail!("the store has {} problems", problems.len());
    }
    writeln!(out, "ok: every record decodes and every reference holds")?;
    Ok(())
}

fn per(total: u64, count: u64) -> u64 {
    total.checked_div(count).unwrap_or(0)
}

fn ratio(plain: u64, stored: u64) -> f64 {
    plain as f64 / stored.max(1) as f64
}

fn print_stats(s: &StoreStats, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "articles {}  versions {}  stories {}  feeds {}  outbox {}  failed {}  raw snapshots {}",
        s.articles, s.versions, s.stories, s.feeds, s.outbox, s.failed, s.raw_snapshots
    )?;
    writeln!(out, "{:<14} {:>10} {:>14}", "tree", "records", "bytes")?;
    for tree in &s.trees {
        writeln!(
            out,
            "{:<14} {:>10} {:>14}",
            tree.name, tree.records, tree.bytes
        )?;
    }
    writeln!(
        out,
        "versions: {} bytes stored, {} as JSON ({:.1}x); {} per version",
        s.versions_stored_bytes,
        s.versions_plain_bytes,
        ratio(s.versions_plain_bytes, s.versions_stored_bytes),
        per(s.versions_stored_bytes, s.versions)
    )?;
    writeln!(
        out,
        "raw snapshots: {} bytes stored, {} as served ({:.1}x); {} per snapshot",
        s.raw_stored_bytes,
        s.raw_plain_bytes,
        ratio(s.raw_plain_bytes, s.raw_stored_bytes),
        per(s.raw_stored_bytes, s.raw_snapshots)
    )?;
    let payload: u64 = s.trees.iter().map(|t| t.bytes).sum();
    writeln!(
        out,
        "all records: {payload} bytes; {} per article; on disk: {} bytes ({} per article)",
        per(payload, s.articles),
        s.on_disk_bytes,
        per(s.on_disk_bytes, s.articles)
    )?;
    Ok(())
}

/// What re-extraction did.
#[derive(Debug, Default)]
struct Tally {
    articles: usize,
    versions: usize,
    changed: usize,
    /// Versions stored without their page (kept as they are).
    no_snapshot: usize,
    /// Pages where extraction now finds no text (kept as they are).
    empty: usize,
    /// Articles whose current version changed: title, topics and fingerprint
    /// taken again from it.
    refreshed: usize,
}

/// `redline reextract`: extracts every stored page again with this build and
/// the config's site rules, and rewrites the text of each version whose
/// extraction changed. When an article's current version changed, its title,
/// topics (with the config's topics) and story fingerprint follow. Version
/// numbers, times, clusters and alerts stay as they were.
pub(super) fn reextract(
    store: &dyn Store,
    config: &Config,
    args: &ReextractArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let articles = match &args.id {
        Some(key) => vec![super::inspect::find(store, key)?],
        None => store.articles()?,
    };
    let detector = Detector::default();
    let topics = config.topic_set().context("loading the topics")?;
    let mut tally = Tally::default();
    for article in &articles {
        reextract_article(store, config, &detector, &topics, article, &mut tally)
            .with_context(|| format!("re-extracting {} ({})", article.id, article.url))?;
    }
    writeln!(
        out,
        "{} articles, {} versions: {} changed, {} unchanged, {} without a raw snapshot, {} with no text now (kept); {} articles with a new current text",
        tally.articles,
        tally.versions,
        tally.changed,
        tally.versions - tally.changed - tally.no_snapshot - tally.empty,
        tally.no_snapshot,
        tally.empty,
        tally.refreshed
    )?;
    Ok(())
}

fn reextract_article(
    store: &dyn Store,
    config: &Config,
    detector: &Detector,
    topics: &TopicSet,
    article: &ArticleRecord,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    tally.articles += 1;
    let mut current = None;
    for version in store.versions(&article.id)? {
        tally.versions += 1;
        let Some(snapshot) = store.raw_snapshot(&article.id, version.number)? else {
            tally.no_snapshot += 1;
            continue;
        };
        let url =
            Url::parse(&snapshot.url).with_context(|| format!("snapshot URL {}", snapshot.url))?;
        let html = charset::decode(
            &snapshot.body,
            snapshot.content_type.as_deref(),
            DocKind::Html,
            None,
        )
        .text;
        let extracted = extract::extract_served(
            &html,
            &url,
            snapshot.content_language.as_deref(),
            &config.extract,
        );
        let title = extracted.title.unwrap_or_else(|| version.title.clone());
        let text = detector.clean(&host_key(&url), &title, &extracted.paragraphs);
        if text.body.is_empty() {
            tally.empty += 1;
            continue;
        }
        if text.title == version.title && text.body == version.body {
            continue;
        }
        let rebuilt = Version {
            content_hash: Version::hash_content(&text.title, &text.body),
            title: text.title,
            body: text.body,
            ..version
        };
        store.put_version(&article.id, &rebuilt)?;
        tally.changed += 1;
        if rebuilt.number == article.versions {
            current = Some(rebuilt);
        }
    }
    if let Some(version) = current
        && refresh_current(store, topics, article, &version)?
    {
        tally.refreshed += 1;
    }
    Ok(())
}

/// Takes `article`'s title, topics and story fingerprint again from its
/// rebuilt current `version`, unless a running daemon stored a newer version
/// meanwhile; its cluster stays.
fn refresh_current(
    store: &dyn Store,
    topics: &TopicSet,
    article: &ArticleRecord,
    version: &Version,
) -> anyhow::Result<bool> {
    let language = article.language.as_deref();
    let document = Document {
        title: &version.title,
        body: &version.body,
        language,
    };
    let topics: Vec<String> = topics
        .classify(&document)
        .into_iter()
        .map(|m| m.topic)
        .collect();
    let fingerprint = match store.fingerprint(&article.id)? {
        Some(bytes) => {
            let mut stored = StoredFingerprint::from_bytes(&bytes)
                .with_context(|| format!("the fingerprint record of {}", article.id))?;
            stored.fingerprint = dedup::fingerprint(&version.title, &version.body, language);
            Some(stored.to_bytes())
        }
        None => None,
    };
    let current = Current {
        title: &version.title,
        topics: &topics,
        fingerprint: fingerprint.as_deref(),
    };
    Ok(store.refresh_current(&article.id, version.number, &current)?)
}
