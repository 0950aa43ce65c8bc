//! Repairing malformed XML feeds so that feed-rs can parse them.
//!
//! This pass runs on feed text that has already been decoded to UTF-8 (see
//! `fetch::charset`), typically after feed-rs has rejected the original bytes. It fixes the
//! breakage seen most often in the wild:
//!
//! * bare `&` that does not start a valid reference (`AT&T`, `?a=1&b=2`) becomes `&amp;`;
//! * HTML named entities that XML does not define (`&nbsp;`, `&mdash;`, ...) become numeric
//!   character references, using the HTML standard's full table of named references;
//! * the `encoding` of the `<?xml ...?>` prolog is rewritten to UTF-8, since the text is UTF-8
//!   now (a stale `encoding="windows-1251"` would make the parser decode it a second time);
//! * a truncated document is cut after its last complete `<item>` or `<entry>`, and the
//!   elements still open there (`</channel></rss>`, `</feed>`, `</rdf:RDF>`) are closed.
//!
//! CDATA sections, comments and processing instructions are copied untouched.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};
use quick_xml::Reader;
use quick_xml::errors::Error as XmlError;
use quick_xml::events::{BytesStart, Event};

/// Sections in which `&` is literal, as (opening, closing) delimiters.
const VERBATIM: [(&str, &str); 3] = [("<![CDATA[", "]]>"), ("<!--", "-->"), ("<?", "?>")];

/// The entities every XML parser knows.
const XML_ENTITIES: [&str; 5] = ["amp", "lt", "gt", "quot", "apos"];

/// Longer than any HTML entity name (the longest has 31 characters).
const MAX_ENTITY_NAME: usize = 40;

/// A feed after [`repair_xml`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The repaired document, UTF-8 encoded.
    pub bytes: Vec<u8>,
    /// The kinds of repair that changed something, each listed once, in the order applied.
    pub fixes: Vec<Fix>,
}

/// A kind of repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// A `&` that did not start a valid reference was escaped as `&amp;`.
    BareAmpersand,
    /// An HTML-only reference (a named entity such as `&nbsp;`, or `&#X..;`) was replaced
    /// with an XML numeric character reference.
    HtmlEntity,
    /// The document was cut after its last complete item and its open elements were closed.
    Truncated,
    /// The prolog's `encoding` was rewritten to UTF-8.
    PrologEncoding,
}

/// Repairs a decoded feed; see the module documentation for what is fixed.
///
/// Never fails: text that needs no repair comes back unchanged with no fixes.
pub fn repair_xml(text: &str) -> Repaired {
    let mut fixes = Vec::new();
    let text = rewrite_prolog(text, &mut fixes);
    let text = fix_references(&text, &mut fixes);
    let text = close_truncated(&text, &mut fixes);
    Repaired {
        bytes: text.into_owned().into_bytes(),
        fixes,
    }
}

/// Only rewrites the prolog's `encoding` to UTF-8, which decoded text always needs before it
/// is handed back to an XML parser as bytes.
pub fn prepare_xml(text: &str) -> Vec<u8> {
    rewrite_prolog(text, &mut Vec::new())
        .into_owned()
        .into_bytes()
}

/// Records `fix` unless it is already recorded.
fn note(fixes: &mut Vec<Fix>, fix: Fix) {
    if !fixes.contains(&fix) {
        fixes.push(fix);
    }
}

/// Rewrites a non-UTF-8 `encoding="..."` in the XML prolog to `UTF-8`.
fn rewrite_prolog<'a>(text: &'a str, fixes: &mut Vec<Fix>) -> Cow<'a, str> {
    let Some((start, end)) = prolog_encoding_span(text) else {
        return Cow::Borrowed(text);
    };
    let (Some(before), Some(label), Some(after)) =
        (text.get(..start), text.get(start..end), text.get(end..))
    else {
        return Cow::Borrowed(text);
    };
    if Encoding::for_label(label.trim().as_bytes()) == Some(UTF_8) {
        return Cow::Borrowed(text);
    }
    note(fixes, Fix::PrologEncoding);
    Cow::Owned(format!("{before}UTF-8{after}"))
}

