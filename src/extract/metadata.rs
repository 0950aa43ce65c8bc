//! Page metadata: title (site-name suffix removed), byline, published and
//! modified times, canonical URL, language and lead image — from JSON-LD first,
//! then Open Graph / `article:*` meta tags, then the visible markup.

use scraper::{Html, Selector};
use url::Url;

use super::jsonld::ArticleLd;
use crate::canonical;

pub(super) struct Metadata {
    pub title: Option<String>,
    pub byline: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub canonical: Option<Url>,
    pub language: Option<String>,
    pub lead_image: Option<Url>,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("static selectors are valid")
}

fn first_attr(document: &Html, css: &str, attr: &str) -> Option<String> {
    let sel = selector(css);
    document
        .select(&sel)
        .filter_map(|e| e.value().attr(attr))
        .map(collapse_whitespace)
        .find(|v| !v.is_empty())
}

fn first_text(document: &Html, css: &str) -> Option<String> {
    let sel = selector(css);
    document
        .select(&sel)
        .map(|e| collapse_whitespace(&e.text().collect::<String>()))
        .find(|t| !t.is_empty())
}

/// Collapses runs of whitespace to single spaces and trims.
pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn read(document: &Html, page_url: &Url, ld: &ArticleLd) -> Metadata {
    let site_name = first_attr(document, r#"meta[property="og:site_name"]"#, "content");
    let title = first_attr(
        document,
        r#"meta[property="og:title"], meta[name="twitter:title"]"#,
        "content",
    )
    .or_else(|| ld.headline.clone())
    .or_else(|| first_text(document, "h1"))
    .or_else(|| first_text(document, "title"))
    .map(|t| strip_site_name(&t, site_name.as_deref()));
    let canonical = first_attr(document, r#"link[rel~="canonical"]"#, "href")
        .or_else(|| first_attr(document, r#"meta[property="og:url"]"#, "content"))
        .and_then(|href| canonical::resolve(page_url, &href).ok());
    Metadata {
        title,
        byline: byline(document, ld),
        published: ld.published.clone().or_else(|| {
            first_attr(document, r#"meta[property="article:published_time"], meta[itemprop="datePublished"], meta[name="pubdate"], meta[name="date"]"#, "content")
                .or_else(|| first_attr(document, "time[datetime]", "datetime"))
        }),
        modified: ld.modified.clone().or_else(|| {
            first_attr(document, r#"meta[property="article:modified_time"], meta[property="og:updated_time"], meta[itemprop="dateModified"]"#, "content")
        }),
        canonical,
        language: declared_language(document),
        lead_image: ld
            .image
            .clone()
            .or_else(|| first_attr(document, r#"meta[property="og:image"], meta[name="twitter:image"]"#, "content"))
            .and_then(|src| page_url.join(src.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https")),
    }
}

/// Authors from JSON-LD, else the `author` meta tag, else a byline element.
fn byline(document: &Html, ld: &ArticleLd) -> Option<String> {
    if !ld.authors.is_empty() {
        return Some(ld.authors.join(", "));
    }
    first_attr(
        document,
        r#"meta[name="author"], meta[property="article:author"]"#,
        "content",
    )
    .filter(|a| !a.starts_with("http"))
    .or_else(|| {
        first_text(
            document,
            r#"[rel="author"], [itemprop="author"], .byline, .author"#,
        )
    })
    .filter(|a| a.chars().count() <= 200)
}

/// `<html lang>`, else a `Content-Language` meta tag, as a primary subtag.
fn declared_language(document: &Html) -> Option<String> {
    first_attr(document, "html[lang]", "lang")
        .or_else(|| {
            first_attr(
                document,
                r#"meta[http-equiv="content-language" i]"#,
                "content",
            )
        })
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
