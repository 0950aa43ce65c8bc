//! redline against newsfarm's `small` scenario, end to end: every article in the
//! truth must be ingested, through faults, legacy charsets, malformed feeds,
//! redirects and tracking links. Writes the alerts and the export next to the
//! test binary and prints newsfarm's score.
//!
//! Needs `../shared/newsfarm` (or NEWSFARM_DIR) and python3. Without them the test
//! says so and passes, unless REDLINE_REQUIRE_NEWSFARM is set (as in CI).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::{Daemon, wait_until};
use redline::config::Config;
use redline::store::{SledStore, Store};

struct Newsfarm {
    child: Child,
    control: String,
    dir: PathBuf,
}

impl Drop for Newsfarm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn newsfarm_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NEWSFARM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/newsfarm"));
    dir.join("newsfarm.py").exists().then_some(dir)
}

fn start_newsfarm(dir: PathBuf, scenario: &str) -> Newsfarm {
    let mut child = Command::new("python3")
        .arg(dir.join("newsfarm.py"))
        .args(["serve", "--scenario", scenario, "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs newsfarm");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let banner = lines.next().expect("newsfarm prints its address").unwrap();
    let start = banner
        .find("http://127.0.0.1:")
        .expect("banner names the control URL");
    let control = banner[start..]
        .split('/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    std::thread::spawn(move || lines.for_each(drop));
    Newsfarm {
        child,
        control,
        dir,
    }
}

async fn truth(client: &reqwest::Client, control: &str) -> serde_json::Value {
    let bytes = client
        .get(format!("{control}/_truth"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn ingested(store: &SledStore, url: &str) -> bool {
    store.find_article(url).unwrap().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_article_of_the_small_scenario_is_ingested() {
    let Some(dir) = newsfarm_dir() else {
        assert!(
            std::env::var_os("REDLINE_REQUIRE_NEWSFARM").is_none(),
            "newsfarm not found"
        );
        eprintln!("skipped: ../shared/newsfarm not found");
        return;
    };
    let farm = start_newsfarm(dir, "small");
    let client = reqwest::Client::new();
    // The shipped config/newsfarm.toml, pointed at this newsfarm's port.
    let shipped =
        include_str!("../config/newsfarm.toml").replace("http://127.0.0.1:8800", &farm.control);
    let mut config = Config::parse(&shipped, std::path::Path::new("config/newsfarm.toml")).unwrap();
    config.storage.cache_capacity_mb = 32;
    let data = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(config, data.path());
    let store = daemon.store.clone();

    let horizon = 24;
    let mut last = serde_json::Value::Null;
    for step in 0..=horizon {
        last = truth(&client, &farm.control).await;
        let urls: Vec<String> = last["articles"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let missing: Vec<&String> = urls.iter().filter(|u| !ingested(&store, u)).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "step {step}: not ingested: {missing:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        if step < horizon {
            client
                .post(format!("{}/_control/advance?steps=1", farm.control))
                .send()
                .await
                .unwrap();
        }
    }
    // Give late updates a few revisit rounds before stopping.
    let revisited = chrono::Utc::now();
    wait_until(60, "a revisit round after the last step", || {
        store
            .articles()
            .unwrap()
            .iter()
            .all(|a| a.last_checked > revisited || a.next_check.is_none())
    })
    .await;
    let mut alerts = Vec::new();
    while let Ok(alert) = daemon.alerts.try_recv() {
        alerts.push(alert);
    }
    alerts.extend(daemon.stop().await);

    let articles = last["articles"].as_object().unwrap();
    let missing: Vec<&String> = articles.keys().filter(|u| !ingested(&store, u)).collect();
    assert!(missing.is_empty(), "not ingested: {missing:?}");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("newsfarm-small");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("truth.json"), serde_json::to_vec(&last).unwrap()).unwrap();
    let mut file = std::fs::File::create(out.join("alerts.jsonl")).unwrap();
    for alert in &alerts {
        writeln!(file, "{}", serde_json::to_string(alert).unwrap()).unwrap();
    }
    let mut export = Vec::new();
    redline::store::export_jsonl(&store, &mut export, Default::default()).unwrap();
    std::fs::write(out.join("export.jsonl"), &export).unwrap();
    eprintln!(
        "ingested {} of {} articles in the truth; {} alerts",
        articles.len() - missing.len(),
        articles.len(),
        alerts.len()
    );
    let score = Command::new("python3")
        .arg(farm.dir.join("newsfarm.py"))
        .args(["score", "--truth"])
        .arg(out.join("truth.json"))
        .arg("--alerts")
        .arg(out.join("alerts.jsonl"))
        .arg("--export")
        .arg(out.join("export.jsonl"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&score.stdout);
    eprintln!("{report}");
    assert!(report.contains("SCORE"), "the scorer ran: {report}");
}
