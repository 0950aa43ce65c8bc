//! Change detection end to end: cosmetic churn inside the article gives no
//! version, a real edit gives one alert with its classes, and pages that are
//! taken down or move give `removed` and `moved` events while keeping history.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use common::{Daemon, TestServer, article, fast_config, rss, wait_until};
use redline::alerts::Event;
use redline::changes::ChangeClass;
use redline::store::Store;

const HTML: &str = "text/html; charset=utf-8";

fn churned(minutes: u32, views: u32, read_more: &str, extra: &[&str]) -> String {
    let updated = format!("Updated {minutes} minutes ago");
    let views = format!("{views} views");
    let more = format!("Read more: <a href=\"/x\">{read_more}</a>");
    let mut paragraphs = vec![
        updated.as_str(),
        "Negotiators from Russia and Ukraine met in Istanbul on Monday, officials said.",
        "The talks, the first in three years, lasted nearly two hours.",
        more.as_str(),
        views.as_str(),
    ];
    paragraphs.extend_from_slice(extra);
    article("Istanbul talks", &paragraphs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_gives_no_version_and_a_real_edit_one_classified_alert() {
    let server = TestServer::start().await;
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(&[server.url("/talks.html")]),
    );
    server.set("/talks.html", HTML, churned(3, 120, "Markets rally", &[]));
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/rss.xml")]), dir.path());
    assert_eq!(daemon.next_alert(20).await.event, Event::New);

    for (step, (minutes, views, more)) in [
        (9, 480, "Storm hits coast"),
        (17, 1204, "Cup final tonight"),
    ]
    .into_iter()
    .enumerate()
    {
        server.set("/talks.html", HTML, churned(minutes, views, more, &[]));
        let seen = server.hits("/talks.html");
        wait_until(20, &format!("revisits after churn step {step}"), || {
            server.hits("/talks.html") >= seen + 2
        })
        .await;
    }
    let quote = "“We are closer to a deal than at any time,” the Ukrainian delegation head said.";
    server.set(
        "/talks.html",
        HTML,
        churned(25, 2000, "Something else", &[quote]),
    );
    let update = daemon.next_alert(20).await;
    assert_eq!(
        (update.event, update.version),
        (Event::Updated, 2),
        "churn made no version before the edit"
    );
    assert_eq!(
        update.changes,
        vec![ChangeClass::ParagraphAdded, ChangeClass::Quote]
    );
    let diff = update.diff.unwrap();
    assert!(
        !diff.unified.contains("minutes ago") && !diff.unified.contains("views"),
        "{}",
        diff.unified
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_down_and_moved_pages_give_events_and_keep_their_history() {
    let server = TestServer::start().await;
    let body = ["A paragraph long enough to be the body of a story about the talks."];
    server.set("/moved-here.html", HTML, article("Moved story", &body));
    let moved_to = server.url("/moved-here.html");
    let gone_hits = Arc::new(AtomicUsize::new(0));
    let moved_hits = Arc::new(AtomicUsize::new(0));
    let (g, m) = (gone_hits.clone(), moved_hits.clone());
    let story = article("Gone story", &body);
    let moved_story = article("Moved story", &body);
    let app = Router::new()
        .route(
            "/gone.html",
            axum::routing::get(move || {
                let (g, story) = (g.clone(), story.clone());
                async move {
                    match g.fetch_add(1, Ordering::SeqCst) {
                        0 => ([(header::CONTENT_TYPE, HTML)], story).into_response(),
                        _ => StatusCode::GONE.into_response(),
                    }
                }
            }),
        )
        .route(
            "/moving.html",
            axum::routing::get(move || {
                let (m, to, story) = (m.clone(), moved_to.clone(), moved_story.clone());
                async move {
                    match m.fetch_add(1, Ordering::SeqCst) {
                        0 => ([(header::CONTENT_TYPE, HTML)], story).into_response(),
                        _ => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)])
                            .into_response(),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let gone = format!("{base}/gone.html");
    let moving = format!("{base}/moving.html");
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(&[gone.clone(), moving.clone()]),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/rss.xml")]), dir.path());

    let mut events = Vec::new();
    while events.iter().filter(|(e, _, _)| *e != Event::New).count() < 2 {
        let alert = daemon.next_alert(20).await;
        events.push((alert.event, alert.url, alert.moved_to));
    }
    assert!(
        events.contains(&(Event::Removed, gone.clone(), None)),
        "{events:?}"
    );
    assert!(
        events.contains(&(
            Event::Moved,
            moving.clone(),
            Some(server.url("/moved-here.html"))
        )),
        "{events:?}"
    );
    let store = daemon.store.clone();
    let removed = store.find_article(&gone).unwrap().unwrap();
    assert_eq!(removed.removed.as_ref().map(|r| r.status), Some(410));
    assert_eq!(
        removed.next_check, None,
        "a removed article is not revisited"
    );
    assert_eq!(
        store.versions(&removed.id).unwrap().len(),
        1,
        "its history is kept"
    );
    let moved = store.find_article(&moving).unwrap().unwrap();
    assert_eq!(
        store
            .find_article(&server.url("/moved-here.html"))
            .unwrap()
            .unwrap()
            .id,
        moved.id
    );
    let hits = server.hits("/moved-here.html");
    wait_until(20, "revisits at the new address", || {
        server.hits("/moved-here.html") >= hits + 2
    })
    .await;
    drop(store);
    let rest = daemon.stop().await;
    assert!(
        rest.iter()
            .all(|a| a.event != Event::Moved && a.event != Event::Removed),
        "each event once: {rest:?}"
    );
}

#[tokio::test]
async fn a_feed_linking_an_articles_new_address_first_gives_a_move_not_a_new_article() {
    let server = TestServer::start().await;
    let body = [
        "Negotiators from both sides met in Geneva on Tuesday for a second day of talks.",
        "Officials said a prisoner exchange could be agreed before the end of the week.",
    ];
    server.set("/2025/old-slug.html", HTML, article("Talks go on", &body));
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(&[server.url("/2025/old-slug.html")]),
    );
    let mut config = fast_config(&[server.url("/rss.xml")]);
    // No revisit comes before the feed shows the new address.
    config.schedule.revisit_ages = vec![std::time::Duration::from_secs(3600)];
    config.schedule.revisit_tail_interval = None;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(config, dir.path());
    assert_eq!(daemon.next_alert(20).await.event, Event::New);

    server.set("/2025/new-slug.html", HTML, article("Talks go on", &body));
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(&[server.url("/2025/new-slug.html")]),
    );
    let alert = daemon.next_alert(20).await;
    assert_eq!(alert.event, Event::Moved, "{alert:?}");
    assert_eq!(alert.url, server.url("/2025/old-slug.html"));
    assert_eq!(alert.moved_to, Some(server.url("/2025/new-slug.html")));
    let hits = server.hits("/rss.xml");
    wait_until(20, "more feed polls", || {
        server.hits("/rss.xml") >= hits + 2
    })
    .await;
    let rest = daemon.stop().await;
    assert!(rest.is_empty(), "one article, moved once: {rest:?}");
}

#[tokio::test]
async fn a_changed_feed_item_has_its_article_revisited_at_once() {
    let server = TestServer::start().await;
    let body = [
        "Negotiators from both sides met in Geneva on Tuesday for a second day of talks.",
        "Officials said a prisoner exchange could be agreed before the end of the week.",
    ];
    let link = server.url("/talks.html");
    let feed = |title: &str| {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
             <item><title>{title}</title><link>{link}</link></item></channel></rss>"
        )
    };
    server.set("/talks.html", HTML, article("Talks go on", &body));
    server.set("/rss.xml", "application/rss+xml", feed("Talks go on"));
    let mut config = fast_config(&[server.url("/rss.xml")]);
    // The schedule alone would not look again for an hour.
    config.schedule.revisit_ages = vec![std::time::Duration::from_secs(3600)];
    config.schedule.revisit_tail_interval = None;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(config, dir.path());
    assert_eq!(daemon.next_alert(20).await.event, Event::New);

    server.set(
        "/talks.html",
        HTML,
        article("Prisoner swap agreed in Geneva", &body),
    );
    server.set(
        "/rss.xml",
        "application/rss+xml",
        feed("Prisoner swap agreed in Geneva"),
    );
    let alert = daemon.next_alert(20).await;
    assert_eq!(
        (alert.event, alert.version),
        (Event::Updated, 2),
        "{alert:?}"
    );
    assert_eq!(alert.title, "Prisoner swap agreed in Geneva");
    daemon.stop().await;
}

#[tokio::test]
async fn an_article_moved_and_edited_at_once_is_one_article_with_a_new_version() {
    let body = [
        "Negotiators from both sides met in Geneva on Tuesday for a second day of talks.",
        "Officials said a prisoner exchange could be agreed before the end of the week.",
    ];
    let added = "The exchange would include 300 prisoners from each side, officials said.";
    let edited = [body[0], body[1], added];
    let moved = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let (m, b) = (moved.clone(), base.clone());
    let feed = move || {
        let (m, b) = (m.clone(), b.clone());
        async move {
            let path = if m.load(Ordering::SeqCst) {
                "/new.html"
            } else {
                "/old.html"
            };
            let link = format!("{}{path}", b.get().unwrap());
            (
                [(header::CONTENT_TYPE, "application/rss+xml")],
                rss(&[link]),
            )
        }
    };
    let (m, b) = (moved.clone(), base.clone());
    let old = move || {
        let (m, b) = (m.clone(), b.clone());
        let page = article("Talks go on", &body);
        async move {
            if m.load(Ordering::SeqCst) {
                let to = format!("{}/new.html", b.get().unwrap());
                (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
            } else {
                ([(header::CONTENT_TYPE, HTML)], page).into_response()
            }
        }
    };
    let new_page = article("Talks go on", &edited);
    let app = Router::new()
        .route("/rss.xml", axum::routing::get(feed))
        .route("/old.html", axum::routing::get(old))
        .route(
            "/new.html",
            axum::routing::get(move || async move { ([(header::CONTENT_TYPE, HTML)], new_page) }),
        );
    let served = common::serve_router([127, 0, 0, 1], app).await;
    base.set(served.clone()).unwrap();
    let mut config = fast_config(&[format!("{served}/rss.xml")]);
    // No scheduled revisit: the move is found from the feed's new link alone.
    config.schedule.revisit_ages = vec![std::time::Duration::from_secs(3600)];
    config.schedule.revisit_tail_interval = None;
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(config, dir.path());
    assert_eq!(daemon.next_alert(20).await.event, Event::New);

    moved.store(true, Ordering::SeqCst);
    let alert = daemon.next_alert(20).await;
    assert_eq!(alert.event, Event::Moved, "{alert:?}");
    assert_eq!(alert.moved_to, Some(format!("{served}/new.html")));
    let update = daemon.next_alert(20).await;
    assert_eq!(
        (update.event, update.version),
        (Event::Updated, 2),
        "{update:?}"
    );
    assert_eq!(update.changes, vec![ChangeClass::ParagraphAdded]);
    let rest = daemon.stop().await;
    assert!(rest.is_empty(), "one article: {rest:?}");
}