/// The byte range of the value of the prolog's `encoding` pseudo-attribute.
fn prolog_encoding_span(text: &str) -> Option<(usize, usize)> {
    let offset = text.len()
        - text
            .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
            .len();
    let decl = text.get(offset..)?.strip_prefix("<?xml")?;
    if !decl.starts_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    let decl = decl.get(..decl.find("?>")?)?;
    let (value_start, value_len) = encoding_value(decl)?;
    let start = offset + "<?xml".len() + value_start;
    Some((start, start + value_len))
}

/// Finds `encoding = "value"` in the prolog's pseudo-attributes: (value offset, value length).
fn encoding_value(decl: &str) -> Option<(usize, usize)> {
    let mut search = 0;
    loop {
        let at = search + decl.get(search..)?.find("encoding")?;
        search = at + "encoding".len();
        let after = decl.get(search..)?;
        let Some(value) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
        let len = value.get(1..)?.find(quote)?;
        return Some((decl.len() - value.len() + 1, len));
    }
}

/// Escapes bare `&` and replaces HTML-only references outside verbatim sections.
fn fix_references(text: &str, fixes: &mut Vec<Fix>) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 64);
    let mut rest = text;
    while let Some(at) = rest.find(['<', '&']) {
        let (before, tail) = rest.split_at(at);
        out.push_str(before);
        rest = if tail.starts_with('&') {
            fix_reference(tail, &mut out, fixes)
        } else {
            copy_markup(tail, &mut out)
        };
    }
    out.push_str(rest);
    out
}

/// Copies `<` and, when it opens a CDATA section, comment or processing instruction, the
/// whole section (to the end of the text if it is never closed). Returns what follows.
fn copy_markup<'a>(tail: &'a str, out: &mut String) -> &'a str {
    let len = VERBATIM
        .iter()
        .find(|(open, _)| tail.starts_with(open))
        .map_or(1, |(open, close)| verbatim_len(tail, open, close));
    let (copied, rest) = tail.split_at_checked(len).unwrap_or((tail, ""));
    out.push_str(copied);
    rest
}

/// The length of a verbatim section that starts at the beginning of `tail`.
fn verbatim_len(tail: &str, open: &str, close: &str) -> usize {
    tail.get(open.len()..)
        .and_then(|body| body.find(close))
        .map_or(tail.len(), |at| open.len() + at + close.len())
}

/// Handles the `&` at the start of `tail`; returns what follows the handled part.
fn fix_reference<'a>(tail: &'a str, out: &mut String, fixes: &mut Vec<Fix>) -> &'a str {
    let body = tail.get(1..).unwrap_or_default();
    let (len, replacement) = match body.strip_prefix('#') {
        Some(number) => numeric_reference(number),
        None => named_reference(body),
    };
    match replacement {
        Replacement::Keep => out.push('&'),
        Replacement::Escape => {
            out.push_str("&amp;");
            note(fixes, Fix::BareAmpersand);
            return body;
        }
        Replacement::With(text) => {
            out.push_str(&text);
            note(fixes, Fix::HtmlEntity);
            return body.get(len..).unwrap_or_default();
        }
    }
    body
}

/// What to do with a reference.
enum Replacement {
    /// It is valid XML: copy it as it is.
    Keep,
    /// It is not a reference: escape the `&`.
    Escape,
    /// It is an HTML-only reference: replace it (and the given length after `&`) with this.
    With(String),
}

/// Classifies `&#...` (`number` follows the `#`); returns the length after `&` to replace.
fn numeric_reference(number: &str) -> (usize, Replacement) {
    let (digits, radix, upper_x) = match number.as_bytes().first() {
        Some(b'x') => (number.get(1..).unwrap_or_default(), 16, false),
        Some(b'X') => (number.get(1..).unwrap_or_default(), 16, true),
        _ => (number, 10, false),
    };
    let Some((value, _)) = digits.split_once(';') else {
        return (0, Replacement::Escape);
    };
    let valid = value
        .bytes()
        .all(|b| b.is_ascii_digit() || (radix == 16 && b.is_ascii_hexdigit()))
        && u32::from_str_radix(value, radix)
            .ok()
            .filter(|code| *code != 0)
            .and_then(char::from_u32)
            .is_some();
    match (valid, upper_x) {
        (false, _) => (0, Replacement::Escape),
        (true, false) => (0, Replacement::Keep),
        (true, true) => (value.len() + 3, Replacement::With(format!("&#x{value};"))),
    }
}

