//! `redline export`: every stored article as one JSON object per line, in the
//! shape newsfarm's scorer reads (url, cluster, versions, topics, language).

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, StoreError};

/// One line of the export.
#[derive(Debug, Serialize)]
struct ExportRow<'a> {
    id: &'a str,
    url: &'a str,
    /// Story cluster (wire copies share one); an article not yet grouped is its own.
    cluster: &'a str,
    versions: u32,
    topics: Vec<String>,
    language: Option<&'a str>,
    title: &'a str,
    feed: &'a str,
    first_seen: DateTime<Utc>,
    last_changed: DateTime<Utc>,
    /// The latest version's title and body, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    /// Every stored version's identity, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<VersionRow>>,
}

/// One stored version in an export row's `history`: enough to tell it apart
/// from a version detected again after being lost (`first_seen` is the alert's
/// `detected_at`).
#[derive(Debug, Serialize)]
struct VersionRow {
    number: u32,
    title: String,
    content_hash: String,
    first_seen: DateTime<Utc>,
}

/// What an export row carries besides the article record.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// The latest version's text (title, then the body) as `text`.
    pub with_text: bool,
    /// Every version's number, title, hash and first-seen time as `history`.
    pub history: bool,
}

/// A failed export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every stored article to `out`, one JSON line each, with what
/// `options` asks for besides the record.
pub fn export_jsonl(
    store: &dyn Store,
    out: &mut impl Write,
    options: ExportOptions,
) -> Result<(), ExportError> {
    for a in store.articles()? {
        let text = match options.with_text {
            true => store
                .version(&a.id, a.versions)?
                .map(|v| format!("{}\n{}", v.title, v.body)),
            false => None,
        };
        let row = ExportRow {
            id: &a.id,
            url: &a.url,
            cluster: a.cluster.as_deref().unwrap_or(&a.id),
            versions: a.versions,
            topics: a.topics.clone(),
            language: a.language.as_deref(),
            title: &a.title,
            feed: &a.feed,
            first_seen: a.first_seen,
            last_changed: a.last_changed,
            text,
            history: options.history.then(|| history(store, &a.id)).transpose()?,
        };
        serde_json::to_writer(&mut *out, &row).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The identity of every stored version of article `id`, oldest first.
fn history(store: &dyn Store, id: &str) -> Result<Vec<VersionRow>, StoreError> {
    let rows = store.versions(id)?.into_iter().map(|v| VersionRow {
        number: v.number,
        title: v.title,
        content_hash: v.content_hash,
        first_seen: v.first_seen,
    });
    Ok(rows.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ArticleRecord, Commit, SledStore, Version};

    fn version(number: u32, title: &str) -> Version {
        Version {
            number,
            title: title.into(),
            body: format!("Body of {title}."),
            content_hash: Version::hash_content(title, "body"),
            first_seen: DateTime::from_timestamp_millis(1_700_000_000_000 + number as i64).unwrap(),
            reverts_to: None,
            changes: Vec::new(),
        }
    }

    #[test]
    fn history_lists_every_version_with_its_first_seen_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        let mut article: ArticleRecord = serde_json::from_value(serde_json::json!({
            "id": "abcdef0123", "url": "http://127.0.0.1/a", "feed": "http://127.0.0.1/rss",
            "title": "Talks", "language": null, "first_seen": "2026-11-29T10:00:00Z",
            "last_changed": "2026-11-29T10:00:00Z", "last_checked": "2026-11-29T10:00:00Z",
            "versions": 1, "next_check": null
        }))
        .unwrap();
        for (number, title) in [(1, "Talks"), (2, "Talks resume")] {
            article.versions = number;
            let v = version(number, title);
            let commit = Commit {
                article: Some(&article),
                version: Some(&v),
                ..Commit::default()
            };
            store.commit(&commit).unwrap();
        }
        let mut out = Vec::new();
        let history = ExportOptions {
            history: true,
            ..ExportOptions::default()
        };
        export_jsonl(&store, &mut out, history).unwrap();
        let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let listed = row["history"].as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1]["number"], 2);
        assert_eq!(listed[1]["title"], "Talks resume");
        assert_eq!(listed[1]["first_seen"], "2023-11-14T22:13:20.002Z");

        let mut plain = Vec::new();
        export_jsonl(&store, &mut plain, ExportOptions::default()).unwrap();
        let row: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert!(row.get("history").is_none(), "{row}");
    }
}
