//! Polite, resilient fetching, rule by rule, against loopback servers:
//! conditional GET, per-host limits and spacing, Retry-After, retries, body and
//! decompression limits, redirects, and the feed-level rules (410 disables,
//! permanent redirects move the feed, failing feeds recover by themselves).

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{Daemon, article, fast_config, fetcher, rss, serve_router, url, wait_until};
use futures_util::StreamExt;
use redline::fetch::{FetchError, FetchOutcome, Priority, Validators};
use redline::store::Store;
use tokio::sync::watch;

fn page(outcome: FetchOutcome) -> redline::fetch::Page {
    match outcome {
        FetchOutcome::Fetched(page) => *page,
        FetchOutcome::NotModified => panic!("expected a page, got 304"),
    }
}

#[tokio::test]
async fn conditional_get_sends_both_validators_and_a_304_downloads_nothing() {
    let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/feed",
        get(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(headers.clone());
                if headers
                    .get(header::IF_NONE_MATCH)
                    .is_some_and(|v| v == "\"v1\"")
                {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                let validators = [
                    (header::ETAG, "\"v1\""),
                    (header::LAST_MODIFIED, "Wed, 12 Feb 2025 06:00:00 GMT"),
                ];
                (validators, "body").into_response()
            }
        }),
    );
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|_| {});
    let first = page(
        fetcher
            .get(&url(&format!("{base}/feed")), &Validators::default())
            .await
            .unwrap(),
    );
    assert_eq!(first.validators.etag.as_deref(), Some("\"v1\""));
    let second = fetcher
        .get(&url(&format!("{base}/feed")), &first.validators)
        .await
        .unwrap();
    assert!(matches!(second, FetchOutcome::NotModified));
    let seen = seen.lock().unwrap();
    assert!(seen[0].get(header::IF_NONE_MATCH).is_none());
    assert_eq!(seen[1][header::IF_NONE_MATCH], "\"v1\"");
    assert_eq!(
        seen[1][header::IF_MODIFIED_SINCE],
        "Wed, 12 Feb 2025 06:00:00 GMT"
    );
    assert!(
        seen[1][header::USER_AGENT]
            .to_str()
            .unwrap()
            .starts_with("redline/")
    );
}

/// A server that counts requests in flight and keeps each one 20 ms.
fn inflight_counter() -> (Router, Arc<AtomicUsize>) {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (now.clone(), peak.clone());
    let app = Router::new().fallback(move || {
        let (n, p) = (n.clone(), p.clone());
        async move {
            let current = n.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(current, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            n.fetch_sub(1, Ordering::SeqCst);
            "ok"
        }
    });
    (app, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_in_flight_per_host_while_hosts_run_in_parallel() {
    let (app_a, peak_a) = inflight_counter();
    let (app_b, peak_b) = inflight_counter();
    let a = serve_router([127, 0, 0, 1], app_a).await;
    let b = serve_router([127, 0, 0, 2], app_b).await;
    let fetcher = Arc::new(fetcher(|c| c.global_concurrency = 8));
    let mut tasks = Vec::new();
    for i in 0..8 {
        for base in [&a, &b] {
            let (fetcher, target) = (fetcher.clone(), url(&format!("{base}/p{i}")));
            tasks.push(tokio::spawn(async move {
                fetcher.get(&target, &Validators::default()).await.is_ok()
            }));
        }
    }
    for task in tasks {
        assert!(task.await.unwrap());
    }
    assert_eq!(peak_a.load(Ordering::SeqCst), 1);
    assert_eq!(peak_b.load(Ordering::SeqCst), 1);
}

/// A server that records when each request started.
fn start_recorder() -> (Router, Arc<Mutex<Vec<Instant>>>) {
    let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = starts.clone();
    let app = Router::new().fallback(move || {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(Instant::now());
            "ok"
        }
    });
    (app, starts)
}

#[tokio::test]
async fn requests_to_one_host_keep_the_minimum_gap() {
    let (app, starts) = start_recorder();
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|c| c.min_host_delay = Duration::from_millis(100));
    for i in 0..4 {
        fetcher
            .get(&url(&format!("{base}/{i}")), &Validators::default())
            .await
            .unwrap();
    }
    let starts = starts.lock().unwrap();
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(90),
            "gap {:?}",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_the_whole_host() {
    let (app, starts, _) = refuses_once();
    let base = serve_router([127, 0, 0, 1], app).await;
    // Without retries the 429 comes back as an error, and the host stays paused.
    let fetcher = fetcher(|c| c.retries = 0);
    let refused = fetcher
        .get(&url(&format!("{base}/limited")), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    page(
        fetcher
            .get(&url(&format!("{base}/other")), &Validators::default())
            .await
            .unwrap(),
    );
    let starts = starts.lock().unwrap();
    let gap = starts[1].1 - starts[0].1;
    assert!(
        gap >= Duration::from_millis(950),
        "the next request came {gap:?} after the 429"
    );
}

/// The requests a test server saw: path and arrival time, in order.
type Requests = Arc<Mutex<Vec<(String, Instant)>>>;

/// A server whose first answer is 429 with Retry-After: 1 (it says so on
/// `refused`), then "ok"; it records the paths asked for and when.
fn refuses_once() -> (Router, Requests, Arc<tokio::sync::Notify>) {
    let paths: Requests = Arc::default();
    let refused = Arc::new(tokio::sync::Notify::new());
    let (log, told) = (paths.clone(), refused.clone());
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let (log, told) = (log.clone(), told.clone());
        async move {
            let first = {
                let mut log = log.lock().unwrap();
                log.push((uri.path().to_string(), Instant::now()));
                log.len() == 1
            };
            if first {
                told.notify_one();
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "1")],
                    "slow down",
                )
                    .into_response();
            }
            "ok".into_response()
        }
    });
    (app, paths, refused)
}

