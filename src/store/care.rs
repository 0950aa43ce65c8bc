//! Looking after the sled store: what it holds and how big it is (`redline db
//! stats`), and whether every record decodes and refers to what it should
//! (`redline db check`).

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use sled::Tree;

use super::compress;
use super::revisit_state::RevisitState;
use super::sled_store::{FORMAT, SledStore, backend, decode, decode_version, version_key};
use super::{ArticleRecord, FeedRecord, OutboxEntry, Store, StoreError, Version};
use crate::dedup::StoredFingerprint;

/// Records and bytes in one tree (keys and values as stored, compressed or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeStats {
    pub name: String,
    pub records: u64,
    pub bytes: u64,
}

/// What the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub articles: u64,
    pub versions: u64,
    /// Distinct story clusters among the articles.
    pub stories: u64,
    pub feeds: u64,
    pub outbox: u64,
    pub failed: u64,
    pub raw_snapshots: u64,
    pub trees: Vec<TreeStats>,
    /// Version records as stored (compressed) and as JSON.
    pub versions_stored_bytes: u64,
    pub versions_plain_bytes: u64,
    /// Raw snapshot bodies as stored (compressed, headers included) and as served.
    pub raw_stored_bytes: u64,
    pub raw_plain_bytes: u64,
    /// The database's files, as sled counts them.
    pub on_disk_bytes: u64,
}

fn tree_stats(name: &str, tree: &Tree) -> Result<TreeStats, StoreError> {
    let mut stats = TreeStats {
        name: name.to_string(),
        records: 0,
        bytes: 0,
    };
    for entry in tree.iter() {
        let (key, value) = entry.map_err(backend("measuring a tree"))?;
        stats.records += 1;
        stats.bytes += (key.len() + value.len()) as u64;
    }
    Ok(stats)
}

fn trees(store: &SledStore) -> [(&'static str, &Tree); 11] {
    [
        ("articles", &store.articles),
        ("checks", &store.checks),
        ("versions", &store.versions),
        ("raw", &store.raw),
        ("links", &store.links),
        ("due", &store.due),
        ("feeds", &store.feeds),
        ("outbox", &store.outbox),
        ("failed", &store.failed),
        ("fingerprints", &store.fingerprints),
        ("holds", &store.holds),
    ]
}

/// Counts and sizes; reads frame and snapshot headers, decompresses nothing.
pub(super) fn stats(store: &SledStore) -> Result<StoreStats, StoreError> {
    let trees: Vec<TreeStats> = trees(store)
        .iter()
        .map(|(name, tree)| tree_stats(name, tree))
        .collect::<Result<_, _>>()?;
    let count = |name: &str| {
        trees
            .iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.records)
    };
    let mut stories = BTreeSet::new();
    for entry in store.articles.iter() {
        let (key, value) = entry.map_err(backend("listing articles"))?;
        let article: ArticleRecord = decode(&key, &value)?;
        stories.extend(article.cluster);
    }
    let (mut versions_stored_bytes, mut versions_plain_bytes) = (0, 0);
    for entry in store.versions.iter() {
        let (_, value) = entry.map_err(backend("measuring versions"))?;
        versions_stored_bytes += value.len() as u64;
        versions_plain_bytes += compress::unpacked_len(&value).unwrap_or(0);
    }
    let (mut raw_stored_bytes, mut raw_plain_bytes) = (0, 0);
    for entry in store.raw.iter() {
        let (key, value) = entry.map_err(backend("measuring raw snapshots"))?;
        raw_stored_bytes += value.len() as u64;
        raw_plain_bytes += compress::snapshot_len(&key, &value)?;
    }
    Ok(StoreStats {
        articles: count("articles"),
        versions: count("versions"),
        stories: stories.len() as u64,
        feeds: count("feeds"),
        outbox: count("outbox"),
        failed: count("failed"),
        raw_snapshots: count("raw"),
        versions_stored_bytes,
        versions_plain_bytes,
        raw_stored_bytes,
        raw_plain_bytes,
        on_disk_bytes: store
            .db
            .size_on_disk()
            .map_err(backend("measuring the disk"))?,
        trees,
    })
}

