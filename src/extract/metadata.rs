//! Page metadata: title (site-name suffix removed), byline, published and
//! modified times, canonical URL, language and lead image — from JSON-LD first,
//! then Open Graph / `article:*` meta tags, then the visible markup.

use std::collections::HashMap;

use scraper::{ElementRef, Html};
use url::Url;

use super::blocks::class_names;
use super::jsonld::{self, ArticleLd};
use crate::canonical;

pub(super) struct Metadata {
    pub title: Option<String>,
    pub byline: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub canonical: Option<Url>,
    pub language: Option<String>,
    pub lead_image: Option<Url>,
    /// The JSON-LD `articleBody`, if the page has one.
    pub ld_body: Option<String>,
}

/// The elements metadata is read from, gathered in one pass over the tree.
#[derive(Default)]
struct Tags<'a> {
    /// `<meta>` content by lower-cased property, name, itemprop or http-equiv (first wins).
    metas: HashMap<String, &'a str>,
    canonical: Option<&'a str>,
    lang: Option<&'a str>,
    time: Option<&'a str>,
    h1: Option<ElementRef<'a>>,
    title: Option<ElementRef<'a>>,
    author: Option<ElementRef<'a>>,
    ld_scripts: Vec<ElementRef<'a>>,
}

impl<'a> Tags<'a> {
    fn gather(document: &'a Html) -> Self {
        let mut tags = Tags::default();
        for node in document.tree.nodes() {
            if let Some(element) = ElementRef::wrap(node) {
                tags.see(element);
            }
        }
        tags
    }

    fn see(&mut self, element: ElementRef<'a>) {
        let e = element.value();
        match e.name() {
            "meta" => self.see_meta(e),
            "link"
                if e.attr("rel").is_some_and(|r| {
                    r.split_whitespace()
                        .any(|w| w.eq_ignore_ascii_case("canonical"))
                }) =>
            {
                self.canonical = self.canonical.or(e.attr("href"));
            }
            "html" => self.lang = self.lang.or(e.attr("lang")),
            "time" => self.time = self.time.or(e.attr("datetime")),
            "script"
                if e.attr("type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
            {
                self.ld_scripts.push(element);
            }
            "h1" => self.h1 = self.h1.or(Some(element)),
            "title" => self.title = self.title.or(Some(element)),
            _ if self.author.is_none() && is_author_element(e) => self.author = Some(element),
            _ => {}
        }
    }

    fn see_meta(&mut self, e: &'a scraper::node::Element) {
        let Some(content) = e.attr("content").filter(|c| !c.trim().is_empty()) else {
            return;
        };
        for key in ["property", "name", "itemprop", "http-equiv"] {
            if let Some(k) = e.attr(key) {
                self.metas.entry(k.to_ascii_lowercase()).or_insert(content);
            }
        }
    }

    /// The first of `keys` that a meta tag has, whitespace collapsed.
    fn meta(&self, keys: &[&str]) -> Option<String> {
        keys.iter()
            .find_map(|k| self.metas.get(*k))
            .map(|v| collapse_whitespace(v))
    }
}

fn is_author_element(e: &scraper::node::Element) -> bool {
    e.attr("rel") == Some("author")
        || e.attr("itemprop") == Some("author")
        || class_names(e)
            .any(|c| c.eq_ignore_ascii_case("byline") || c.eq_ignore_ascii_case("author"))
}

fn text_of(element: Option<ElementRef<'_>>) -> Option<String> {
    let text = collapse_whitespace(&element?.text().collect::<String>());
    (!text.is_empty()).then_some(text)
}

/// Collapses runs of whitespace to single spaces and trims.
pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn read(document: &Html, page_url: &Url) -> Metadata {
    let tags = Tags::gather(document);
    let ld = jsonld::read(tags.ld_scripts.iter().copied());
    let ld = &ld;
    let site_name = tags.meta(&["og:site_name"]);
    let title = tags
        .meta(&["og:title", "twitter:title"])
        .or_else(|| ld.headline.clone())
        .or_else(|| text_of(tags.h1))
        .or_else(|| text_of(tags.title))
        .map(|t| strip_site_name(&t, site_name.as_deref()));
    let canonical = tags
        .canonical
        .map(str::to_string)
        .or_else(|| tags.meta(&["og:url"]))
        .and_then(|href| canonical::resolve(page_url, &href).ok());
    Metadata {
        title,
        byline: byline(&tags, ld),
        published: ld.published.clone().or_else(|| {
            tags.meta(&["article:published_time", "datepublished", "pubdate", "date"])
                .or_else(|| tags.time.map(collapse_whitespace))
        }),
        modified: ld
            .modified
            .clone()
            .or_else(|| tags.meta(&["article:modified_time", "og:updated_time", "datemodified"])),
        canonical,
        language: declared_language(&tags),
        lead_image: ld
            .image
            .clone()
            .or_else(|| tags.meta(&["og:image", "twitter:image"]))
            .and_then(|src| page_url.join(src.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https")),
        ld_body: ld.body.clone(),
    }
}

/// Authors from JSON-LD, else the `author` meta tag, else a byline element.
fn byline(tags: &Tags<'_>, ld: &ArticleLd) -> Option<String> {
    if !ld.authors.is_empty() {
        return Some(ld.authors.join(", "));
    }
    tags.meta(&["author", "article:author"])
        .filter(|a| !a.starts_with("http"))
        .or_else(|| text_of(tags.author))
        .filter(|a| a.chars().count() <= 200)
}

/// `<html lang>`, else a `Content-Language` meta tag, as a primary subtag.
fn declared_language(tags: &Tags<'_>) -> Option<String> {
    tags.lang
        .map(str::to_string)
        .or_else(|| tags.meta(&["content-language"]))
        .and_then(|l| primary_language(&l))
}

/// "ar-EG" → "ar"; anything that is not a plausible language tag gives `None`.
pub fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let plausible =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    plausible.then_some(primary)
}

const TITLE_SEPARATORS: &[&str] = &[" | ", " - ", " — ", " – ", " :: ", " « ", " » "];

/// Removes a " | Site Name" style suffix (or prefix): the site name when it is
/// known, else keeps the longest part when the title splits on a separator.
fn strip_site_name(title: &str, site_name: Option<&str>) -> String {
    if let Some(site) = site_name.filter(|s| !s.is_empty()) {
        for sep in TITLE_SEPARATORS {
            if let Some(rest) = title.strip_suffix(&format!("{sep}{site}")) {
                return rest.trim().to_string();
            }
            if let Some(rest) = title.strip_prefix(&format!("{site}{sep}")) {
                return rest.trim().to_string();
            }
        }
        return title.to_string();
    }
    for sep in [" | ", " :: "] {
        if title.contains(sep) {
            let longest = title.split(sep).max_by_key(|p| p.chars().count());
            return longest.unwrap_or(title).trim().to_string();
        }
    }
    title.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_suffix_is_removed() {
        assert_eq!(
            strip_site_name("Talks resume | Courier", Some("Courier")),
            "Talks resume"
        );
        assert_eq!(
            strip_site_name("Talks resume | Courier", None),
            "Talks resume"
        );
        assert_eq!(
            strip_site_name("Kyiv - Moscow talks", None),
            "Kyiv - Moscow talks"
        );
    }

    #[test]
    fn language_tags_reduce_to_their_primary_subtag() {
        assert_eq!(primary_language("uk-UA").as_deref(), Some("uk"));
        assert_eq!(primary_language("x1").as_deref(), None);
    }
}