/// Fetches `/refused` in class `first`, and once it is refused, `/later` in
/// class `later`; the paths in the order the server saw them.
async fn after_a_refusal(first: Priority, later: Priority) -> Vec<String> {
    let (app, paths, refused) = refuses_once();
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = Arc::new(fetcher(|c| c.retries = 1));
    let get = |path: &str, class: Priority| {
        let (fetcher, target) = (fetcher.clone(), url(&format!("{base}{path}")));
        let class = watch::Sender::new(class).subscribe();
        tokio::spawn(async move {
            fetcher
                .get_with(&target, &Validators::default(), class)
                .await
        })
    };
    let first = get("/refused", first);
    refused.notified().await;
    let later = get("/later", later);
    page(later.await.unwrap().unwrap());
    page(first.await.unwrap().unwrap());
    let paths = paths.lock().unwrap();
    paths.iter().map(|(path, _)| path.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_asked_to_wait_goes_first_once_the_pause_is_over() {
    // A request for the host that comes while the first one is told to wait
    // queues behind its retry, unless it is of a more urgent class.
    let order = after_a_refusal(Priority::Normal, Priority::Normal).await;
    assert_eq!(order, ["/refused", "/refused", "/later"]);
    let order = after_a_refusal(Priority::Watched, Priority::Watched).await;
    assert_eq!(order, ["/refused", "/refused", "/later"]);
    let order = after_a_refusal(Priority::Watched, Priority::Normal).await;
    assert_eq!(order, ["/refused", "/later", "/refused"]);
}

#[tokio::test]
async fn a_retry_waits_for_retry_after_given_as_a_date() {
    let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = starts.clone();
    let app = Router::new().fallback(move || {
        let log = log.clone();
        async move {
            let mut log = log.lock().unwrap();
            log.push(Instant::now());
            if log.len() == 1 {
                let at =
                    httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
                return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, at)])
                    .into_response();
            }
            "ok".into_response()
        }
    });
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|c| c.retries = 2);
    page(
        fetcher
            .get(&url(&format!("{base}/x")), &Validators::default())
            .await
            .unwrap(),
    );
    let starts = starts.lock().unwrap();
    assert_eq!(starts.len(), 2);
    // An HTTP date has one-second resolution: at least one second must have passed.
    assert!(starts[1] - starts[0] >= Duration::from_millis(950));
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let count = Arc::new(AtomicUsize::new(0));
    let n = count.clone();
    let app = Router::new().fallback(move || {
        let n = n.clone();
        async move {
            match n.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                _ => "third time lucky".into_response(),
            }
        }
    });
    let base = serve_router([127, 0, 0, 1], app).await;
    let client = fetcher(|c| c.retries = 3);
    let got = page(
        client
            .get(&url(&format!("{base}/x")), &Validators::default())
            .await
            .unwrap(),
    );
    assert_eq!(&got.body[..], b"third time lucky");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    let gone = fetcher(|c| c.retries = 3);
    let app = Router::new().fallback(|| async { StatusCode::NOT_FOUND });
    let base = serve_router([127, 0, 0, 1], app).await;
    let err = gone
        .get(&url(&format!("{base}/missing")), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
}

