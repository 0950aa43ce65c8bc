//! HTML extraction: arbitrary bytes, decoded as a served page would be, then
//! extracted; must never panic, overflow the stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::fetch::charset::{self, DocKind};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("http://127.0.0.1/news/story.html").unwrap();
    let text = charset::decode(data, Some("text/html"), DocKind::Html, None).text;
    let _ = redline::extract::extract(&text, &url);
});