/// Classifies `&name;` (`body` follows the `&`); returns the length after `&` to replace.
fn named_reference(body: &str) -> (usize, Replacement) {
    let name_len = body
        .bytes()
        .take(MAX_ENTITY_NAME)
        .take_while(u8::is_ascii_alphanumeric)
        .count();
    let Some(name) = body
        .get(..name_len)
        .filter(|_| body.get(name_len..).is_some_and(|r| r.starts_with(';')))
    else {
        return (0, Replacement::Escape);
    };
    if XML_ENTITIES.contains(&name) {
        return (0, Replacement::Keep);
    }
    match html_entity(name) {
        Some(value) => (name_len + 1, Replacement::With(char_references(value))),
        None => (0, Replacement::Escape),
    }
}

/// Looks a name up in the HTML standard's table of named character references.
pub(crate) fn html_entity(name: &str) -> Option<&'static str> {
    let table = &html_escape::NAMED_ENTITIES;
    let index = table
        .binary_search_by(|(key, _)| (*key).cmp(name.as_bytes()))
        .ok()?;
    table.get(index).map(|(_, value)| *value)
}

/// Writes each character of `value` as a decimal character reference.
fn char_references(value: &str) -> String {
    value
        .chars()
        .map(|c| format!("&#{};", u32::from(c)))
        .collect()
}

/// Where to cut a truncated document, and the elements open at that point.
struct Cut {
    at: usize,
    open: Vec<String>,
}

/// What was seen while reading a document up to its end or its first error.
#[derive(Default)]
struct Scan {
    open: Vec<String>,
    first_item_start: Option<Cut>,
    last_item_end: Option<Cut>,
}

/// Cuts a truncated document after its last complete item and closes its open elements.
fn close_truncated<'a>(text: &'a str, fixes: &mut Vec<Fix>) -> Cow<'a, str> {
    let Some(cut) = truncation(text) else {
        return Cow::Borrowed(text);
    };
    let mut out = text.get(..cut.at).unwrap_or(text).trim_end().to_owned();
    for name in cut.open.iter().rev() {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    out.push('\n');
    note(fixes, Fix::Truncated);
    Cow::Owned(out)
}

/// Finds where to cut `text`, or `None` if it is complete (or broken in another way).
fn truncation(text: &str) -> Option<Cut> {
    let mut reader = Reader::from_str(text);
    let mut scan = Scan::default();
    loop {
        let before = position(&reader);
        match reader.read_event() {
            Ok(Event::Eof) if scan.open.is_empty() => return None,
            Ok(Event::Eof) => return Some(scan.cut_at(text.len())),
            Err(error) if ends_early(&error) => return Some(scan.cut_at(before)),
            Err(_) => return None,
            Ok(Event::Start(start)) => scan.start(&start, before),
            Ok(Event::End(end)) => scan.end(is_item(end.local_name().as_ref()), position(&reader)),
            Ok(Event::Empty(empty)) if is_item(empty.local_name().as_ref()) => {
                scan.end(true, position(&reader));
            }
            Ok(_) => {}
        }
    }
}

/// The reader's byte offset.
fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// Whether an error means that the input ended inside some markup.
fn ends_early(error: &XmlError) -> bool {
    matches!(
        error,
        XmlError::Syntax(_)
            | XmlError::IllFormed(quick_xml::errors::IllFormedError::UnclosedReference)
    )
}

/// Whether an element's local name is that of a feed item.
fn is_item(local_name: &str) -> bool {
    matches!(local_name, "item" | "entry")
}

impl Scan {
    fn checkpoint(&self, at: usize) -> Cut {
        Cut {
            at,
            open: self.open.clone(),
        }
    }

    fn start(&mut self, start: &BytesStart<'_>, at: usize) {
        if self.first_item_start.is_none() && is_item(start.local_name().as_ref()) {
            self.first_item_start = Some(self.checkpoint(at));
        }
        let name = start.name().as_ref().to_owned();
        self.open.push(name);
    }

    fn end(&mut self, closes_item: bool, at: usize) {
        self.open.pop();
        if closes_item {
            self.last_item_end = Some(self.checkpoint(at));
        }
    }

