//! Inputs that once crashed or misled the library, found by the fuzz targets in
//! `fuzz/` and by the property tests; one test per bug, named after what broke.
//! Larger inputs live in `tests/fixtures/fuzz-regressions/`.

use redline::diff::{self, Side};

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
