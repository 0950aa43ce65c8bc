//! A full disk: the daemon's data directory lives on a small tmpfs that a ballast
//! file fills while it runs. It must say which directory it cannot write, stop
//! polling and fetching, keep serving what it stored, and carry on by itself
//! once the ballast is gone.
//!
//! Mounting needs root; without it (or when the mount fails) the test says so
//! and passes, unless REDLINE_REQUIRE_TMPFS is set (as in CI).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Running, TestServer, article, cli, redline, rss, wait_until};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as mount(8) takes it) on `dir`; `None` when
    /// this process may not.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return None;
        }
        std::fs::create_dir_all(dir).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .ok()?;
        mounted.success().then(|| Tmpfs {
            dir: dir.to_owned(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.dir).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Fills the file system of `path` with one file, to the last byte it takes.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let mut chunk = vec![0xa5u8; 1 << 20];
    while chunk.len() >= 512 {
        if file.write_all(&chunk).is_err() {
            chunk.truncate(chunk.len() / 2);
        }
    }
    // tmpfs reports the error on write, not later; this only settles the size.
    let _ = file.sync_all();
}

/// A page of `words` pseudo-random words, so that it compresses poorly and its
/// version needs fresh space in the store's log.
fn long_article(title: &str, seed: u64, words: usize) -> String {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut word = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        format!("{:x}", state >> 20)
    };
    let paragraphs: Vec<String> = (0..words / 40)
        .map(|_| (0..40).map(|_| word()).collect::<Vec<_>>().join(" "))
        .collect();
    let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    article(title, &refs)
}

/// Adds a long article to the site and its feed.
fn publish(server: &TestServer, links: &mut Vec<String>) {
    let n = links.len() as u64;
    let url = server.url(&format!("/a{n}.html"));
    server.set(
        &path(&url),
        "text/html",
        long_article(&format!("Later {n}"), n, 2000),
    );
    links.push(url);
    server.set("/rss.xml", "application/rss+xml", rss(links));
}

