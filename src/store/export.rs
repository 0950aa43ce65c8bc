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
}

/// A failed export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes every stored article to `out`, one JSON line each; with `with_text`,
/// each line also carries the latest version's text (title, then the body).
pub fn export_jsonl(
    store: &dyn Store,
    out: &mut impl Write,
    with_text: bool,
) -> Result<(), ExportError> {
    for a in store.articles()? {
        let text = match with_text {
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
        };
        serde_json::to_writer(&mut *out, &row).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
