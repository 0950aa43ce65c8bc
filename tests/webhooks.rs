//! Webhook delivery through the durable outbox: signed, retried through outages
//! and errors, in order per story, deduplicable by delivery id, resumed after a
//! restart; refused alerts go to the failed list and can be queued again.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use common::{Daemon, TestServer, article, fast_config, rss, wait_until};
use rand::{RngExt, SeedableRng};
use redline::alerts::webhook::WebhookConfig;
use redline::alerts::{Alert, Sink, WebhookSink, sign};
use redline::store::Store;

const SECRET: &str = "s3cret";

/// What the receiver got: (delivery id, event header, timestamp, signature ok, alert).
type Received = Arc<Mutex<Vec<(String, String, Alert)>>>;

/// A receiver that answers `down` 503s first, then fails `fail_share` of requests with 500.
async fn receiver(
    down: usize,
    fail_share: f64,
    status_when_up: StatusCode,
) -> (String, Received, Arc<Mutex<usize>>) {
    let received: Received = Arc::default();
    let requests = Arc::new(Mutex::new(0usize));
    let rng = Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(7)));
    let (log, count) = (received.clone(), requests.clone());
    let app = Router::new().fallback(move |headers: HeaderMap, body: String| {
        let (log, count, rng) = (log.clone(), count.clone(), rng.clone());
        async move {
            let n = {
                let mut count = count.lock().unwrap();
                *count += 1;
                *count
            };
            if n <= down {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            if rng.lock().unwrap().random_bool(fail_share) {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let timestamp: i64 = header("x-redline-timestamp").parse().unwrap_or_default();
            assert_eq!(
                header("x-redline-signature"),
                sign(SECRET.as_bytes(), timestamp, body.as_bytes()),
                "signature verifies"
            );
            let alert: Alert = serde_json::from_str(&body).expect("the body is the alert JSON");
            log.lock().unwrap().push((
                header("x-redline-delivery"),
                header("x-redline-event"),
                alert,
            ));
            status_when_up.into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received, requests)
}

fn webhook(url: &str) -> Sink {
    let mut config = WebhookConfig::new(url);
    config.secret = Some(SECRET.to_string());
    Sink::Webhook(WebhookSink::new(config).unwrap())
}

async fn site(articles: usize) -> TestServer {
    let server = TestServer::start().await;
    let links: Vec<String> = (0..articles)
        .map(|i| server.url(&format!("/a{i}.html")))
        .collect();
    server.set("/rss.xml", "application/rss+xml", rss(&links));
    for i in 0..articles {
        let text = format!(
            "Story number {i} is long enough to be the body of an article about the talks."
        );
        server.set(
            &format!("/a{i}.html"),
            "text/html",
            article(&format!("Story {i}"), &[&text]),
        );
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_arrives_signed_once_per_delivery_id_and_in_order_per_story() {
    let server = site(5).await;
    let (hook, received, _) = receiver(3, 0.3, StatusCode::NO_CONTENT).await;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start_with(
        fast_config(&[server.url("/rss.xml")]),
        dir.path(),
        vec![webhook(&hook)],
    );
    for _ in 0..5 {
        daemon.next_alert(20).await;
    }
    let edited = "Story number 0 now carries a second paragraph after the talks resumed on Friday.";
    server.set(
        "/a0.html",
        "text/html",
        article(
            "Story 0",
            &[
                "Story number 0 is long enough to be the body of an article about the talks.",
                edited,
            ],
        ),
    );
    assert_eq!(daemon.next_alert(20).await.version, 2);
    wait_until(60, "six alerts received by the webhook", || {
        received.lock().unwrap().len() >= 6
    })
    .await;
    daemon.stop().await;

    let received = received.lock().unwrap();
    let mut by_delivery: HashMap<&str, &Alert> = HashMap::new();
    for (id, event, alert) in received.iter() {
        assert_eq!(
            event,
            &serde_json::to_value(alert.event)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        );
        let first = by_delivery.entry(id).or_insert(alert);
        assert_eq!(*first, alert, "one delivery id, one alert");
    }
    assert_eq!(by_delivery.len(), 6, "five new and one updated alert");
    let story0: Vec<u32> = received
        .iter()
        .filter(|(_, _, a)| a.url.ends_with("/a0.html"))
        .map(|(_, _, a)| a.version)
        .collect();
    let mut sorted = story0.clone();
    sorted.sort();
    assert_eq!(story0, sorted, "versions of one story arrive in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_alerts_survive_a_restart_and_are_delivered_after_it() {
    let server = site(2).await;
    let (down_hook, down_received, down_requests) = receiver(usize::MAX, 0.0, StatusCode::OK).await;
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&[server.url("/rss.xml")]);
    let mut daemon = Daemon::start_with(config.clone(), dir.path(), vec![webhook(&down_hook)]);
    daemon.next_alert(20).await;
    daemon.next_alert(20).await;
    wait_until(20, "a failed attempt", || {
        *down_requests.lock().unwrap() >= 1
    })
    .await;
    daemon.stop().await;
    assert!(down_received.lock().unwrap().is_empty());

    // Same sink name (the URL is its name), now answering.
    let store = redline::store::SledStore::open(dir.path(), 16).unwrap();
    let queued = store.outbox_all(10).unwrap();
    assert_eq!(queued.len(), 2, "both alerts wait in the outbox");
    drop(store);
    let (up_hook, up_received, _) = receiver(0, 0.0, StatusCode::OK).await;
    let mut named = WebhookConfig::new(&up_hook);
    named.name = Some(down_hook.clone());
    named.secret = Some(SECRET.into());
    let daemon = Daemon::start_with(
        config,
        dir.path(),
        vec![Sink::Webhook(WebhookSink::new(named).unwrap())],
    );
    wait_until(20, "the queued alerts delivered", || {
        up_received.lock().unwrap().len() >= 2
    })
    .await;
    daemon.stop().await;
    let mut ids: Vec<String> = up_received
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _, _)| id.clone())
        .collect();
    ids.sort();
    let queued_ids: Vec<String> = queued.iter().map(|e| e.delivery_id()).collect();
    // Two stories: delivered side by side, so only the set is fixed.
    assert_eq!(ids, queued_ids, "the same delivery ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_alerts_go_to_the_failed_list_and_can_be_queued_again() {
    let server = site(1).await;
    let (hook, received, _) = receiver(0, 0.0, StatusCode::UNPROCESSABLE_ENTITY).await;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start_with(
        fast_config(&[server.url("/rss.xml")]),
        dir.path(),
        vec![webhook(&hook)],
    );
    daemon.next_alert(20).await;
    let store = daemon.store.clone();
    wait_until(20, "the refused alert in the failed list", || {
        store.failed().unwrap().len() == 1
    })
    .await;
    assert_eq!(received.lock().unwrap().len(), 1, "a 422 is not retried");
    let failed = store.failed().unwrap();
    assert!(failed[0].last_error.as_deref().unwrap().contains("422"));
    assert_eq!(
        store.retry_failed(Some(&failed[0].delivery_id())).unwrap(),
        1
    );
    assert!(store.failed().unwrap().is_empty());
    drop(store);
    daemon.stop().await;
}