/// 1 GiB of zeros, produced lazily; counts the chunks actually produced.
fn gigabyte(with_length: bool, produced: Arc<AtomicUsize>) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunks = (1usize << 30) / CHUNK;
    let stream = futures_util::stream::iter(0..chunks).map(move |_| {
        produced.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0u8; CHUNK]))
    });
    let mut response = Response::new(Body::from_stream(stream));
    if with_length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, (1u64 << 30).into());
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gigabyte_body_is_cut_off_at_the_limit() {
    for with_length in [true, false] {
        let produced = Arc::new(AtomicUsize::new(0));
        let p = produced.clone();
        let app = Router::new().fallback(move || {
            let p = p.clone();
            async move { gigabyte(with_length, p) }
        });
        let base = serve_router([127, 0, 0, 1], app).await;
        let fetcher = fetcher(|c| c.max_body_mb = 1);
        let err = fetcher
            .get(&url(&format!("{base}/huge")), &Validators::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 1048576, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("/huge"),
            "the error names the URL: {err}"
        );
        let sent_mb = produced.load(Ordering::SeqCst) * 64 / 1024;
        assert!(
            sent_mb < 64,
            "reading stopped early (content-length {with_length}), {sent_mb} MiB produced"
        );
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_off_after_decompression() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(
        bomb.len() < 1 << 20,
        "64 MiB compresses below the 1 MiB limit"
    );
    let app = Router::new().fallback(move || {
        let bomb = bomb.clone();
        async move {
            (
                [
                    (header::CONTENT_ENCODING, "gzip"),
                    (header::CONTENT_TYPE, "text/html"),
                ],
                bomb,
            )
        }
    });
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|c| c.max_body_mb = 1);
    let err = fetcher
        .get(&url(&format!("{base}/bomb")), &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
}

fn redirect(status: StatusCode, to: &'static str) -> Response {
    (status, [(header::LOCATION, to)]).into_response()
}

#[tokio::test(flavor = "current_thread")]
async fn a_redirect_on_the_same_host_is_followed_before_requests_queued_meanwhile() {
    let paths: Arc<Mutex<Vec<String>>> = Arc::default();
    let (busy, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let (log, arrived, go) = (paths.clone(), busy.clone(), release.clone());
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let (log, arrived, go) = (log.clone(), arrived.clone(), go.clone());
        async move {
            log.lock().unwrap().push(uri.path().to_string());
            match uri.path() {
                "/hold" => {
                    arrived.notify_one();
                    go.notified().await;
                    "ok".into_response()
                }
                "/alias" => redirect(StatusCode::MOVED_PERMANENTLY, "/target"),
                _ => "ok".into_response(),
            }
        }
    });
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = Arc::new(fetcher(|_| {}));
    let get = |path: &str| {
        let (fetcher, target) = (fetcher.clone(), url(&format!("{base}{path}")));
        tokio::spawn(async move { fetcher.get(&target, &Validators::default()).await })
    };
    // The host's one slot is busy; the alias queues for it, then another request.
    let hold = get("/hold");
    busy.notified().await;
    let alias = get("/alias");
    tokio::task::yield_now().await;
    let other = get("/other");
    tokio::task::yield_now().await;
    release.notify_one();
    for task in [hold, alias, other] {
        page(task.await.unwrap().unwrap());
    }
    let paths = paths.lock().unwrap();
    assert_eq!(*paths, ["/hold", "/alias", "/target", "/other"]);
}

