//! The hot stages and the whole per-article pipeline on newsfarm pages, against
//! baselines measured in the same run, and against trafilatura.
//!
//! `cargo bench --bench pipeline` (env: NEWSFARM (path of newsfarm.py), SCENARIO
//! (default large), PAGES (default 500), NEWSFARM_PORT (default 0: a free port),
//! ROUNDS (of the whole pipeline, default 3), REAL_PAGES (a directory of saved real pages, default
//! `../shared/bench/extraction/scrapinghub`), STAGES=0 (the whole pipeline and
//! trafilatura only, e.g. to profile)). Serves newsfarm with `--no-faults`,
//! saves every feed and PAGES article pages (spread over the outlets) under
//! `target/bench-pages/`, then, on one thread, for the newsfarm pages and again
//! for the real pages (served on loopback by `python3 -m http.server`, saved
//! under `target/bench-pages-real/`; feed parse is newsfarm's only):
//!
//! - stage micro-benchmarks, each with its baseline: feed parse vs quick-xml
//!   tokenisation (serde_json for JSON Feeds), charset decode vs UTF-8 validation
//!   (`String::from_utf8_lossy`), extraction vs the html5ever parse alone,
//!   fingerprint vs splitting the text into words, topic classification vs
//!   lowercasing the text, change detection of an unchanged fetch (clean and
//!   compare) vs hashing the text, and the diff of an edited version vs similar's
//!   raw word diff of the same texts;
//! - the whole pipeline per article: fetch from newsfarm on loopback (redline's
//!   fetcher), decode, extract, clean, classify, fingerprint and cluster, commit
//!   to a sled store with the raw page and an outbox alert, then compare an
//!   edited fetch with it (diff and classes);
//!   CPU time of this process (all its threads) per article;
//! - trafilatura's `extract` alone on the same saved pages, CPU time per page in
//!   one Python process (`pip install trafilatura`; skipped when missing), and the
//!   ratio of the two.
//!
//! Prints a notice and exits 0 when newsfarm is not there.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redline::alerts::{Alert, Event};
use redline::changes::Detector;
use redline::config::FetchConfig;
use redline::dedup::{Clusters, fingerprint};
use redline::diff::{Side, diff};
use redline::extract::{SiteRules, extract_served};
use redline::fetch::charset::{DocKind, decode};
use redline::fetch::{FetchOutcome, Fetcher, Validators};
use redline::store::{ArticleRecord, Commit, OutboxEntry, RawSnapshot, SledStore, Store, Version};
use redline::topics::{Document, TopicSet};
use url::Url;

type Error = Box<dyn std::error::Error>;

/// Each measurement repeats over the whole set until it has run this long.
const MIN_MEASURE: Duration = Duration::from_secs(2);

