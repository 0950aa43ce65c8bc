//! Topic filter precision and recall on a local newsfarm, overall and per language.
//!
//! Starts `newsfarm serve --scenario medium --no-faults --port 0` (the port from
//! `NEWSFARM_PORT` when set; override the scenario with
//! `NEWSFARM_SCENARIO`; the script is found at `../shared/newsfarm/newsfarm.py`
//! or `NEWSFARM`), advances its clock to the horizon, fetches every article in
//! `/_truth`, extracts it as the pipeline does and classifies it with
//! `config/topics.toml` (or `TOPICS_TOML`). Prints P/R/F1 for the target topic
//! overall and per language, false positives by true topic and the mean
//! classification time. `TOPICS_VERBOSE=1` also lists every miss with its scores.
//!
//! ```sh
//! CARGO_TARGET_DIR=target cargo bench --bench topics_newsfarm
//! # or, without an optimised build:
//! CARGO_TARGET_DIR=target cargo test --bench topics_newsfarm
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use redline::fetch::charset::{DocKind, decode};
use redline::topics::{Document, TopicSet};
use url::Url;

const TARGET: &str = "russia-ukraine-talks";
const STEPS: u32 = 60;
const CONCURRENCY: usize = 8;

/// One article of the truth, as fetched and extracted.
struct Page {
    url: String,
    language: String,
    topic: String,
    title: String,
    body: String,
    declared: Option<String>,
}

#[derive(Default)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
}

impl Counts {
    fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn line(&self, label: &str) -> String {
        let ratio = |a: u32, b: u32| {
            if b == 0 {
                0.0
            } else {
                f64::from(a) / f64::from(b)
            }
        };
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        format!(
            "{label:<8} precision {p:.3} recall {r:.3} f1 {f1:.3}  (tp {} fp {} fn {} tn {})",
            self.tp, self.fp, self.fn_, self.tn
        )
    }
}

/// Kills the newsfarm server when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Starts newsfarm and returns it with its control URL, read from its stderr banner.
fn start_newsfarm() -> Result<(Server, String)> {
    let script = std::env::var("NEWSFARM")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest_path("../shared/newsfarm/newsfarm.py"));
    let scenario = std::env::var("NEWSFARM_SCENARIO").unwrap_or_else(|_| "medium".into());
    let port = std::env::var("NEWSFARM_PORT").unwrap_or_else(|_| "0".into());
    let mut child = Command::new("python3")
        .arg(&script)
        .args([
            "serve",
            "--scenario",
            &scenario,
            "--port",
            &port,
            "--no-faults",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", script.display()))?;
    let stderr = child.stderr.take().context("newsfarm stderr")?;
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    while let Some(line) = lines.next() {
        let line = line?;
        if let Some(rest) = line.split(" on http://").nth(1) {
            let host_port = rest.split('/').next().unwrap_or_default().to_string();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok((server, format!("http://{host_port}")));
        }
    }
    bail!("newsfarm exited without printing its address")
}

async fn fetch_page(
    client: &reqwest::Client,
    url: String,
    article: &serde_json::Value,
) -> Result<Page> {
    let field = |k: &str| article[k].as_str().unwrap_or_default().to_string();
    let target = article["moved_to"].as_str().unwrap_or(&url).to_string();
    let response = client.get(&target).send().await?.error_for_status()?;
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await?;
    let html = decode(&bytes, content_type.as_deref(), DocKind::Html, None).text;
    let extracted = redline::extract::extract(&html, &Url::parse(&target)?);
    Ok(Page {
        language: field("language"),
        topic: field("topic"),
        title: extracted.title.clone().unwrap_or_default(),
        body: extracted.body(),
        declared: extracted.language.clone(),
        url,
    })
}

async fn fetch_all(base: &str) -> Result<Vec<Page>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    client
        .post(format!("{base}/_control/advance?steps={STEPS}"))
        .send()
        .await?
        .error_for_status()?;
    let truth_bytes = client
        .get(format!("{base}/_truth"))
        .send()
        .await?
        .bytes()
        .await?;
    let truth: serde_json::Value = serde_json::from_slice(&truth_bytes)?;
    let articles = truth["articles"]
        .as_object()
        .context("truth has no articles")?;
    let live: Vec<(String, serde_json::Value)> = articles
        .iter()
        .filter(|(_, a)| a.get("removed_step").is_none())
        .map(|(u, a)| (u.clone(), a.clone()))
        .collect();
    let pages: Vec<Result<Page>> = stream::iter(live)
        .map(|(url, article)| {
            let client = client.clone();
            async move { fetch_page(&client, url, &article).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    pages.into_iter().collect()
}

fn report(topics: &TopicSet, pages: &[Page]) {
    let verbose = std::env::var_os("TOPICS_VERBOSE").is_some();
    let mut overall = Counts::default();
    let mut by_lang: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut fp_by_topic: BTreeMap<&str, u32> = BTreeMap::new();
    let mut elapsed: BTreeMap<&str, (Duration, u32)> = BTreeMap::new();
    for page in pages {
        let doc = Document {
            title: &page.title,
            body: &page.body,
            language: page.declared.as_deref(),
        };
        let started = Instant::now();
        let verdicts = topics.evaluate(&doc);
        let time = elapsed.entry(&page.language).or_default();
        time.0 += started.elapsed();
        time.1 += 1;
        let verdict = verdicts.iter().find(|v| v.detail.topic == TARGET);
        let predicted = verdict.is_some_and(|v| v.matched);
        let truth = page.topic == TARGET;
        overall.add(truth, predicted);
        by_lang
            .entry(&page.language)
            .or_default()
            .add(truth, predicted);
        if predicted && !truth {
            *fp_by_topic.entry(&page.topic).or_default() += 1;
        }
        if verbose && predicted != truth {
            let scores: Vec<String> = verdict
                .map(|v| &v.detail.concepts[..])
                .unwrap_or_default()
                .iter()
                .map(|c| format!("{}={}", c.concept, c.score))
                .collect();
            println!(
                "{} {} [{}] {} | {} | {}",
                if truth { "FN" } else { "FP" },
                page.language,
                page.topic,
                scores.join(" "),
                page.title,
                page.url
            );
        }
    }
    println!("articles {}", pages.len());
    println!("{}", overall.line("overall"));
    for (lang, counts) in &by_lang {
        println!("{}", counts.line(lang));
    }
    println!("false positives by true topic: {fp_by_topic:?}");
    let (total, count) = elapsed
        .values()
        .fold((Duration::ZERO, 0), |(t, n), (dt, dn)| (t + *dt, n + dn));
    let mean = |t: Duration, n: u32| t.as_secs_f64() * 1e6 / f64::from(n.max(1));
    let per_lang: Vec<String> = elapsed
        .iter()
        .map(|(lang, (t, n))| format!("{lang} {:.1}", mean(*t, *n)))
        .collect();
    println!(
        "mean evaluate() time {:.1} µs per article ({})",
        mean(total, count),
        per_lang.join(", ")
    );
}

fn main() -> Result<()> {
    let config = std::env::var("TOPICS_TOML")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest_path("config/topics.toml"));
    let topics = TopicSet::load(&config)?;
    let (_server, base) = start_newsfarm()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let pages = runtime.block_on(fetch_all(&base))?;
    report(&topics, &pages);
    Ok(())
}
