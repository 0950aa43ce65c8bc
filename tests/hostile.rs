//! Hostile servers and hostile input, against loopback servers only: the SSRF
//! guard refuses private and loopback addresses before connecting, endless
//! bodies and redirect loops end with clear errors, and huge, deep, invalid or
//! shape-shifting documents are read without panics and without losing items.

mod common;

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{Daemon, TestServer, article, fast_config, fetcher, rss, serve_router, url};
use futures_util::StreamExt;
use redline::fetch::address_policy::AddressClass;
use redline::fetch::{FetchError, FetchOutcome, Validators};
use redline::metrics::Metrics;
use redline::store::Store;
use url::Url;

const HTML: &str = "text/html; charset=utf-8";
const XML: &str = "application/rss+xml";

/// A loopback listener nobody accepts on: any connection made to it waits in
/// its backlog, so `accept` tells whether one was opened.
fn silent_listener() -> TcpListener {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    listener.set_nonblocking(true).unwrap();
    listener
}

fn assert_never_connected(listener: &TcpListener) {
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection was opened: {accepted:?}"
    );
}

fn refusal(
    result: Result<FetchOutcome, FetchError>,
) -> (Url, redline::fetch::address_policy::Refusal) {
    match result {
        Err(FetchError::Refused { url, refusal }) => (url, refusal),
        other => panic!("expected the guard to refuse, got {other:?}"),
    }
}

#[tokio::test]
async fn redirect_to_a_private_address_is_refused_before_connecting() {
    let app = Router::new().route(
        "/go",
        get(|| async {
            (
                StatusCode::FOUND,
                [(header::LOCATION, "http://10.0.0.1/admin")],
            )
        }),
    );
    let base = serve_router([127, 0, 0, 1], app).await;
    let metrics = Arc::new(Metrics::new());
    let fetcher = fetcher(|c| c.retries = 3).with_metrics(metrics.clone());

    let result = fetcher
        .get(&url(&format!("{base}/go")), &Validators::default())
        .await;
    let error = result.as_ref().map(|_| ()).unwrap_err().to_string();
    let (refused_url, refusal) = refusal(result);

    assert_eq!(refused_url.as_str(), "http://10.0.0.1/admin");
    assert_eq!(refusal.addr.to_string(), "10.0.0.1");
    assert_eq!(refusal.class, AddressClass::Private);
    assert!(error.contains("10.0.0.1 is a private address"), "{error}");
    assert!(error.contains("fetch.allow_private"), "{error}");
    // One response (the redirect) and no failed connection attempt: the second
    // hop was decided before it was sent, and not retried.
    let counted = metrics.encode();
    assert!(
        counted.contains("http_responses_total{class=\"3xx\"} 1"),
        "{counted}"
    );
    assert!(!counted.contains("class=\"error\""), "{counted}");
}

#[tokio::test]
async fn loopback_url_is_refused_by_default() {
    let listener = silent_listener();
    let target = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    let fetcher = fetcher(|c| c.allow_loopback = false);

    let result = fetcher.get(&url(&target), &Validators::default()).await;
    let (_, refusal) = refusal(result);

    assert_eq!(refusal.class, AddressClass::Loopback);
    assert!(
        refusal.to_string().contains("fetch.allow_loopback = true"),
        "{refusal}"
    );
    assert_never_connected(&listener);
}

#[tokio::test]
async fn host_name_resolving_to_loopback_is_refused_by_the_resolver() {
    let listener = silent_listener();
    let port = listener.local_addr().unwrap().port();
    let fetcher = fetcher(|c| c.allow_loopback = false);

    let result = fetcher
        .get(
            &url(&format!("http://localhost:{port}/")),
            &Validators::default(),
        )
        .await;
    let (refused_url, refusal) = refusal(result);

    assert_eq!(refused_url.host_str(), Some("localhost"));
    assert_eq!(refusal.class, AddressClass::Loopback);
    assert_never_connected(&listener);
}

#[tokio::test]
async fn endless_slow_body_is_cut_off_by_the_timeout() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            // One byte every 50 ms, for ever.
            let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
                Duration::from_millis(50),
            ));
            let body = ticks.map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"<")));
            ([(header::CONTENT_TYPE, XML)], Body::from_stream(body))
        }),
    );
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|c| c.timeout = Duration::from_secs(1));
    let target = url(&format!("{base}/slow"));

    let error = fetcher
        .get(&target, &Validators::default())
        .await
        .unwrap_err();

    match &error {
        FetchError::Http { url, source } => {
            assert_eq!(url, &target);
            assert!(source.is_timeout(), "{error:?}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(error.to_string().contains("/slow"), "{error}");
}

#[tokio::test]
async fn redirect_loop_ends_with_a_clear_error_after_the_limit() {
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let next = if uri.path() == "/a" { "/b" } else { "/a" };
            (StatusCode::FOUND, [(header::LOCATION, next)]).into_response()
        }
    });
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|c| c.max_redirects = 5);

    let error = fetcher
        .get(&url(&format!("{base}/a")), &Validators::default())
        .await
        .unwrap_err();

    assert!(matches!(error, FetchError::Redirect { .. }), "{error:?}");
    assert!(
        error.to_string().contains("more than 5 redirects"),
        "{error}"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 6);
}

