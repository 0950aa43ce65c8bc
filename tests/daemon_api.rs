//! The CLI against a running daemon: while `redline run` holds the store, the
//! read commands go through its local API; `tail` follows alerts live; /metrics
//! answers on the socket; SIGTERM stops it cleanly and the CLI then opens the
//! store itself.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{Running, TestServer, article, cli, redline, rss, wait_until};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn sigterm(child: &Child) {
    // SAFETY-free: kill(2) through the `kill` command keeps this test free of libc.
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_and_diffs_through_a_running_daemon() {
    let server = TestServer::start().await;
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(&[server.url("/talks.html")]),
    );
    let v1 = ["Delegations met in Geneva for talks that lasted 58 minutes, officials said."];
    server.set("/talks.html", "text/html", article("Geneva talks", &v1));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("redline.toml");
    let data = dir.path().join("data");
    let toml = format!(
        "[[feed]]\nurl = \"{}\"\n[schedule]\nfeed_interval = \"200ms\"\nfeed_interval_min = \"200ms\"\n\
         revisit_ages = [\"200ms\"]\nrevisit_tail_interval = \"200ms\"\nrevisit_stop_after = \"1h\"\n\
         [fetch]\nmin_host_delay = \"0s\"\nallow_loopback = true\n",
        server.url("/rss.xml")
    );
    std::fs::write(&config, toml).unwrap();
    let mut daemon = Running(
        redline(&config, &data, &["run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let first_alert = BufReader::new(daemon.0.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert!(first_alert.contains("\"event\":\"new\""), "{first_alert}");

    let stories = stdout(&cli(&config, &data, &["stories"]));
    assert!(
        stories.contains("Geneva talks") && stories.contains("v1"),
        "stories through the API: {stories}"
    );

    let mut tail = Running(
        redline(&config, &data, &["tail"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let v2 = ["Delegations met in Geneva for talks that lasted 90 minutes, officials said."];
    server.set("/talks.html", "text/html", article("Geneva talks", &v2));
    let followed = BufReader::new(tail.0.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert!(
        followed.contains("\"event\":\"updated\"") && followed.contains("\"version\":2"),
        "{followed}"
    );

    let diff = stdout(&cli(&config, &data, &["diff", &server.url("/talks.html")]));
    assert!(
        diff.contains("-Delegations met in Geneva for talks that lasted 58 minutes"),
        "{diff}"
    );
    assert!(
        diff.contains("+Delegations met in Geneva for talks that lasted 90 minutes"),
        "{diff}"
    );
    let missing = cli(&config, &data, &["show", "http://127.0.0.1:1/none"]);
    assert!(
        !missing.status.success(),
        "a lookup error comes back as an error"
    );
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no stored article"), "{err}");

    let socket = data.join("redline.sock");
    let client = reqwest::Client::builder()
        .unix_socket(socket.as_path())
        .build()
        .unwrap();
    let metrics = client
        .get("http://localhost/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("redline_articles_new_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("redline_articles_updated_total 1"),
        "{metrics}"
    );

    sigterm(&daemon.0);
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "SIGTERM exits 0");
    let mut exited = false;
    wait_until(10, "tail to end with the daemon", || {
        exited = matches!(tail.0.try_wait(), Ok(Some(_)));
        exited
    })
    .await;
    let local = stdout(&cli(
        &config,
        &data,
        &["versions", &server.url("/talks.html")],
    ));
    assert!(
        local.contains("v2"),
        "without a daemon the CLI opens the store: {local}"
    );
}
