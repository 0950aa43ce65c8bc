//! Diffing: two arbitrary versions (title and body each) diff and render
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::diff::{self, Side};

fuzz_target!(|parts: (&str, &str, &str, &str)| {
    let (old_title, old_body, new_title, new_body) = parts;
    let result = diff::diff(
        Side::new(old_title, old_body, "old"),
        Side::new(new_title, new_body, "new"),
    );
    if old_title == new_title && old_body == new_body {
        assert!(result.hunks.is_empty(), "identical versions produced hunks");
    }
    let _ = diff::render_human(&result, true);
});
