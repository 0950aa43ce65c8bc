//! Dedup measured on a newsfarm scenario: serve it, advance the clock to the horizon,
//! fetch every article at its first listing (and again at the end), fingerprint,
//! cluster incrementally, and score pairwise precision/recall against the truth's
//! `cluster_id` as newsfarm's scorer does, plus sibling pairs merged.
//!
//! `cargo bench --bench dedup_newsfarm` (env: NEWSFARM, SCENARIO, HORIZON, OUT_DIR_DEDUP,
//! NEWSFARM_PORT (default 0: a free port), and
//! PAIRS_CSV: a path prefix for per-pair similarities of same-language pairs, for calibration).
//! Writes `truth.json` and `export.jsonl` for `newsfarm.py score` into OUT_DIR_DEDUP.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use futures_util::{StreamExt, stream};
use redline::dedup::{Clusters, Fingerprint, Index, fingerprint, is_copy, similarity};
use redline::fetch::charset::{DocKind, decode};
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

struct Farm {
    child: Child,
    base: String,
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Article {
    url: String,
    cluster: String,
    sibling_of: Option<String>,
    language: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn start_farm() -> Result<Farm, Error> {
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/newsfarm/newsfarm.py"
    );
    let script = env_or("NEWSFARM", default);
    let scenario = env_or("SCENARIO", "medium");
    let port = std::env::var("NEWSFARM_PORT").unwrap_or_else(|_| "0".into());
    let mut child = Command::new("python3")
        .args([
            script.as_str(),
            "serve",
            "--scenario",
            &scenario,
            "--port",
            &port,
            "--no-faults",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
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
    Ok(Farm { child, base })
}

async fn fetch_fp(client: &reqwest::Client, url: &str, lang: &str) -> Option<Fingerprint> {
    let resp = client.get(url).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = resp.bytes().await.ok()?;
    let html = decode(&bytes, ctype.as_deref(), DocKind::Html, None).text;
    let page = redline::extract::extract(&html, &url::Url::parse(url).ok()?);
    let title = page.title.unwrap_or_default();
    Some(fingerprint(&title, &page.paragraphs.join("\n"), Some(lang)))
}

async fn fetch_all(
    client: &reqwest::Client,
    todo: Vec<(String, String)>,
) -> Vec<(String, Option<Fingerprint>)> {
    stream::iter(todo)
        .map(|(url, lang)| async move {
            let fp = fetch_fp(client, &url, &lang).await;
            (url, fp)
        })
        .buffered(8)
        .collect()
        .await
}

fn parse_articles(truth: &Value) -> Vec<Article> {
    let Some(arts) = truth["articles"].as_object() else {
        return Vec::new();
    };
    let mut out: Vec<Article> = arts
        .iter()
        .map(|(url, a)| Article {
            url: url.clone(),
            cluster: a["cluster_id"].as_str().unwrap_or_default().to_string(),
            sibling_of: a["sibling_of"].as_str().map(String::from),
            language: a["language"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    out.sort_by_key(|a| a.url.clone());
    out
}

struct Run {
    articles: Vec<Article>,
    first: HashMap<String, Fingerprint>,
    last: HashMap<String, Fingerprint>,
    clusters: Clusters,
    truth: Value,
}

async fn collect(farm: &Farm, horizon: u32) -> Result<Run, Error> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut run = Run {
        articles: Vec::new(),
        first: HashMap::new(),
        last: HashMap::new(),
        clusters: Clusters::new(),
        truth: Value::Null,
    };
    for step in 0..=horizon {
        if step > 0 {
            client
                .post(format!("{}/_control/advance?steps=1", farm.base))
                .send()
                .await?
                .error_for_status()?;
        }
        let truth = client
            .get(format!("{}/_truth", farm.base))
            .send()
            .await?
            .bytes()
            .await?;
        run.truth = serde_json::from_slice(&truth)?;
        run.articles = parse_articles(&run.truth);
        let todo: Vec<(String, String)> = run
            .articles
            .iter()
            .filter(|a| !run.first.contains_key(&a.url))
            .map(|a| (a.url.clone(), a.language.clone()))
            .collect();
        for (url, fp) in fetch_all(&client, todo).await {
            let fp = fp.unwrap_or_else(|| fingerprint("", "", None));
            run.clusters.assign(&url, &fp)?;
            run.first.insert(url, fp);
        }
    }
    Ok(run)
}

async fn refetch(run: &mut Run) -> Result<usize, Error> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let todo = run
        .articles
        .iter()
        .map(|a| (a.url.clone(), a.language.clone()))
        .collect();
    let mut moved = 0;
    for (url, fp) in fetch_all(&client, todo).await {
        let Some(fp) = fp else { continue };
        moved += usize::from(run.clusters.assign(&url, &fp)?.changed);
        run.last.insert(url, fp);
    }
    Ok(moved)
}

fn pairs(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

fn pair_sum(counts: impl Iterator<Item = usize>) -> f64 {
    counts.map(pairs).sum::<usize>() as f64
}

/// Pairwise precision, recall and sibling pairs merged, as newsfarm's scorer counts them.
fn score(articles: &[Article], clusters: &Clusters) -> (f64, f64, usize) {
    let pred: HashMap<&str, &str> = articles
        .iter()
        .filter_map(|a| Some((a.url.as_str(), clusters.cluster_of(&a.url)?)))
        .collect();
    let mut p_groups: HashMap<&str, usize> = HashMap::new();
    let mut t_groups: HashMap<&str, usize> = HashMap::new();
    let mut joint: HashMap<(&str, &str), usize> = HashMap::new();
    for a in articles.iter() {
        let Some(&p) = pred.get(a.url.as_str()) else {
            continue;
        };
        *p_groups.entry(p).or_default() += 1;
        *t_groups.entry(&a.cluster).or_default() += 1;
        *joint.entry((p, &a.cluster)).or_default() += 1;
    }
    let pp = pair_sum(p_groups.into_values());
    let tp_all = pair_sum(t_groups.into_values());
    let tp = pair_sum(joint.into_values());
    let siblings = articles
        .iter()
        .filter_map(|a| Some((pred.get(a.url.as_str())?, a.sibling_of.as_deref()?)))
        .map(|(mine, so)| {
            articles
                .iter()
                .filter(|b| b.cluster == so && pred.get(b.url.as_str()) == Some(mine))
                .count()
        })
        .sum();
    let ratio = |x: f64, y: f64| if y == 0.0 { 1.0 } else { x / y };
    (ratio(tp, pp), ratio(tp, tp_all), siblings)
}

#[derive(Default)]
struct PairStats {
    copy_pairs: usize,
    copy_confirmed: usize,
    copy_candidates: usize,
    copy_simhash3: usize,
    sibling_pairs: usize,
    sibling_confirmed: usize,
    other_confirmed: usize,
    notes: Vec<String>,
    csv: Vec<String>,
}

/// Pair-level diagnostics over all same-language pairs.
fn pair_stats(articles: &[Article], fps: &HashMap<String, Fingerprint>) -> PairStats {
    let live: Vec<(&Article, &Fingerprint)> = articles
        .iter()
        .filter_map(|a| Some((a, fps.get(&a.url)?)))
        .collect();
    let mut index = Index::new();
    for (i, (_, fp)) in live.iter().enumerate() {
        index.insert(i as u32, fp);
    }
    let mut st = PairStats::default();
    for (i, &(a, fa)) in live.iter().enumerate() {
        let cands: HashSet<u32> = index.candidates(fa).into_iter().collect();
        for (j, &(b, fb)) in live.iter().enumerate().skip(i + 1) {
            if a.language == b.language {
                tally(&mut st, (a, fa), (b, fb), cands.contains(&(j as u32)));
            }
        }
    }
    st
}

fn tally(
    st: &mut PairStats,
    (a, fa): (&Article, &Fingerprint),
    (b, fb): (&Article, &Fingerprint),
    cand: bool,
) {
    let copy = is_copy(fa, fb);
    let s = similarity(fa, fb);
    if s.containment >= 0.3 {
        let kind = if a.cluster == b.cluster {
            "copy"
        } else if a.sibling_of.as_deref() == Some(&b.cluster)
            || b.sibling_of.as_deref() == Some(&a.cluster)
        {
            "sibling"
        } else {
            "other"
        };
        st.csv.push(format!(
            "{kind},{},{:.3},{:.3},{:?},{:?},{},{},{},{}",
            a.language,
            s.jaccard,
            s.containment,
            s.numbers,
            s.paragraphs,
            fa.shingles,
            fb.shingles,
            a.url,
            b.url
        ));
    }
    if a.cluster == b.cluster {
        st.copy_pairs += 1;
        st.copy_confirmed += usize::from(copy);
        st.copy_candidates += usize::from(cand);
        st.copy_simhash3 += usize::from((fa.simhash ^ fb.simhash).count_ones() <= 3);
        if !copy && st.notes.len() < 15 {
            st.notes.push(format!(
                "missed copy {} {} {:?}",
                a.url,
                b.url,
                similarity(fa, fb)
            ));
        }
    } else if a.sibling_of.as_deref() == Some(&b.cluster)
        || b.sibling_of.as_deref() == Some(&a.cluster)
    {
        st.sibling_pairs += 1;
        st.sibling_confirmed += usize::from(copy);
        if copy {
            st.notes.push(format!(
                "sibling confirmed {} {} {:?}",
                a.url,
                b.url,
                similarity(fa, fb)
            ));
        }
    } else {
        st.other_confirmed += usize::from(copy);
        if copy {
            st.notes.push(format!(
                "other confirmed {} {} {:?}",
                a.url,
                b.url,
                similarity(fa, fb)
            ));
        }
    }
}

fn report(label: &str, run: &Run, fps: &HashMap<String, Fingerprint>) {
    let (p, r, sib) = score(&run.articles, &run.clusters);
    println!(
        "{label}: articles {} dedup precision {p:.4} recall {r:.4} sibling pairs merged {sib}",
        fps.len()
    );
    let st = pair_stats(&run.articles, fps);
    println!(
        "{label}: same-language pairs: copies {} confirmed {} LSH candidates {} simhash<=3 {}; \
         sibling pairs {} confirmed {}; other pairs confirmed {}",
        st.copy_pairs,
        st.copy_confirmed,
        st.copy_candidates,
        st.copy_simhash3,
        st.sibling_pairs,
        st.sibling_confirmed,
        st.other_confirmed
    );
    st.notes.iter().take(40).for_each(|m| println!("  {m}"));
    if let Ok(path) = std::env::var("PAIRS_CSV") {
        let _ = std::fs::write(
            format!("{path}.{}", label.replace(' ', "_")),
            st.csv.join("\n"),
        );
    }
}

fn write_outputs(run: &Run) -> Result<(), Error> {
    let dir = std::path::PathBuf::from(env_or("OUT_DIR_DEDUP", "target/dedup_newsfarm"));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("truth.json"), serde_json::to_vec(&run.truth)?)?;
    let lines: Vec<String> = run
        .articles
        .iter()
        .filter_map(|a| {
            let cluster = run.clusters.cluster_of(&a.url)?;
            Some(serde_json::json!({"url": a.url, "cluster": cluster}).to_string())
        })
        .collect();
    std::fs::write(dir.join("export.jsonl"), lines.join("\n") + "\n")?;
    println!("wrote {}/truth.json and export.jsonl", dir.display());
    Ok(())
}

fn main() -> Result<(), Error> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let horizon: u32 = env_or("HORIZON", "60").parse()?;
    let farm = start_farm()?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut run = rt.block_on(collect(&farm, horizon))?;
    report("first listing", &run, &run.first);
    let moved = rt.block_on(refetch(&mut run))?;
    println!("final refetch: {moved} articles changed cluster");
    report("final versions", &run, &run.last);
    write_outputs(&run)
}