/// Problems found by [`check`], with the records they concern.
struct Findings(Vec<String>);

impl Findings {
    fn add(&mut self, problem: impl Into<String>) {
        self.0.push(problem.into());
    }

    /// Records an unreadable record as a problem; passes a readable one on.
    fn readable<T>(&mut self, result: Result<T, StoreError>) -> Option<T> {
        result.map_err(|e| self.add(e.to_string())).ok()
    }
}

/// Splits a key of the `versions` or `raw` tree into article id and number.
fn split_version_key(key: &[u8]) -> Option<(String, u32)> {
    let cut = key.len().checked_sub(4)?;
    let number = u32::from_be_bytes(key[cut..].try_into().ok()?);
    Some((String::from_utf8_lossy(&key[..cut]).into_owned(), number))
}

/// Walks every tree, decodes every record, and checks references.
pub(super) fn check(store: &SledStore) -> Result<Vec<String>, StoreError> {
    let mut found = Findings(Vec::new());
    check_format(store, &mut found)?;
    let articles = check_articles(store, &mut found)?;
    check_versions(store, &articles, &mut found)?;
    check_raw(store, &articles, &mut found)?;
    check_links(store, &articles, &mut found)?;
    check_due(store, &articles, &mut found)?;
    check_revisit_states(store, &articles, &mut found)?;
    check_feeds(store, &mut found)?;
    check_queues(store, &mut found)?;
    check_fingerprints(store, &articles, &mut found)?;
    Ok(found.0)
}

fn check_format(store: &SledStore, found: &mut Findings) -> Result<(), StoreError> {
    let meta = store
        .db
        .open_tree("meta")
        .map_err(backend("opening a tree"))?;
    let format = meta.get("format").map_err(backend("reading the format"))?;
    let format = format.and_then(|b| b.as_ref().try_into().ok().map(u32::from_be_bytes));
    if format != Some(FORMAT) {
        found.add(format!("meta: format is {format:?}, expected {FORMAT}"));
    }
    Ok(())
}

/// Checks each article and its versions 1..=n; returns the articles by id.
fn check_articles(
    store: &SledStore,
    found: &mut Findings,
) -> Result<HashMap<String, ArticleRecord>, StoreError> {
    let mut articles = HashMap::new();
    for entry in store.articles.iter() {
        let (key, value) = entry.map_err(backend("listing articles"))?;
        let Some(article) = found.readable(store.read_article(&key, &value)) else {
            continue;
        };
        if article.id.as_bytes() != key.as_ref() {
            found.add(format!(
                "article {}: stored under the key {}",
                article.id,
                String::from_utf8_lossy(&key)
            ));
        }
        for number in 1..=article.versions {
            let vkey = version_key(&article.id, number);
            match store
                .versions
                .get(&vkey)
                .map_err(backend("reading a version"))?
            {
                None => found.add(format!(
                    "article {}: version {number} is missing",
                    article.id
                )),
                Some(value) => check_version(&article.id, number, &vkey, &value, found),
            }
        }
        articles.insert(article.id.clone(), article);
    }
    Ok(articles)
}

fn check_version(id: &str, number: u32, key: &[u8], value: &[u8], found: &mut Findings) {
    let Some(version) = found.readable(decode_version(key, value)) else {
        return;
    };
    if version.number != number {
        found.add(format!(
            "article {id}: version {number} says it is version {}",
            version.number
        ));
    }
    if version.content_hash != Version::hash_content(&version.title, &version.body) {
        found.add(format!(
            "article {id}: version {number} does not match its content hash"
        ));
    }
}

/// Versions that belong to no article, or lie beyond its version count.
fn check_versions(
    store: &SledStore,
    articles: &HashMap<String, ArticleRecord>,
    found: &mut Findings,
) -> Result<(), StoreError> {
    for key in store.versions.iter().keys() {
        let key = key.map_err(backend("listing versions"))?;
        match split_version_key(&key) {
            Some((id, n))
                if articles
                    .get(&id)
                    .is_some_and(|a| (1..=a.versions).contains(&n)) => {}
            Some((id, n)) => found.add(format!("version {n} of {id}: no such article version")),
            None => found.add("versions: a key too short to name a version"),
        }
    }
    Ok(())
}

