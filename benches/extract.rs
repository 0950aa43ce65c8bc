//! Single-threaded extraction throughput on the article-extraction bench pages.
//!
//! Reads every `.html` file in `REDLINE_EXTRACTION_BENCH` (default
//! `../shared/bench/extraction/scrapinghub` next to the crate), decodes them once,
//! then times, on one thread and over several rounds: the html5ever parse alone
//! (scraper's `Html::parse_document`, the baseline) and the full
//! `redline::extract::extract`. Prints pages/s and MB/s for each and their ratio.
//! Prints a notice and exits 0 when the pages are not there.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use redline::extract;
use redline::fetch::charset::{self, DocKind};
use url::Url;

/// Each measurement repeats over the whole set until it has run this long.
const MIN_MEASURE: Duration = Duration::from_secs(3);

fn bench_dir() -> PathBuf {
    std::env::var_os("REDLINE_EXTRACTION_BENCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/extraction/scrapinghub")
        })
}

fn load_pages(dir: &PathBuf) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Runs `work` over all pages in rounds for at least [`MIN_MEASURE`]; returns pages/s.
fn measure(pages: usize, mut work: impl FnMut()) -> f64 {
    work(); // warm-up round
    let start = Instant::now();
    let mut rounds = 0u32;
    while start.elapsed() < MIN_MEASURE || rounds < 2 {
        work();
        rounds += 1;
    }
    (pages as f64 * f64::from(rounds)) / start.elapsed().as_secs_f64()
}

fn report(name: &str, pages_per_s: f64, mb_per_page: f64) {
    println!(
        "{name:<28} {pages_per_s:>9.1} pages/s {:>8.1} MB/s",
        pages_per_s * mb_per_page
    );
}

fn main() {
    let dir = bench_dir();
    let raw = load_pages(&dir);
    if raw.is_empty() {
        println!(
            "no bench pages in {} (set REDLINE_EXTRACTION_BENCH); skipping",
            dir.display()
        );
        return;
    }
    let bytes: usize = raw.iter().map(Vec::len).sum();
    let mb_per_page = bytes as f64 / raw.len() as f64 / 1e6;
    println!(
        "{} pages, {:.1} MB, single thread",
        raw.len(),
        bytes as f64 / 1e6
    );
    let url = Url::parse("http://localhost/page.html").expect("a valid URL");

    let decode = measure(raw.len(), || {
        for page in &raw {
            black_box(charset::decode(page, None, DocKind::Html, None));
        }
    });
    report("decode (charset)", decode, mb_per_page);

    let texts: Vec<String> = raw
        .iter()
        .map(|p| charset::decode(p, None, DocKind::Html, None).text)
        .collect();
    let parse = measure(texts.len(), || {
        for text in &texts {
            black_box(scraper::Html::parse_document(text));
        }
    });
    report("baseline: scraper parse", parse, mb_per_page);

    let full = measure(texts.len(), || {
        for text in &texts {
            black_box(extract::extract(text, &url));
        }
    });
    report("redline extract", full, mb_per_page);
    println!("extract / parse baseline: {:.2}x", full / parse);
}
