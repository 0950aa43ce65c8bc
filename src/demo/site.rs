//! Embedded replay of a small two-outlet news site on loopback, used by `redline demo`.
//!
//! The site content lives in `src/demo/site/` and is compiled into the binary with
//! `include_dir`. Two stages exist:
//!
//! * `base/` — what the site serves after [`DemoSite::start`];
//! * `edited/` — only the files that change in the second stage; after
//!   [`DemoSite::publish_edits`] each of them replaces its `base/` counterpart.
//!
//! URL paths map directly onto files of a stage (`/en-wire/atom.xml` →
//! `base/en-wire/atom.xml`, a path ending in `/` → its `index.html`); the query
//! string is ignored, as real sites ignore tracking parameters. Absolute URLs in
//! the files are written with the ASCII placeholder `{{base}}`, replaced with
//! `http://127.0.0.1:PORT` on the raw bytes when the server starts (safe in
//! windows-1256 too, where ASCII bytes are single-byte characters).
//!
//! Outlets:
//!
//! * `ar-akhbar` — Arabic, windows-1256, RSS 2.0 at `/ar-akhbar/rss.xml`. The
//!   charset is declared only inside the documents (`<meta charset>` and the XML
//!   prolog): the `Content-Type` header carries no `charset` parameter.
//! * `en-wire` — English, UTF-8, Atom at `/en-wire/atom.xml`, served with
//!   `; charset=utf-8`.
//!
//! Every response carries a strong `ETag` (a BLAKE3 hash of the served bytes);
//! `If-None-Match` answers `304 Not Modified` on a match. Unknown paths answer 404,
//! methods other than GET and HEAD answer 405.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use include_dir::{Dir, include_dir};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The embedded site: `base/`, `edited/` and a README.
static SITE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/demo/site");

/// Placeholder for `http://127.0.0.1:PORT` in the embedded files.
const BASE_PLACEHOLDER: &[u8] = b"{{base}}";

/// Outlets whose documents declare a legacy charset themselves: their responses
/// get a `Content-Type` without a `charset` parameter.
const LEGACY_CHARSET_OUTLETS: &[&str] = &["ar-akhbar"];

/// Feed paths, relative to the base URL.
const FEED_PATHS: &[&str] = &["/ar-akhbar/rss.xml", "/en-wire/atom.xml"];