fn numbered_rss(count: usize, base: &str) -> String {
    let items: Vec<String> = (0..count).map(|n| format!("{base}/story/{n}")).collect();
    rss(&items)
}

#[tokio::test]
async fn feed_with_ten_thousand_items_is_read_whole_through_the_fetcher() {
    let server = TestServer::start().await;
    server.set("/big.xml", XML, numbered_rss(10_000, "http://news.test"));
    let fetcher = fetcher(|_| {});
    let feed_url = url(&server.url("/big.xml"));

    let page = match fetcher
        .get(&feed_url, &Validators::default())
        .await
        .unwrap()
    {
        FetchOutcome::Fetched(page) => page,
        FetchOutcome::NotModified => panic!("expected a page"),
    };
    let feed = redline::feeds::parse(&page.body, page.content_type.as_deref(), &feed_url).unwrap();

    assert_eq!(feed.items.len(), 10_000);
    let distinct: HashSet<&str> = feed.items.iter().map(|i| i.link.as_str()).collect();
    assert_eq!(distinct.len(), 10_000);
    assert_eq!(
        feed.items[9_999].link.as_str(),
        "http://news.test/story/9999"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabyte_titles_in_feed_and_page_are_stored_without_panic() {
    let server = TestServer::start().await;
    let huge = "Headline ".repeat(120_000); // ~1 MB
    let link = server.url("/huge.html");
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{huge}</title>\
         <item><title>{huge}</title><link>{link}</link></item></channel></rss>"
    );
    server.set("/rss.xml", XML, feed);
    let body = ["The body of the story is short and ordinary, as bodies go."];
    server.set("/huge.html", HTML, article(&huge, &body));
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/rss.xml")]), dir.path());

    let alert = daemon.next_alert(60).await;
    daemon.stop().await;

    assert_eq!(alert.url, link);
    assert!(
        alert.title.starts_with("Headline Headline"),
        "{}",
        &alert.title[..40]
    );
    assert!(alert.title.len() > 1_000_000, "{}", alert.title.len());
}

fn nested(depth: usize, tag: &str, inner: &str) -> String {
    let mut page = String::with_capacity(depth * (2 * tag.len() + 5) + inner.len());
    page.push_str("<!DOCTYPE html><html><head><title>Deep</title></head><body>");
    for _ in 0..depth {
        page.push_str(&format!("<{tag}>"));
    }
    page.push_str(inner);
    for _ in 0..depth {
        page.push_str(&format!("</{tag}>"));
    }
    page.push_str("</body></html>");
    page
}

#[test]
fn html_nested_a_hundred_thousand_levels_deep_extracts_without_overflow() {
    let page_url = url("http://news.test/deep.html");
    for tag in ["div", "b", "a", "table", "span class=x", "blockquote"] {
        let page = nested(100_000, tag, "<p>Deep inside lies a sentence.</p>");
        let extracted = redline::extract::extract(&page, &page_url);
        assert_eq!(extracted.title.as_deref(), Some("Deep"), "<{tag}>");
    }
}

#[test]
fn html_nested_a_hundred_thousand_levels_deep_in_one_text_block_keeps_the_title() {
    let page_url = url("http://news.test/deep.html");
    let page = nested(100_000, "div", "").replace("<div>", "<div>word ");
    let extracted = redline::extract::extract(&page, &page_url);
    assert_eq!(extracted.title.as_deref(), Some("Deep"));
}

fn deep_feed(depth: usize) -> String {
    let deep = "<x>".repeat(depth) + &"</x>".repeat(depth);
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Deep</title>\
         <item><title>One</title><link>http://news.test/1</link>{deep}</item>\
         <item><title>Two</title><link>http://news.test/2</link></item></channel></rss>"
    )
}

#[test]
fn feed_nested_a_hundred_thousand_levels_deep_is_a_clear_error() {
    let feed_url = url("http://news.test/deep.xml");
    let error = redline::feeds::parse(deep_feed(100_000).as_bytes(), Some(XML), &feed_url)
        .expect_err("deeper than the XML reader allows");
    let message = error.to_string();
    assert!(message.contains("http://news.test/deep.xml"), "{message}");
}

#[test]
fn feed_nested_sixty_thousand_levels_deep_keeps_its_items() {
    let feed_url = url("http://news.test/deep.xml");
    let feed = redline::feeds::parse(deep_feed(60_000).as_bytes(), Some(XML), &feed_url).unwrap();
    let links: Vec<&str> = feed.items.iter().map(|i| i.link.as_str()).collect();
    assert_eq!(links, ["http://news.test/1", "http://news.test/2"]);
}

