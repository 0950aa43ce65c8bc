//! Schema.org JSON-LD: the `NewsArticle` (or any `*Article`/`BlogPosting`) a
//! page describes itself with — headline, authors, dates, image and, on many
//! sites, the full `articleBody`.

use scraper::ElementRef;
use serde_json::Value;

/// What a page's JSON-LD says about its article.
#[derive(Debug, Default)]
pub(super) struct ArticleLd {
    pub headline: Option<String>,
    pub authors: Vec<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub image: Option<String>,
    pub body: Option<String>,
}

/// Scripts larger than this are not parsed (they are data dumps, not metadata).
const MAX_SCRIPT_BYTES: usize = 2_000_000;
/// How deep into nested JSON the article object is looked for.
const MAX_DEPTH: usize = 6;

/// The first article object found in the page's JSON-LD scripts.
pub(super) fn read<'a>(scripts: impl Iterator<Item = ElementRef<'a>>) -> ArticleLd {
    scripts
        .filter_map(|script| {
            let text: String = script.text().collect();
            (text.len() <= MAX_SCRIPT_BYTES)
                .then(|| serde_json::from_str::<Value>(text.trim()).ok())
                .flatten()
        })
        .find_map(|value| find_article(&value, 0).map(article_of))
        .unwrap_or_default()
}

fn is_article_type(value: &Value) -> bool {
    let is_article = |t: &str| t.ends_with("Article") || t == "BlogPosting" || t == "Report";
    match value.get("@type") {
        Some(Value::String(t)) => is_article(t),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).any(is_article),
        _ => false,
    }
}

/// Depth-first search for an article object (top level, arrays, `@graph`, `mainEntity`).
fn find_article(value: &Value, depth: usize) -> Option<&Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match value {
        Value::Object(map) if is_article_type(value) => Some(value).filter(|_| !map.is_empty()),
        Value::Object(map) => ["@graph", "mainEntity", "mainEntityOfPage"]
            .iter()
            .filter_map(|k| map.get(*k))
            .find_map(|v| find_article(v, depth + 1)),
        Value::Array(items) => items.iter().find_map(|v| find_article(v, depth + 1)),
        _ => None,
    }
}

fn article_of(value: &Value) -> ArticleLd {
    ArticleLd {
        headline: string_at(value, "headline").or_else(|| string_at(value, "name")),
        authors: names(value.get("author")),
        published: string_at(value, "datePublished"),
        modified: string_at(value, "dateModified"),
        image: url_of(value.get("image")),
        body: string_at(value, "articleBody"),
    }
}

fn string_at(value: &Value, key: &str) -> Option<String> {
    let text = value.get(key)?.as_str()?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Author names from a string, a `Person`/`Organization` object or an array of them.
fn names(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(name)) => vec![name.trim().to_string()],
        Some(Value::Object(_)) => value
            .and_then(|v| string_at(v, "name"))
            .into_iter()
            .collect(),
        Some(Value::Array(items)) => items.iter().flat_map(|v| names(Some(v))).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|n| !n.is_empty())
    .collect()
}

/// An image URL from a string, an `ImageObject` or the first of an array.
fn url_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(url) => Some(url.trim().to_string()).filter(|u| !u.is_empty()),
        object @ Value::Object(_) => string_at(object, "url"),
        Value::Array(items) => items.iter().find_map(|v| url_of(Some(v))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    fn read_page(html: &str) -> ArticleLd {
        let document = Html::parse_document(html);
        let sel = Selector::parse("script").unwrap();
        read(document.select(&sel))
    }

    #[test]
    fn reads_a_news_article_inside_a_graph() {
        let html = r#"<html><head><script type="application/ld+json">
            {"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"Courier"},
             {"@type":["NewsArticle"],"headline":"Talks resume","datePublished":"2026-11-02T08:00:00Z",
              "dateModified":"2026-11-02T09:30:00Z","author":[{"@type":"Person","name":"Ana Ruiz"},"Li Wei"],
              "image":{"@type":"ImageObject","url":"https://example.org/a.jpg"},
              "articleBody":"First paragraph."}]}
            </script></head><body></body></html>"#;
        let ld = read_page(html);
        assert_eq!(ld.headline.as_deref(), Some("Talks resume"));
        assert_eq!(ld.authors, ["Ana Ruiz", "Li Wei"]);
        assert_eq!(ld.published.as_deref(), Some("2026-11-02T08:00:00Z"));
        assert_eq!(ld.modified.as_deref(), Some("2026-11-02T09:30:00Z"));
        assert_eq!(ld.image.as_deref(), Some("https://example.org/a.jpg"));
        assert_eq!(ld.body.as_deref(), Some("First paragraph."));
    }

    #[test]
    fn broken_json_is_ignored() {
        let html = r#"<script type="application/ld+json">{"@type":"NewsArticle",</script>"#;
        assert!(read_page(html).headline.is_none());
    }
}
