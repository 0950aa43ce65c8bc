//! Feeds: turning the bytes of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document
//! into the article links it lists.
//!
//! XML feeds are decoded with [`crate::fetch::charset`] (so a charset given only
//! in the HTTP header is honoured), handed to feed-rs as UTF-8 with a matching
//! prolog, and passed through [`repair`] when they are not well-formed. Feed
//! lists (OPML, plain URL lists) are read by [`opml`].

pub mod opml;
pub mod repair;

use chrono::{DateTime, Utc};
use url::Url;

use crate::canonical;
use crate::fetch::charset::{self, DocKind};

/// A feed that could not be read even after repair.
#[derive(Debug, thiserror::Error)]
#[error("feed {url} cannot be parsed: {source}")]
pub struct FeedError {
    pub url: Url,
    #[source]
    pub source: Box<feed_rs::parser::ParseFeedError>,
}

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// The item's link, absolute and canonicalised.
    pub link: Url,
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// A hash of what the feed says about the item's current state (title,
    /// summary, updated date): when it changes, the article probably did.
    pub state: u64,
}

/// What a feed document holds.
#[derive(Debug, Clone)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub language: Option<String>,
    pub items: Vec<FeedItem>,
    /// Repairs needed to parse it; empty for a well-formed feed.
    pub repairs: Vec<repair::Fix>,
    /// Items left out because they had no usable link.
    pub skipped: usize,
}

impl ParsedFeed {
    /// Whether the document needed repairs to be read.
    pub fn degraded(&self) -> bool {
        self.repairs
            .iter()
            .any(|f| *f != repair::Fix::PrologEncoding)
    }
}

/// Parses a feed fetched from `url`.
pub fn parse(body: &[u8], content_type: Option<&str>, url: &Url) -> Result<ParsedFeed, FeedError> {
    if looks_like_json(body) {
        let feed = parse_bytes(body, url)?;
        return Ok(collect(feed, url, Vec::new()));
    }
    let text = charset::decode(body, content_type, DocKind::Xml, None).text;
    // Repair always: on a well-formed feed it changes nothing but the prolog, and
    // feed-rs would otherwise keep HTML entities such as &nbsp; literally.
    let repaired = repair::repair_xml(&text);
    let feed = parse_bytes(&repaired.bytes, url)?;
    Ok(collect(feed, url, repaired.fixes))
}

fn looks_like_json(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn parse_bytes(bytes: &[u8], url: &Url) -> Result<feed_rs::model::Feed, FeedError> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        .build()
        .parse(bytes)
        .map_err(|source| FeedError {
            url: url.clone(),
            source: Box::new(source),
        })
}

fn collect(feed: feed_rs::model::Feed, url: &Url, repairs: Vec<repair::Fix>) -> ParsedFeed {
    let mut items = Vec::with_capacity(feed.entries.len());
    let mut skipped = 0;
    for entry in &feed.entries {
        match entry_link(entry, url) {
            Some(link) => items.push(FeedItem {
                link,
                title: entry.title.as_ref().map(|t| t.content.trim().to_string()),
                published: entry.published.or(entry.updated),
                state: item_state(entry),
            }),
            None => skipped += 1,
        }
    }
    ParsedFeed {
        title: feed.title.map(|t| t.content.trim().to_string()),
        language: feed.language,
        items,
        repairs,
        skipped,
    }
}

/// Hash of an entry's title, summary and updated date.
fn item_state(entry: &feed_rs::model::Entry) -> u64 {
    let mut state = String::new();
    for text in [&entry.title, &entry.summary].into_iter().flatten() {
        state.push_str(&text.content);
        state.push('\u{1f}');
    }
    if let Some(updated) = entry.updated {
        state.push_str(&updated.to_rfc3339());
    }
    xxhash_rust::xxh3::xxh3_64(state.as_bytes())
}

/// The article link of an entry: its alternate link, else an id that is a URL.
fn entry_link(entry: &feed_rs::model::Entry, base: &Url) -> Option<Url> {
    let alternate = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .map(|l| l.href.as_str());
    let candidate =
        alternate.or_else(|| entry.id.starts_with("http").then_some(entry.id.as_str()))?;
    canonical::resolve(base, candidate).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/feed/rss.xml").unwrap()
    }

    #[test]
    fn rss_items_become_canonical_links() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
            <item><title>A</title><link>/a.html?utm_source=rss</link></item>
            <item><title>no link</title></item></channel></rss>"#;
        let feed = parse(rss, None, &url()).unwrap();
        assert_eq!(feed.items.len(), 1);
        assert_eq!(feed.items[0].link.as_str(), "http://127.0.0.1:9/a.html");
        assert_eq!(feed.skipped, 1);
        assert!(!feed.degraded());
    }

    #[test]
    fn json_feed_is_read() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
            "items":[{"id":"1","url":"http://127.0.0.1:9/x","title":"X"}]}"#;
        let feed = parse(json, Some("application/feed+json"), &url()).unwrap();
        assert_eq!(feed.items[0].link.as_str(), "http://127.0.0.1:9/x");
    }

    #[test]
    fn windows_1251_declared_only_in_the_header_is_decoded() {
        let xml = "<rss version=\"2.0\"><channel><title>Вести</title><item><title>Переговоры</title>\
                   <link>http://127.0.0.1:9/1</link></item></channel></rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
        let feed = parse(
            &bytes,
            Some("application/rss+xml; charset=windows-1251"),
            &url(),
        )
        .unwrap();
        assert_eq!(feed.title.as_deref(), Some("Вести"));
        assert_eq!(feed.items[0].title.as_deref(), Some("Переговоры"));
    }

    #[test]
    fn bare_ampersands_are_repaired_and_flagged() {
        let rss = b"<rss version=\"2.0\"><channel><title>A & B</title>\
                    <item><title>AT&T</title><link>http://127.0.0.1:9/a?x=1&y=2</link></item></channel></rss>";
        let feed = parse(rss, None, &url()).unwrap();
        assert!(feed.degraded());
        assert_eq!(feed.items[0].title.as_deref(), Some("AT&T"));
        assert_eq!(feed.items[0].link.as_str(), "http://127.0.0.1:9/a?x=1&y=2");
    }

    #[test]
    fn garbage_is_an_error_naming_the_feed() {
        let err = parse(b"\x00\x01 not a feed", None, &url()).unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:9/feed/rss.xml"));
    }
}
