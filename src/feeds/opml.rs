//! Importing feed lists: OPML 1.0/2.0 subscription exports and plain URL lists.
//!
//! A text whose first non-blank character is `<` is read as OPML: every `<outline>` with an
//! `xmlUrl` attribute, at any nesting depth (categories are folders of outlines), is a feed,
//! titled by its `title` or else its `text` attribute. Anything else is read as a plain list:
//! one URL per line, blank lines and lines starting with `#` are skipped, and ` # ...` after a
//! URL is a comment.
//!
//! Only absolute `http` and `https` URLs are accepted; anything else is an error that names
//! its line. URLs come back normalized by the `url` crate (lower-case host, no default port,
//! no `#fragment`), and duplicates are dropped, keeping the first (a later title fills a
//! missing one).

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use url::Url;

use super::repair::html_entity;

/// One feed of an imported list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// The feed's URL, normalized.
    pub url: String,
    /// The title the list gave it, if any.
    pub title: Option<String>,
}

/// Why a feed list could not be imported. Every error names the 1-based line it is on.
#[derive(Debug, thiserror::Error)]
pub enum FeedListError {
    /// The text looks like XML but is not well-formed.
    #[error("line {line}: malformed OPML: {source}")]
    Xml {
        line: usize,
        #[source]
        source: quick_xml::Error,
    },
    /// The text is XML whose root element is not `<opml>`.
    #[error("line {line}: not an OPML document (root element is <{root}>)")]
    NotOpml { line: usize, root: String },
    /// A feed URL could not be parsed as an absolute URL.
    #[error("line {line}: {url:?} is not a valid URL: {source}")]
    InvalidUrl {
        line: usize,
        url: String,
        #[source]
        source: url::ParseError,
    },
    /// A feed URL has a scheme other than `http` or `https`.
    #[error("line {line}: {url:?} is not an http or https URL")]
    UnsupportedScheme { line: usize, url: String },
    /// A plain-list line holds more than one word.
    #[error("line {line}: expected one URL, found {text:?}")]
    UnexpectedText { line: usize, text: String },
}

/// Reads an OPML document or a plain URL list; see the module documentation.
pub fn parse_feed_list(text: &str) -> Result<Vec<FeedEntry>, FeedListError> {
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        parse_opml(text)
    } else {
        parse_plain(text)
    }
}

/// Reads a plain list: one URL per line.
fn parse_plain(text: &str) -> Result<Vec<FeedEntry>, FeedListError> {
    let mut list = FeedList::default();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let Some(content) = plain_line_content(line) else {
            continue;
        };
        if content.contains(char::is_whitespace) {
            return Err(FeedListError::UnexpectedText {
                line: line_no,
                text: content.to_owned(),
            });
        }
        list.push(feed_url(content, line_no)?, None);
    }
    Ok(list.entries)
}

/// The part of a plain-list line before any comment, or `None` if nothing is left.
fn plain_line_content(line: &str) -> Option<&str> {
    let line = line.trim_start_matches('\u{feff}').trim();
    let comment = [" #", "\t#"].iter().filter_map(|m| line.find(m)).min();
    let content = comment
        .and_then(|at| line.get(..at))
        .unwrap_or(line)
        .trim_end();
    (!content.is_empty() && !content.starts_with('#')).then_some(content)
}

/// Reads an OPML document.
fn parse_opml(text: &str) -> Result<Vec<FeedEntry>, FeedListError> {
    let mut reader = Reader::from_str(text);
    let mut list = FeedList::default();
    let mut root_seen = false;
    loop {
        let line = line_at(text, offset(reader.buffer_position()));
        let tag = match reader.read_event() {
            Err(source) => return Err(xml_error(text, &reader, source)),
            Ok(Event::Eof) => return Ok(list.entries),
            Ok(Event::Start(tag) | Event::Empty(tag)) => tag,
            Ok(_) => continue,
        };
        if !root_seen {
            check_root(&tag, line)?;
            root_seen = true;
        }
        if let Some((url, title)) = outline_feed(&tag) {
            list.push(feed_url(&url, line)?, title);
        }
    }
}