fn check_raw(
    store: &SledStore,
    articles: &HashMap<String, ArticleRecord>,
    found: &mut Findings,
) -> Result<(), StoreError> {
    for key in store.raw.iter().keys() {
        let key = key.map_err(backend("listing raw snapshots"))?;
        let Some((id, n)) = split_version_key(&key) else {
            found.add("raw: a key too short to name a version");
            continue;
        };
        found.readable(store.raw_snapshot(&id, n));
        if !articles
            .get(&id)
            .is_some_and(|a| (1..=a.versions).contains(&n))
        {
            found.add(format!("raw snapshot {n} of {id}: no such version"));
        }
    }
    Ok(())
}

fn check_links(
    store: &SledStore,
    articles: &HashMap<String, ArticleRecord>,
    found: &mut Findings,
) -> Result<(), StoreError> {
    for entry in store.links.iter() {
        let (key, value) = entry.map_err(backend("listing links"))?;
        let id = String::from_utf8_lossy(&value);
        if !articles.contains_key(id.as_ref()) {
            found.add(format!(
                "link {} leads to {id}, which is not stored",
                String::from_utf8_lossy(&key)
            ));
        }
    }
    Ok(())
}

fn check_due(
    store: &SledStore,
    articles: &HashMap<String, ArticleRecord>,
    found: &mut Findings,
) -> Result<(), StoreError> {
    for key in store.due.iter().keys() {
        let key = key.map_err(backend("reading the revisit queue"))?;
        let id = String::from_utf8_lossy(key.get(8..).unwrap_or_default());
        if !articles.contains_key(id.as_ref()) {
            found.add(format!("revisit queue: {id} is not stored"));
        }
    }
    Ok(())
}

fn check_revisit_states(
    store: &SledStore,
    articles: &HashMap<String, ArticleRecord>,
    found: &mut Findings,
) -> Result<(), StoreError> {
    for entry in store.checks.iter() {
        let (key, value) = entry.map_err(backend("reading revisit states"))?;
        let id = String::from_utf8_lossy(&key);
        found.readable(RevisitState::from_bytes(&key, &value));
        if !articles.contains_key(id.as_ref()) {
            found.add(format!("revisit state of {id}: no such article"));
        }
    }
    Ok(())
}

fn check_feeds(store: &SledStore, found: &mut Findings) -> Result<(), StoreError> {
    for entry in store.feeds.iter() {
        let (key, value) = entry.map_err(backend("listing feeds"))?;
        let Some(feed) = found.readable(decode::<FeedRecord>(&key, &value)) else {
            continue;
        };
        if feed.url.as_bytes() != key.as_ref() {
            found.add(format!("feed {}: stored under another URL", feed.url));
        }
    }
    Ok(())
}

fn check_queues(store: &SledStore, found: &mut Findings) -> Result<(), StoreError> {
    for entry in store.outbox.iter() {
        let (key, value) = entry.map_err(backend("reading the outbox"))?;
        let Some(queued) = found.readable(decode::<OutboxEntry>(&key, &value)) else {
            continue;
        };
        let mut expected = queued.sink.as_bytes().to_vec();
        expected.push(0);
        expected.extend_from_slice(&queued.seq.to_be_bytes());
        if expected != key.as_ref() {
            found.add(format!(
                "outbox entry {} for {}: stored under another key",
                queued.delivery_id(),
                queued.sink
            ));
        }
    }
    for entry in store.failed.iter() {
        let (key, value) = entry.map_err(backend("reading the failed list"))?;
        found.readable(decode::<OutboxEntry>(&key, &value));
    }
    Ok(())
}

