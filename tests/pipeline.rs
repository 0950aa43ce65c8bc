//! End-to-end behaviour of the pipeline against a loopback server the test edits:
//! feed → article → version 1 → edit → version 2 with its diff; unchanged pages
//! give no versions; restarts keep state; bad feeds and legacy charsets are handled.

mod common;

use common::{Daemon, TestServer, article, fast_config, rss, wait_until};
use redline::alerts::Event;
use redline::store::Store;

const HTML: &str = "text/html; charset=utf-8";
const XML: &str = "application/rss+xml";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_becomes_version_two_with_its_diff_and_nothing_else_does() {
    let server = TestServer::start().await;
    let link = server.url("/news/talks.html?utm_source=rss");
    server.set("/rss.xml", XML, rss(&[link]));
    let v1 = [
        "Negotiators met in Geneva on Tuesday for a third round, officials said.",
        "The talks lasted 58 minutes.",
    ];
    server.set("/news/talks.html", HTML, article("Talks resume", &v1));
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(fast_config(&[server.url("/rss.xml")]), dir.path());

    let first = daemon.next_alert(20).await;
    assert_eq!(first.event, Event::New);
    assert_eq!(
        first.url,
        server.url("/news/talks.html"),
        "tracking parameters are stripped"
    );
    assert_eq!((first.version, first.previous_version), (1, None));
    assert_eq!(first.title, "Talks resume");

    let v2 = [
        "Negotiators met in Geneva on Tuesday for a third round, officials said.",
        "The talks lasted 90 minutes.",
        "A fourth round is planned.",
    ];
    server.set("/news/talks.html", HTML, article("Talks resume", &v2));
    let update = daemon.next_alert(20).await;
    assert_eq!(update.event, Event::Updated);
    assert_eq!((update.version, update.previous_version), (2, Some(1)));
    let diff = update.diff.expect("an update carries its diff");
    assert_eq!((diff.added_words, diff.removed_words), (6, 1), "{diff:?}");
    assert!(
        diff.unified.contains("-The talks lasted 58 minutes."),
        "{}",
        diff.unified
    );
    assert!(
        diff.unified.contains("+A fourth round is planned."),
        "{}",
        diff.unified
    );
    assert!(diff.words.contains("[-58-]{+90+}"), "{}", diff.words);

    // Several more revisits of the unchanged page store nothing and alert nothing.
    let seen = server.hits("/news/talks.html");
    wait_until(20, "three more revisits", || {
        server.hits("/news/talks.html") >= seen + 3
    })
    .await;
    let rest = daemon.stop().await;
    assert!(rest.is_empty(), "no alert for an unchanged page: {rest:?}");
    let store = redline::store::SledStore::open(dir.path(), 16).unwrap();
    let stored = store
        .find_article(&server.url("/news/talks.html"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.versions, 2);
    assert_eq!(store.versions(&stored.id).unwrap()[1].body, v2.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_announces_nothing_twice_and_keeps_every_version() {
    let server = TestServer::start().await;
    server.set(
        "/rss.xml",
        XML,
        rss(&[server.url("/a.html"), server.url("/b.html")]),
    );
    server.set(
        "/a.html",
        HTML,
        article(
            "A",
            &["First story text, long enough to be a paragraph of its own."],
        ),
    );
    server.set(
        "/b.html",
        HTML,
        article(
            "B",
            &["Second story text, long enough to be a paragraph of its own."],
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(&[server.url("/rss.xml")]);

    let mut daemon = Daemon::start(config.clone(), dir.path());
    let mut new = vec![
        daemon.next_alert(20).await.url,
        daemon.next_alert(20).await.url,
    ];
    new.sort();
    assert_eq!(new, vec![server.url("/a.html"), server.url("/b.html")]);
    daemon.stop().await;

    server.set(
        "/b.html",
        HTML,
        article(
            "B",
            &["Second story text, now edited while the daemon was down."],
        ),
    );
    let mut daemon = Daemon::start(config, dir.path());
    let update = daemon.next_alert(20).await;
    assert_eq!(
        (update.event, update.url.clone(), update.version),
        (Event::Updated, server.url("/b.html"), 2)
    );
    let polls = server.hits("/rss.xml");
    wait_until(20, "two more feed polls", || {
        server.hits("/rss.xml") >= polls + 2
    })
    .await;
    let rest = daemon.stop().await;
    assert!(
        rest.iter().all(|a| a.event != Event::New),
        "nothing is new twice: {rest:?}"
    );
    let store = redline::store::SledStore::open(dir.path(), 16).unwrap();
    let b = store.find_article(&server.url("/b.html")).unwrap().unwrap();
    assert_eq!(store.versions(&b.id).unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_feed_is_logged_and_a_legacy_charset_page_decodes() {
    let server = TestServer::start().await;
    server.set(
        "/broken.xml",
        XML,
        "<rss><channel><item><title>never closed",
    );
    server.set("/garbage.xml", XML, vec![0u8, 159, 146, 150, 0, 1, 2]);
    server.set("/ru.xml", XML, rss(&[server.url("/ru.html")]));
    let page = "<html lang=\"ru\"><head><meta charset=\"windows-1251\"><title>Переговоры в Стамбуле</title></head><body>\
                <div class=\"article-body\"><p>Делегации России и Украины встретились в Стамбуле, сообщили источники.</p>\
                <p>Переговоры продолжались около трёх часов, сказал представитель Украины.</p></div></body></html>";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(page);
    server.set("/ru.html", "text/html", bytes.into_owned());
    let dir = tempfile::tempdir().unwrap();
    let feeds = [
        server.url("/broken.xml"),
        server.url("/garbage.xml"),
        server.url("/ru.xml"),
    ];
    let mut daemon = Daemon::start(fast_config(&feeds), dir.path());

    let alert = daemon.next_alert(20).await;
    assert_eq!(alert.title, "Переговоры в Стамбуле");
    let store = daemon.store.clone();
    wait_until(20, "errors recorded for both bad feeds", || {
        feeds[..2]
            .iter()
            .all(|f| store.feed(f).unwrap().is_some_and(|r| r.error_streak >= 1))
    })
    .await;
    let garbage = store.feed(&feeds[1]).unwrap().unwrap();
    assert!(
        garbage.last_error.unwrap().contains("garbage.xml"),
        "the error names the feed"
    );
    let ru = store
        .find_article(&server.url("/ru.html"))
        .unwrap()
        .unwrap();
    let text = store.version(&ru.id, 1).unwrap().unwrap().body;
    assert!(text.starts_with("Делегации России и Украины"), "{text}");
    assert!(!text.contains('\u{FFFD}'));
    drop(store);
    daemon.stop().await;
}
