//! Properties that must hold for any input: canonicalisation is idempotent
//! (also through the stored string form), fingerprints do not change with
//! whitespace or Unicode normalisation form, and a diff's segments turn the old
//! text into the new one.

use proptest::prelude::*;
use redline::canonical;
use redline::dedup::fingerprint::fingerprint;
use redline::diff::{self, Op, Side, VersionDiff};
use unicode_normalization::UnicodeNormalization;
use url::Url;

/// URLs with the parts canonicalisation touches: tracking and other query
/// parameters, odd characters, fragments, ports, relative paths.
fn url_text() -> impl Strategy<Value = String> {
    let scheme = prop_oneof!["http", "https", "HTTP"];
    let host = prop_oneof![
        "[a-z0-9-]{1,8}(\\.[a-z]{2,4}){0,2}",
        "127\\.0\\.0\\.[0-9]{1,3}",
        "\\[::1\\]",
        "[A-Za-z\u{e9}\u{43f}]{1,6}\\.test",
    ];
    let port = prop_oneof![Just(String::new()), Just(":80".into()), "(:[0-9]{1,5})"];
    let path = "(/[a-zA-Z0-9%._~!$&'()*+,;=:@ \u{e9}-]{0,8}){0,4}";
    let name = prop_oneof![
        "utm_[a-z]{1,6}",
        Just("fbclid".to_string()),
        Just("UTM_Source".to_string()),
        "[a-zA-Z0-9_%+ =&\u{e9}]{0,6}",
    ];
    let value = "[a-zA-Z0-9_%+ =&/?\u{e9}\u{43f}]{0,8}";
    let query = prop::collection::vec((name, value), 0..5).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    let query = prop_oneof![Just(None), query.prop_map(Some)];
    let fragment = prop_oneof![Just(None), "[a-z0-9#?]{0,6}".prop_map(Some)];
    (scheme, host, port, path, query, fragment).prop_map(|(s, h, p, path, q, f)| {
        let mut url = format!("{s}://{h}{p}{path}");
        if let Some(q) = q {
            url.push('?');
            url.push_str(&q);
        }
        if let Some(f) = f {
            url.push('#');
            url.push_str(&f);
        }
        url
    })
}

fn assert_canonical_fixed_point(url: &Url) -> Result<(), TestCaseError> {
    let again = canonical::canonicalize(url.clone());
    prop_assert_eq!(&again, url, "canonicalising twice changed it");
    // Canonical URLs are stored and compared as strings.
    let reparsed = Url::parse(url.as_str()).expect("a canonical URL parses");
    prop_assert_eq!(reparsed.as_str(), url.as_str());
    let recanonicalised = canonical::canonicalize(reparsed);
    prop_assert_eq!(recanonicalised.as_str(), url.as_str());
    Ok(())
}

proptest! {
    #[test]
    fn canonicalisation_is_idempotent(text in url_text()) {
        if let Ok(url) = canonical::parse_http_url(&text) {
            assert_canonical_fixed_point(&canonical::canonicalize(url))?;
        }
    }

    #[test]
    fn canonicalisation_of_resolved_links_is_idempotent(link in "\\PC{0,40}") {
        let base = Url::parse("http://news.test/section/page.html?x=1").unwrap();
        if let Ok(url) = canonical::resolve(&base, &link) {
            assert_canonical_fixed_point(&url)?;
        }
    }
}

/// Words in several scripts, with letters that NFC composes and NFD splits.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}",
        "[0-9]{1,4}",
        Just("caf\u{e9}".to_string()),
        Just("na\u{ef}ve".to_string()),
        Just("\u{c5}ngstr\u{f6}m".to_string()),
        Just("\u{439}\u{43e}\u{434}".to_string()),
        Just("\u{451}\u{436}".to_string()),
        Just("\u{1e9b}\u{323}".to_string()),
        Just("\u{643}\u{62a}\u{627}\u{628}".to_string()),
        Just("\u{ac00}\u{b098}".to_string()),
    ]
}

fn paragraphs() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(prop::collection::vec(word(), 1..12), 1..6)
}

/// Whitespace runs that only space words apart.
fn spacing() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("\t".to_string()),
        Just(" \t ".to_string()),
        Just("\u{a0}".to_string()),
        Just("\u{3000}".to_string()),
    ]
}

