//! Inputs that once crashed or misled the library, found by the fuzz targets in
//! `fuzz/` and by the property tests; one test per bug, named after what broke.
//! Larger inputs live in `tests/fixtures/fuzz-regressions/`.

use std::path::Path;

use redline::canonical;
use redline::config::Config;
use redline::diff::{self, Side};
use redline::fetch::charset::{self, DocKind};
use url::Url;

#[test]
fn diff_with_carriage_return_inside_a_line_does_not_panic() {
    // similar ends a line at a lone \r, the diff's own line split did not:
    // its line ranges ran past the end of the split lines.
    let result = diff::diff(Side::new("t", "", "old"), Side::new("t", "\r ", "new"));
    assert_eq!(result.hunks.len(), 1);
    let result = diff::diff(
        Side::new("a\rb", "one\rtwo\nthree", "old"),
        Side::new("a\rc", "one\rtwo", "new"),
    );
    assert!(result.title_changed);
    assert_eq!(result.paragraphs.removed, ["three"]);
}

/// The part of `bytes` a fuzz target taking `&str` sees: the valid UTF-8 prefix.
fn str_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap(),
    }
}

/// Runs one input the way the fuzz target of that name does (see `fuzz/fuzz_targets/`).
fn replay(target: &str, bytes: &[u8]) {
    let page = Url::parse("http://127.0.0.1/news/story.html").unwrap();
    match target {
        "feed_parse" => {
            let _ = redline::feeds::parse(bytes, None, &page);
        }
        "extract_html" => {
            let text = charset::decode(bytes, Some("text/html"), DocKind::Html, None).text;
            let _ = redline::extract::extract(&text, &page);
        }
        "charset_decode" => {
            let _ = charset::decode(bytes, None, DocKind::Xml, Some(b"ru"));
        }
        "canonical_url" => {
            if let Ok(url) = canonical::resolve(&page, str_prefix(bytes)) {
                assert_eq!(canonical::canonicalize(url.clone()), url);
            }
        }
        "config_parse" => {
            let _ = Config::parse(str_prefix(bytes), Path::new("fuzz.toml"));
        }
        "diff_versions" => {
            let text = String::from_utf8_lossy(bytes);
            let mut parts = text.splitn(4, '\0');
            let mut next = || parts.next().unwrap_or_default();
            let (old, new) = ((next(), next()), (next(), next()));
            let _ = diff::diff(
                Side::new(old.0, old.1, "old"),
                Side::new(new.0, new.1, "new"),
            );
        }
        other => panic!("no fuzz target named {other}"),
    }
}

#[test]
fn every_saved_fuzz_input_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions");
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).unwrap() {
        let target = target.unwrap().path();
        let name = target.file_name().unwrap().to_str().unwrap().to_string();
        for input in std::fs::read_dir(&target).unwrap() {
            let input = input.unwrap().path();
            replay(&name, &std::fs::read(&input).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no inputs under {}", root.display());
}
