//! Canonical article URLs and the short ids derived from them.
//!
//! An article is keyed on its canonical URL: the `<link rel=canonical>` of its
//! page when there is one, else the URL it was fetched from, with the fragment and
//! tracking parameters (utm_*, fbclid, ...) removed. The id shown to users is a
//! short hash of that URL, so it is stable across runs and machines.

use url::Url;

/// Why a URL cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("not a valid URL: {0}")]
    Parse(#[from] url::ParseError),
    #[error("only http and https URLs are supported, not {0}:")]
    Scheme(String),
    #[error("URL has no host")]
    NoHost,
}

/// Query parameters that only track where a click came from.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "yclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ocid",
    "_ga",
    "_gl",
    "cmpid",
    "ito",
    "at_medium",
    "at_campaign",
    "ref_src",
];

fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING_PARAMS.contains(&lower.as_str())
}

/// Parses an absolute http(s) URL with a host.
pub fn parse_http_url(text: &str) -> Result<Url, UrlError> {
    let url = Url::parse(text.trim())?;
    check_http(&url)?;
    Ok(url)
}

/// Checks that a URL is http(s) and has a host.
pub fn check_http(url: &Url) -> Result<(), UrlError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(url.scheme().to_string()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost);
    }
    Ok(())
}

/// Resolves `link` against `base` and canonicalises it.
pub fn resolve(base: &Url, link: &str) -> Result<Url, UrlError> {
    let url = base.join(link.trim())?;
    check_http(&url)?;
    Ok(canonicalize(url))
}

/// Removes the fragment and tracking parameters; the rest of the URL is kept as is
/// (scheme and host are already lower-cased and default ports dropped by `url`).
pub fn canonicalize(mut url: Url) -> Url {
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url
}

/// Length of an article id in hex digits.
pub const ID_LEN: usize = 10;

/// The short, stable id of an article: the first 40 bits of the BLAKE3 hash of its
/// canonical URL, in hex.
pub fn article_id(canonical: &Url) -> String {
    let hash = blake3::hash(canonical.as_str().as_bytes());
    hash.to_hex()[..ID_LEN].to_string()
}

/// Whether `text` looks like an article id or a prefix of one (for CLI lookups).
pub fn looks_like_id(text: &str) -> bool {
    (4..=ID_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonicalize(Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn tracking_parameters_and_fragment_are_removed() {
        assert_eq!(
            canon("https://Example.org:443/a/b?utm_source=rss&id=7&UTM_Medium=x#top"),
            "https://example.org/a/b?id=7"
        );
        assert_eq!(
            canon("http://example.org/a?fbclid=1"),
            "http://example.org/a"
        );
    }

    #[test]
    fn other_parameters_keep_their_order() {
        assert_eq!(
            canon("http://example.org/story.php?id=5&page=2"),
            "http://example.org/story.php?id=5&page=2"
        );
    }

    #[test]
    fn relative_links_resolve_against_the_feed() {
        let base = Url::parse("http://127.0.0.1:8099/en-courier/rss.xml").unwrap();
        let url = resolve(&base, "/en-courier/news/1-a.html?utm_campaign=x").unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8099/en-courier/news/1-a.html"
        );
    }

    #[test]
    fn non_http_schemes_are_refused() {
        let base = Url::parse("http://example.org/").unwrap();
        assert!(matches!(
            resolve(&base, "javascript:alert(1)"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            parse_http_url("file:///etc/passwd"),
            Err(UrlError::Scheme(_))
        ));
    }

    #[test]
    fn unicode_paths_and_percent_encoding_give_one_id() {
        let a = canonicalize(Url::parse("http://h/ar/world/أوكرانيا").unwrap());
        let b = canonicalize(
            Url::parse("http://h/ar/world/%D8%A3%D9%88%D9%83%D8%B1%D8%A7%D9%86%D9%8A%D8%A7")
                .unwrap(),
        );
        assert_eq!(article_id(&a), article_id(&b));
    }

    #[test]
    fn ids_are_short_hex_and_stable() {
        let url = Url::parse("http://example.org/a").unwrap();
        let id = article_id(&url);
        assert_eq!(id.len(), ID_LEN);
        assert!(looks_like_id(&id));
        assert_eq!(id, article_id(&url));
        assert!(!looks_like_id("http://example.org"));
    }
}