struct Farm(Child);

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A saved response: where it came from, its Content-Type and its body.
struct Saved {
    url: Url,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Starts newsfarm on a free port; returns it and its control URL.
fn start_farm(script: &str) -> Result<(Farm, String), Error> {
    let scenario = env_or("SCENARIO", "large");
    let port = env_or("NEWSFARM_PORT", "0");
    let mut child = Command::new("python3")
        .args([script, "serve", "--scenario", &scenario, "--port", &port])
        .args(["--no-faults", "--cache-pages", "60000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let farm = Farm(child);
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().ok_or("newsfarm exited")??;
        if let Some(at) = line.find("http://") {
            let url = &line[at..];
            break url[..url.find(' ').unwrap_or(url.len())]
                .trim_end_matches('/')
                .to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Ok((farm, base))
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Saved, Error> {
    let response = client.get(url).send().await?.error_for_status()?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let url = response.url().clone();
    let body = response.bytes().await?.to_vec();
    Ok(Saved {
        url,
        content_type,
        body,
    })
}

/// Every feed, and `pages` article pages spread evenly over the sorted truth.
async fn download(base: &str, pages: usize) -> Result<(Vec<Saved>, Vec<Saved>), Error> {
    let client = reqwest::Client::new();
    let list = String::from_utf8(get(&client, &format!("{base}/feeds.txt")).await?.body)?;
    let mut feeds = Vec::new();
    for line in list.lines().filter(|l| l.starts_with("http")) {
        feeds.push(get(&client, line.trim()).await?);
    }
    let truth: serde_json::Value =
        serde_json::from_slice(&get(&client, &format!("{base}/_truth")).await?.body)?;
    let mut urls: Vec<&String> = truth["articles"]
        .as_object()
        .ok_or("no articles in the truth")?
        .keys()
        .collect();
    urls.sort();
    let step = (urls.len() / pages.max(1)).max(1);
    let mut saved = Vec::new();
    for url in urls.into_iter().step_by(step).take(pages) {
        saved.push(get(&client, url).await?);
    }
    Ok((feeds, saved))
}

/// Writes the pages as files trafilatura can read.
fn save(dir: &Path, pages: &[Saved]) -> Result<(), Error> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    for (i, page) in pages.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:05}.html")), &page.body)?;
    }
    Ok(())
}

/// Runs `work` over `items` items in rounds for at least [`MIN_MEASURE`]; returns items/s.
fn measure(items: usize, mut work: impl FnMut()) -> f64 {
    work();
    let start = Instant::now();
    let mut rounds = 0u32;
    while start.elapsed() < MIN_MEASURE || rounds < 2 {
        work();
        rounds += 1;
    }
    (items as f64 * f64::from(rounds)) / start.elapsed().as_secs_f64()
}

fn compare(stage: &str, unit: &str, ours: f64, baseline_name: &str, baseline: f64) {
    println!(
        "{stage:<20} {:>9.1} µs/{unit}   baseline {baseline_name:<28} {:>9.1} µs/{unit}   stage/baseline {:>6.2}x",
        1e6 / ours,
        1e6 / baseline,
        baseline / ours
    );
}

/// CPU time (user + system, all threads) of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// An edited version of a text: a figure changed and a paragraph appended.
fn edited(body: &str) -> String {
    let mut out = body.replacen('1', "7", 1);
    out.push_str("\nThe talks are expected to resume next week, officials said.");
    out
}

struct Text {
    title: String,
    body: String,
    language: Option<String>,
}

fn main() -> Result<(), Error> {
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/newsfarm/newsfarm.py"
    );
    let script = env_or("NEWSFARM", default);
    if !Path::new(&script).exists() {
        println!("no newsfarm at {script} (set NEWSFARM); skipping");
        return Ok(());
    }
    let pages: usize = env_or("PAGES", "500").parse()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let topics = TopicSet::from_toml(include_str!("../config/topics.toml"), "config/topics.toml")?;
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    {
        let (_farm, base) = start_farm(&script)?;
        let (feeds, saved) = runtime.block_on(download(&base, pages))?;
        let name = format!("newsfarm {}", env_or("SCENARIO", "large"));
        println!("{} feeds from {name}", feeds.len());
        if env_or("STAGES", "1") != "0" {
            feed_stage(&feeds);
        }
        pages_report(
            &runtime,
            &name,
            &saved,
            &target.join("bench-pages"),
            &topics,
        )?;
    }
    let real = PathBuf::from(env_or(
        "REAL_PAGES",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/bench/extraction/scrapinghub"
        ),
    ));
    if !real.is_dir() {
        println!(
            "no real pages at {} (set REAL_PAGES); skipped",
            real.display()
        );
        return Ok(());
    }
    let (_server, base) = serve_dir(&real)?;
    let saved = runtime.block_on(download_dir(&base, &real))?;
    let name = format!("real pages {}", real.display());
    pages_report(
        &runtime,
        &name,
        &saved,
        &target.join("bench-pages-real"),
        &topics,
    )
}

