//! Charset decoding: the first bytes pick a Content-Type header and a document
//! kind, the rest is the body; decoding must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::fetch::charset::{self, DocKind};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = match selector % 3 {
        0 => DocKind::Html,
        1 => DocKind::Xml,
        _ => DocKind::Other,
    };
    // Bytes up to the first NUL are the header, when the selector asks for one.
    let (header, body) = match rest.iter().position(|&b| b == 0) {
        Some(at) if selector & 4 != 0 => (std::str::from_utf8(&rest[..at]).ok(), &rest[at + 1..]),
        _ => (None, rest),
    };
    let decoded = charset::decode(body, header, kind, Some(b"ru"));
    if let Some(header) = header {
        let _ = charset::content_type_charset(header);
    }
    assert!(!decoded.text.starts_with('\u{FEFF}') || !body.starts_with(b"\xEF\xBB\xBF"));
});