/// How long [`DemoSite::shutdown`] waits for open connections before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running demo site.
pub struct DemoSite {
    base_url: String,
    state: Arc<SiteState>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl DemoSite {
    /// Number of stories whose text changes in the edited stage (2).
    pub const EDITED_STORIES: usize = 2;

    /// Number of distinct articles listed in the feeds (6: three per outlet), each
    /// a page with an article body. Tracking parameters aside, every feed link is one
    /// of them, in both stages.
    pub const ARTICLES: usize = 6;

    /// Binds 127.0.0.1:0 and serves the base stage.
    pub async fn start() -> std::io::Result<DemoSite> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let state = Arc::new(SiteState::build(&base_url));

        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Either an explicit signal or the sender being dropped stops the server.
                let _ = shutdown_rx.await;
            });
            if let Err(err) = server.await {
                tracing::warn!(error = %err, "demo site server stopped with an error");
            }
        });
        tracing::debug!(%base_url, "demo site started");

        Ok(DemoSite {
            base_url,
            state,
            shutdown_tx: Some(shutdown_tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Absolute URLs of both feeds (the Arabic RSS 2.0 feed, then the English Atom feed).
    pub fn feed_urls(&self) -> Vec<String> {
        FEED_PATHS
            .iter()
            .map(|path| format!("{}{}", self.base_url, path))
            .collect()
    }

    /// Switches to the edited stage: from now on files in edited/ replace their base/ counterparts.
    pub fn publish_edits(&self) {
        self.state.edits_published.store(true, Ordering::SeqCst);
        tracing::debug!(base_url = %self.base_url, "demo site published its edits");
    }

    /// Stops the server.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            tracing::warn!("demo site did not stop in time; aborting it");
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for DemoSite {
    fn drop(&mut self) {
        // A site dropped without `shutdown` still stops serving (gracefully, in the background).
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

/// One servable file, with the placeholder already replaced.
struct Resource {
    body: Bytes,
    etag: HeaderValue,
    content_type: HeaderValue,
}

struct SiteState {
    base: HashMap<String, Resource>,
    edited: HashMap<String, Resource>,
    edits_published: AtomicBool,
}

impl SiteState {
    fn build(base_url: &str) -> SiteState {
        SiteState {
            base: load_stage("base", base_url),
            edited: load_stage("edited", base_url),
            edits_published: AtomicBool::new(false),
        }
    }

    fn lookup(&self, key: &str) -> Option<&Resource> {
        if self.edits_published.load(Ordering::SeqCst)
            && let Some(resource) = self.edited.get(key)
        {
            return Some(resource);
        }
        self.base.get(key)
    }
}

/// Loads every file of one stage, keyed by its path inside the stage (`en-wire/atom.xml`).
fn load_stage(stage: &str, base_url: &str) -> HashMap<String, Resource> {
    let mut out = HashMap::new();
    if let Some(dir) = SITE.get_dir(stage) {
        collect_files(dir, stage, base_url.as_bytes(), &mut out);
    }
    out
}

fn collect_files(
    dir: &Dir<'static>,
    stage: &str,
    base_url: &[u8],
    out: &mut HashMap<String, Resource>,
) {
    for file in dir.files() {
        let Some(full) = file.path().to_str() else {
            continue;
        };
        let full = full.replace('\\', "/");
        let Some(key) = full
            .strip_prefix(stage)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            continue;
        };
        let body = Bytes::from(replace_placeholder(file.contents(), base_url));
        let etag = strong_etag(&body);
        let content_type = HeaderValue::from_static(content_type_for(key));
        out.insert(
            key.to_owned(),
            Resource {
                body,
                etag,
                content_type,
            },
        );
    }
    for sub in dir.dirs() {
        collect_files(sub, stage, base_url, out);
    }
}

/// Replaces every `{{base}}` in `src` with `base`, byte-wise.
fn replace_placeholder(src: &[u8], base: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + 64);
    let mut rest = src;
    while let Some(pos) = rest
        .windows(BASE_PLACEHOLDER.len())
        .position(|w| w == BASE_PLACEHOLDER)
    {
        out.extend_from_slice(&rest[..pos]);
        out.extend_from_slice(base);
        rest = &rest[pos + BASE_PLACEHOLDER.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A strong entity tag: the first 128 bits of the BLAKE3 hash of the served bytes.
fn strong_etag(body: &[u8]) -> HeaderValue {
    let hex = blake3::hash(body).to_hex();
    let tag = format!("\"{}\"", &hex.as_str()[..32]);
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// The `Content-Type` of a file, from its outlet and name.
fn content_type_for(key: &str) -> &'static str {
    let outlet = key.split('/').next().unwrap_or_default();
    let legacy = LEGACY_CHARSET_OUTLETS.contains(&outlet);
    let name = key.rsplit('/').next().unwrap_or(key);
    match (name, legacy) {
        (n, false) if n.ends_with(".html") => "text/html; charset=utf-8",
        (n, true) if n.ends_with(".html") => "text/html",
        (n, false) if n.ends_with("atom.xml") => "application/atom+xml; charset=utf-8",
        (n, true) if n.ends_with("atom.xml") => "application/atom+xml",
        (n, false) if n.ends_with(".xml") => "application/rss+xml; charset=utf-8",
        (n, true) if n.ends_with(".xml") => "application/rss+xml",
        (n, _) if n.ends_with(".opml") => "text/x-opml; charset=utf-8",
        (n, _) if n.ends_with(".md") || n.ends_with(".txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a stage key: `/a/b.html` → `a/b.html`, `/a/` → `a/index.html`.
fn key_for_path(path: &str) -> Option<String> {
    let trimmed = path.strip_prefix('/')?;
    if trimmed.split('/').any(|seg| seg == ".." || seg == ".") {
        return None;
    }
    if trimmed.is_empty() || trimmed.ends_with('/') {
        Some(format!("{trimmed}index.html"))
    } else {
        Some(trimmed.to_owned())
    }
}

/// `If-None-Match` evaluation (RFC 9110 §13.1.2, weak comparison).
fn if_none_match_matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| {
            candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate).as_bytes() == ours
        })
}

async fn handle(
    State(state): State<Arc<SiteState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return simple_response(StatusCode::METHOD_NOT_ALLOWED, Some("GET, HEAD"));
    }
    let Some(resource) = key_for_path(uri.path()).and_then(|key| state.lookup(&key)) else {
        return simple_response(StatusCode::NOT_FOUND, None);
    };

    let mut builder = Response::builder()
        .header(header::ETAG, resource.etag.clone())
        .header(header::CACHE_CONTROL, "no-cache");

    if if_none_match_matches(&headers, &resource.etag) {
        builder = builder.status(StatusCode::NOT_MODIFIED);
        return builder
            .body(Body::empty())
            .unwrap_or_else(|_| simple_response(StatusCode::INTERNAL_SERVER_ERROR, None));
    }

    builder = builder
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, resource.content_type.clone())
        .header(header::CONTENT_LENGTH, resource.body.len());
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(resource.body.clone())
    };
    builder
        .body(body)
        .unwrap_or_else(|_| simple_response(StatusCode::INTERNAL_SERVER_ERROR, None))
}

fn simple_response(status: StatusCode, allow: Option<&'static str>) -> Response {
    let mut response = Response::new(Body::from(
        status.canonical_reason().unwrap_or("error").to_owned(),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(allow) = allow {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sentence of the seed article (body paragraph 3), present in both stages.
    const SEED_SENTENCE: &str = "أريد فقط أن يتوقف قتل الناس";
    const SEED_HEADLINE: &str = "إنهاء وشيك للحرب.. ترامب يستعد لوقف الصراع بين روسيا وأوكرانيا";
    const SEED_PAGE: &str = "/ar-akhbar/2026/11/28/104512.html";
    const GENEVA_PAGE: &str = "/en-wire/2026/11/28/geneva-ceasefire-talks.html";
    const SPORTS_PAGE: &str = "/en-wire/2026/11/28/davis-cup-italy-spain.html";
    const WEATHER_PAGE: &str = "/ar-akhbar/2026/11/29/104527.html";

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }

    async fn get(client: &reqwest::Client, url: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = client.get(url).send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("body").to_vec();
        (status, headers, body)
    }

    fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn decode_1256(bytes: &[u8]) -> String {
        let (text, had_errors) = encoding_rs::WINDOWS_1256.decode_without_bom_handling(bytes);
        assert!(!had_errors, "windows-1256 decoding produced errors");
        text.into_owned()
    }

    /// The article body container of a page, as raw bytes.
    fn article_body(page: &[u8]) -> Vec<u8> {
        let markers: [&[u8]; 2] = [
            b"<div class=\"article-body\">",
            b"<div class=\"story-body\">",
        ];
        for marker in markers {
            if let Some(start) = find(page, marker) {
                let rest = &page[start..];
                let end = find(rest, b"</div>").expect("closing div");
                return rest[..end].to_vec();
            }
        }
        panic!("page has no article body");
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Every article page path in the embedded base stage.
    fn article_paths() -> Vec<String> {
        let state = SiteState::build("http://x");
        let mut paths: Vec<String> = state
            .base
            .iter()
            .filter(|(_, r)| {
                find(&r.body, b"class=\"article-body\"").is_some()
                    || find(&r.body, b"class=\"story-body\"").is_some()
            })
            .map(|(k, _)| format!("/{k}"))
            .collect();
        paths.sort();
        paths
    }

    #[tokio::test]
    async fn serves_feeds_and_pages_with_base_replaced() {
        let site = DemoSite::start().await.expect("start");
        let base = site.base_url();
        assert!(base.starts_with("http://127.0.0.1:"));
        let urls = site.feed_urls();
        assert_eq!(urls.len(), 2);
        let c = client();

        // Arabic RSS: windows-1256 declared only in the prolog.
        let (status, headers, body) = get(&c, &urls[0]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header_str(&headers, header::CONTENT_TYPE),
            "application/rss+xml"
        );
        assert!(body.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1256\"?>"));
        assert!(find(&body, b"{{base}}").is_none());
        assert!(find(&body, format!("{base}/ar-akhbar/").as_bytes()).is_some());
        assert!(find(&body, b"104512.html?utm_source=rss</link>").is_some());
        assert!(decode_1256(&body).contains(SEED_HEADLINE));

        // English Atom.
        let (status, headers, body) = get(&c, &urls[1]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header_str(&headers, header::CONTENT_TYPE),
            "application/atom+xml; charset=utf-8"
        );
        let text = String::from_utf8(body).expect("utf-8 atom");
        assert!(!text.contains("{{base}}"));
        assert!(text.contains(&format!("href=\"{base}/en-wire/atom.xml\"")));

        // Arabic seed page: real windows-1256 bytes, charset only in <meta>.
        let (status, headers, body) = get(&c, &format!("{base}{SEED_PAGE}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_str(&headers, header::CONTENT_TYPE), "text/html");
        assert!(
            std::str::from_utf8(&body).is_err(),
            "page must not be UTF-8"
        );
        assert!(find(&body, b"<meta charset=\"windows-1256\">").is_some());
        assert!(find(&body, b"{{base}}").is_none());
        let text = decode_1256(&body);
        assert!(text.contains(SEED_SENTENCE));
        assert!(text.contains("<html lang=\"ar\" dir=\"rtl\">"));
        assert!(text.contains(&format!(
            "<link rel=\"canonical\" href=\"{base}{SEED_PAGE}\">"
        )));
        assert!(text.contains(&format!("<title>{SEED_HEADLINE} | الأخبار</title>")));

        // English page.
        let (status, headers, body) = get(&c, &format!("{base}{GENEVA_PAGE}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header_str(&headers, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        let text = String::from_utf8(body).expect("utf-8 page");
        assert!(text.contains("<div class=\"story-body\">"));
        assert!(text.contains("release 500 detainees"));

        site.shutdown().await;
    }

    #[tokio::test]
    async fn every_file_has_its_placeholder_replaced() {
        let site = DemoSite::start().await.expect("start");
        let base = site.base_url();
        let c = client();
        let state = SiteState::build("http://x");
        let mut keys: Vec<&String> = state.base.keys().chain(state.edited.keys()).collect();
        keys.sort();
        keys.dedup();
        assert!(keys.len() >= 12, "unexpected site size: {}", keys.len());
        for stage in 0..2 {
            if stage == 1 {
                site.publish_edits();
            }
            for key in &keys {
                let url = if key.ends_with("/index.html") || key.as_str() == "index.html" {
                    format!("{base}/{}", key.trim_end_matches("index.html"))
                } else {
                    format!("{base}/{key}")
                };
                let (status, _, body) = get(&c, &url).await;
                assert_eq!(status, StatusCode::OK, "{url}");
                assert!(find(&body, b"{{").is_none(), "placeholder left in {url}");
            }
        }
        site.shutdown().await;
    }

    #[tokio::test]
    async fn conditional_get_answers_304() {
        let site = DemoSite::start().await.expect("start");
        let url = format!("{}{SEED_PAGE}", site.base_url());
        let c = client();
        let (status, headers, body) = get(&c, &url).await;
        assert_eq!(status, StatusCode::OK);
        let etag = header_str(&headers, header::ETAG).to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
            "{etag}"
        );
        assert_eq!(
            etag,
            format!("\"{}\"", &blake3::hash(&body).to_hex().as_str()[..32])
        );

        let resp = c
            .get(&url)
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .expect("conditional request");
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_str(resp.headers(), header::ETAG), etag);
        assert!(resp.bytes().await.expect("body").is_empty());

        // A list, a weak form and `*` also match; a different tag does not.
        for value in [
            format!("\"nope\", {etag}"),
            format!("W/{etag}"),
            "*".to_owned(),
        ] {
            let resp = c
                .get(&url)
                .header(header::IF_NONE_MATCH, value.as_str())
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), StatusCode::NOT_MODIFIED, "{value}");
        }
        let resp = c
            .get(&url)
            .header(header::IF_NONE_MATCH, "\"0123\"")
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        // Non-ASCII garbage in the header is ignored, not a panic.
        let resp = c
            .get(&url)
            .header(
                header::IF_NONE_MATCH,
                HeaderValue::from_bytes(b"\"\xff\xfe\"").expect("header"),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        site.shutdown().await;
    }

    #[tokio::test]
    async fn unknown_paths_methods_and_queries() {
        let site = DemoSite::start().await.expect("start");
        let base = site.base_url();
        let c = client();
        for path in [
            "/nope.html",
            "/base/en-wire/atom.xml",
            "/edited/en-wire/atom.xml",
            "/README.md",
            "/en-wire/../README.md",
            "/en-wire",
            "/ar-akhbar/section/world/",
        ] {
            let (status, _, _) = get(&c, &format!("{base}{path}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        // Home pages and the OPML list.
        for path in ["/", "/ar-akhbar/", "/en-wire/", "/feeds.opml"] {
            let (status, _, _) = get(&c, &format!("{base}{path}")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        // Tracking parameters are ignored.
        let (_, _, plain) = get(&c, &format!("{base}{GENEVA_PAGE}")).await;
        let (status, _, tracked) = get(&c, &format!("{base}{GENEVA_PAGE}?utm_source=rss")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(plain, tracked);
        // HEAD has the headers and no body; POST is refused.
        let resp = c
            .head(format!("{base}{GENEVA_PAGE}"))
            .send()
            .await
            .expect("head");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().contains_key(header::ETAG));
        let resp = c
            .post(format!("{base}{GENEVA_PAGE}"))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        site.shutdown().await;
    }

    #[tokio::test]
    async fn publish_edits_changes_exactly_the_edited_stories() {
        let site = DemoSite::start().await.expect("start");
        let base = site.base_url();
        let c = client();
        let paths = article_paths();
        assert_eq!(paths.len(), DemoSite::ARTICLES, "{paths:?}");

        let mut before = HashMap::new();
        for path in &paths {
            let (status, headers, body) = get(&c, &format!("{base}{path}")).await;
            assert_eq!(status, StatusCode::OK);
            before.insert(
                path.clone(),
                (header_str(&headers, header::ETAG).to_owned(), body),
            );
        }
        let (_, _, atom_before) = get(&c, &site.feed_urls()[1]).await;
        let (_, _, rss_before) = get(&c, &site.feed_urls()[0]).await;

        site.publish_edits();

        let mut changed_bodies = Vec::new();
        for path in &paths {
            let url = format!("{base}{path}");
            let (old_etag, old_body) = &before[path];
            let (_, _, new_body) = get(&c, &url).await;
            if article_body(old_body) != article_body(&new_body) {
                changed_bodies.push(path.clone());
            }
            // Revalidation with the old tag: 304 exactly when the bytes did not change.
            let resp = c
                .get(&url)
                .header(header::IF_NONE_MATCH, old_etag.as_str())
                .send()
                .await
                .expect("request");
            let expect = if &new_body == old_body {
                StatusCode::NOT_MODIFIED
            } else {
                StatusCode::OK
            };
            assert_eq!(resp.status(), expect, "{path}");
        }
        changed_bodies.sort();
        assert_eq!(
            changed_bodies,
            vec![SEED_PAGE.to_owned(), GENEVA_PAGE.to_owned()]
        );
        assert_eq!(changed_bodies.len(), DemoSite::EDITED_STORIES);

        // The seed article: one sentence edited, one paragraph appended.
        let (_, _, seed_new) = get(&c, &format!("{base}{SEED_PAGE}")).await;
        let old_text = decode_1256(&article_body(&before[SEED_PAGE].1));
        let new_text = decode_1256(&article_body(&seed_new));
        assert!(new_text.contains(SEED_SENTENCE));
        assert!(old_text.contains("قد يُعقد قريباً في السعودية"));
        assert!(new_text.contains("سيُعقد في العاصمة السعودية الرياض"));
        assert!(new_text.contains("يوم 15 ديسمبر المقبل"));
        assert_eq!(
            new_text.matches("<p>").count(),
            old_text.matches("<p>").count() + 1
        );

        // The Geneva story: headline, a figure, an added quote; the feed follows.
        let (_, _, geneva_new) = get(&c, &format!("{base}{GENEVA_PAGE}")).await;
        let geneva_new = String::from_utf8(geneva_new).expect("utf-8");
        assert!(geneva_new.contains("release 1,200 detainees"));
        assert!(geneva_new.contains("<h1>Russia, Ukraine discuss 1,200-prisoner swap"));
        assert!(geneva_new.contains("We came here to bring our people home"));
        let (_, _, atom_after) = get(&c, &site.feed_urls()[1]).await;
        assert_ne!(atom_before, atom_after);
        assert!(
            find(
                &atom_after,
                b"<title>Russia, Ukraine discuss 1,200-prisoner swap"
            )
            .is_some()
        );
        let (_, _, rss_after) = get(&c, &site.feed_urls()[0]).await;
        assert_eq!(rss_before, rss_after);

        // Stories that did not change: byte-identical pages, or cosmetic churn only.
        for path in [SPORTS_PAGE, WEATHER_PAGE] {
            let (_, _, now) = get(&c, &format!("{base}{path}")).await;
            assert_eq!(now, before[path].1, "{path}");
        }
        site.shutdown().await;
    }

    #[tokio::test]
    async fn feed_links_are_the_articles() {
        let site = DemoSite::start().await.expect("start");
        let base = site.base_url();
        let c = client();
        let expected: Vec<String> = article_paths()
            .into_iter()
            .map(|p| format!("{base}{p}"))
            .collect();
        for stage in 0..2 {
            if stage == 1 {
                site.publish_edits();
            }
            let mut links = Vec::new();
            let mut tracked = 0;
            for feed in site.feed_urls() {
                let (_, _, body) = get(&c, &feed).await;
                let text = String::from_utf8_lossy(&body).into_owned();
                // RSS `<link>URL</link>` and Atom `<link rel="alternate" ... href="URL"/>`.
                for (open, close) in [("<link>", "</link>"), ("type=\"text/html\" href=\"", "\"")] {
                    let mut rest = text.as_str();
                    while let Some(start) = rest.find(open) {
                        rest = &rest[start + open.len()..];
                        let Some(end) = rest.find(close) else { break };
                        let link = &rest[..end];
                        if link.contains(".html") {
                            tracked += usize::from(link.contains("?utm_source=rss"));
                            links.push(link.split('?').next().unwrap_or(link).to_owned());
                        }
                    }
                }
            }
            links.sort();
            assert_eq!(links, expected, "stage {stage}");
            assert_eq!(tracked, 2, "stage {stage}");
        }
        site.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_stops_serving() {
        let site = DemoSite::start().await.expect("start");
        let url = site.feed_urls()[1].clone();
        let c = client();
        let (status, _, _) = get(&c, &url).await;
        assert_eq!(status, StatusCode::OK);
        let started = std::time::Instant::now();
        site.shutdown().await;
        assert!(started.elapsed() < SHUTDOWN_GRACE);
        let fresh = client();
        assert!(fresh.get(&url).send().await.is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(
            replace_placeholder(b"a{{base}}/x{{base}}{{bas", b"http://h"),
            b"ahttp://h/xhttp://h{{bas".to_vec()
        );
        assert_eq!(key_for_path("/"), Some("index.html".to_owned()));
        assert_eq!(
            key_for_path("/en-wire/"),
            Some("en-wire/index.html".to_owned())
        );
        assert_eq!(key_for_path("/a/../b"), None);
        assert_eq!(content_type_for("ar-akhbar/rss.xml"), "application/rss+xml");
        assert_eq!(content_type_for("ar-akhbar/x/1.html"), "text/html");
        assert_eq!(
            content_type_for("en-wire/atom.xml"),
            "application/atom+xml; charset=utf-8"
        );
        // Every legacy-charset file really is non-UTF-8 where it holds Arabic text.
        let state = SiteState::build("http://x");
        for (key, resource) in state.base.iter().chain(state.edited.iter()) {
            if key.starts_with("ar-akhbar/") {
                assert!(std::str::from_utf8(&resource.body).is_err(), "{key}");
            } else {
                assert!(std::str::from_utf8(&resource.body).is_ok(), "{key}");
            }
        }
    }
}