/// Serves `dir` on a free loopback port with Python's `http.server`; returns it
/// and its base URL.
fn serve_dir(dir: &Path) -> Result<(Farm, String), Error> {
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Farm(child);
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().ok_or("http.server exited")??;
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .ok_or("no port in http.server's first line")?
        .to_string();
    std::thread::spawn(move || lines.for_each(drop));
    Ok((server, format!("http://127.0.0.1:{port}")))
}

/// Every `.html` file of `dir`, in name order, fetched from `base`.
async fn download_dir(base: &str, dir: &Path) -> Result<Vec<Saved>, Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".html"))
        .collect();
    names.sort();
    let client = reqwest::Client::new();
    let mut saved = Vec::new();
    for name in names {
        saved.push(get(&client, &format!("{base}/{name}")).await?);
    }
    Ok(saved)
}

/// Feed parse vs tokenising the XML (or parsing the JSON) alone.
fn feed_stage(feeds: &[Saved]) {
    let parse = measure(feeds.len(), || {
        for feed in feeds {
            let _ = black_box(redline::feeds::parse(
                &feed.body,
                feed.content_type.as_deref(),
                &feed.url,
            ));
        }
    });
    let tokenise = measure(feeds.len(), || {
        for feed in feeds {
            if feed.body.trim_ascii_start().starts_with(b"{") {
                let _ = black_box(serde_json::from_slice::<serde_json::Value>(&feed.body));
                continue;
            }
            let mut reader = quick_xml::Reader::from_reader(feed.body.as_slice());
            let mut buf = Vec::new();
            loop {
                match reader.read_event_into(&mut buf) {
                    Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                    Ok(event) => drop(black_box(event)),
                }
                buf.clear();
            }
        }
    });
    compare(
        "feed parse",
        "feed",
        parse,
        "quick-xml tokens / serde_json",
        tokenise,
    );
}

/// The page stages, the whole pipeline and trafilatura on one set of pages,
/// saved under `dir` for trafilatura.
fn pages_report(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    saved: &[Saved],
    dir: &Path,
    topics: &TopicSet,
) -> Result<(), Error> {
    save(dir, saved)?;
    let bytes: usize = saved.iter().map(|p| p.body.len()).sum();
    println!(
        "\n{name}: {} pages ({:.1} MB, {:.1} KB on average); single thread",
        saved.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / saved.len().max(1) as f64
    );
    if env_or("STAGES", "1") != "0" {
        page_stages(saved, topics);
    }
    let per_article = runtime.block_on(pipeline(saved, topics))?;
    println!(
        "whole pipeline (fetch, decode, extract, clean, classify, fingerprint, store, diff): {:.3} ms CPU per article",
        per_article.as_secs_f64() * 1e3
    );
    match trafilatura(dir) {
        Some(ms) => println!(
            "trafilatura extract alone: {ms:.3} ms CPU per page; trafilatura / redline pipeline: {:.1}x",
            ms / (per_article.as_secs_f64() * 1e3)
        ),
        None => println!("trafilatura not available (pip install trafilatura); comparison skipped"),
    }
    Ok(())
}

