//! Diffing: two arbitrary versions diff and render without panicking. The
//! input is old title, old body, new title and new body, split at NUL bytes
//! (so a crash input replays as a plain file in tests/regressions.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::diff::{self, Side};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\0');
    let mut next = || parts.next().unwrap_or_default();
    let (old_title, old_body, new_title, new_body) = (next(), next(), next(), next());
    let result = diff::diff(
        Side::new(old_title, old_body, "old"),
        Side::new(new_title, new_body, "new"),
    );
    if old_title == new_title && old_body == new_body {
        assert!(result.hunks.is_empty(), "identical versions produced hunks");
    }
    let _ = diff::render_human(&result, true);
});