fn check_fingerprints(
    store: &SledStore,
    articles: &HashMap<String, ArticleRecord>,
    found: &mut Findings,
) -> Result<(), StoreError> {
    for entry in store.fingerprints.iter() {
        let (key, value) = entry.map_err(backend("reading fingerprints"))?;
        let id = String::from_utf8_lossy(&key);
        if let Err(error) = StoredFingerprint::from_bytes(&value) {
            found.add(format!("fingerprint of {id}: {error}"));
        }
        if !articles.contains_key(id.as_ref()) {
            found.add(format!("fingerprint of {id}: no such article"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::store::{Commit, RawSnapshot, Store};

    fn article(id: &str, versions: u32) -> ArticleRecord {
        ArticleRecord {
            cluster: Some("c1".into()),
            ..crate::store::test_article(id, versions)
        }
    }

    fn version(number: u32, body: &str) -> Version {
        Version {
            number,
            title: "t".into(),
            body: body.into(),
            content_hash: Version::hash_content("t", body),
            first_seen: Utc::now(),
            reverts_to: None,
            changes: Vec::new(),
        }
    }

    fn stored(store: &SledStore) {
        let raw = RawSnapshot {
            url: "http://127.0.0.1/a".into(),
            content_type: Some("text/html".into()),
            content_language: None,
            fetched_at: Utc::now(),
            body: "<p>Talks in Geneva lasted an hour.</p>".repeat(40).into(),
        };
        let body = "Talks in Geneva lasted an hour.\n".repeat(40);
        store
            .commit(&Commit {
                article: Some(&article("abcdef0123", 1)),
                version: Some(&version(1, &body)),
                links: &["http://127.0.0.1/a".to_string()],
                raw: Some(&raw),
                ..Commit::default()
            })
            .unwrap();
    }

    #[test]
    fn stats_count_records_and_compare_compressed_with_plain_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        stored(&store);
        let stats = store.stats().unwrap();
        assert_eq!(
            (stats.articles, stats.versions, stats.raw_snapshots),
            (1, 1, 1)
        );
        assert_eq!(stats.stories, 1);
        assert!(stats.versions_stored_bytes < stats.versions_plain_bytes / 4);
        assert!(stats.raw_stored_bytes < stats.raw_plain_bytes / 4);
        assert!(stats.raw_plain_bytes >= 40 * 38);
        assert!(store.raw_snapshot("abcdef0123", 1).unwrap().is_some());
    }

    #[test]
    fn a_later_page_is_stored_against_the_first_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        stored(&store);
        let page = "<p>Talks in Geneva lasted an hour.</p>".repeat(40) + "<p>Updated.</p>";
        let raw = RawSnapshot {
            url: "http://127.0.0.1/a".into(),
            content_type: None,
            content_language: None,
            fetched_at: Utc::now(),
            body: page.clone().into(),
        };
        store
            .commit(&Commit {
                article: Some(&article("abcdef0123", 2)),
                version: Some(&version(2, "Talks in Geneva lasted an hour.\nUpdated.")),
                raw: Some(&raw),
                ..Commit::default()
            })
            .unwrap();
        let second = store
            .raw
            .get(version_key("abcdef0123", 2))
            .unwrap()
            .unwrap();
        let first = store
            .raw
            .get(version_key("abcdef0123", 1))
            .unwrap()
            .unwrap();
        assert!(
            second.len() < first.len(),
            "{} vs {}",
            second.len(),
            first.len()
        );
        let read = store.raw_snapshot("abcdef0123", 2).unwrap().unwrap();
        assert_eq!(read.body, page.as_bytes());
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
        store.raw.remove(version_key("abcdef0123", 1)).unwrap();
        let problems = store.check().unwrap().join("\n");
        assert!(problems.contains("its base, is missing"), "{problems}");
    }

    #[test]
    fn check_passes_a_sound_store_and_names_broken_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 16).unwrap();
        stored(&store);
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
        store
            .links
            .insert("http://127.0.0.1/b", "0000000000")
            .unwrap();
        store
            .articles
            .insert("ffffffffff", &b"{not json"[..])
            .unwrap();
        store
            .articles
            .insert(
                "abcdef0123",
                serde_json::to_vec(&article("abcdef0123", 2)).unwrap(),
            )
            .unwrap();
        let problems = store.check().unwrap().join("\n");
        assert!(
            problems.contains("link http://127.0.0.1/b leads to 0000000000"),
            "{problems}"
        );
        assert!(problems.contains("ffffffffff"), "{problems}");
        assert!(problems.contains("version 2 is missing"), "{problems}");
    }
}