/// Fails unless the root element is `<opml>`.
fn check_root(tag: &BytesStart<'_>, line: usize) -> Result<(), FeedListError> {
    let root = tag.local_name();
    if root.as_ref().eq_ignore_ascii_case("opml") {
        return Ok(());
    }
    Err(FeedListError::NotOpml {
        line,
        root: root.as_ref().to_owned(),
    })
}

/// The `xmlUrl` and title of an `<outline>` that is a feed.
fn outline_feed(tag: &BytesStart<'_>) -> Option<(String, Option<String>)> {
    if !tag.local_name().as_ref().eq_ignore_ascii_case("outline") {
        return None;
    }
    let (mut url, mut title, mut text) = (None, None, None);
    for attr in tag.html_attributes().flatten() {
        let slot = match attr.key.local_name().as_ref() {
            key if key.eq_ignore_ascii_case("xmlUrl") => &mut url,
            "title" => &mut title,
            "text" => &mut text,
            _ => continue,
        };
        *slot = Some(attribute_value(&attr)).filter(|v| !v.trim().is_empty());
    }
    let title = title.or(text).map(|t| t.trim().to_owned());
    Some((url?, title))
}

/// An attribute's value with references resolved; HTML named entities are accepted, and a
/// value with a bare `&` is taken literally.
fn attribute_value(attr: &quick_xml::events::attributes::Attribute<'_>) -> String {
    attr.normalized_value_with(XmlVersion::Implicit1_0, 1, html_entity)
        .unwrap_or_else(|_| attr.value.clone())
        .into_owned()
}

/// Parses and checks a feed URL found on `line`.
fn feed_url(raw: &str, line: usize) -> Result<Url, FeedListError> {
    let raw = raw.trim();
    let mut url = Url::parse(raw).map_err(|source| FeedListError::InvalidUrl {
        line,
        url: raw.to_owned(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FeedListError::UnsupportedScheme {
            line,
            url: raw.to_owned(),
        });
    }
    url.set_fragment(None);
    Ok(url)
}

/// Converts a reader position to an index.
fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

/// The 1-based line that byte `offset` of `text` is on.
fn line_at(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|b| **b == b'\n').count() + 1
}

/// Wraps a quick-xml error with the line it happened on.
fn xml_error(text: &str, reader: &Reader<&[u8]>, source: quick_xml::Error) -> FeedListError {
    FeedListError::Xml {
        line: line_at(text, offset(reader.error_position())),
        source,
    }
}

/// Feeds in first-seen order, without duplicates.
#[derive(Default)]
struct FeedList {
    entries: Vec<FeedEntry>,
    index: HashMap<String, usize>,
}

