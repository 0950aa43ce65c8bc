//! SIGKILL right after an alert: the version it announces must be on disk, so
//! that the next start neither loses it nor announces the article as new again.
//! (scripts/crash-drill.sh does the same at random moments against newsfarm.)

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use common::{Running, TestServer, article, cli, redline, rss};

/// Starts the daemon and returns it with the first `new` alert about `url`.
fn run_until_new(config: &Path, data: &Path, url: &str) -> (Running, serde_json::Value) {
    let mut daemon = Running(
        redline(config, data, &["run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = BufReader::new(daemon.0.stdout.take().unwrap()).lines();
    for line in lines {
        let alert: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if alert["event"] == "new" && alert["url"] == url {
            return (daemon, alert);
        }
    }
    panic!("the daemon ended without announcing {url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_whose_alert_was_printed_survives_a_sigkill() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("redline.toml");
    let data = dir.path().join("data");
    let toml = format!(
        "[[feed]]\nurl = \"{}\"\n[schedule]\nfeed_interval = \"100ms\"\nfeed_interval_min = \"100ms\"\n\
         feed_interval_max = \"100ms\"\n[fetch]\nmin_host_delay = \"0s\"\nretries = 0\nallow_loopback = true\n",
        server.url("/rss.xml")
    );
    std::fs::write(&config, toml).unwrap();
    let mut links = Vec::new();
    let mut announced = Vec::new();
    for round in 0..6 {
        let path = format!("/story-{round}.html");
        let text = format!("Envoys met for round {round} of talks in Geneva, officials said.");
        server.set(
            &path,
            "text/html",
            article(&format!("Round {round}"), &[&text]),
        );
        links.push(server.url(&path));
        server.set("/rss.xml", "application/rss+xml", rss(&links));
        let (mut daemon, alert) = run_until_new(&config, &data, &server.url(&path));
        daemon.0.kill().unwrap();
        daemon.0.wait().unwrap();
        announced.push(alert);
    }

    let export = cli(&config, &data, &["export", "--history"]);
    assert!(export.status.success(), "{export:?}");
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for alert in &announced {
        let row = rows.iter().find(|r| r["id"] == alert["id"]);
        let first = row.map(|r| &r["history"][0]);
        assert_eq!(
            first.map(|v| &v["first_seen"]),
            Some(&alert["detected_at"]),
            "version 1 of {} is stored as alerted: {first:?}",
            alert["url"]
        );
    }
}