/// Each per-page stage against its baseline.
fn page_stages(saved: &[Saved], topics: &TopicSet) {
    // Decode vs UTF-8 validation.
    let decoded = measure(saved.len(), || {
        for page in saved {
            black_box(decode(
                &page.body,
                page.content_type.as_deref(),
                DocKind::Html,
                None,
            ));
        }
    });
    let utf8 = measure(saved.len(), || {
        for page in saved {
            black_box(String::from_utf8_lossy(&page.body));
        }
    });
    compare(
        "charset decode",
        "page",
        decoded,
        "String::from_utf8_lossy",
        utf8,
    );

    let html: Vec<String> = saved
        .iter()
        .map(|p| decode(&p.body, p.content_type.as_deref(), DocKind::Html, None).text)
        .collect();
    let rules = SiteRules::default();
    let extract = measure(saved.len(), || {
        for (page, text) in saved.iter().zip(&html) {
            black_box(extract_served(text, &page.url, None, &rules));
        }
    });
    let html5ever = measure(saved.len(), || {
        for text in &html {
            black_box(scraper::Html::parse_document(text));
        }
    });
    compare("extraction", "page", extract, "html5ever parse", html5ever);

    let detector = Detector::default();
    let texts: Vec<Text> = saved
        .iter()
        .zip(&html)
        .map(|(page, text)| {
            let extracted = extract_served(text, &page.url, None, &rules);
            let clean = detector.clean(
                "bench",
                extracted.title.as_deref().unwrap_or_default(),
                &extracted.paragraphs,
            );
            Text {
                title: clean.title,
                body: clean.body,
                language: extracted.language,
            }
        })
        .collect();
    let fingerprints = measure(texts.len(), || {
        for t in &texts {
            black_box(fingerprint(&t.title, &t.body, t.language.as_deref()));
        }
    });
    let words = measure(texts.len(), || {
        for t in &texts {
            black_box(t.body.split_whitespace().count());
        }
    });
    compare(
        "fingerprint",
        "article",
        fingerprints,
        "split into words",
        words,
    );

    let classify = measure(texts.len(), || {
        for t in &texts {
            black_box(topics.classify(&Document {
                title: &t.title,
                body: &t.body,
                language: t.language.as_deref(),
            }));
        }
    });
    let lower = measure(texts.len(), || {
        for t in &texts {
            black_box(t.body.to_lowercase());
        }
    });
    compare(
        "topic match",
        "article",
        classify,
        "lowercase the text",
        lower,
    );

    let stored: Vec<Version> = texts
        .iter()
        .map(|t| version(1, &t.title, &t.body))
        .collect();
    let unchanged = measure(texts.len(), || {
        for (t, v) in texts.iter().zip(&stored) {
            let fetch = detector.clean("bench", &t.title, &t.body.lines().collect::<Vec<_>>());
            black_box(detector.compare("bench", "a", std::slice::from_ref(v), &fetch));
        }
    });
    let hash = measure(texts.len(), || {
        for t in &texts {
            black_box(blake3::hash(t.body.as_bytes()));
        }
    });
    compare(
        "unchanged check",
        "article",
        unchanged,
        "blake3 of the text",
        hash,
    );

    let edits: Vec<String> = texts.iter().map(|t| edited(&t.body)).collect();
    let diffs = measure(texts.len(), || {
        for (t, e) in texts.iter().zip(&edits) {
            black_box(diff(
                Side::new(&t.title, &t.body, "v1"),
                Side::new(&t.title, e, "v2"),
            ));
        }
    });
    let raw = measure(texts.len(), || {
        for (t, e) in texts.iter().zip(&edits) {
            let d = similar::TextDiff::from_words(t.body.as_str(), e.as_str());
            black_box(d.ops().len());
        }
    });
    compare(
        "diff",
        "article",
        diffs,
        "similar TextDiff::from_words",
        raw,
    );
}

fn version(number: u32, title: &str, body: &str) -> Version {
    Version {
        number,
        content_hash: Version::hash_content(title, body),
        title: title.to_string(),
        body: body.to_string(),
        first_seen: chrono::Utc::now(),
        reverts_to: None,
        changes: Vec::new(),
    }
}

/// The daemon's per-article work on every saved page, one after the other, ROUNDS
/// times (default 3, each on a new store); returns the CPU time of this process
/// per page.
async fn pipeline(saved: &[Saved], topics: &TopicSet) -> Result<Duration, Error> {
    let fetcher = Fetcher::new(
        &FetchConfig {
            min_host_delay: Duration::ZERO,
            allow_loopback: true,
            ..FetchConfig::default()
        },
        Default::default(),
    )?;
    let rounds: u32 = env_or("ROUNDS", "3").parse()?;
    let mut cpu = Duration::ZERO;
    for _ in 0..rounds {
        cpu += round(&fetcher, saved, topics).await?;
    }
    Ok(cpu / (saved.len().max(1) as u32 * rounds.max(1)))
}