#[test]
fn json_feed_nested_a_hundred_thousand_levels_deep_is_skipped_or_a_clear_error() {
    let feed_url = url("http://news.test/deep.json");
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let json = |extra: &str, items: &str| {
        format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"Deep\",\
             \"items\":{items}{extra}}}"
        )
    };
    // In a field nobody reads, the nesting is skipped.
    let unread = json(&format!(",\"x\":{deep}"), "[]");
    let feed = redline::feeds::parse(unread.as_bytes(), None, &feed_url).unwrap();
    assert_eq!(feed.title.as_deref(), Some("Deep"));
    // Where items are expected, it is an error naming the feed.
    let in_items = json("", &deep);
    let error = redline::feeds::parse(in_items.as_bytes(), None, &feed_url)
        .expect_err("nested arrays are not items");
    assert!(error.to_string().contains("deep.json"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_feed_and_page_becomes_replacement_characters() {
    let server = TestServer::start().await;
    let link = server.url("/broken.html");
    let mut feed = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>\
        <title>Bro\xff\xfeken</title><item><title>Caf\xc3 au lait</title><link>"
        .to_vec();
    feed.extend_from_slice(link.as_bytes());
    feed.extend_from_slice(b"</link></item></channel></rss>");
    server.set("/rss.xml", "application/rss+xml; charset=utf-8", feed);
    let page = article(
        "Caf@e news",
        &["A paragraph that is long enough to be the body of the article, re@lly."],
    );
    let page = replace_bytes(page.as_bytes(), b"@", b"\xc3\x28\xa0\xa1");
    server.set("/broken.html", HTML, page);
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/rss.xml")]), dir.path());

    let alert = daemon.next_alert(30).await;
    let store = daemon.store.clone();
    daemon.stop().await;

    assert_eq!(alert.url, link);
    assert!(alert.title.starts_with("Caf\u{FFFD}"), "{}", alert.title);
    assert!(alert.title.ends_with("e news"), "{}", alert.title);
    let body = store
        .version(&alert.id, 1)
        .unwrap()
        .expect("version 1")
        .body;
    assert!(body.contains("re\u{FFFD}"), "{body}");
}

fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn atom(links: &[String]) -> String {
    let entries: String = links
        .iter()
        .map(|l| format!("<entry><title>entry</title><id>{l}</id><link href=\"{l}\"/><updated>2025-02-12T06:00:00Z</updated></entry>"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Test feed</title>\
         <id>urn:test</id><updated>2025-02-12T06:00:00Z</updated>{entries}</feed>"
    )
}

fn json_feed(links: &[String]) -> String {
    let items: Vec<serde_json::Value> = links
        .iter()
        .map(|l| serde_json::json!({"id": l, "url": l, "title": "item"}))
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Test feed",
        "items": items,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_changing_format_between_polls_loses_no_items() {
    let server = TestServer::start().await;
    let links: Vec<String> = ["/rss-story.html", "/atom-story.html", "/json-story.html"]
        .iter()
        .map(|p| server.url(p))
        .collect();
    for (path, title) in [
        ("/rss-story.html", "From RSS"),
        ("/atom-story.html", "From Atom"),
        ("/json-story.html", "From JSON Feed"),
    ] {
        let body = [format!(
            "{title}: a paragraph long enough to count as the article body."
        )];
        server.set(path, HTML, article(title, &[body[0].as_str()]));
    }
    server.set("/feed", XML, rss(&links[..1]));
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/feed")]), dir.path());

    let mut seen = Vec::new();
    seen.push(daemon.next_alert(30).await.title);
    server.set("/feed", "application/atom+xml", atom(&links[..2]));
    seen.push(daemon.next_alert(30).await.title);
    server.set("/feed", "application/feed+json", json_feed(&links));
    seen.push(daemon.next_alert(30).await.title);
    let store = daemon.store.clone();
    daemon.stop().await;

    assert_eq!(seen, ["From RSS", "From Atom", "From JSON Feed"]);
    let stored: HashSet<String> = store
        .articles()
        .unwrap()
        .into_iter()
        .map(|a| a.url)
        .collect();
    assert_eq!(stored, links.iter().cloned().collect::<HashSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_linking_to_a_private_address_is_refused_and_the_rest_is_ingested() {
    let server = TestServer::start().await;
    let private = "http://10.0.0.1/internal.html".to_string();
    let public = server.url("/story.html");
    server.set("/rss.xml", XML, rss(&[private.clone(), public.clone()]));
    let body = ["A story on the loopback server, long enough to be an article body."];
    server.set("/story.html", HTML, article("Reachable", &body));
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/rss.xml")]), dir.path());

    let alert = daemon.next_alert(30).await;
    let store = daemon.store.clone();
    daemon.stop().await;

    assert_eq!(
        (alert.url.as_str(), alert.title.as_str()),
        (public.as_str(), "Reachable")
    );
    let stored: Vec<(String, u32)> = store
        .articles()
        .unwrap()
        .into_iter()
        .map(|a| (a.url, a.versions))
        .collect();
    assert!(
        stored
            .iter()
            .all(|(url, versions)| url != &private || *versions == 0),
        "{stored:?}"
    );
}