fn plain_body(paragraphs: &[Vec<String>]) -> String {
    paragraphs
        .iter()
        .map(|p| p.join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

proptest! {
    #[test]
    fn fingerprints_ignore_whitespace_changes(
        paragraphs in paragraphs(),
        gaps in prop::collection::vec(spacing(), 64),
        blank_lines in prop::collection::vec(prop_oneof!["\n", "\n\n", "\n \n", "\r\n"], 8),
        edges in (spacing(), spacing()),
    ) {
        let mut gap = gaps.iter().cycle();
        let mut blank = blank_lines.iter().cycle();
        let spaced: Vec<String> = paragraphs
            .iter()
            .map(|p| {
                let inner = p.iter().map(|w| w.as_str()).fold(String::new(), |acc, w| {
                    if acc.is_empty() { w.to_string() } else { format!("{acc}{}{w}", gap.next().unwrap()) }
                });
                format!("{}{inner}{}", edges.0, edges.1)
            })
            .collect();
        let mut body = String::new();
        for (i, p) in spaced.iter().enumerate() {
            if i > 0 {
                body.push_str(blank.next().unwrap());
            }
            body.push_str(p);
        }
        let plain = plain_body(&paragraphs);
        prop_assert_eq!(fingerprint("T", &plain, None), fingerprint("T", &body, None));
    }

    #[test]
    fn fingerprints_ignore_unicode_normalisation_form(paragraphs in paragraphs()) {
        let body = plain_body(&paragraphs);
        let nfc: String = body.nfc().collect();
        let nfd: String = body.nfd().collect();
        let expected = fingerprint("T", &body, None);
        prop_assert_eq!(&fingerprint("T", &nfc, None), &expected);
        prop_assert_eq!(&fingerprint("T", &nfd, None), &expected);
    }
}

/// The text a diff compares: the title, then each body line, each ending in
/// a line break (a carriage return inside a line counts as a space).
fn document(title: &str, body: &str) -> String {
    let mut doc = format!("{title}\n");
    for line in body.lines() {
        doc.push_str(line);
        doc.push('\n');
    }
    doc.replace('\r', " ")
}

fn joined(segments: &[diff::Segment], side: Op) -> String {
    segments
        .iter()
        .filter(|s| s.op == Op::Equal || s.op == side)
        .map(|s| s.text.as_str())
        .collect()
}

/// Replaces each hunk's old lines with its new text.
fn apply(old_doc: &str, diff: &VersionDiff) -> Result<String, TestCaseError> {
    let old_lines: Vec<&str> = old_doc.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next = 0;
    for hunk in &diff.hunks {
        prop_assert!(hunk.old_line >= next, "hunks overlap or go backwards");
        out.push_str(&old_lines[next..hunk.old_line].concat());
        prop_assert_eq!(out.matches('\n').count(), hunk.new_line);
        let old_part = joined(&hunk.segments, Op::Delete);
        let covered = old_part.matches('\n').count();
        let end = hunk.old_line + covered;
        prop_assert!(end <= old_lines.len());
        prop_assert_eq!(&old_part, &old_lines[hunk.old_line..end].concat());
        out.push_str(&joined(&hunk.segments, Op::Insert));
        next = end;
    }
    out.push_str(&old_lines[next..].concat());
    Ok(out)
}

/// A body and an edit of it: words and paragraphs changed, added and removed.
fn versions() -> impl Strategy<Value = (String, String)> {
    let vocabulary = prop_oneof![
        "[a-c]{1,3}",
        Just("the".to_string()),
        Just("\u{645}\u{62a}\u{62d}\u{62f}\u{62b}".to_string()),
        Just("\u{433}\u{43e}\u{440}\u{43e}\u{434}".to_string()),
        Just("58".to_string()),
        Just("90,5".to_string()),
    ];
    let line = prop::collection::vec(vocabulary, 0..10).prop_map(|w| w.join(" "));
    let body = prop::collection::vec(line, 0..8);
    (body.clone(), body).prop_map(|(old, new)| (old.join("\n"), new.join("\n")))
}

proptest! {
    #[test]
    fn applying_a_diff_to_the_old_text_gives_the_new_text(
        (old_body, new_body) in versions(),
        titles in ("[a-c ]{0,6}", "[a-c ]{0,6}"),
    ) {
        let result = diff::diff(
            Side::new(&titles.0, &old_body, "old"),
            Side::new(&titles.1, &new_body, "new"),
        );
        let old_doc = document(&titles.0, &old_body);
        prop_assert_eq!(apply(&old_doc, &result)?, document(&titles.1, &new_body));
    }

    #[test]
    fn applying_a_diff_of_arbitrary_text_gives_the_new_text(
        old in "[\\PC\\n\\r]{0,60}",
        new in "[\\PC\\n\\r]{0,60}",
    ) {
        let result = diff::diff(Side::new("t", &old, "old"), Side::new("t", &new, "new"));
        prop_assert_eq!(apply(&document("t", &old), &result)?, document("t", &new));
    }
}
