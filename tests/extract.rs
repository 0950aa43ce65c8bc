//! Extraction on saved pages and on hostile input: newsfarm layouts come out
//! clean, and pathological HTML gives a result (possibly empty), never a panic
//! or a hang.

use std::path::PathBuf;

use redline::extract::{self, Extracted, SiteRules};
use redline::fetch::charset::{self, DocKind};
use url::Url;

fn url() -> Url {
    Url::parse("http://127.0.1.3:8177/en-herald/article/100003/").unwrap()
}

fn fixture(name: &str) -> Extracted {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/extract")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let text = charset::decode(&bytes, None, DocKind::Html, None).text;
    extract::extract(&text, &url())
}

fn assert_clean(page: &Extracted) {
    let body = page.body();
    for junk in [
        "Advertisement",
        "Read more",
        "Updated",
        "Most read",
        "Sign up",
        "Comments",
    ] {
        assert!(!body.contains(junk), "{junk:?} leaked into {body}");
    }
}

#[test]
fn newsfarm_modern_layout_drops_inline_boilerplate() {
    let page = fixture("newsfarm-modern-en.html");
    assert_clean(&page);
    assert_eq!(page.paragraphs.len(), 10, "{:#?}", page.paragraphs);
    assert!(page.paragraphs[0].starts_with("Ukraine signalled on Wednesday"));
    assert!(
        !page.body().contains("morning briefing"),
        "newsletter box kept"
    );
    assert_eq!(page.language.as_deref(), Some("en"));
}

#[test]
fn newsfarm_legacy_layout_splits_br_text_into_paragraphs() {
    let page = fixture("newsfarm-legacy-en.html");
    assert_clean(&page);
    assert_eq!(page.paragraphs.len(), 6, "{:#?}", page.paragraphs);
    assert!(page.paragraphs[0].starts_with("Shares in Helix Pharma rose 22%"));
}

#[test]
fn newsfarm_arabic_page_in_windows_1256_keeps_its_text_order() {
    let page = fixture("newsfarm-portal-ar-cp1256.html");
    assert_clean(&page);
    assert_eq!(page.language.as_deref(), Some("ar"));
    assert!(
        page.paragraphs[1].starts_with("واشنطن (رويترز)"),
        "{:#?}",
        page.paragraphs
    );
    assert!(page.paragraphs.iter().any(|p| p == "إنهاء الحرب"));
}

#[test]
fn metadata_comes_from_json_ld_and_meta_tags() {
    let html = r#"<html><head>
        <meta property="og:title" content="Talks resume in Geneva | The Courier">
        <meta property="og:site_name" content="The Courier">
        <meta property="article:published_time" content="2026-11-02T08:00:00Z">
        <meta property="og:image" content="/img/lead.jpg">
        <meta name="author" content="Ana Ruiz">
        </head><body><article><p>Negotiators met on Tuesday, officials said, for a third round of talks.</p></article></body></html>"#;
    let page = extract::extract(html, &url());
    assert_eq!(page.title.as_deref(), Some("Talks resume in Geneva"));
    assert_eq!(page.published.as_deref(), Some("2026-11-02T08:00:00Z"));
    assert_eq!(page.byline.as_deref(), Some("Ana Ruiz"));
    assert_eq!(
        page.lead_image.as_ref().map(Url::as_str),
        Some("http://127.0.1.3:8177/img/lead.jpg")
    );
    assert_eq!(
        page.language.as_deref(),
        Some("en"),
        "detected from the text"
    );
}

#[test]
fn served_content_language_comes_before_detection() {
    let html =
        "<p>Negotiators met on Tuesday, officials said, for a third round of talks in Geneva.</p>";
    assert_eq!(
        extract::extract(html, &url()).language.as_deref(),
        Some("en")
    );
    let served = extract::extract_served(html, &url(), Some("de-CH"), &SiteRules::default());
    assert_eq!(served.language.as_deref(), Some("de"));
    let declared = format!("<html lang=\"fr\">{html}");
    let page = extract::extract_served(&declared, &url(), Some("de"), &SiteRules::default());
    assert_eq!(page.language.as_deref(), Some("fr"));
}

#[test]
fn deep_nesting_returns_with_the_metadata() {
    let html = format!(
        "<html><head><title>Deep</title></head><body>{}text</body></html>",
        "<div>".repeat(50_000)
    );
    let page = extract::extract(&html, &url());
    assert_eq!(page.title.as_deref(), Some("Deep"));
    let formatting = "<b><i>".repeat(25_000) + "text";
    assert!(extract::extract(&formatting, &url()).paragraphs.len() <= 1);
}

#[test]
fn a_50_mb_page_is_capped() {
    let paragraph =
        "<p>Officials said on Tuesday that the talks, which began in May, would resume.</p>";
    let html = paragraph.repeat(50_000_000 / paragraph.len());
    let page = extract::extract(&html, &url());
    assert!(!page.paragraphs.is_empty());
    assert!(page.body().len() < 10 * 1024 * 1024);
}

#[test]
fn binary_junk_and_a_wrong_charset_give_a_result() {
    let mut state = 0x2545_f491_u32;
    let junk: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let text = charset::decode(&junk, None, DocKind::Html, None).text;
    let _ = extract::extract(&text, &url());

    let cp1251 = b"<html><head><meta charset=\"utf-8\"></head><body><p>\xcf\xf0\xe0\xe2\xe8\xf2\xe5\xeb\xfc\xf1\xf2\xe2\xee \xee\xe1\xfa\xff\xe2\xe8\xeb\xee, officials said, on Tuesday.</p></body></html>";
    let text = charset::decode(cp1251, None, DocKind::Html, None).text;
    let page = extract::extract(&text, &url());
    assert_eq!(page.paragraphs.len(), 1);
    assert!(page.paragraphs[0].ends_with("officials said, on Tuesday."));
}
