//! Operating redline: feed changes that reach a running daemon (and the store
//! when none runs), `db stats` and `db check`, `reextract` over the raw
//! snapshots, and `source` alerts about feeds that go silent or fail.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{Daemon, Running, TestServer, article, cli, fast_config, redline, rss, wait_until};
use redline::alerts::{Event, SourceState};

/// Runs the CLI and returns its stdout, failing the test if it fails.
fn ok(config: &Path, data: &Path, args: &[&str]) -> String {
    let output = cli(config, data, args);
    assert!(
        output.status.success(),
        "redline {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A promotion that puts the article on the talks topic until a site rule drops it.
const PROMO: &str = "<span class=\"promo\">Subscribe to our newsletter on the Russia-Ukraine \
     peace talks: Putin, Zelensky and the ceasefire, every morning.</span>";

/// The topics `export` gives the one stored article.
fn exported_topics(config: &Path, data: &Path) -> Vec<String> {
    let export = ok(config, data, &["export"]);
    let row: serde_json::Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    serde_json::from_value(row["topics"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reextract_rebuilds_version_text_from_the_raw_snapshots() {
    let server = TestServer::start().await;
    let feed = server.url("/rss.xml");
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(&[server.url("/a.html")]),
    );
    let paragraphs = [
        "Delegations met in Geneva for talks that lasted 58 minutes, officials said.",
        PROMO,
        "A second round is planned for next week in the same city, they added.",
    ];
    server.set("/a.html", "text/html", article("Geneva talks", &paragraphs));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut daemon = Daemon::start(fast_config(&[feed]), &data);
    assert_eq!(daemon.next_alert(20).await.event, Event::New);
    daemon.stop().await;

    let config = dir.path().join("redline.toml");
    std::fs::write(&config, "").unwrap();
    assert!(ok(&config, &data, &["db", "check"]).starts_with("ok"));
    let stats = ok(&config, &data, &["db", "stats"]);
    assert!(stats.contains("articles 1  versions 1"), "{stats}");
    assert!(stats.contains("raw snapshots 1"), "{stats}");
    let url = server.url("/a.html");
    assert!(ok(&config, &data, &["show", &url]).contains("Subscribe to our newsletter"));
    assert_eq!(exported_topics(&config, &data), ["russia-ukraine-talks"]);

    std::fs::write(
        &config,
        "[[extract.site]]\nhost = \"127.0.0.1\"\ndrop = [\".promo\"]\n",
    )
    .unwrap();
    let report = ok(&config, &data, &["reextract", "--all"]);
    assert!(
        report.starts_with("1 articles, 1 versions: 1 changed"),
        "{report}"
    );
    assert!(
        report.ends_with("1 articles with a new current text\n"),
        "{report}"
    );
    assert!(
        exported_topics(&config, &data).is_empty(),
        "the topics follow the text"
    );
    let shown = ok(&config, &data, &["show", &url]);
    assert!(!shown.contains("Subscribe to our newsletter"), "{shown}");
    assert!(shown.contains("A second round is planned"), "{shown}");
    let versions = ok(&config, &data, &["versions", &url]);
    assert!(
        versions.contains("v1") && !versions.contains("v2"),
        "{versions}"
    );
    let again = ok(&config, &data, &["reextract", "--id", &url]);
    assert!(
        again.starts_with("1 articles, 1 versions: 0 changed"),
        "{again}"
    );
    assert!(ok(&config, &data, &["db", "check"]).starts_with("ok"));

    {
        let db = sled::open(&data).unwrap();
        let links = db.open_tree("links").unwrap();
        links
            .insert("http://127.0.0.1:1/lost", "0123456789")
            .unwrap();
        db.flush().unwrap();
    }
    let damaged = cli(&config, &data, &["db", "check"]);
    assert!(!damaged.status.success(), "a problem makes db check fail");
    let report = String::from_utf8_lossy(&damaged.stdout);
    assert!(
        report.contains("link http://127.0.0.1:1/lost leads to 0123456789"),
        "{report}"
    );
}

/// Starts `redline run` and waits for its first alert.
fn start_daemon(config: &Path, data: &Path) -> (Running, String) {
    let mut daemon = Running(
        redline(config, data, &["run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let first = BufReader::new(daemon.0.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    (daemon, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_changes_reach_a_running_daemon_and_the_store_when_none_runs() {
    let server = TestServer::start().await;
    let (a, b) = (server.url("/a.xml"), server.url("/b.xml"));
    server.set(
        "/a.xml",
        "application/rss+xml",
        rss(&[server.url("/a1.html")]),
    );
    server.set(
        "/b.xml",
        "application/rss+xml",
        rss(&[server.url("/b1.html")]),
    );
    let text = ["Delegations met in Geneva for talks that lasted 58 minutes, officials said."];
    server.set("/a1.html", "text/html", article("Geneva talks", &text));
    let text = ["Ministers met in Riyadh for a second day of talks on a ceasefire plan."];
    server.set("/b1.html", "text/html", article("Riyadh talks", &text));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("redline.toml");
    let data = dir.path().join("data");
    let toml = format!(
        "[[feed]]\nurl = \"{a}\"\n[schedule]\nfeed_interval = \"200ms\"\nfeed_interval_min = \"200ms\"\n\
         feed_interval_max = \"200ms\"\n[fetch]\nmin_host_delay = \"0s\"\nallow_loopback = true\n"
    );
    std::fs::write(&config, toml).unwrap();
    let (daemon, first) = start_daemon(&config, &data);
    assert!(first.contains("Geneva talks"), "{first}");

    assert!(ok(&config, &data, &["feeds", "add", &b]).contains("added"));
    let mut stories = String::new();
    wait_until(20, "the added feed's article", || {
        stories = ok(&config, &data, &["stories"]);
        stories.contains("Riyadh talks")
    })
    .await;
    let stats = ok(&config, &data, &["db", "stats"]);
    assert!(
        stats.contains("articles 2"),
        "db stats through the daemon: {stats}"
    );
    assert!(ok(&config, &data, &["db", "check"]).starts_with("ok"));

    let socket = data.join("redline.sock");
    let client = reqwest::Client::builder()
        .unix_socket(socket.as_path())
        .build()
        .unwrap();
    let fine = format!("redline_feed_source_state{{feed=\"{b}\"}} 0");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = client.get("http://localhost/metrics").send().await.unwrap();
        let metrics = metrics.text().await.unwrap();
        if metrics.contains(&fine) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert!(ok(&config, &data, &["feeds", "pause", &b]).contains("paused"));
    let settle = server.hits("/a.xml") + 2;
    wait_until(20, "two more polls of the other feed", || {
        server.hits("/a.xml") >= settle
    })
    .await;
    let paused_at = server.hits("/b.xml");
    let later = server.hits("/a.xml") + 3;
    wait_until(20, "three more polls of the other feed", || {
        server.hits("/a.xml") >= later
    })
    .await;
    assert_eq!(
        server.hits("/b.xml"),
        paused_at,
        "a paused feed is not polled"
    );
    assert!(ok(&config, &data, &["feeds", "list"]).contains("paused with `redline feeds pause`"));

    assert!(ok(&config, &data, &["feeds", "resume", &b]).contains("resumed"));
    wait_until(20, "the resumed feed to be polled", || {
        server.hits("/b.xml") > paused_at
    })
    .await;

    let d = server.url("/d.xml");
    server.set("/d.xml", "application/rss+xml", rss(&[]));
    let list = dir.path().join("more.txt");
    std::fs::write(&list, format!("{d}\n")).unwrap();
    let imported = ok(&config, &data, &["feeds", "import", list.to_str().unwrap()]);
    assert!(imported.contains("1 added"), "{imported}");
    wait_until(20, "the imported feed to be polled", || {
        server.hits("/d.xml") > 0
    })
    .await;

    let refused = cli(&config, &data, &["feeds", "remove", &a]);
    assert!(
        !refused.status.success(),
        "a config-file feed is not removed"
    );
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("listed in the config file"), "{err}");
    assert!(ok(&config, &data, &["feeds", "remove", &b]).contains("removed"));
    assert!(!ok(&config, &data, &["feeds", "list"]).contains(b.as_str()));
    drop(daemon);

    // No daemon now: the same commands edit the store.
    let c = server.url("/c.xml");
    assert!(ok(&config, &data, &["feeds", "add", &c, "--title", "Feed C"]).contains("added"));
    assert!(ok(&config, &data, &["feeds", "pause", &c]).contains("paused"));
    let listed = ok(&config, &data, &["feeds", "list"]);
    assert!(listed.contains(&format!("{c}  [added] Feed C")), "{listed}");
    assert!(listed.contains("paused with"), "{listed}");
    let twice = cli(&config, &data, &["feeds", "add", &c]);
    assert!(!twice.status.success(), "adding a known feed is an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_then_failing_feed_gets_one_source_alert_per_episode() {
    let server = TestServer::start().await;
    let feed = server.url("/rss.xml");
    let mut links = vec![server.url("/1.html")];
    server.set("/rss.xml", "application/rss+xml", rss(&links));
    for n in 1..=3 {
        let text = format!("Talks in Geneva entered day {n}, with delegations meeting for hours.");
        server.set(
            &format!("/{n}.html"),
            "text/html",
            article(&format!("Day {n}"), &[&text]),
        );
    }
    let mut config = fast_config(std::slice::from_ref(&feed));
    config.schedule.silent_after = Duration::from_millis(300);
    config.schedule.failing_after = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(config, dir.path());

    let next_source = async |daemon: &mut Daemon| loop {
        let alert = daemon.next_alert(20).await;
        if alert.event == Event::Source {
            return alert;
        }
    };
    let silent = next_source(&mut daemon).await;
    let report = silent.source.clone().unwrap();
    assert_eq!(report.state, SourceState::Silent);
    assert_eq!(
        (silent.url.as_str(), silent.feed.as_str()),
        (feed.as_str(), feed.as_str())
    );

    links.push(server.url("/2.html"));
    server.set("/rss.xml", "application/rss+xml", rss(&links));
    let recovered = next_source(&mut daemon).await.source.unwrap();
    assert_eq!(
        (recovered.state, recovered.from),
        (SourceState::Recovered, Some(SourceState::Silent))
    );

    server.set("/rss.xml", "text/plain", "this is not a feed");
    let failing = next_source(&mut daemon).await.source.unwrap();
    assert_eq!(failing.state, SourceState::Failing);
    assert!(failing.last_error.is_some(), "{failing:?}");

    links.push(server.url("/3.html"));
    server.set("/rss.xml", "application/rss+xml", rss(&links));
    let back = next_source(&mut daemon).await.source.unwrap();
    assert_eq!(
        (back.state, back.from),
        (SourceState::Recovered, Some(SourceState::Failing))
    );
    let rest = daemon.stop().await;
    assert!(
        rest.iter().all(|a| a.event != Event::Source
            || a.source.as_ref().unwrap().state != SourceState::Failing),
        "the failing episode is alerted once: {rest:?}"
    );
}