#[tokio::test]
async fn redirects_are_followed_checked_and_limited() {
    let app = Router::new()
        .route(
            "/old",
            get(|| async { redirect(StatusCode::MOVED_PERMANENTLY, "/older") }),
        )
        .route(
            "/older",
            get(|| async { redirect(StatusCode::PERMANENT_REDIRECT, "/new") }),
        )
        .route(
            "/temp",
            get(|| async { redirect(StatusCode::FOUND, "/new") }),
        )
        .route("/new", get(|| async { "here" }))
        .route(
            "/loop",
            get(|| async { redirect(StatusCode::FOUND, "/loop") }),
        )
        .route(
            "/ftp",
            get(|| async { redirect(StatusCode::FOUND, "ftp://127.0.0.1/file") }),
        );
    let base = serve_router([127, 0, 0, 1], app).await;
    let fetcher = fetcher(|c| c.max_redirects = 3);
    let moved = page(
        fetcher
            .get(&url(&format!("{base}/old")), &Validators::default())
            .await
            .unwrap(),
    );
    assert_eq!(moved.url.path(), "/new");
    assert_eq!(
        moved.moved_permanently.as_ref().map(|u| u.path()),
        Some("/new")
    );
    let temp = page(
        fetcher
            .get(&url(&format!("{base}/temp")), &Validators::default())
            .await
            .unwrap(),
    );
    assert_eq!(
        temp.moved_permanently, None,
        "a 302 is not a permanent move"
    );
    let looped = fetcher
        .get(&url(&format!("{base}/loop")), &Validators::default())
        .await
        .unwrap_err();
    assert!(
        looped.to_string().contains("more than 3 redirects"),
        "{looped}"
    );
    let ftp = fetcher
        .get(&url(&format!("{base}/ftp")), &Validators::default())
        .await
        .unwrap_err();
    assert!(ftp.to_string().contains("ftp"), "{ftp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_feed_is_disabled_and_a_moved_feed_is_followed() {
    let server = common::TestServer::start().await;
    server.set(
        "/new.xml",
        "application/rss+xml",
        rss(&[server.url("/story.html")]),
    );
    server.set(
        "/story.html",
        "text/html",
        article(
            "Story",
            &["A paragraph long enough to count as the body of a story."],
        ),
    );
    let gone_url = server.url("/gone.xml");
    let moved_url = server.url("/moved.xml");
    let new_url = server.url("/new.xml");
    let app =
        Router::new()
            .route("/gone.xml", get(|| async { StatusCode::GONE }))
            .route(
                "/moved.xml",
                get(move || {
                    let to = new_url.clone();
                    async move {
                        (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
                    }
                }),
            );
    // The test server answers everything else; these two routes sit on their own server.
    let special = serve_router([127, 0, 0, 1], app).await;
    let gone = gone_url.replace(&server.base, &special);
    let moved = moved_url.replace(&server.base, &special);
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[gone.clone(), moved.clone()]), dir.path());
    let alert = daemon.next_alert(20).await;
    assert_eq!(alert.url, server.url("/story.html"));
    let store = daemon.store.clone();
    wait_until(
        20,
        "the gone feed disabled and the moved one recorded",
        || {
            let gone = store.feed(&gone).unwrap().and_then(|f| f.disabled);
            let moved = store.feed(&moved).unwrap().and_then(|f| f.moved_to);
            gone.is_some_and(|r| r.contains("410"))
                && moved.as_deref() == Some(server.url("/new.xml").as_str())
        },
    )
    .await;
    let new_record = store
        .feed(&server.url("/new.xml"))
        .unwrap()
        .expect("the new URL has a record");
    assert!(new_record.last_success.is_some());
    drop(store);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_feed_recovers_by_itself() {
    let server = common::TestServer::start().await;
    server.set(
        "/story.html",
        "text/html",
        article(
            "Story",
            &["A paragraph long enough to count as the body of a story."],
        ),
    );
    let feed = rss(&[server.url("/story.html")]);
    let failures = Arc::new(AtomicUsize::new(0));
    let f = failures.clone();
    let app = Router::new().route(
        "/flaky.xml",
        get(move || {
            let (f, feed) = (f.clone(), feed.clone());
            async move {
                if f.fetch_add(1, Ordering::SeqCst) < 4 {
                    return StatusCode::SERVICE_UNAVAILABLE.into_response();
                }
                ([(header::CONTENT_TYPE, "application/rss+xml")], feed).into_response()
            }
        }),
    );
    let base = serve_router([127, 0, 0, 1], app).await;
    let flaky = format!("{base}/flaky.xml");
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(std::slice::from_ref(&flaky)), dir.path());
    let alert = daemon.next_alert(30).await;
    assert_eq!(alert.url, server.url("/story.html"));
    assert!(
        failures.load(Ordering::SeqCst) >= 5,
        "it failed four times first"
    );
    let store = daemon.store.clone();
    wait_until(20, "the error streak reset", || {
        store
            .feed(&flaky)
            .unwrap()
            .is_some_and(|r| r.error_streak == 0)
    })
    .await;
    drop(store);
    daemon.stop().await;
}
