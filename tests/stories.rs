//! Story-aware alerts end to end: two outlets carry one wire story; when both
//! make the same update, one alert names both; an outlet's own edit gets its own
//! alert, flagged; a same-topic story that is not a copy keeps its own alerts.

mod common;

use std::time::Duration;

use common::{Daemon, TestServer, article, fast_config, rss, wait_until};
use redline::alerts::{Alert, Event};
use redline::store::Store;

/// A fixture story: (headline, paragraphs).
fn story(name: &str) -> (String, Vec<String>) {
    let path = format!(
        "{}/tests/fixtures/dedup/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines().map(str::to_string);
    let title = lines.next().unwrap_or_default();
    (title, lines.filter(|l| !l.trim().is_empty()).collect())
}

fn page(title: &str, paragraphs: &[String], extra: &[&str]) -> String {
    let mut all: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    article(title, &all)
}

fn versions(daemon: &Daemon, url: &str) -> u32 {
    daemon
        .store
        .find_article(url)
        .ok()
        .flatten()
        .map_or(0, |a| a.versions)
}

const SAME_UPDATE: &str = "Late on Tuesday the two delegations agreed to meet again in Riyadh next week, a senior official said.";
const OWN_EDIT: &str = "Local reaction: residents of the capital gathered in the main square to follow the news on big screens.";
const OTHER_UPDATE: &str =
    "The ministry later published a list of the settlements affected by the overnight strikes.";

#[tokio::test]
async fn copies_making_the_same_update_get_one_alert_and_own_edits_are_flagged() {
    let server = TestServer::start().await;
    let (wire_title, wire) = story("en_wire");
    let (copy_title, copy) = story("en_copy");
    let (other_title, other) = story("en_other");
    let links = ["/wire/1", "/copy/1", "/other/1"].map(|p| server.url(p));
    let set = |path: &str, title: &str, paragraphs: &[String], extra: &[&str]| {
        server.set(
            path,
            "text/html; charset=utf-8",
            page(title, paragraphs, extra),
        );
    };
    set("/wire/1", &wire_title, &wire, &[]);
    set("/copy/1", &copy_title, &copy, &[]);
    set("/other/1", &other_title, &other, &[]);
    server.set("/feed.xml", "application/rss+xml", rss(&links));

    let mut config = fast_config(&[server.url("/feed.xml")]);
    // Held alerts leave when the window closes or at shutdown: an hour keeps them
    // all held until the test stops the daemon, whatever the machine's speed.
    config.alerts.story_window = Duration::from_secs(3600);
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(config, dir.path());
    for _ in 0..3 {
        assert_eq!(daemon.next_alert(30).await.event, Event::New);
    }
    let cluster = |url: &str| daemon.store.find_article(url).unwrap().unwrap().cluster;
    assert_eq!(
        cluster(&links[0]),
        cluster(&links[1]),
        "the copy joins the wire's story"
    );
    assert_ne!(
        cluster(&links[0]),
        cluster(&links[2]),
        "the same-topic story stays apart"
    );

    set("/wire/1", &wire_title, &wire, &[SAME_UPDATE]);
    set("/copy/1", &copy_title, &copy, &[SAME_UPDATE]);
    set("/other/1", &other_title, &other, &[OTHER_UPDATE]);
    wait_until(30, "the first updates", || {
        links.iter().all(|l| versions(&daemon, l) == 2)
    })
    .await;
    set("/copy/1", &copy_title, &copy, &[SAME_UPDATE, OWN_EDIT]);
    wait_until(30, "the copy's own edit", || {
        versions(&daemon, &links[1]) == 3
    })
    .await;
    let mut early = Vec::new();
    while let Ok(alert) = daemon.alerts.try_recv() {
        early.push(alert);
    }
    assert!(
        early.iter().all(|a| a.url == links[2]),
        "updates of the wire story are held for its window: {early:#?}"
    );

    let mut updates: Vec<Alert> = early;
    updates.extend(daemon.stop().await);
    updates.retain(|a| a.event == Event::Updated);
    assert_eq!(updates.len(), 3, "{updates:#?}");
    let story_update = updates
        .iter()
        .find(|a| a.url != links[2] && a.version == 2)
        .expect("the story update is alerted");
    let (first, joined) = match story_update.url == links[0] {
        true => (&links[0], &links[1]),
        false => (&links[1], &links[0]),
    };
    assert_eq!(&story_update.url, first);
    assert_eq!(story_update.copies.len(), 1, "{story_update:#?}");
    assert_eq!(&story_update.copies[0].url, joined);
    assert_eq!(story_update.copies[0].version, 2);
    assert!(!story_update.own_edit);

    let other_update = updates.iter().find(|a| a.url == links[2]).unwrap();
    assert!(other_update.copies.is_empty() && !other_update.own_edit);

    let own = updates
        .iter()
        .find(|a| a.url == links[1] && a.version == 3)
        .expect("the copy's own edit is alerted");
    assert!(own.own_edit && own.copies.is_empty(), "{own:#?}");

    let stories = redline(dir.path(), &["stories", "--copies"]);
    assert_eq!(
        stories.lines().filter(|l| l.contains("outlets")).count(),
        1,
        "{stories}"
    );
    assert!(
        stories.contains(&links[0]) && stories.contains(&links[1]),
        "{stories}"
    );
    assert!(!stories.contains(&links[2]), "{stories}");
    let show = redline(dir.path(), &["show", &links[0]]);
    assert!(
        show.contains("also carried by") && show.contains(&links[1]),
        "{show}"
    );
    let between = redline(dir.path(), &["diff", "--between", &links[0], &links[1]]);
    assert!(
        between.contains(&format!("--- {} v2", links[0])),
        "{between}"
    );
    assert!(
        between.contains(&format!("+++ {} v3", links[1])),
        "{between}"
    );
    assert!(between.contains(&format!("+{OWN_EDIT}")), "{between}");
}

/// Runs the CLI on the stopped daemon's store; its stdout.
fn redline(data: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_redline"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("the CLI runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
