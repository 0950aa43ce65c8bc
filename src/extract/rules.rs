//! Per-site extraction rules from the config, for the sites the automatic
//! extractor still gets wrong: a CSS selector that names where the body is, and
//! selectors for elements to leave out (as miniflux's scraper rules do).
//!
//! ```toml
//! [[extract.site]]
//! host = "news.example.org"        # this host and its subdomains
//! body = "div.story-text"          # optional: take the body from here
//! drop = [".inline-promo", "figure.video"]  # optional: leave these out
//! ```

use std::collections::HashSet;

use scraper::{Html, Selector};
use serde::Deserialize;
use url::Url;

use super::{Extracted, blocks, extract_served};

/// All per-site rules (the `[extract]` table of the config).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRules {
    /// One `[[extract.site]]` table per site.
    #[serde(default)]
    pub site: Vec<SiteRule>,
}

/// The rules for one site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRule {
    /// Host name the rule applies to; its subdomains match too.
    pub host: String,
    /// CSS selector of the element(s) holding the article body. When it matches
    /// nothing on a page, the body is found automatically.
    #[serde(default)]
    pub body: Option<String>,
    /// CSS selectors of elements to leave out of the body.
    #[serde(default)]
    pub drop: Vec<String>,
}

/// A rule's selector that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("extraction rule for {host}: invalid CSS selector {selector:?}")]
pub struct RuleError {
    pub host: String,
    pub selector: String,
}

impl SiteRules {
    /// Checks that every selector parses (call when loading the config).
    pub fn validate(&self) -> Result<(), RuleError> {
        for rule in &self.site {
            for css in rule.body.iter().chain(&rule.drop) {
                if Selector::parse(css).is_err() {
                    return Err(RuleError {
                        host: rule.host.clone(),
                        selector: css.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The rule for the host of `url`, if any (the most specific host wins).
    pub fn for_url(&self, url: &Url) -> Option<&SiteRule> {
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        self.site
            .iter()
            .filter(|r| host_matches(&host, &r.host))
            .max_by_key(|r| r.host.len())
    }
}

fn host_matches(host: &str, rule_host: &str) -> bool {
    let rule_host = rule_host.trim().trim_end_matches('.').to_ascii_lowercase();
    host == rule_host
        || host
            .strip_suffix(&rule_host)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

/// [`extract`](super::extract), with the site's rule applied when `rules`
/// has one for `page_url`. Selectors that do not parse are ignored here (see
/// [`SiteRules::validate`]).
pub fn extract_with_rules(html: &str, page_url: &Url, rules: &SiteRules) -> Extracted {
    extract_served(html, page_url, None, rules)
}

/// A rule's selectors resolved to the elements of a parsed page.
pub(super) fn overrides(document: &Html, rule: &SiteRule) -> blocks::Overrides {
    blocks::Overrides {
        body: rule
            .body
            .iter()
            .flat_map(|css| matches(document, css))
            .collect(),
        dropped: rule
            .drop
            .iter()
            .flat_map(|css| matches(document, css))
            .collect::<HashSet<_>>(),
    }
}

fn matches(document: &Html, css: &str) -> Vec<ego_tree::NodeId> {
    Selector::parse(css)
        .map(|sel| document.select(&sel).map(|e| e.id()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
        [[site]]
        host = "example.org"
        body = "div.story-text"
        drop = [".promo"]

        [[site]]
        host = "news.example.com"
        drop = ["p.teaser"]
    "#;

    fn rules() -> SiteRules {
        toml::from_str(CONFIG).expect("the example parses")
    }

    #[test]
    fn parses_and_matches_hosts_and_subdomains() {
        let rules = rules();
        assert!(rules.validate().is_ok());
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            rules
                .for_url(&url("https://www.example.org/a"))
                .map(|r| r.host.as_str()),
            Some("example.org")
        );
        assert!(rules.for_url(&url("https://badexample.org/a")).is_none());
        assert!(rules.for_url(&url("https://example.com/a")).is_none());
    }

    #[test]
    fn unknown_fields_and_bad_selectors_are_errors() {
        assert!(toml::from_str::<SiteRules>("[[site]]\nhost = \"a\"\nbdy = \"p\"").is_err());
        let bad: SiteRules = toml::from_str("[[site]]\nhost = \"a\"\ndrop = [\"p[\"]").unwrap();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn body_and_drop_selectors_are_applied() {
        let html = "<html><body><div class=\"story-text\" data-kind=\"x\">\
            <p>Short line one.</p><p class=\"promo\">Buy our magazine today, it is great, really.</p>\
            <p>Short line two.</p></div>\
            <div><p>A long unrelated paragraph, with commas, and more commas, that would win the scoring otherwise.</p></div>\
            </body></html>";
        let got = extract_with_rules(
            html,
            &Url::parse("https://example.org/x").unwrap(),
            &rules(),
        );
        assert_eq!(got.paragraphs, ["Short line one.", "Short line two."]);
    }
}