    /// The best cut for a document that ended early at `at`: after the last complete item,
    /// else before the first item, else right there.
    fn cut_at(self, at: usize) -> Cut {
        let fallback = Cut {
            at,
            open: self.open,
        };
        self.last_item_end
            .or(self.first_item_start)
            .unwrap_or(fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/feeds/",
                $name
            ))
        };
    }

    fn parse(bytes: &[u8]) -> Result<feed_rs::model::Feed, feed_rs::parser::ParseFeedError> {
        feed_rs::parser::parse(bytes)
    }

    fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
        feed.entries
            .iter()
            .map(|e| {
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Repairs `text`, asserting that feed-rs rejects it before and accepts it after.
    fn repair_broken(text: &str) -> (Repaired, feed_rs::model::Feed) {
        assert!(parse(text.as_bytes()).is_err(), "fixture should be broken");
        let repaired = repair_xml(text);
        let feed = parse(&repaired.bytes).expect("repaired feed should parse");
        (repaired, feed)
    }

    #[test]
    fn rss_with_bare_ampersands() {
        let (repaired, feed) = repair_broken(fixture!("rss2-bare-ampersand.xml"));
        assert_eq!(repaired.fixes, vec![Fix::BareAmpersand]);
        assert_eq!(
            titles(&feed),
            [
                "AT&T buys a rival",
                "Q&A: Tom & Jerry",
                "Fish & chips ’24",
                "Rock & Roll <live>"
            ]
        );
        let links: Vec<&str> = feed
            .entries
            .iter()
            .flat_map(|e| &e.links)
            .map(|l| l.href.as_str())
            .collect();
        assert_eq!(links[0], "https://example.com/news?id=1&ref=rss");
        assert!(links[1].ends_with("?a=1&b=2"));
        let summary = feed.entries[3].summary.as_ref().map(|s| s.content.as_str());
        assert_eq!(summary, Some("<b>Sex & drugs</b> & more"));
    }

    #[test]
    fn atom_with_html_entities() {
        let (repaired, feed) = repair_broken(fixture!("atom-html-entities.xml"));
        assert_eq!(repaired.fixes, vec![Fix::HtmlEntity, Fix::BareAmpersand]);
        assert_eq!(
            titles(&feed),
            [
                "Breaking\u{a0}news \u{2014} live",
                "\u{ab}Quoted\u{bb} and \u{2018}single\u{2019} \u{201c}double\u{201d}\u{2026}",
                "2010\u{2013}2020 \u{a9} Smith & Sons \u{2242}\u{338}"
            ]
        );
        let rights = feed.rights.as_ref().map(|r| r.content.as_str());
        assert_eq!(rights, Some("\u{a9} 2024 Smith & Sons"));
    }

    #[test]
    fn html_entity_alone_parses_but_reads_wrong_until_repaired() {
        let text = fixture!("atom-html-entities.xml").replace("Smith & Sons", "Smith &amp; Sons");
        let before = parse(text.as_bytes()).expect("feed-rs keeps unknown entities as text");
        assert_eq!(titles(&before)[0], "Breaking&nbsp;news &mdash; live");
        let after = parse(&repair_xml(&text).bytes).expect("repaired feed should parse");
        assert_eq!(titles(&after)[0], "Breaking\u{a0}news \u{2014} live");
    }

    #[test]
    fn rss_truncated_mid_item() {
        let (repaired, feed) = repair_broken(fixture!("rss2-truncated.xml"));
        assert_eq!(repaired.fixes, vec![Fix::Truncated]);
        assert_eq!(titles(&feed), ["First story", "Second story"]);
        assert_eq!(
            feed.title.map(|t| t.content),
            Some("Truncated News".to_owned())
        );
        let text = String::from_utf8(repaired.bytes).unwrap_or_default();
        assert!(
            text.trim_end().ends_with("</item></channel></rss>"),
            "{text}"
        );
    }

    #[test]
    fn rdf_truncated_mid_item() {
        let (repaired, feed) = repair_broken(fixture!("rss1-rdf-truncated.xml"));
        assert_eq!(repaired.fixes, vec![Fix::Truncated]);
        assert_eq!(titles(&feed), ["Eins & zwei", "Zweiter Artikel"]);
        let text = String::from_utf8(repaired.bytes).unwrap_or_default();
        assert!(text.trim_end().ends_with("</item></rdf:RDF>"), "{text}");
    }

    #[test]
    fn atom_truncated_in_tag_closes_feed() {
        let text = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title>\
                    <entry><title>One</title></entry><entry><title>Tw";
        for end in [
            "<entry><title>Tw",
            "<entry><tit",
            "<entry><title>Two</title></ent",
            "",
        ] {
            let cut = text.replace("<entry><title>Tw", end);
            let repaired = repair_xml(&cut);
            let feed = parse(&repaired.bytes).expect("repaired feed should parse");
            assert_eq!(titles(&feed), ["One"]);
        }
    }

    #[test]
    fn truncated_before_any_item_keeps_the_channel() {
        let text = "<rss version=\"2.0\"><channel><title>Only head</title><item><title>Half";
        let repaired = repair_xml(text);
        assert_eq!(repaired.fixes, vec![Fix::Truncated]);
        let feed = parse(&repaired.bytes).expect("repaired feed should parse");
        assert!(feed.entries.is_empty());
        assert_eq!(feed.title.map(|t| t.content), Some("Only head".to_owned()));
    }

    #[test]
    fn prolog_encoding_is_rewritten_to_utf8() {
        let text = "<?xml version=\"1.0\" encoding='windows-1251' standalone=\"yes\"?>\n\
                    <rss version=\"2.0\"><channel><title>Новости</title>\
                    <item><title>Привет, мир</title></item></channel></rss>";
        let before = parse(text.as_bytes()).expect("parses, but as windows-1251");
        assert_ne!(titles(&before), ["Привет, мир"]);
        let repaired = repair_xml(text);
        assert_eq!(repaired.fixes, vec![Fix::PrologEncoding]);
        assert!(
            repaired
                .bytes
                .starts_with(b"<?xml version=\"1.0\" encoding='UTF-8' standalone")
        );
        assert_eq!(repaired.bytes, prepare_xml(text));
        let feed = parse(&repaired.bytes).expect("repaired feed should parse");
        assert_eq!(titles(&feed), ["Привет, мир"]);
    }

    #[test]
    fn valid_feed_is_left_alone() {
        let text = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
                    <title>A &amp; B &#169; &#xA9; &lt;x&gt; &quot;&apos;</title>\
                    <item><title><![CDATA[AT&T &nbsp;]]></title><!-- & --></item></channel></rss>";
        let repaired = repair_xml(text);
        assert!(repaired.fixes.is_empty());
        assert_eq!(repaired.bytes, text.as_bytes());
        assert_eq!(prepare_xml(text), text.as_bytes());
    }

    #[test]
    fn references_are_classified() {
        let cases = [
            ("a & b", "a &amp; b"),
            ("&", "&amp;"),
            ("x&y", "x&amp;y"),
            ("&copy 2024", "&amp;copy 2024"),
            ("&bogus;", "&amp;bogus;"),
            (
                "&#0;&#xD800;&#99999999999;&#x;&#12a;",
                "&amp;#0;&amp;#xD800;&amp;#99999999999;&amp;#x;&amp;#12a;",
            ),
            ("&#123;&#x1F;&#x10FFFF;", "&#123;&#x1F;&#x10FFFF;"),
            ("&#X41;", "&#x41;"),
            ("&nbsp;&AMP;&NotEqualTilde;", "&#160;&#38;&#8770;&#824;"),
        ];
        for (input, expected) in cases {
            assert_eq!(fix_references(input, &mut Vec::new()), expected, "{input}");
        }
    }

    #[test]
    fn unclosed_sections_and_junk_do_not_panic() {
        let inputs = [
            "",
            "<",
            "&",
            "&#",
            "&#x",
            "<![CDATA[ & ",
            "<!-- &",
            "<?xml",
            "<?xml encoding=",
            "<?xml encoding='",
            "<?xml version='1.0' encoding=\"é\u{feff}?>",
            "<a b='&",
            "</a>",
            "<rss><channel><item>\u{0}\u{ffff}&\u{10ffff}",
            "<a><b></a>",
            "\u{feff}",
        ];
        for input in inputs {
            let repaired = repair_xml(input);
            assert!(std::str::from_utf8(&repaired.bytes).is_ok());
            let _ = prepare_xml(input);
        }
    }
}
