//! Feed parsing: arbitrary bytes through charset decoding, the XML repair pass
//! and feed-rs (or the JSON Feed parser) must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("http://127.0.0.1/feed.xml").unwrap();
    if let Ok(feed) = redline::feeds::parse(data, None, &url) {
        for item in &feed.items {
            assert!(matches!(item.link.scheme(), "http" | "https"));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = redline::feeds::repair::repair_xml(text);
    }
});
