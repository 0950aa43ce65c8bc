//! Extraction: the title, body text and metadata of an article page.
//!
//! The body is found readability-style (see [`blocks`]): the page is cut into
//! text blocks, boilerplate is skipped by tag and by class/id words, blocks vote
//! for their containers and the best container (with its well-scoring siblings)
//! is the body, one paragraph per line. When that finds little text the page's
//! JSON-LD `articleBody` is the fallback. Input is bounded first (see [`guard`])
//! so hostile pages cannot make the parser slow.
//!
//! Works on a parsed tree that is `!Send`: call it from a blocking task and keep
//! only the owned [`Extracted`] result.

mod blocks;
mod guard;
mod jsonld;
mod language;
mod metadata;
pub mod rules;

use scraper::Html;
use url::Url;

pub use blocks::is_boilerplate_token;
pub use metadata::primary_language;
pub use rules::{SiteRule, SiteRules, extract_with_rules};

/// What was extracted from a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub title: Option<String>,
    /// Body paragraphs in document order (right-to-left text keeps its logical order).
    pub paragraphs: Vec<String>,
    /// `<link rel=canonical>` (or og:url), absolute.
    pub canonical: Option<Url>,
    /// Primary language subtag from `<html lang>` or a Content-Language meta
    /// tag, else the served Content-Language (see [`extract_served`]), else
    /// detected from the body text, e.g. "ar".
    pub language: Option<String>,
    /// Author names, comma-separated.
    pub byline: Option<String>,
    /// Publication time as the page states it (usually ISO 8601).
    pub published: Option<String>,
    /// Last-modified time as the page states it (usually ISO 8601).
    pub modified: Option<String>,
    /// The lead image (JSON-LD image or og:image), absolute.
    pub lead_image: Option<Url>,
}

impl Extracted {
    /// The body as text, one paragraph per line.
    pub fn body(&self) -> String {
        self.paragraphs.join("\n")
    }
}

/// Extracts an article from decoded HTML fetched from `page_url`.
pub fn extract(html: &str, page_url: &Url) -> Extracted {
    extract_served(html, page_url, None, &SiteRules::default())
}

/// [`extract`] for a fetched page: with the site's rule from `rules` applied
/// (see [`rules`]) and the served `Content-Language` header, which names the
/// language when the markup does not, before detection is tried.
pub fn extract_served(
    html: &str,
    page_url: &Url,
    content_language: Option<&str>,
    rules: &SiteRules,
) -> Extracted {
    let rule = rules.for_url(page_url);
    // User selectors may test any attribute: keep them all for a ruled site.
    let attributes = match rule {
        Some(_) => guard::Attributes::KeepAll,
        None => guard::Attributes::Prune,
    };
    let document = Html::parse_document(&guard::prepare(html, attributes));
    let overrides = rule
        .map(|r| rules::overrides(&document, r))
        .unwrap_or_default();
    let served_language = content_language.and_then(primary_language);
    from_document(&document, page_url, &overrides, served_language)
}

/// Extraction from a parsed page, with site rules already resolved to elements
/// and the served `Content-Language` (as a primary subtag), if any.
fn from_document(
    document: &Html,
    page_url: &Url,
    overrides: &blocks::Overrides,
    served_language: Option<String>,
) -> Extracted {
    let meta = metadata::read(document, page_url);
    let mut paragraphs =
        prefer_structured_body(blocks::body_paragraphs(document, overrides), meta.ld_body);
    if let Some(title) = &meta.title {
        drop_leading_headline(&mut paragraphs, title);
    }
    let title = meta.title.or_else(|| paragraphs.first().cloned());
    let language = meta
        .language
        .or(served_language)
        .or_else(|| language::detect(&paragraphs));
    Extracted {
        title,
        paragraphs,
        canonical: meta.canonical,
        language,
        byline: meta.byline,
        published: meta.published,
        modified: meta.modified,
        lead_image: meta.lead_image,
    }
}

/// Removes the headline where the body repeats it at its start.
fn drop_leading_headline(paragraphs: &mut Vec<String>, title: &str) {
    let repeats = paragraphs
        .first()
        .is_some_and(|first| first.to_lowercase() == title.to_lowercase());
    if repeats {
        paragraphs.remove(0);
    }
}