/// One round of [`pipeline`]; returns the CPU time it took.
async fn round(fetcher: &Fetcher, saved: &[Saved], topics: &TopicSet) -> Result<Duration, Error> {
    let store_dir = tempfile::tempdir()?;
    let store = SledStore::open(store_dir.path(), 64)?;
    let detector = Detector::default();
    let mut clusters = Clusters::new();
    let rules = SiteRules::default();
    let started = cpu_time();
    for page in saved {
        let FetchOutcome::Fetched(fetched) = fetcher.get(&page.url, &Validators::default()).await?
        else {
            return Err("unexpected 304".into());
        };
        let text = decode(
            &fetched.body,
            fetched.content_type.as_deref(),
            DocKind::Html,
            None,
        )
        .text;
        let extracted = extract_served(&text, &fetched.url, None, &rules);
        let url = redline::canonical::canonicalize(fetched.url.clone());
        let id = redline::canonical::article_id(&url);
        let host = redline::fetch::host_key(&url);
        let clean = detector.clean(
            &host,
            extracted.title.as_deref().unwrap_or_default(),
            &extracted.paragraphs,
        );
        let language = extracted.language.clone();
        let matched = topics.classify(&Document {
            title: &clean.title,
            body: &clean.body,
            language: language.as_deref(),
        });
        let fp = fingerprint(&clean.title, &clean.body, language.as_deref());
        let cluster = clusters.assign(&id, &fp)?.cluster;
        let record = clusters.stored(&id).map(|s| s.to_bytes());
        let now = chrono::Utc::now();
        let v1 = version(1, &clean.title, &clean.body);
        let article = ArticleRecord {
            id: id.clone(),
            url: url.to_string(),
            feed: "bench".into(),
            title: clean.title.clone(),
            language,
            first_seen: now,
            last_changed: now,
            last_checked: now,
            versions: 1,
            next_check: Some(now),
            validators: fetched.validators.clone(),
            moved_to: None,
            removed: None,
            not_found_strikes: 0,
            topics: matched.into_iter().map(|m| m.topic).collect(),
            cluster: Some(cluster),
        };
        let links = vec![url.to_string()];
        let raw = RawSnapshot {
            url: fetched.url.to_string(),
            content_type: fetched.content_type.clone(),
            content_language: fetched.content_language.clone(),
            fetched_at: now,
            body: fetched.body.clone(),
        };
        let alert = Alert::new(
            Event::New,
            id.clone(),
            article.url.clone(),
            1,
            clean.title.clone(),
            "bench".into(),
        );
        let outbox = [OutboxEntry {
            sink: "stdout".into(),
            seq: store.next_sequence()?,
            alert,
            enqueued: now,
            attempts: 0,
            next_attempt: None,
            last_error: None,
        }];
        store.commit(&Commit {
            article: Some(&article),
            version: Some(&v1),
            links: &links,
            fingerprint: record.as_deref(),
            raw: Some(&raw),
            outbox: &outbox,
            ..Commit::default()
        })?;
        let history = store.versions(&id)?;
        let update = edited(&clean.body);
        let update = detector.clean(&host, &clean.title, &update.lines().collect::<Vec<_>>());
        black_box(detector.compare(&host, &id, &history, &update));
    }
    store.flush()?;
    Ok(cpu_time() - started)
}

/// trafilatura's CPU time per page on the saved pages, in ms, if it is installed.
fn trafilatura(dir: &Path) -> Option<f64> {
    const SCRIPT: &str = r#"
import os, sys, time, trafilatura
d = sys.argv[1]
pages = [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]
trafilatura.extract(pages[0])
start = time.process_time()
for page in pages:
    trafilatura.extract(page)
print((time.process_time() - start) * 1000 / len(pages))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(dir)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}