/// The path of a test server URL.
fn path(url: &str) -> String {
    common::url(url).path().to_string()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn log_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn count(path: &Path, needle: &str) -> usize {
    log_text(path)
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// Waits until the daemon's log has `n` lines with `needle`; on timeout the
/// panic shows the log.
async fn wait_for_log(log: &Path, needle: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    while count(log, needle) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {n} log lines with {needle:?}; the log:\n{}",
            log_text(log)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

const CLOSED: &str = "cannot write to the store";
const STILL: &str = "the store still cannot write";
const REOPENED: &str = "the store can write again";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_daemon_keeps_its_store_and_it_resumes_when_space_returns() {
    let scratch = tempfile::tempdir().unwrap();
    let Some(tmpfs) = Tmpfs::mount(&scratch.path().join("mnt"), "8m") else {
        assert!(
            std::env::var_os("REDLINE_REQUIRE_TMPFS").is_none(),
            "REDLINE_REQUIRE_TMPFS is set but a tmpfs cannot be mounted (root is needed)"
        );
        eprintln!(
            "skipped: mounting a tmpfs needs root (set REDLINE_REQUIRE_TMPFS=1 to fail instead)"
        );
        return;
    };
    let server = TestServer::start().await;
    let first = server.url("/first.html");
    server.set(
        "/rss.xml",
        "application/rss+xml",
        rss(std::slice::from_ref(&first)),
    );
    server.set("/first.html", "text/html", long_article("First", 1, 400));
    let config = scratch.path().join("redline.toml");
    let data = tmpfs.dir.join("data");
    let log = scratch.path().join("redline.log");
    let alerts = scratch.path().join("alerts.jsonl");
    let toml = format!(
        "[[feed]]\nurl = \"{}\"\n[schedule]\nfeed_interval = \"200ms\"\nfeed_interval_min = \"200ms\"\n\
         feed_interval_max = \"200ms\"\nrevisit_ages = [\"200ms\"]\nrevisit_tail_interval = \"200ms\"\n\
         revisit_stop_after = \"1h\"\n[fetch]\nmin_host_delay = \"0s\"\nretries = 0\nallow_loopback = true\n\
         [storage]\ncache_capacity_mb = 4\n",
        server.url("/rss.xml")
    );
    std::fs::write(&config, toml).unwrap();
    let mut daemon = Running(
        redline(&config, &data, &["run"])
            .stdout(std::fs::File::create(&alerts).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let stored = |url: &str| stdout(&cli(&config, &data, &["export"])).contains(url);
    wait_until(60, "the first article to be stored", || stored(&first)).await;
    let before = stdout(&cli(&config, &data, &["show", &first]));
    assert!(before.contains("First"), "{before}");

    // sled frees space of its own now and then (old snapshots, segments), so
    // articles keep coming until a write fails.
    fill(&tmpfs.dir.join("ballast"));
    let mut links = vec![first.clone()];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    while count(&log, CLOSED) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no write failed on the full disk; the log:\n{}",
            log_text(&log)
        );
        publish(&server, &mut links);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let text = log_text(&log);
    let line = text.lines().find(|l| l.contains(CLOSED)).unwrap();
    assert!(
        line.contains(&data.display().to_string()),
        "the error names the data directory: {line}"
    );
    assert!(
        line.contains("No space left on device"),
        "the error says why: {line}"
    );
    publish(&server, &mut links);

    // Work under way when the store failed has ended by the second try to
    // recover; between the second and the third, nothing is polled, fetched or
    // announced.
    wait_for_log(&log, STILL, 2).await;
    let requests = |s: &TestServer| links.iter().map(|l| s.hits(&path(l))).sum::<usize>();
    let paused_at = (requests(&server), std::fs::read_to_string(&alerts).unwrap());
    wait_for_log(&log, STILL, 3).await;
    let now = (requests(&server), std::fs::read_to_string(&alerts).unwrap());
    assert_eq!(
        now, paused_at,
        "no feed poll, fetch or alert while the store cannot write"
    );
    assert!(
        matches!(daemon.0.try_wait(), Ok(None)),
        "the daemon keeps running"
    );
    let api = reqwest::Client::builder()
        .unix_socket(data.join("redline.sock"))
        .build()
        .unwrap();
    let readiness = || async {
        let answer = api.get("http://localhost/readyz").send().await.unwrap();
        answer.status().as_u16()
    };
    assert_eq!(readiness().await, 503, "not ready while it cannot write");
    let during = cli(&config, &data, &["show", &first]);
    assert_eq!(
        stdout(&during),
        before,
        "what was stored still reads the same: {}",
        String::from_utf8_lossy(&during.stderr)
    );

    // Once there is room, every article is stored and announced, also those
    // lost with the failed write and the one published while it was full.
    std::fs::remove_file(tmpfs.dir.join("ballast")).unwrap();
    wait_until(90, "every article to be stored", || {
        let exported = stdout(&cli(&config, &data, &["export"]));
        links.iter().all(|url| exported.contains(url.as_str()))
    })
    .await;
    assert!(count(&log, REOPENED) >= 1, "{}", log_text(&log));
    assert_eq!(readiness().await, 200, "ready again");
    wait_until(30, "every article to be announced", || {
        let announced = std::fs::read_to_string(&alerts).unwrap();
        links.iter().all(|url| announced.contains(url.as_str()))
    })
    .await;
    let after = stdout(&cli(&config, &data, &["show", &first]));
    assert_eq!(
        after, before,
        "the first article survives the reopened store"
    );

    let stop = Command::new("kill")
        .arg("-TERM")
        .arg(daemon.0.id().to_string())
        .status()
        .unwrap();
    assert!(stop.success());
    assert!(daemon.0.wait().unwrap().success(), "SIGTERM exits 0");
    let check = cli(&config, &data, &["db", "check"]);
    assert!(
        stdout(&check).starts_with("ok"),
        "{}{}",
        stdout(&check),
        String::from_utf8_lossy(&check.stderr)
    );
    drop(daemon);
    drop(tmpfs);
}