/// Below this many characters the markup-derived body is compared with JSON-LD.
const SHORT_BODY_CHARS: usize = 500;

/// The markup-derived paragraphs, unless they are short and the page's JSON-LD
/// `articleBody` is longer (pages that render their text with scripts).
fn prefer_structured_body(paragraphs: Vec<String>, ld_body: Option<String>) -> Vec<String> {
    let found: usize = paragraphs.iter().map(|p| p.chars().count()).sum();
    let Some(ld_body) = ld_body.filter(|_| found < SHORT_BODY_CHARS) else {
        return paragraphs;
    };
    let structured: Vec<String> = ld_body
        .lines()
        .map(metadata::collapse_whitespace)
        .filter(|l| !l.is_empty())
        .collect();
    if structured.iter().map(|p| p.chars().count()).sum::<usize>() > found {
        structured
    } else {
        paragraphs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> String {
        format!(
            "<html lang=\"en-GB\"><head><title>Talks resume | The Daily Courier</title>\
             <link rel=\"canonical\" href=\"/news/1-talks.html\"></head><body>{body}</body></html>"
        )
    }

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/news/1-talks.html?utm_source=x").unwrap()
    }

    #[test]
    fn finds_the_body_among_boilerplate() {
        let html = page(
            "<nav><a href=/>Home</a><a href=/w>World</a></nav>\
             <div class=\"ticker\">Breaking: markets open higher, analysts say, today</div>\
             <article><h1>Talks resume</h1><div class=\"article-body\">\
             <p>Negotiators from both countries met in Geneva on Tuesday, officials said, for a third round.</p>\
             <div class=\"ad-slot\">Advertisement: buy a car, cheap, today, now, here</div>\
             <p>The talks, which lasted six hours, focused on a ceasefire, prisoner exchanges and guarantees.</p>\
             <p>Read more: <a href=/x>Ten things to know about the long, complicated history of these talks</a></p>\
             </div></article>\
             <aside><p>Most read: a long list of other stories, sport, weather, and more.</p></aside>",
        );
        let got = extract(&html, &url());
        assert_eq!(got.title.as_deref(), Some("Talks resume"));
        assert_eq!(got.paragraphs.len(), 2, "{:?}", got.paragraphs);
        assert!(got.paragraphs[0].starts_with("Negotiators"));
        assert!(got.paragraphs[1].starts_with("The talks"));
        assert_eq!(
            got.canonical.unwrap().as_str(),
            "http://127.0.0.1:9/news/1-talks.html"
        );
        assert_eq!(got.language.as_deref(), Some("en"));
    }

    #[test]
    fn br_separated_text_becomes_paragraphs() {
        let html = page(
            "<table><tr><td><div id=\"content\">First paragraph of the story, with enough words, really.<br><br>\
             Second paragraph, <a href=/t>Kyiv</a> said, continues the story at some length.<br><br></div></td></tr></table>",
        );
        let got = extract(&html, &url());
        assert_eq!(got.paragraphs.len(), 2, "{:?}", got.paragraphs);
        assert_eq!(
            got.paragraphs[1],
            "Second paragraph, Kyiv said, continues the story at some length."
        );
    }

    #[test]
    fn arabic_text_keeps_its_order_and_subheadings() {
        let html = "<html lang=\"ar\" dir=\"rtl\"><head><meta property=\"og:title\" content=\"ترامب يستعد\"></head><body>\
            <div class=\"article-body\"><p>في خطوة جديدة نحو إنهاء الحرب، أعلن الرئيس الأمريكي دونالد ترامب.</p>\
            <h2>إنهاء الحرب</h2><p>وبحسب وكالة رويترز، فإنه بعد مكالمة استمرت لأكثر من ساعة.</p></div></body></html>";
        let got = extract(html, &url());
        assert_eq!(got.title.as_deref(), Some("ترامب يستعد"));
        assert_eq!(got.paragraphs[1], "إنهاء الحرب");
        assert_eq!(got.language.as_deref(), Some("ar"));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let deep = "<div>".repeat(5_000) + "text";
        let _ = extract(&deep, &url());
        let _ = extract("\u{0}\u{1}<<<>>>&&&", &url());
        assert_eq!(extract("", &url()).paragraphs, Vec::<String>::new());
    }
}
