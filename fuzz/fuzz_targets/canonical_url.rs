//! URL canonicalisation: any string that parses as an http(s) URL canonicalises
//! without panicking, and canonicalising twice changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::canonical;
use url::Url;

fuzz_target!(|text: &str| {
    let base = Url::parse("http://127.0.0.1/section/page.html").unwrap();
    if let Ok(url) = canonical::resolve(&base, text) {
        let again = canonical::canonicalize(url.clone());
        assert_eq!(url, again, "canonicalisation is not idempotent");
        let id = canonical::article_id(&url);
        assert!(canonical::looks_like_id(&id));
    }
    if let Ok(url) = canonical::parse_http_url(text) {
        let once = canonical::canonicalize(url);
        assert_eq!(once, canonical::canonicalize(once.clone()));
    }
});