impl FeedList {
    fn push(&mut self, url: Url, title: Option<String>) {
        if let Some(entry) = self
            .index
            .get(url.as_str())
            .and_then(|i| self.entries.get_mut(*i))
        {
            if entry.title.is_none() {
                entry.title = title;
            }
            return;
        }
        self.index.insert(url.to_string(), self.entries.len());
        self.entries.push(FeedEntry {
            url: url.into(),
            title,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/feedlists/",
                $name
            ))
        };
    }

    fn entry(url: &str, title: Option<&str>) -> FeedEntry {
        FeedEntry {
            url: url.to_owned(),
            title: title.map(str::to_owned),
        }
    }

    #[test]
    fn opml_with_nested_categories() {
        let feeds = parse_feed_list(fixture!("nested.opml")).expect("fixture should import");
        assert_eq!(
            feeds,
            [
                entry("https://www.example.com/world.rss", Some("World News")),
                entry(
                    "http://news.example.org/feed?lang=en&topic=eu",
                    Some("Europe & Asia")
                ),
                entry("https://example.net/atom.xml", Some("Deeply\u{a0}nested")),
                entry("https://blog.example.com/feed/", Some("A blog")),
                entry("https://podcast.example.com/rss", None),
            ]
        );
    }

    #[test]
    fn opml_1_0_with_text_only() {
        let text = "<?xml version=\"1.0\"?>\n<opml version=\"1.0\"><head><title>x</title></head><body>\n\
                    <outline text=\"One\" type=\"rss\" xmlUrl=\"https://one.example/feed\"/>\n\
                    <outline text=\"Two\" xmlurl=\"https://two.example/feed\"></outline>\n\
                    </body></opml>";
        let feeds = parse_feed_list(text).expect("OPML 1.0 should import");
        assert_eq!(
            feeds,
            [
                entry("https://one.example/feed", Some("One")),
                entry("https://two.example/feed", Some("Two")),
            ]
        );
    }

    #[test]
    fn opml_bad_url_names_its_line() {
        let text = "<opml version=\"2.0\">\n<body>\n<outline text=\"ok\" xmlUrl=\"https://a.example/\"/>\n\
                    <outline text=\"bad\" xmlUrl=\"feed://a.example/rss\"/>\n</body></opml>";
        let error = parse_feed_list(text).expect_err("feed:// is not http");
        assert!(
            matches!(error, FeedListError::UnsupportedScheme { line: 4, .. }),
            "{error}"
        );
        assert!(error.to_string().starts_with("line 4:"), "{error}");
    }

    #[test]
    fn malformed_or_foreign_xml_is_an_error() {
        let error = parse_feed_list("<opml>\n<body>\n</opml>").expect_err("mismatched tags");
        assert!(
            matches!(error, FeedListError::Xml { line: 3, .. }),
            "{error}"
        );
        let error = parse_feed_list("<rss><channel/></rss>").expect_err("an RSS feed");
        assert!(matches!(error, FeedListError::NotOpml { line: 1, ref root } if root == "rss"));
    }

    #[test]
    fn plain_list_with_comment_and_bad_line() {
        let error = parse_feed_list(fixture!("plain-bad-line.txt")).expect_err("line 6 is bad");
        assert!(
            matches!(error, FeedListError::InvalidUrl { line: 6, .. }),
            "{error}"
        );
        assert!(error.to_string().starts_with("line 6:"), "{error}");
    }

    #[test]
    fn plain_list() {
        let feeds = parse_feed_list(fixture!("plain.txt")).expect("fixture should import");
        assert_eq!(
            feeds,
            [
                entry("https://www.example.com/feed.xml", None),
                entry("http://example.org/rss?format=atom&x=1", None),
                entry("https://blog.example.net/index.xml", None),
            ]
        );
    }

    #[test]
    fn plain_list_errors_name_lines() {
        let cases: [(&str, usize); 4] = [
            ("https://a.example/\nftp://a.example/feed\n", 2),
            ("# c\n\nmailto:x@example.com", 3),
            ("https://a.example/ https://b.example/", 1),
            ("\n\n\nexample.com/feed", 4),
        ];
        for (text, line) in cases {
            let error = parse_feed_list(text).expect_err(text);
            assert!(
                error.to_string().starts_with(&format!("line {line}:")),
                "{error}"
            );
        }
    }

    #[test]
    fn empty_inputs_give_empty_lists() {
        for text in [
            "",
            "\n# nothing\n\n",
            "\u{feff}",
            "<opml version=\"2.0\"><body/></opml>",
        ] {
            assert_eq!(parse_feed_list(text).expect(text), []);
        }
    }

    #[test]
    fn odd_attributes_are_tolerated() {
        let inputs = [
            "<opml><outline text='a' text='b' xmlUrl='http://a.example/'/></opml>",
            "<opml><outline =x xmlUrl='http://a.example/'/></opml>",
            "<opml><outline xmlUrl=\"http://a.example/\"text=\"a\"/></opml>",
            "<opml><outline novalue xmlUrl=http://a.example/ /></opml>",
        ];
        for input in inputs {
            let feeds = parse_feed_list(input).expect(input);
            assert!(
                feeds.iter().all(|f| f.url == "http://a.example/"),
                "{input}"
            );
        }
    }

    #[test]
    fn junk_does_not_panic() {
        let inputs = [
            "<",
            "<opml",
            "<opml><outline xmlUrl='",
            "<opml><outline xmlUrl='http://a/&'/>",
            "<opml><outline xmlUrl='http://a/&#0;'/>",
            "<?xml",
            "<!--",
            "\u{0}\u{ffff}",
            "#",
            "http://",
            "https://[::1",
            "<opml>\u{feff}<outline xmlUrl=\"http://x\u{10ffff}/\"/>",
        ];
        for input in inputs {
            let _ = parse_feed_list(input);
        }
    }
}
